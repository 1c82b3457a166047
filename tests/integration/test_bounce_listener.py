"""The bounce listener over real SMTP (aiosmtplib to aiosmtpd).

First the listener alone, with its service swapped for a recorder: what it answers to
each recipient, size and failure. Then Warta's own, started by the API's lifespan for
WARTA_BOUNCE_DOMAIN, on SQLite and PostgreSQL: an email leaves with its VERP Return-Path,
the Postfix bounce sent back to that address fails the notification, a complaint to the
feedback-loop mailbox is taken, and an unsubscribe mailto opts the address out.
What each outcome does in full is tests/integration/test_email_feedback.py's.
"""

from __future__ import annotations

import hashlib
import hmac
import socket
import uuid
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import aiosmtplib
import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.integration.harness import make_settings, running_warta
from warta.channels.bounce_listener import BounceListener
from warta.channels.capture import CaptureHandler, CaptureSmtpServer
from warta.domain import bounces
from warta.services import bounce_mail
from warta.store.outbox import Outbox

FIXTURES = Path(__file__).parent.parent / "fixtures" / "bounces"
DOMAIN = "bounces.example.id"
NID = uuid.UUID("6f1c2b9e-4d3a-4e8b-9a51-0c7d2e4f8a13")
KEY = b"k" * 32


def _mac(text: str) -> str:
    return hmac.new(KEY, text.encode(), hashlib.sha256).hexdigest()


VERP = bounces.verp_address(NID, _mac, DOMAIN)


class Recorder:
    """The service's part, recorded: what reached ``receive``; ``fail`` makes it raise."""

    def __init__(self) -> None:
        self.received: list[tuple[Sequence[str], bytes]] = []
        self.fail = False

    def accepts(self, address: str) -> bool:
        return bounces.recipient(address, lambda t: [_mac(t)], DOMAIN).kind != "refused"

    async def receive(self, recipients: Sequence[str], raw: bytes) -> None:
        if self.fail:
            raise RuntimeError("database down")
        self.received.append((recipients, raw))


@pytest.fixture
async def listener() -> AsyncIterator[tuple[BounceListener, Recorder, int]]:
    recorder = Recorder()
    server = BounceListener(
        domain=DOMAIN, accepts=recorder.accepts, receive=recorder.receive, max_size=200_000
    )
    _, port = await server.start()
    try:
        yield server, recorder, port
    finally:
        await server.stop()


async def _send(port: int, to: str | list[str], raw: bytes) -> tuple[dict[str, object], str]:
    """Send as an MTA returning a bounce does: from the null sender."""
    async with aiosmtplib.SMTP(hostname="127.0.0.1", port=port, local_hostname="mx.example") as c:
        refused, reply = await c.sendmail("", [to] if isinstance(to, str) else to, raw)
    return dict(refused), reply


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.glob("*.eml")))
async def test_every_fixture_is_taken_from_the_null_sender_and_handed_on(
    listener: tuple[BounceListener, Recorder, int], name: str
) -> None:
    _, recorder, port = listener
    raw = (FIXTURES / name).read_bytes()
    refused, reply = await _send(port, VERP, raw)
    assert refused == {} and reply.startswith("2.0.0 OK")
    [(recipients, received)] = recorder.received
    assert recipients == (VERP,)
    # Byte for byte, but for the line endings SMTP carries.
    assert received.replace(b"\r\n", b"\n") == raw.replace(b"\r\n", b"\n")
    expected = bounces.read_report(raw, NID)
    assert bounces.read_report(received, NID) == expected


@pytest.mark.parametrize(
    ("to", "code", "text"),
    [
        pytest.param("budi@example.id", 550, "5.7.1 Relaying denied", id="another-domain"),
        pytest.param(f"x@sub.{DOMAIN}", 550, "5.7.1 Relaying denied", id="a-subdomain"),
        pytest.param(
            f"b-{NID.hex}-0000000000000000@{DOMAIN}", 550, "5.1.1 No such", id="forged-verp"
        ),
    ],
)
async def test_recipients_not_for_the_bounce_domain_are_refused(
    listener: tuple[BounceListener, Recorder, int], to: str, code: int, text: str
) -> None:
    _, recorder, port = listener
    with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as refused:
        await _send(port, to, b"Subject: x\r\n\r\nx\r\n")
    [answer] = refused.value.recipients
    assert (answer.code, answer.message.startswith(text)) == (code, True)
    assert recorder.received == []


async def test_a_mixed_envelope_takes_only_the_bounce_domain(
    listener: tuple[BounceListener, Recorder, int],
) -> None:
    _, recorder, port = listener
    refused, _ = await _send(port, [VERP, "budi@example.id", f"fbl@{DOMAIN}"], b"\r\nx\r\n")
    assert list(refused) == ["budi@example.id"]
    assert recorder.received[0][0] == (VERP, f"fbl@{DOMAIN}")


async def test_a_message_over_the_size_limit_is_refused_with_552(
    listener: tuple[BounceListener, Recorder, int],
) -> None:
    _, recorder, port = listener
    huge = b"Subject: big\r\n\r\n" + (b"x" * 998 + b"\r\n") * 250  # 250 kB > 200 kB
    with pytest.raises(aiosmtplib.SMTPResponseException) as refused:
        await _send(port, VERP, huge)
    assert refused.value.code == 552
    assert recorder.received == []


