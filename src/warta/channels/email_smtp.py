"""Email over SMTP, with a small pool of persistent connections.

A relay taking the message is "delivered" for Warta: after that the relay owns retries and
bounces. Every aiosmtplib exception is translated in ``_translate`` into the
``warta.errors.DeliveryError`` tree, so the pipeline decides to retry from the class alone:

    connect/timeout/disconnect, SMTP 421, EHLO/AUTH 4xx     -> ProviderUnavailable
    SMTP 4xx at MAIL/RCPT/DATA                              -> TemporaryFailure
    SMTP 5xx at MAIL/RCPT/DATA                              -> PermanentFailure
    EHLO/AUTH 5xx, missing extension, anything else         -> TechnicalFailure

A dropped connection (disconnect, or 421) is retried once on a fresh connection; a reply
timeout is not, because the relay may already hold the message and it would go twice.

Error messages carry the SMTP code and the server's text with every address redacted,
because a relay's reply usually quotes the recipient ("550 5.1.1 <budi@example.id>: ...")
and recipients are personal data that must not reach the logs.
"""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from email.header import Header
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import format_datetime, formataddr, parseaddr
from typing import Any, Protocol

import aiosmtplib

from warta.channels.email_smtp_config import SmtpConfig, parse_smtp_url
from warta.domain.bounces import redact
from warta.domain.channels import (
    NOTIFICATION_ID_HEADER,
    ChannelName,
    OutboundMessage,
    SendResult,
)
from warta.errors import (
    DeliveryError,
    PermanentFailure,
    ProviderUnavailable,
    TechnicalFailure,
    TemporaryFailure,
)

# Message-ID left part: dot-atom text only, so a notification id cannot inject syntax.
_MESSAGE_ID_LEFT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_REASON_LIMIT = 120


class EmailSigner(Protocol):
    """Adds signatures to an email as built (``channels.email_dkim.DkimSigner``)."""

    async def sign(self, email: bytes, from_domain: str) -> bytes: ...


class SmtpChannel:
    """Send email through one SMTP relay over up to ``pool_size`` reused connections.

    Idle connections are kept LIFO, so the most recently used (most likely still open) is
    taken first; a semaphore caps idle plus busy connections at ``pool_size``. A connection
    the server dropped is discarded and the message retried once on a fresh connection.
    """

    name: ChannelName = "email"

    def __init__(
        self,
        *,
        host: str,
        port: int,
        username: str | None = None,
        password: str | None = None,
        use_tls: bool = False,
        start_tls: bool | None = None,
        validate_certs: bool = True,
        timeout: float = 30.0,
        pool_size: int = 4,
        local_hostname: str | None = None,
        signer: EmailSigner | None = None,
    ) -> None:
        self.signer = signer  # DKIM: signs the exact bytes sent, after build_email
        self.config = SmtpConfig(
            host=host,
            port=port,
            username=username,
            password=password,
            use_tls=use_tls,
            start_tls=start_tls,
            validate_certs=validate_certs,
            timeout=timeout,
            pool_size=pool_size,
            local_hostname=local_hostname,
        )
        self._idle: list[aiosmtplib.SMTP] = []
        self._slots = asyncio.Semaphore(pool_size)
        self._closed = False

    @classmethod
    def from_url(cls, url: str, **overrides: Any) -> SmtpChannel:
        """Build from ``smtp://user:pass@host:587?starttls=required`` or ``smtps://host``.

        Keyword ``overrides`` win over what the URL says (``pool_size=8``, ``timeout=10``).
        """
        return cls(**(parse_smtp_url(url) | overrides))

    async def send(self, message: OutboundMessage) -> SendResult:
        if message.channel != "email":
            raise TechnicalFailure(f"{message.channel} message routed to the email channel")
        if self._closed:
            # Retryable on purpose: a send racing shutdown must not lose the message.
            raise ProviderUnavailable("the SMTP channel is closed")
        email, message_id = build_email(message)
        if self.signer is not None:
            from_domain = envelope_address(parseaddr(message.sender)[1]).rpartition("@")[2]
            email = await self.signer.sign(email, from_domain.lower())
        envelope_sender = envelope_address(message.return_path or parseaddr(message.sender)[1])
        try:
            async with self._slots:
                await self._transmit(email, envelope_sender, envelope_address(message.to))
        except (aiosmtplib.SMTPException, OSError, ValueError) as exc:
            raise _translate(exc) from exc
        return SendResult(status="delivered", provider_reference=message_id)

    async def aclose(self) -> None:
        """QUIT every idle connection; busy ones are closed when their send finishes."""
        self._closed = True
        idle, self._idle = self._idle, []
        for connection in idle:
            await _quit(connection)

    async def _transmit(self, email: bytes, sender: str, to: str) -> None:
        fresh = False
        while True:
            connection = await self._checkout(fresh=fresh)
            try:
                await connection.sendmail(sender, [to], email)
            except BaseException as exc:
                if _server_answered(exc):
                    # aiosmtplib already sent RSET, so the connection is clean to reuse.
                    await self._checkin(connection)
                else:
                    connection.close()
                if _was_dropped(exc) and not fresh:
                    fresh = True
                    continue
                raise
            await self._checkin(connection)
            return

    async def _checkout(self, *, fresh: bool) -> aiosmtplib.SMTP:
        while self._idle and not fresh:
            connection = self._idle.pop()
            if connection.is_connected:
                return connection
            connection.close()  # the server hung up while it sat idle
        connection = aiosmtplib.SMTP(
            hostname=self.config.host,
            port=self.config.port,
            username=self.config.username,
            password=self.config.password,
            use_tls=self.config.use_tls,
            start_tls=self.config.start_tls,
            validate_certs=self.config.validate_certs,
            timeout=self.config.timeout,
            local_hostname=self.config.local_hostname,
        )
        await connection.connect()  # closes itself if it fails
        return connection

    async def _checkin(self, connection: aiosmtplib.SMTP) -> None:
        if self._closed:
            await _quit(connection)
        elif connection.is_connected:
            self._idle.append(connection)
        else:
            connection.close()


