"""Channels and a local SMTP server that capture messages instead of delivering them.

Used for SMS in development and by tests. Everything stays in memory on purpose: a
captured message holds personal data (a phone number, an address, personalised text) and
must never be written to disk.
"""

from __future__ import annotations

import asyncio
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any
from uuid import uuid4

from aiosmtpd.smtp import SMTP, Envelope, Session

from warta.channels.email_smtp import NOTIFICATION_ID_HEADER
from warta.domain.channels import ChannelName, OutboundMessage, SendResult
from warta.errors import ConfigurationError, DeliveryError, TechnicalFailure
from warta.store.outbox import CapturedMessage, Outbox


class RecordingChannel:
    """A fake channel: records each message in an ``Outbox`` and says it was delivered.

    Set ``fail_with`` (at construction or later) to make every send raise that error
    instead; a failed send records nothing, as a real provider would not have it either.
    """

    def __init__(
        self, name: ChannelName, outbox: Outbox, fail_with: DeliveryError | None = None
    ) -> None:
        if name not in ("email", "sms"):
            raise ConfigurationError(f"channel name must be email or sms, got {name!r}")
        self.name: ChannelName = name
        self.outbox = outbox
        self.fail_with = fail_with

    async def send(self, message: OutboundMessage) -> SendResult:
        if message.channel != self.name:
            raise TechnicalFailure(f"{message.channel} message routed to the {self.name} channel")
        if self.fail_with is not None:
            # A fresh traceback each time, so repeated raises don't pile up frames.
            raise self.fail_with.with_traceback(None)
        self.outbox.add(
            CapturedMessage(
                channel=message.channel,
                to=message.to,
                sender=message.sender,
                subject=message.subject,
                body=message.body,
                html=message.html,
                notification_id=message.notification_id,
            )
        )
        return SendResult(status="delivered", provider_reference=f"capture-{uuid4()}")

    async def aclose(self) -> None:
        return None


class CaptureHandler:
    """aiosmtpd handler: parses each received email into the outbox, one per recipient.

    Subclass it and add ``handle_RCPT``/``handle_MAIL`` hooks to make a server that
    refuses, as the integration tests do.
    """

    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        parser = BytesParser(_class=EmailMessage, policy=policy.default)
        email = parser.parsebytes(envelope.original_content or b"")
        for recipient in envelope.rcpt_tos:
            self.outbox.add(_captured_email(email, recipient, envelope.mail_from or ""))
        return "250 2.0.0 OK: captured"


def _captured_email(email: EmailMessage, recipient: str, mail_from: str) -> CapturedMessage:
    plain = email.get_body(preferencelist=("plain",))
    html = email.get_body(preferencelist=("html",))
    return CapturedMessage(
        channel="email",
        to=recipient,
        sender=str(email.get("From", mail_from)),
        subject=None if email["Subject"] is None else str(email["Subject"]),
        body=_text(plain) or "",
        html=_text(html),
        notification_id=email.get(NOTIFICATION_ID_HEADER),
    )


def _text(part: object) -> str | None:
    if not isinstance(part, EmailMessage):
        return None
    # MIME travels with CRLF and adds one final newline; undo both so the captured
    # body equals what the channel was given.
    content = str(part.get_content()).replace("\r\n", "\n")
    return content.removesuffix("\n")


class CaptureSmtpServer:
    """An SMTP server on the running event loop that hands every session to ``handler``
    (an aiosmtpd handler: a ``CaptureHandler``, or the bounce listener's).

    ``start()`` with port 0 picks a free port and remembers it, so ``stop()`` then
    ``start()`` comes back on the same port (as a relay restart would). ``stop()`` also
    drops open client connections. ``connections_made`` counts accepted connections.
    ``data_size_limit`` is advertised (EHLO SIZE) and larger messages are refused with 552;
    ``reuse_port`` lets several processes listen on one port (``serve --processes``).
    """

    def __init__(
        self,
        handler: object,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        hostname: str = "capture.warta.test",
        data_size_limit: int = 33_554_432,  # aiosmtpd's default
        reuse_port: bool = False,
    ) -> None:
        self.handler = handler
        self.host = host
        self.port = port
        self.hostname = hostname  # passed on so aiosmtpd does not look up our FQDN
        self.data_size_limit = data_size_limit
        self.reuse_port = reuse_port
        self.connections_made = 0
        self._server: asyncio.Server | None = None
        self._sessions: set[_Session] = set()

    async def start(self) -> tuple[str, int]:
        if self._server is not None:
            raise RuntimeError("capture SMTP server is already running")
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            self._new_session, self.host, self.port, reuse_port=self.reuse_port or None
        )
        self.host, self.port = self._server.sockets[0].getsockname()[:2]
        return self.host, self.port

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        sessions = list(self._sessions)
        for session in sessions:
            if session.transport is not None:
                session.transport.close()
        await server.wait_closed()
        # aiosmtpd runs each connection in a task it keeps private; wait for those to
        # finish so nothing is left pending when the loop closes.
        tasks = [t for s in sessions if (t := s._handler_coroutine) is not None]
        await asyncio.gather(*tasks, return_exceptions=True)

    async def __aenter__(self) -> CaptureSmtpServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    def _new_session(self) -> _Session:
        self.connections_made += 1
        return _Session(
            self.handler,
            live=self._sessions,
            hostname=self.hostname,
            data_size_limit=self.data_size_limit,
            enable_SMTPUTF8=True,
            loop=asyncio.get_running_loop(),
        )


class _Session(SMTP):
    """aiosmtpd's protocol, kept in ``live`` while its connection is open."""

    def __init__(self, handler: object, *, live: set[_Session], **options: Any) -> None:
        super().__init__(handler, **options)
        self._live = live
        live.add(self)

    def connection_lost(self, error: Exception | None) -> None:
        super().connection_lost(error)
        self._live.discard(self)