async def test_when_the_service_fails_the_sender_is_told_to_retry(
    listener: tuple[BounceListener, Recorder, int],
) -> None:
    _, recorder, port = listener
    recorder.fail = True
    raw = (FIXTURES / "postfix-hard-5.1.1.eml").read_bytes()
    with pytest.raises(aiosmtplib.SMTPDataError) as failed:
        await _send(port, VERP, raw)
    assert failed.value.code == 451
    recorder.fail = False  # the sending MTA retries from its queue: now it is taken
    assert (await _send(port, VERP, raw))[0] == {}
    assert len(recorder.received) == 1


# --- Warta's own listener -------------------------------------------------------------


class EnvelopeHandler(CaptureHandler):
    """The relay: also keeps each envelope sender (the Return-Path bounces go to)."""

    def __init__(self, outbox: Outbox) -> None:
        super().__init__(outbox)
        self.senders: list[str] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.senders.append(envelope.mail_from or "")
        return await super().handle_DATA(server, session, envelope)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _returning(name: str, notification_id: str) -> bytes:
    """A fixture returning this notification (its copy's headers name it, too)."""
    return (FIXTURES / name).read_bytes().replace(str(NID).encode(), notification_id.encode())


async def test_wartas_listener_reads_what_comes_back_to_an_emails_return_path(
    database_url: str, tmp_path: Path
) -> None:
    relay_handler = EnvelopeHandler(Outbox())
    async with CaptureSmtpServer(relay_handler) as relay:
        bounce_port = _free_port()
        settings = make_settings(
            database_url,
            tmp_path,
            smtp_url=f"smtp://{relay.host}:{relay.port}",
            bounce_domain=DOMAIN,
            bounce_smtp_host="127.0.0.1",
            bounce_smtp_port=bounce_port,
            quiet_hours=None,
        )
        async with running_warta(settings) as harness:
            response = await harness.send_email("ani@contoh.id")
            assert response.status_code == 201, response.text
            sent = str(response.json()["id"])
            await harness.wait_status(sent, "delivered")

            # The email left with its own Return-Path, naming it under Warta's key.
            [return_path] = relay_handler.senders
            assert return_path == bounce_mail.return_path(harness.app, sent)
            assert return_path.startswith(f"b-{uuid.UUID(sent).hex}-")
            assert return_path.endswith(f"@{DOMAIN}")

            # Hours later: the recipient's server says the mailbox does not exist.
            bounce = _returning("postfix-hard-5.1.1.eml", sent)
            assert (await _send(bounce_port, return_path, bounce))[0] == {}
            failed = await harness.wait_status(sent, "permanent-failure")
            assert "550 5.1.1 <address>: Recipient address rejected" in (
                failed.failure_reason or ""
            )
            assert "ani@" not in (failed.failure_reason or "")

            # A bounce to a made-up VERP address, and relaying, are refused at RCPT.
            forged = f"b-{uuid.UUID(sent).hex}-0123456789abcdef@{DOMAIN}"
            for refused_to in (forged, "ani@contoh.id"):
                with pytest.raises(aiosmtplib.SMTPRecipientsRefused):
                    await _send(bounce_port, refused_to, bounce)

            # A feedback loop's report to the mailbox registered with it is taken.
            complaint = _returning("yahoo-arf-complaint.eml", sent)
            assert (await _send(bounce_port, f"fbl@{DOMAIN}", complaint))[0] == {}
            complained = harness.app.keyring.lookup_hash("ani@contoh.id")
            async with harness.app.uow() as uow:
                stops = await uow.email_opt_outs.of_addresses([complained])
            assert [(s.source, s.topic) for s in stops] == [("complaint", "")]

            # A one-click unsubscribe mailto (RFC 8058's mailto: form) opts out.
            to_budi = await harness.send_email("budi@contoh.id")
            await harness.wait_status(str(to_budi.json()["id"]), "delivered")
            address_hash = harness.app.keyring.lookup_hash("budi@contoh.id")
            named = uuid.UUID(str(to_budi.json()["id"]))
            mailto = bounces.verp_address(named, harness.app.keyring.lookup_hash, DOMAIN, "u")
            message = b"Subject: unsubscribe\r\n\r\nunsubscribe\r\n"
            assert (await _send(bounce_port, mailto, message))[0] == {}
            async with harness.app.uow() as uow:
                stops = await uow.email_opt_outs.of_addresses([address_hash])
            assert [(s.agency_id, s.source, s.topic) for s in stops] == [
                (harness.agency_id, "mailto", "")
            ]


async def test_make_run_listens_locally_under_bounces_localhost(
    sqlite_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="warta.bootstrap")
    async with running_warta(make_settings(sqlite_url, tmp_path)) as harness:  # no relay set
        [line] = [r.getMessage() for r in caplog.records if "bounce listener" in r.getMessage()]
        assert line.startswith("bounce listener for bounces.localhost at 127.0.0.1:")
        port = int(line.rsplit(":", 1)[1])
        notification_id = uuid.uuid4()
        verp = bounce_mail.return_path(harness.app, notification_id)
        assert verp == f"b-{notification_id.hex}-{verp[35:51]}@bounces.localhost"
        raw = (FIXTURES / "postfix-hard-5.1.1.eml").read_bytes()
        assert (await _send(port, verp, raw))[0] == {}  # matches no email: counted, dropped
        with pytest.raises(aiosmtplib.SMTPRecipientsRefused):
            await _send(port, "ani@contoh.id", raw)