def build_email(message: OutboundMessage) -> tuple[bytes, str]:
    """The message as sent on the wire, and its Message-ID (stable per notification and
    attempt, so a relay could spot a resend).

    Built with the compat32 ``email.mime`` classes: the modern ``EmailMessage`` API parses
    every header it is given and cost three times as much per message, which showed as a
    quarter of delivery time. compat32 does not guard against header injection, so line
    breaks in header values are refused here.
    """
    if not _MESSAGE_ID_LEFT.fullmatch(message.notification_id):
        raise TechnicalFailure("notification id cannot be used in a Message-ID")
    _, at, domain = parseaddr(message.sender)[1].rpartition("@")
    try:
        domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        domain = ""
    if not (at and domain):
        raise TechnicalFailure("email sender has no usable domain")
    headers = (
        message.sender,
        message.to,
        message.subject or "",
        message.reply_to or "",
        *(part for field in message.headers for part in field),
    )
    if any("\r" in value or "\n" in value for value in headers):
        # The value may be an address or a personalised subject: only the kind is kept.
        raise TechnicalFailure("could not build the email: invalid header value")
    message_id = f"<{message.notification_id}.{message.attempt}@{domain}>"
    text = MIMEText(message.body, "plain", "utf-8")
    email: MIMEText | MIMEMultipart = text
    if message.html is not None:
        email = MIMEMultipart(
            "alternative", _subparts=[text, MIMEText(message.html, "html", "utf-8")]
        )
    email["From"] = _address(message.sender)
    email["To"] = _address(message.to)
    if message.subject is not None:
        # typeshed says str; compat32 also takes a Header and folds it correctly.
        email["Subject"] = _unstructured(message.subject)  # type: ignore[assignment]
    email["Date"] = format_datetime(datetime.now(UTC))
    email["Message-ID"] = message_id
    if message.reply_to:
        email["Reply-To"] = _address(message.reply_to)
    email[NOTIFICATION_ID_HEADER] = message.notification_id
    for name, value in message.headers:
        email[name] = value
    return email.as_bytes(policy=_WIRE), message_id


_WIRE = compat32.clone(linesep="\r\n")


def _address(value: str) -> str:
    """'Dinas <info@dinas-ñ.id>' -> 'Dinas <info@xn--dinas--1wa.id>' (IDNA domain)."""
    name, address = parseaddr(value)
    return formataddr((name, envelope_address(address)), charset="utf-8")


