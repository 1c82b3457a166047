"""SmtpChannel and the capture channels against real SMTP servers on 127.0.0.1.

No mocks: every send crosses a loopback socket to an aiosmtpd server running on the
test's event loop. Servers that misbehave are ``CaptureHandler`` subclasses with
aiosmtpd hooks (``handle_MAIL``/``handle_RCPT``/``handle_DATA``), or a raw asyncio server
for what aiosmtpd will not do (stay silent, greet with an error).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

import pytest

from warta.channels.capture import CaptureHandler, CaptureSmtpServer, RecordingChannel
from warta.channels.email_smtp import SmtpChannel
from warta.channels.email_smtp_config import SmtpConfig
from warta.domain.channels import Channel, OutboundMessage
from warta.errors import (
    ConfigurationError,
    DeliveryError,
    PermanentFailure,
    ProviderUnavailable,
    TechnicalFailure,
    TemporaryFailure,
)
from warta.store.outbox import CapturedMessage, Outbox

RECIPIENT = "budi.santoso@contoh.co.id"
SENDER = "Dinas Kesehatan DKI <noreply@dinkes.jakarta.go.id>"
SUBJECT = "Pengingat: jadwal vaksinasi Anda — Kamis, 12 Juni"
BODY = (
    "Halo Budi Santoso,\n\n"
    "Jadwal vaksinasi Anda: Kamis, 12 Juni pukul 09.00 WIB di Puskesmas Cempaka Putih.\n"
    "Biaya: Rp 0 · bawa KTP dan “Kartu Indonesia Sehat”.\n\n"
    "Terima kasih."
)
HTML = "<p>Halo <strong>Budi Santoso</strong>,</p><p>Jadwal vaksinasi Anda — Kamis.</p>"


def email(n: int = 1, **changes: Any) -> OutboundMessage:
    fields: dict[str, Any] = {
        "notification_id": f"2f0c7a52-0000-4000-8000-{n:012d}",
        "attempt": 1,
        "channel": "email",
        "to": RECIPIENT,
        "sender": SENDER,
        "subject": SUBJECT,
        "body": BODY,
        "html": HTML,
        "reply_to": "layanan@dinkes.jakarta.go.id",
    }
    return OutboundMessage(**(fields | changes))


def sms(**changes: Any) -> OutboundMessage:
    fields: dict[str, Any] = {
        "notification_id": "sms-1",
        "attempt": 1,
        "channel": "sms",
        "to": "+6281234567890",
        "sender": "DINKES",
        "body": "Kode verifikasi Anda 123456",
    }
    return OutboundMessage(**(fields | changes))


# -- servers ---------------------------------------------------------------------------


class KeepsRaw(CaptureHandler):
    """Captures, and also keeps each parsed email to inspect its headers."""

    def __init__(self, outbox: Outbox) -> None:
        super().__init__(outbox)
        self.emails: list[EmailMessage] = []
        self.quits = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parser = BytesParser(_class=EmailMessage, policy=policy.default)
        self.emails.append(parser.parsebytes(envelope.original_content))
        return await super().handle_DATA(server, session, envelope)

    async def handle_QUIT(self, server: Any, session: Any, envelope: Any) -> str:
        self.quits += 1
        return "221 Bye"


class Refuses(CaptureHandler):
    """Answers one SMTP phase with a fixed reply; ``{address}`` is the address given."""

    def __init__(
        self, outbox: Outbox, *, phase: str, reply: str, only: Callable[[str], bool] | None = None
    ) -> None:
        super().__init__(outbox)
        self.phase, self.reply, self.only = phase, reply, only

    def _refuses(self, phase: str, address: str) -> bool:
        return phase == self.phase and (self.only is None or self.only(address))

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if self._refuses("MAIL", address):
            return self.reply.format(address=address)
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if self._refuses("RCPT", address):
            return self.reply.format(address=address)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self._refuses("DATA", envelope.rcpt_tos[0]):
            return self.reply.format(address=envelope.rcpt_tos[0])
        return await super().handle_DATA(server, session, envelope)


class HangsUp(CaptureHandler):
    """Hangs up at MAIL on a connection that already carried a message (an idle timeout),
    or on every connection when ``always``: with a 421 reply, or by dropping the socket."""

    def __init__(self, outbox: Outbox, *, how: str, always: bool = False) -> None:
        super().__init__(outbox)
        self.how, self.always = how, always
        self.delivered: dict[object, int] = {}

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if self.always or self.delivered.get(session, 0) > 0:
            if self.how == "421":
                return "421 4.4.2 capture.warta.test Error: timeout exceeded"
            server.transport.abort()
        envelope.mail_from = address
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.delivered[session] = self.delivered.get(session, 0) + 1
        return await super().handle_DATA(server, session, envelope)


class SlowData(CaptureHandler):
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.sleep(30)
        return "250 OK"


@pytest.fixture
def outbox() -> Outbox:
    return Outbox()


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[CaptureHandler], Awaitable[CaptureSmtpServer]]]:
    servers: list[CaptureSmtpServer] = []

    async def start(handler: CaptureHandler) -> CaptureSmtpServer:
        server = CaptureSmtpServer(handler)
        await server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        await server.stop()


ChannelFactory = Callable[..., SmtpChannel]


@pytest.fixture
async def channel_for(serve: Any) -> AsyncIterator[ChannelFactory]:
    """Builds channels and closes them before the servers stop (it depends on ``serve``)."""
    channels: list[SmtpChannel] = []

    def build(server: CaptureSmtpServer | None = None, **options: Any) -> SmtpChannel:
        settings: dict[str, Any] = {"local_hostname": "warta.test", "timeout": 5.0}
        if server is not None:
            settings |= {"host": server.host, "port": server.port}
        channel = SmtpChannel(**(settings | options))
        channels.append(channel)
        return channel

    yield build
    for channel in channels:
        await channel.aclose()


@pytest.fixture
async def raw_server() -> AsyncIterator[Callable[[bytes], Awaitable[int]]]:
    """A TCP server that writes ``greeting`` (maybe nothing) and then never answers."""
    servers: list[asyncio.Server] = []
    writers: list[asyncio.StreamWriter] = []

    async def start(greeting: bytes) -> int:
        async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writers.append(writer)
            writer.write(greeting)
            await writer.drain()

        server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
        servers.append(server)
        return int(server.sockets[0].getsockname()[1])

    yield start
    for writer in writers:
        writer.close()
        await writer.wait_closed()
    for server in servers:
        server.close()
        await server.wait_closed()


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# -- delivery --------------------------------------------------------------------------


async def test_delivered_email_arrives_with_both_parts_and_headers(
    outbox: Outbox, serve: Any, channel_for: ChannelFactory
) -> None:
    handler = KeepsRaw(outbox)
    channel = channel_for(await serve(handler))

    result = await channel.send(email())

    message_id = "<2f0c7a52-0000-4000-8000-000000000001.1@dinkes.jakarta.go.id>"
    assert (result.status, result.provider_reference) == ("delivered", message_id)
    [captured] = outbox.list()
    assert captured.channel == "email"
    assert captured.to == RECIPIENT
    assert captured.sender == SENDER
    assert captured.subject == SUBJECT
    assert captured.body == BODY
    assert captured.html == HTML
    assert captured.notification_id == "2f0c7a52-0000-4000-8000-000000000001"
    [raw] = handler.emails
    assert raw["Message-ID"] == message_id
    assert raw["To"] == RECIPIENT
    assert raw["Reply-To"] == "layanan@dinkes.jakarta.go.id"
    assert raw["X-Warta-Notification-Id"] == "2f0c7a52-0000-4000-8000-000000000001"
    assert raw["Date"].datetime.utcoffset().total_seconds() == 0
    assert raw.get_content_type() == "multipart/alternative"
    parts = [(p.get_content_type(), p.get_content_charset()) for p in raw.iter_parts()]
    assert parts == [("text/plain", "utf-8"), ("text/html", "utf-8")]


async def test_plain_text_email_has_one_part_and_no_reply_to(
    outbox: Outbox, serve: Any, channel_for: ChannelFactory
) -> None:
    handler = KeepsRaw(outbox)
    channel = channel_for(await serve(handler))

    await channel.send(email(html=None, reply_to=None))

    [captured] = outbox.list()
    assert (captured.body, captured.html) == (BODY, None)
    [raw] = handler.emails
    assert raw.get_content_type() == "text/plain"
    assert raw["Reply-To"] is None


@pytest.mark.parametrize(
    ("notification_id", "attempt", "sender", "reference"),
    [
        ("abc-1", 3, "noreply@bpjs.go.id", "<abc-1.3@bpjs.go.id>"),
        ("abc-1", 1, "BPJS <noreply@bpjs.go.id>", "<abc-1.1@bpjs.go.id>"),
        ("n.2", 1, "info@dinas-ñ.id", "<n.2.1@xn--dinas--1wa.id>"),
    ],
    ids=["attempt-in-id", "display-name-sender", "idn-domain-punycode"],
)
async def test_message_id_is_stable_per_notification_and_attempt(
    outbox: Outbox,
    serve: Any,
    channel_for: ChannelFactory,
    notification_id: str,
    attempt: int,
    sender: str,
    reference: str,
) -> None:
    channel = channel_for(await serve(CaptureHandler(outbox)))

    message = email(notification_id=notification_id, attempt=attempt, sender=sender)
    result = await channel.send(message)

    assert result.provider_reference == reference


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"notification_id": "a b"}, "notification id cannot be used in a Message-ID"),
        ({"notification_id": "<x>@y"}, "notification id cannot be used in a Message-ID"),
        ({"notification_id": ""}, "notification id cannot be used in a Message-ID"),
        ({"sender": "noreply"}, "email sender has no usable domain"),
        ({"sender": "noreply@"}, "email sender has no usable domain"),
        ({"subject": "Halo\r\nBcc: x@y.id"}, "could not build the email: invalid header value"),
        ({"channel": "sms"}, "sms message routed to the email channel"),
    ],
    ids=["space-in-id", "brackets-in-id", "empty-id", "no-at", "empty-domain", "header-crlf",
         "wrong-channel"],
)  # fmt: skip
async def test_unsendable_messages_fail_before_connecting(
    channel_for: ChannelFactory, changes: dict[str, Any], error: str
) -> None:
    channel = channel_for(host="127.0.0.1", port=closed_port())

    with pytest.raises(TechnicalFailure) as caught:
        await channel.send(email(**changes))

    assert str(caught.value) == error


async def test_capture_server_works_as_a_context_manager_and_refuses_a_second_start(
    outbox: Outbox,
) -> None:
    async with CaptureSmtpServer(CaptureHandler(outbox)) as server:
        channel = SmtpChannel(host=server.host, port=server.port, local_hostname="warta.test")
        try:
            await channel.send(email())
        finally:
            await channel.aclose()
        with pytest.raises(RuntimeError) as caught:
            await server.start()

    assert str(caught.value) == "capture SMTP server is already running"
    assert [m.to for m in await outbox.wait_for(1)] == [RECIPIENT]


# -- pooling ---------------------------------------------------------------------------


async def test_sequential_sends_reuse_one_connection(
    outbox: Outbox, serve: Any, channel_for: ChannelFactory
) -> None:
    server = await serve(CaptureHandler(outbox))
    channel = channel_for(server, pool_size=4)

    for n in range(5):
        await channel.send(email(n))

    assert len(outbox) == 5
    assert server.connections_made == 1


async def test_concurrent_sends_use_at_most_pool_size_connections(
    outbox: Outbox, serve: Any, channel_for: ChannelFactory
) -> None:
    server = await serve(CaptureHandler(outbox))
    channel = channel_for(server, pool_size=2)

    results = await asyncio.gather(*(channel.send(email(n)) for n in range(20)))

    assert {r.status for r in results} == {"delivered"}
    assert len({r.provider_reference for r in results}) == 20
    assert len({m.notification_id for m in await outbox.wait_for(20)}) == 20
    assert server.connections_made == 2


async def test_aclose_quits_idle_connections_and_later_sends_are_retryable(
    outbox: Outbox, serve: Any, channel_for: ChannelFactory
) -> None:
    handler = KeepsRaw(outbox)
    channel = channel_for(await serve(handler), pool_size=2)
    await asyncio.gather(channel.send(email(1)), channel.send(email(2)))

    await channel.aclose()

    assert handler.quits == 2
    with pytest.raises(ProviderUnavailable) as caught:
        await channel.send(email(3))

    assert str(caught.value) == "the SMTP channel is closed"


async def test_refused_recipient_keeps_the_connection_for_the_next_send(
    outbox: Outbox, serve: Any, channel_for: ChannelFactory
) -> None:
    refuse_tolak = Refuses(
        outbox, phase="RCPT", reply="550 5.1.1 No such user", only=lambda a: "tolak" in a
    )
    server = await serve(refuse_tolak)
    channel = channel_for(server)

    with pytest.raises(PermanentFailure):
        await channel.send(email(1, to="tolak@contoh.co.id"))
    await channel.send(email(2))

    assert [m.to for m in outbox.list()] == [RECIPIENT]
    assert server.connections_made == 1


# -- refusals and failures -------------------------------------------------------------


@pytest.mark.parametrize(
    ("phase", "reply", "error_class", "message"),
    [
        ("RCPT", "451 4.7.1 Greylisted, try again later", TemporaryFailure,
         "SMTP 451 at RCPT: 4.7.1 Greylisted, try again later"),
        ("RCPT", "550 5.1.1 <{address}>: Recipient address rejected: User unknown",
         PermanentFailure,
         "SMTP 550 at RCPT: 5.1.1 <address>: Recipient address rejected: User unknown"),
        ("RCPT", "452 4.5.3 Too many recipients for {address}", TemporaryFailure,
         "SMTP 452 at RCPT: 4.5.3 Too many recipients for <address>"),
        ("MAIL", "451 4.3.0 Sender {address} temporarily deferred", TemporaryFailure,
         "SMTP 451 at MAIL: 4.3.0 Sender <address> temporarily deferred"),
        ("MAIL", "553 5.7.1 Sender address rejected: not owned by user", PermanentFailure,
         "SMTP 553 at MAIL: 5.7.1 Sender address rejected: not owned by user"),
        ("DATA", "452 4.3.1 Insufficient system storage", TemporaryFailure,
         "SMTP 452 at DATA: 4.3.1 Insufficient system storage"),
        ("DATA", "554 5.7.1 Message for {address} rejected as spam", PermanentFailure,
         "SMTP 554 at DATA: 5.7.1 Message for <address> rejected as spam"),
    ],
    ids=["rcpt-451-greylisted", "rcpt-550-quotes-address", "rcpt-452", "mail-451",
         "mail-553", "data-452", "data-554-quotes-address"],
)  # fmt: skip
async def test_smtp_replies_map_to_the_error_tree_without_the_address(
    outbox: Outbox,
    serve: Any,
    channel_for: ChannelFactory,
    phase: str,
    reply: str,
    error_class: type[DeliveryError],
    message: str,
) -> None:
    channel = channel_for(await serve(Refuses(outbox, phase=phase, reply=reply)))

    with pytest.raises(DeliveryError) as caught:
        await channel.send(email())

    assert type(caught.value) is error_class
    assert str(caught.value) == message
    assert "budi.santoso" not in repr(caught.value)
    assert "noreply@" not in repr(caught.value)
    assert outbox.list() == []


async def test_closed_port_is_provider_unavailable(channel_for: ChannelFactory) -> None:
    port = closed_port()
    channel = channel_for(host="127.0.0.1", port=port)

    with pytest.raises(ProviderUnavailable) as caught:
        await channel.send(email())

    assert str(caught.value).startswith(
        f"cannot connect to the SMTP server: Error connecting to 127.0.0.1 on port {port}"
    )
    assert caught.value.retry is True


@pytest.mark.parametrize(
    ("greeting", "message"),
    [
        (b"", "cannot connect to the SMTP server: Timed out waiting for server ready message"),
        (b"554 5.3.2 relay.contoh.id not accepting mail\r\n",
         "cannot connect to the SMTP server: SMTP 554 at greeting: 5.3.2 relay.contoh.id not "
         "accepting mail"),
    ],
    ids=["silent-server-times-out", "554-greeting"],
)  # fmt: skip
async def test_unusable_server_is_provider_unavailable(
    raw_server: Any, channel_for: ChannelFactory, greeting: bytes, message: str
) -> None:
    port = await raw_server(greeting)
    channel = channel_for(host="127.0.0.1", port=port, timeout=0.3)

    with pytest.raises(ProviderUnavailable) as caught:
        await channel.send(email())

    assert str(caught.value) == message


async def test_reply_timeout_is_provider_unavailable_and_not_resent(
    outbox: Outbox, serve: Any, channel_for: ChannelFactory
) -> None:
    # The relay may have taken the message before going quiet: sending it again could
    # deliver it twice, so the pipeline's durable retry decides instead.
    server = await serve(SlowData(outbox))
    channel = channel_for(server, timeout=0.3)

    with pytest.raises(ProviderUnavailable) as caught:
        await channel.send(email())

    assert str(caught.value) == "SMTP server connection lost: Timed out waiting for server response"
    assert server.connections_made == 1


async def test_server_restart_between_sends_is_survived(
    outbox: Outbox, serve: Any, channel_for: ChannelFactory
) -> None:
    server = await serve(CaptureHandler(outbox))
    channel = channel_for(server)
    await channel.send(email(1))
    port = server.port

    await server.stop()
    assert await server.start() == ("127.0.0.1", port)
    await channel.send(email(2))

    assert len(outbox) == 2
    assert server.connections_made == 2


@pytest.mark.parametrize("how", ["421", "abort"])
async def test_connection_dropped_mid_send_is_retried_once_on_a_fresh_one(
    outbox: Outbox, serve: Any, channel_for: ChannelFactory, how: str
) -> None:
    server = await serve(HangsUp(outbox, how=how))
    channel = channel_for(server)

    await channel.send(email(1))
    await channel.send(email(2))

    assert len(outbox) == 2
    assert server.connections_made == 2


@pytest.mark.parametrize(
    ("how", "message"),
    [
        ("421", "SMTP 421 at MAIL: 4.4.2 capture.warta.test Error: timeout exceeded"),
        ("abort", "SMTP server connection lost: Unexpected EOF received"),
    ],
)
async def test_connection_dropped_again_after_the_retry_is_provider_unavailable(
    outbox: Outbox, serve: Any, channel_for: ChannelFactory, how: str, message: str
) -> None:
    server = await serve(HangsUp(outbox, how=how, always=True))
    channel = channel_for(server)

    with pytest.raises(ProviderUnavailable) as caught:
        await channel.send(email())

    assert str(caught.value) == message
    assert server.connections_made == 2


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"start_tls": True},
         "SMTP client error: SMTP STARTTLS extension not supported by server."),
        ({"username": "warta", "password": "rahasia-123"},
         "SMTP client error: The SMTP AUTH extension is not supported by this server. Try "
         "connecting via TLS (or STARTTLS)."),
    ],
    ids=["starttls-required-not-offered", "auth-not-offered"],
)  # fmt: skip
async def test_server_lacking_a_required_extension_is_technical_failure(
    outbox: Outbox,
    serve: Any,
    channel_for: ChannelFactory,
    options: dict[str, Any],
    message: str,
) -> None:
    channel = channel_for(await serve(CaptureHandler(outbox)), **options)

    with pytest.raises(TechnicalFailure) as caught:
        await channel.send(email())

    assert str(caught.value) == message
    assert "rahasia" not in str(caught.value)


# -- configuration ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://relay.contoh.id",
         SmtpConfig(host="relay.contoh.id", port=25)),
        ("smtp://relay.contoh.id:587/",
         SmtpConfig(host="relay.contoh.id", port=587)),
        ("smtps://relay.contoh.id",
         SmtpConfig(host="relay.contoh.id", port=465, use_tls=True, start_tls=False)),
        ("smtps://relay.contoh.id:2465",
         SmtpConfig(host="relay.contoh.id", port=2465, use_tls=True, start_tls=False)),
        ("smtp://warta:s%40nd1@relay.contoh.id:587?starttls=required",
         SmtpConfig(host="relay.contoh.id", port=587, username="warta", password="s@nd1",
                    start_tls=True)),
        ("smtp://relay.contoh.id?starttls=off",
         SmtpConfig(host="relay.contoh.id", port=25, start_tls=False)),
        ("smtps://relay.contoh.id?verify=false",
         SmtpConfig(host="relay.contoh.id", port=465, use_tls=True, start_tls=False,
                    validate_certs=False)),
        ("smtps://relay.contoh.id?starttls=off&verify=TRUE",
         SmtpConfig(host="relay.contoh.id", port=465, use_tls=True, start_tls=False)),
        ("smtp://user@relay.contoh.id",
         SmtpConfig(host="relay.contoh.id", port=25, username="user", password="")),
        ("SMTP://[::1]:1025",
         SmtpConfig(host="::1", port=1025)),
    ],
    ids=["smtp-default-port", "smtp-port-and-slash", "smtps-default-port", "smtps-port",
         "credentials-percent-decoded", "starttls-off", "verify-false", "verify-true-any-case",
         "user-without-password", "ipv6-upper-scheme"],
)  # fmt: skip
def test_from_url(url: str, expected: SmtpConfig) -> None:
    assert SmtpChannel.from_url(url).config == expected


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://u:rahasia@relay.contoh.id", "SMTP URL scheme must be smtp or smtps, got 'http'"),
        ("relay.contoh.id:25", "SMTP URL scheme must be smtp or smtps, got 'relay.contoh.id'"),
        ("", "SMTP URL scheme must be smtp or smtps, got 'none'"),
        ("smtp://", "SMTP URL has no host"),
        ("smtp://u:rahasia@:25", "SMTP URL has no host"),
        ("smtp://relay.contoh.id:99999", "SMTP URL is malformed: Port out of range 0-65535"),
        ("smtp://relay.contoh.id:dua", "SMTP URL is malformed: Port could not be cast to "
                                       "integer value as 'dua'"),
        ("smtp://relay.contoh.id:0", "SMTP port must be 1-65535, got 0"),
        ("smtp://relay.contoh.id/kirim", "SMTP URL must not have a path or fragment"),
        ("smtp://relay.contoh.id#x", "SMTP URL must not have a path or fragment"),
        ("smtp://relay.contoh.id?tls=yes", "unknown SMTP URL option 'tls'"),
        ("smtp://relay.contoh.id?starttls=yes",
         "SMTP URL option starttls must be required|off, got 'yes'"),
        ("smtp://relay.contoh.id?starttls=",
         "SMTP URL option starttls must be required|off, got ''"),
        ("smtp://relay.contoh.id?verify=0", "SMTP URL option verify must be true|false, got '0'"),
        ("smtp://relay.contoh.id?verify=false&verify=true",
         "SMTP URL option 'verify' is given more than once"),
        ("smtps://relay.contoh.id?starttls=required",
         "smtps already uses TLS; starttls=required needs smtp://"),
    ],
    ids=["http-scheme", "no-scheme", "empty", "no-host", "credentials-no-host",
         "port-out-of-range", "port-not-a-number", "port-zero", "path", "fragment",
         "unknown-option", "starttls-bad-value", "starttls-empty", "verify-bad-value",
         "repeated-option", "smtps-with-starttls"],
)  # fmt: skip
def test_from_url_rejects(url: str, message: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        SmtpChannel.from_url(url)

    assert str(caught.value) == message
    assert "rahasia" not in str(caught.value)


def test_from_url_overrides_win_over_the_url() -> None:
    channel = SmtpChannel.from_url("smtp://relay.contoh.id:587", port=2525, pool_size=8)

    assert (channel.config.port, channel.config.pool_size) == (2525, 8)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"host": ""}, "SMTP host is required"),
        ({"port": 70000}, "SMTP port must be 1-65535, got 70000"),
        ({"username": "warta"}, "SMTP username and password must be given together"),
        ({"password": "rahasia"}, "SMTP username and password must be given together"),
        ({"use_tls": True, "start_tls": True},
         "implicit TLS (smtps) and STARTTLS cannot both be on"),
        ({"pool_size": 0}, "SMTP pool_size must be at least 1, got 0"),
        ({"timeout": 0}, "SMTP timeout must be positive, got 0"),
    ],
    ids=["empty-host", "port-too-big", "user-only", "password-only", "tls-and-starttls",
         "empty-pool", "zero-timeout"],
)  # fmt: skip
def test_constructor_rejects(options: dict[str, Any], message: str) -> None:
    relay: dict[str, Any] = {"host": "relay.contoh.id", "port": 25}

    with pytest.raises(ConfigurationError) as caught:
        SmtpChannel(**(relay | options))

    assert str(caught.value) == message


def test_config_repr_hides_the_password() -> None:
    channel = SmtpChannel(host="relay.contoh.id", port=25, username="warta", password="rahasia")

    assert "rahasia" not in repr(channel.config)


# -- capture channels ------------------------------------------------------------------


async def test_recording_channel_records_and_reports_delivered(outbox: Outbox) -> None:
    channel = RecordingChannel("sms", outbox)

    result = await channel.send(sms())

    assert result.status == "delivered"
    assert result.provider_reference is not None
    assert result.provider_reference.startswith("capture-")
    [captured] = outbox.list("sms")
    assert (captured.channel, captured.to, captured.sender, captured.body) == (
        "sms",
        "+6281234567890",
        "DINKES",
        "Kode verifikasi Anda 123456",
    )
    assert captured.notification_id == "sms-1"
    assert captured.captured_at.utcoffset() is not None
    assert captured.captured_at.utcoffset().total_seconds() == 0  # type: ignore[union-attr]


async def test_recording_channel_fails_on_demand_and_records_nothing(outbox: Outbox) -> None:
    failure = TemporaryFailure("SMSC busy")
    channel = RecordingChannel("sms", outbox, fail_with=failure)

    for _ in range(2):
        with pytest.raises(TemporaryFailure) as caught:
            await channel.send(sms())
        assert caught.value is failure
    channel.fail_with = None
    await channel.send(sms())

    assert len(outbox) == 1


@pytest.mark.parametrize(
    ("name", "message", "error"),
    [
        ("email", sms(), "sms message routed to the email channel"),
        ("sms", email(), "email message routed to the sms channel"),
    ],
    ids=["sms-to-email", "email-to-sms"],
)
async def test_recording_channel_refuses_the_other_channels_messages(
    outbox: Outbox, name: Any, message: OutboundMessage, error: str
) -> None:
    with pytest.raises(TechnicalFailure) as caught:
        await RecordingChannel(name, outbox).send(message)

    assert str(caught.value) == error


def test_recording_channel_name_must_be_a_channel(outbox: Outbox) -> None:
    with pytest.raises(ConfigurationError) as caught:
        RecordingChannel("fax", outbox)  # type: ignore[arg-type]

    assert str(caught.value) == "channel name must be email or sms, got 'fax'"


def test_both_channels_implement_the_channel_protocol(outbox: Outbox) -> None:
    assert isinstance(RecordingChannel("email", outbox), Channel)
    assert isinstance(SmtpChannel(host="relay.contoh.id", port=25), Channel)


def captured(n: int, channel: Any = "sms") -> CapturedMessage:
    return CapturedMessage(
        channel=channel,
        to="+6281234567890",
        sender="DINKES",
        subject=None,
        body=f"pesan {n}",
        html=None,
        notification_id=str(n),
    )


def test_outbox_keeps_the_newest_maxlen_newest_first() -> None:
    box = Outbox(maxlen=3)
    for n in range(5):
        box.add(captured(n, channel="email" if n % 2 else "sms"))

    assert [m.notification_id for m in box.list()] == ["4", "3", "2"]
    assert [m.notification_id for m in box.list("sms")] == ["4", "2"]
    assert [m.notification_id for m in box.list("email")] == ["3"]
    box.clear()
    assert box.list() == []


def test_outbox_maxlen_must_be_positive() -> None:
    with pytest.raises(ConfigurationError) as caught:
        Outbox(maxlen=0)

    assert str(caught.value) == "Outbox maxlen must be at least 1, got 0"


async def test_outbox_wait_for_wakes_when_enough_messages_arrive() -> None:
    box = Outbox()

    async def deliver_later() -> None:
        for n in range(3):
            await asyncio.sleep(0.01)
            box.add(captured(n))

    producer = asyncio.create_task(deliver_later())
    messages = await box.wait_for(3, timeout=2)
    await producer

    assert [m.notification_id for m in messages] == ["2", "1", "0"]


async def test_outbox_wait_for_returns_at_once_when_already_full() -> None:
    box = Outbox()
    box.add(captured(1))

    assert len(await box.wait_for(1, timeout=0)) == 1


async def test_outbox_wait_for_times_out_saying_how_many_arrived() -> None:
    box = Outbox()
    box.add(captured(1))

    with pytest.raises(TimeoutError) as caught:
        await box.wait_for(2, timeout=0.05)

    assert str(caught.value) == "waited 0.05s for 2 messages, the outbox holds 1"


async def test_outbox_wait_for_more_than_maxlen_is_refused() -> None:
    with pytest.raises(ValueError) as caught:
        await Outbox(maxlen=2).wait_for(3)

    assert str(caught.value) == "cannot wait for 3 messages: the outbox keeps 2"