def envelope_address(address: str) -> str:
    """The address as SMTP carries it: the domain in IDNA, the mailbox ASCII."""
    local, _, domain = address.rpartition("@")
    try:
        domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        domain = ""
    if not (local.isascii() and domain):
        # A non-ASCII mailbox needs SMTPUTF8, which Warta does not send yet.
        raise TechnicalFailure("could not build the email: address cannot be sent")
    return f"{local}@{domain}"


#: compat32 folds a plain ASCII header only between words: a word longer than this would
#: leave a line over RFC 5322's 998 characters, which relays refuse ("500 Line too long").
_FOLDABLE_WORD = 66


def _unstructured(value: str) -> str | Header:
    """The header as compat32 should write it: plain ASCII when it folds between words,
    else RFC 2047 encoded words, which fold anywhere (``"x" * 998`` stays under 78)."""
    if value.isascii() and max(map(len, value.split()), default=0) <= _FOLDABLE_WORD:
        return value
    return Header(value, "utf-8")


def _reply_code(exc: BaseException) -> int | None:
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused) and exc.recipients:
        return exc.recipients[0].code
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return exc.code
    return None


def _server_answered(exc: BaseException) -> bool:
    return _reply_code(exc) is not None


def _was_dropped(exc: BaseException) -> bool:
    # 421 is how a relay says "closing this connection" (Postfix sends it on idle
    # timeout, and the client reads it as the reply to its next command).
    return isinstance(exc, aiosmtplib.SMTPServerDisconnected) or _reply_code(exc) == 421


def _translate(exc: Exception) -> DeliveryError:
    """The one place an aiosmtplib (or socket) exception becomes a Warta error."""
    code = _reply_code(exc)
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused) and exc.recipients:
        return _by_code(exc.recipients[0].code, "RCPT", exc.recipients[0].message)
    if isinstance(exc, aiosmtplib.SMTPConnectError):  # refused, timed out, bad greeting
        greeting = "" if code is None else f"SMTP {code} at greeting: "
        return ProviderUnavailable(f"cannot connect to the SMTP server: {greeting}{_reason(exc)}")
    if isinstance(exc, aiosmtplib.SMTPServerDisconnected | aiosmtplib.SMTPTimeoutError):
        return ProviderUnavailable(f"SMTP server connection lost: {_reason(exc)}")
    if isinstance(exc, aiosmtplib.SMTPHeloError | aiosmtplib.SMTPAuthenticationError):
        # Our identity or credentials were refused: no recipient is at fault.
        phase = "EHLO" if isinstance(exc, aiosmtplib.SMTPHeloError) else "AUTH"
        kind = ProviderUnavailable if code is not None and code < 500 else TechnicalFailure
        return kind(f"SMTP {code} at {phase}: {_reason(exc)}")
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return _by_code(exc.code, _PHASES.get(type(exc), "reply"), exc.message)
    if isinstance(exc, aiosmtplib.SMTPException):
        return TechnicalFailure(f"SMTP client error: {_reason(exc)}")
    if isinstance(exc, OSError):
        return ProviderUnavailable(f"SMTP network error: {type(exc).__name__}")
    return TechnicalFailure(f"SMTP client refused the message: {type(exc).__name__}")


_PHASES: dict[type[Exception], str] = {
    aiosmtplib.SMTPSenderRefused: "MAIL",
    aiosmtplib.SMTPDataError: "DATA",
}


def _by_code(code: int, phase: str, text: str) -> DeliveryError:
    message = f"SMTP {code} at {phase}: {_redact(text)}"
    if code == 421:
        return ProviderUnavailable(message)
    if 400 <= code < 500:
        return TemporaryFailure(message)
    if 500 <= code < 600:
        return PermanentFailure(message)
    return TechnicalFailure(message)


def _reason(exc: aiosmtplib.SMTPException) -> str:
    return _redact(exc.message or type(exc).__name__)


def _redact(text: str) -> str:
    return redact(text, _REASON_LIMIT)


async def _quit(connection: aiosmtplib.SMTP) -> None:
    try:
        await connection.quit()
    except (aiosmtplib.SMTPException, OSError):
        pass  # best effort: the server may already have gone
    finally:
        connection.close()
