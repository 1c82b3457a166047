"""What a bounce or a complaint says, read from the raw message the bounce listener got.

Pure: bytes in, a ``Feedback`` (or None) out. The listener
(``warta.channels.bounce_listener``) takes the mail over SMTP, ``warta.services.bounce_mail``
finds the notification and ``warta.services.email_feedback.record`` decides what it does.

Formats read, most authoritative first:

=================================  ===================================================
RFC 5965 ARF (multipart/report;    ``Feedback-Type: abuse`` -> complaint (Yahoo, Microsoft
report-type=feedback-report)       JMRP, most feedback loops). Other types (``not-spam``,
                                   DMARC's ``auth-failure``) are not complaints: ignored.
RFC 3464 DSN (multipart/report;    per recipient: ``Action: failed`` with ``Status: 5.x.x``
report-type=delivery-status)       -> hard, ``4.x.x`` -> soft; ``Action: delayed`` -> soft;
                                   delivered/relayed/expanded -> nothing (Postfix, Gmail,
                                   Exchange 2007 and later, Exim with DSN on).
anything else                      flufl.bounce's heuristics say whether it is a bounce and
                                   if permanent (Exim's "Mail delivery failed",
                                   Exchange 2003's "did not reach the following
                                   recipient(s)", Yahoo's "failure notice"); the status and
                                   reason come from the line quoting the SMTP reply.
=================================  ===================================================

An auto-reply ("Out of Office", ``X-Autoreply``) also comes back to the Return-Path: it is
not a bounce, and neither is anything unreadable.

VERP. Every email leaves with its own envelope sender (Return-Path), for example
``b-0f1e2d3c4b5a69788796a5b4c3d2e1f0-5d2a9c0e41b7f388@bounces.dinas.example.id``: the
notification's id and a MAC of it under Warta's lookup key. A bounce comes back to that
address, so the notification is known without trusting anything inside the report. The
MAC is there so nobody can mail a made-up bounce for an arbitrary notification. A report
that does not come back to a VERP address (a feedback loop sends ARF to an address the
sender registered) is matched by the returned copy's ``X-Warta-Notification-Id`` or
Message-ID (``<id.attempt@domain>``): both hold the notification's random UUID, which
only the recipient's mail system has seen.
"""

from __future__ import annotations

import email
import hmac
import re
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from email.message import Message
from typing import Literal, TypeGuard

from flufl.bounce import all_failures

from warta.domain.channels import NOTIFICATION_ID_HEADER

FeedbackKind = Literal["hard", "soft", "complaint"]


@dataclass(frozen=True, slots=True)
class Feedback:
    """What one report says about one notification."""

    kind: FeedbackKind
    #: From the VERP recipient, else from the returned headers; None: matches nothing.
    notification_id: uuid.UUID | None
    status: str  # enhanced status code "5.1.1"; "" for a complaint
    reason: str  # short diagnostic, every address redacted, at most 255 characters
    recipient_hash: str | None = None


REASON_LIMIT = 255

# An address, with its angle brackets if quoted: "<budi@contoh.id>:" -> "<address>:".
_ADDRESS_LIKE = re.compile(r"<?[^\s<>@,;:\"()\[\]]+@[^\s<>@,;:\"()\[\]]+>?")


def redact(text: str, limit: int = REASON_LIMIT) -> str:
    """One line, every address replaced, at most ``limit`` characters:

    ``"550 5.1.1 <budi@contoh.id>: Recipient\\n  address rejected"``
    -> ``"550 5.1.1 <address>: Recipient address rejected"``.
    """
    one_line = " ".join(_ADDRESS_LIKE.sub("<address>", text).split())
    return one_line[:limit] or "no reason given"


# --- reading reports ------------------------------------------------------------------

#: An RFC 3463 enhanced status code, not a piece of an IP address or a longer number:
#: "550 5.1.1 <x>" -> 5.1.1; "[192.0.2.153]" and "5.1.1.0" -> nothing.
_STATUS = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.]|\w)")
#: An SMTP reply code at the start of a reply: "550 ", "550-", "554:", "smtp;550 ".
_REPLY_CODE = re.compile(r"(?<![\d.])([45])\d\d(?=[ :-])")
#: What a status means when the report gives no Diagnostic-Code (RFC 3463, RFC 7505).
_STATUS_TEXT = {
    "0.0": "other or undefined status",
    "1.1": "bad destination mailbox address",
    "1.2": "bad destination system address",
    "1.10": "recipient address has null MX",
    "2.1": "mailbox disabled",
    "2.2": "mailbox full",
    "2.3": "message length exceeds administrative limit",
    "3.4": "message too big for system",
    "4.4": "unable to route",
    "4.7": "delivery time expired",
    "7.1": "delivery not authorized, message refused",
}
_NOTIFICATION_HEADERS = re.compile(
    rf"^(?:{re.escape(NOTIFICATION_ID_HEADER)}:[ \t]*([0-9a-f-]{{36}})"
    r"|(?:X-Original-)?Message-ID:[ \t]*<([0-9a-f-]{36})\.\d+@)",
    re.IGNORECASE | re.MULTILINE,
)
#: Where a non-standard bounce starts quoting the message it returns.
_COPY_MARKER = re.compile(
    r"^[ \t]*-+ ?(?:This is a copy of|Original message|The header of the original|"
    r"Below this line is a copy)",
    re.IGNORECASE | re.MULTILINE,
)
_AUTO_REPLY_SUBJECT = re.compile(
    r"^\s*(?:out of (?:the )?office|automatic reply|auto(?:matic)?[ -]?(?:reply|response)|"
    r"auto:|balasan otomatis|sedang cuti|absence|abwesenheit)",
    re.IGNORECASE,
)


def read_report(raw: bytes, notification_id: uuid.UUID | None = None) -> Feedback | None:
    """The feedback a returned message carries, or None when it is no bounce or complaint.

    ``notification_id`` is the one the VERP recipient named; without it the returned
    copy's headers are searched. Warta sends one recipient per email, so a DSN with
    several failed recipients (an alias that expanded) gives its worst outcome.
    """
    message = email.message_from_bytes(raw)  # compat32: the Message flufl.bounce reads
    if message.get_content_type() == "multipart/report":
        report_type = str(message.get_param("report-type", "")).lower()
        if report_type == "feedback-report":
            return _complaint(message, notification_id)
    if any(p.get_content_type() == "message/delivery-status" for p in message.walk()):
        return _delivery_status(message, notification_id)
    if _is_auto_reply(message):
        return None
    return _heuristic(message, notification_id)


def _complaint(message: Message, notification_id: uuid.UUID | None) -> Feedback | None:
    report = next(_parts(message, "message/feedback-report"), None)
    fields = _fields(report) if report is not None else None
    if fields is None or str(fields.get("Feedback-Type", "")).strip().lower() != "abuse":
        return None
    agent = _one_line(fields.get("User-Agent", "")) or "unknown reporter"
    return Feedback(
        kind="complaint",
        notification_id=notification_id or _returned_notification(message),
        status="",
        reason=redact(f"abuse report ({agent})"),
    )


def _delivery_status(message: Message, notification_id: uuid.UUID | None) -> Feedback | None:
    found: list[Feedback] = []
    notification_id = notification_id or _returned_notification(message)
    for part in _parts(message, "message/delivery-status"):
        blocks = part.get_payload()
        for block in blocks if isinstance(blocks, list) else []:
            outcome = _recipient_outcome(block, notification_id) if _is(block) else None
            if outcome is not None:
                found.append(outcome)
    # Worst first: a hard bounce over a delay for the same message.
    return min(found, key=lambda f: f.kind != "hard", default=None)


def _recipient_outcome(block: Message, notification_id: uuid.UUID | None) -> Feedback | None:
    """One per-recipient block: ``Action: failed`` / ``Status: 5.1.1`` /
    ``Diagnostic-Code: smtp; 550 5.1.1 <budi@example.id>: User unknown``."""
    action = _one_line(block.get("Action", "")).lower().split(" ", 1)[0]
    if action not in ("failed", "delayed"):
        return None  # the per-message block, or delivered / relayed / expanded
    match = _STATUS.search(str(block.get("Status", "")))
    kind: FeedbackKind
    if action == "delayed":
        kind = "soft"
        status = match[0] if match and match[1] == "4" else "4.0.0"
    else:
        kind = "soft" if match and match[1] == "4" else "hard"
        status = match[0] if match and match[1] != "2" else "5.0.0"
    diagnostic = _one_line(block.get("Diagnostic-Code", ""))
    diagnostic = diagnostic.split(";", 1)[1] if ";" in diagnostic else diagnostic
    reason = _unfolded_reply(diagnostic.strip()) or f"{status} {_status_text(status)}"
    return Feedback(
        kind=kind, notification_id=notification_id, status=status, reason=redact(reason)
    )


def _heuristic(message: Message, notification_id: uuid.UUID | None) -> Feedback | None:
    """A non-standard bounce. flufl.bounce carries two decades of Mailman's detectors for
    the formats MTAs invented before (and despite) RFC 3464; it answers whether this is a
    bounce and whether permanent. What it does not give (a status and a reason) is read
    from the bounce's own text, before the copy of the returned message."""
    if not message.get("From"):
        return None  # every bounce has one; this is no mail at all
    try:
        temporary, permanent = all_failures(message)
    except Exception:  # a detector tripping over a malformed message: it reads as none
        return None
    if not (temporary or permanent):
        return None
    kind: FeedbackKind = "hard" if permanent else "soft"
    text = _COPY_MARKER.split(_own_text(message), maxsplit=1)[0]
    status, reason = _diagnostic(text, "5" if kind == "hard" else "4")
    return Feedback(
        kind=kind,
        notification_id=notification_id or _returned_notification(message),
        status=status,
        reason=redact(reason),
    )


def _diagnostic(text: str, status_class: str) -> tuple[str, str]:
    """The status and the line it came from: the first line with an enhanced status of
    the bounce's class, else the first with an SMTP reply code of it, else the first
    reply of any class with the class's default status (Exim giving up on ``452 4.2.2
    Mailbox full`` after days of retries is permanent: 5.0.0, the 452 line as reason)."""
    lines = [" ".join(line.split()) for line in text.splitlines()]
    lines = [line for line in lines if line]
    for number, line in enumerate(lines):
        for match in _STATUS.finditer(line):
            if match[1] == status_class:
                return match[0], _with_context(lines, number)
    replies = [(line, code) for line in lines if (code := _REPLY_CODE.search(line))]
    for line, code in replies:
        if code[1] == status_class:
            return f"{status_class}.0.0", line[code.start() :]
    if replies:
        line, code = replies[0]
        return f"{status_class}.0.0", line[code.start() :]
    kind = "permanent" if status_class == "5" else "temporary"
    return f"{status_class}.0.0", f"{kind} failure, no diagnostic given"


def _with_context(lines: list[str], number: int) -> str:
    """The status's line, after the line before it when it says little more than the
    status: Exchange 2003 writes the words, then ``<mail.pemda.example.id #5.1.1>``."""
    line = lines[number]
    words = re.sub(r"<[^>]*>|\[[^\]]*\]|#?[245]\.\d{1,3}\.\d{1,3}", " ", line).split()
    if len(words) >= 3 or number == 0:
        return line
    return f"{lines[number - 1]} {line}"


def _unfolded_reply(text: str) -> str:
    """A multi-line SMTP reply as one: ``550-5.1.1 The email account ... Please try
    550-5.1.1 double-checking ...`` -> ``550 5.1.1 The email account ... Please try
    double-checking ...``."""
    first = re.match(r"([245]\d\d)[ -](?:([245]\.\d{1,3}\.\d{1,3}) +)?", text)
    if first is None:
        return text
    status = rf"(?:{re.escape(first[2])} +)?" if first[2] else ""
    rest = re.sub(rf"\s{first[1]}[ -]{status}", " ", text[first.end() :])
    return f"{first[1]} {first[2] + ' ' if first[2] else ''}{rest}"


def _is_auto_reply(message: Message) -> bool:
    """An out-of-office or autoresponder answer (RFC 3834 and what Exchange, Gmail and
    others add), unless it also names failed recipients (Exim's bounces say
    ``Auto-Submitted: auto-replied`` too, with ``X-Failed-Recipients``)."""
    if message.get("X-Failed-Recipients"):
        return False
    if any(message.get(h) for h in ("X-Autoreply", "X-Autorespond", "X-Auto-Response-Suppress")):
        return True
    if str(message.get("Precedence", "")).strip().lower() == "auto_reply":
        return True
    return bool(_AUTO_REPLY_SUBJECT.match(_one_line(message.get("Subject", ""))))


def _returned_notification(message: Message) -> uuid.UUID | None:
    """The notification named by the returned copy (message/rfc822 or
    text/rfc822-headers), or by header lines a bounce quotes in its text (Exim)."""
    for part in message.walk():
        if part is message:
            continue
        kind = part.get_content_type()
        payload = part.get_payload()
        if kind == "message/rfc822" and isinstance(payload, list) and _is(payload[0]):
            found = _from_headers(payload[0])
        elif kind in ("text/rfc822-headers", "text/plain", "message/delivery-status"):
            found = _from_text(_text(part))
        else:
            continue
        if found is not None:
            return found
    return None if message.is_multipart() else _from_text(_text(message))


def _from_headers(returned: Message) -> uuid.UUID | None:
    named = _uuid(str(returned.get(NOTIFICATION_ID_HEADER, "")).strip())
    if named is not None:
        return named
    match = re.fullmatch(r"\s*<([0-9a-f-]{36})\.\d+@[^>]+>\s*", str(returned.get("Message-ID", "")))
    return _uuid(match[1]) if match else None


def _from_text(text: str) -> uuid.UUID | None:
    for match in _NOTIFICATION_HEADERS.finditer(text):
        found = _uuid(match[1] or match[2])
        if found is not None:
            return found
    return None


def _uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


def _parts(message: Message, content_type: str) -> Iterator[Message]:
    return (p for p in message.walk() if p.get_content_type() == content_type)


def _fields(part: Message) -> Message | None:
    """The header fields of a message/feedback-report part (parsed as one header block)."""
    payload = part.get_payload()
    if isinstance(payload, list) and payload:
        first = payload[0]
        return first if isinstance(first, Message) else None
    return email.message_from_string(payload) if isinstance(payload, str) else None


def _own_text(message: Message) -> str:
    """The bounce's own text/plain parts, not those of a message it returns."""
    if not message.is_multipart():
        return _text(message) if message.get_content_maintype() == "text" else ""
    texts: list[str] = []
    for part in message.get_payload():
        if not isinstance(part, Message) or part.get_content_maintype() == "message":
            continue
        if part.is_multipart():
            texts.append(_own_text(part))
        elif part.get_content_type() == "text/plain":
            texts.append(_text(part))
    return "\n".join(texts)


def _text(part: Message) -> str:
    """A part's text, decoded (quoted-printable, base64, its charset); headers blocks
    of a message/delivery-status as their text."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return "\n".join(p.as_string() for p in payload if isinstance(p, Message))
    data = part.get_payload(decode=True)
    if not isinstance(data, bytes):
        return str(payload)
    charset = part.get_content_charset() or "utf-8"
    try:
        return data.decode(charset, errors="replace")
    except LookupError:  # an unknown charset name
        return data.decode("utf-8", errors="replace")


def _is(part: object) -> TypeGuard[Message]:
    return isinstance(part, Message)


def _one_line(value: object) -> str:
    return " ".join(str(value).split())


def _status_text(status: str) -> str:
    return _STATUS_TEXT.get(status.split(".", 1)[1], "")


# --- VERP -----------------------------------------------------------------------------

#: A MAC function: text -> hex digest (``app.keyring.lookup_hash``), and the digests under
#: every key still accepted (``app.keyring.lookup_hashes``, so rotation does not orphan
#: mail already sent).
Mac = Callable[[str], str]
Macs = Callable[[str], Iterable[str]]

_MAC_CHARS = 16  # 64 bits: forging one address takes ~2^63 tries against the listener
#: ``b-``: a bounce's Return-Path; ``u-``: a one-click unsubscribe mailto (RFC 8058). Both
#: name the notification: a sealed unsubscribe token (``services/unsubscribe.py``) is over
#: 100 characters, and RFC 5321 allows a local part of 64.
_VERP = re.compile(r"([bu])-([0-9a-f]{32})-([0-9a-f]{16})")
Purpose = Literal["b", "u"]


def _mac_input(notification_id: uuid.UUID, purpose: Purpose) -> str:
    # The purpose is MACed too: a bounce address cannot be turned into an unsubscribe one.
    return f"warta/verp/v1:{notification_id.hex}" + ("" if purpose == "b" else ":unsubscribe")


def verp_address(notification_id: uuid.UUID, mac: Mac, domain: str, purpose: Purpose = "b") -> str:
    """``b-<id hex>-<mac>@<domain>`` (or ``u-`` for an unsubscribe mailto): 2 + 32 + 1 +
    16 = 51 characters of local part (SMTP allows 64), lower case because some relays
    lower-case what they return."""
    digest = mac(_mac_input(notification_id, purpose))[:_MAC_CHARS].lower()
    return f"{purpose}-{notification_id.hex}-{digest}@{domain.lower()}"


def verp_notification(
    address: str, macs: Macs, domain: str, purpose: Purpose = "b"
) -> uuid.UUID | None:
    """The notification a VERP address of ``purpose`` names, or None when the address is
    not one at ``domain``, or its MAC is not one Warta made (a forged or garbled address)."""
    local = _local_at(address, domain)
    match = _VERP.fullmatch(local.lower()) if local is not None else None
    if match is None or match[1] != purpose:
        return None
    notification_id = uuid.UUID(hex=match[2])
    expected = [d[:_MAC_CHARS].lower() for d in macs(_mac_input(notification_id, purpose))]
    if not any(hmac.compare_digest(match[3], e) for e in expected):
        return None
    return notification_id


def is_at_domain(address: str, domain: str) -> bool:
    """Whether ``address`` is a mailbox at exactly ``domain`` (case-insensitive)."""
    return _local_at(address, domain) is not None


@dataclass(frozen=True, slots=True)
class Recipient:
    """What an RCPT TO at the bounce listener is.

    ``bounce``: a VERP address with a good MAC (``notification_id`` set); ``unsubscribe``:
    a one-click mailto (``u-`` VERP, ``notification_id`` set); ``mailbox``: any other
    mailbox at the bounce domain (``fbl@`` registered with a feedback loop,
    ``postmaster@``, ``abuse@``): its reports are matched by the returned headers;
    ``refused``: another domain (no open relay), or a
    VERP address whose MAC Warta did not make.
    """

    kind: Literal["bounce", "unsubscribe", "mailbox", "refused"]
    notification_id: uuid.UUID | None = None


def recipient(address: str, macs: Macs, domain: str) -> Recipient:
    local = _local_at(address, domain)
    if local is None:
        return Recipient("refused")
    if local.lower().startswith(("b-", "u-")):
        kind: Literal["bounce", "unsubscribe"] = "bounce" if local[0] in "bB" else "unsubscribe"
        named = verp_notification(address, macs, domain, "b" if kind == "bounce" else "u")
        return Recipient(kind, named) if named else Recipient("refused")
    return Recipient("mailbox")


def _local_at(address: str, domain: str) -> str | None:
    local, at, host = address.strip().strip("<>").rpartition("@")
    if not (at and local and domain) or host.lower().rstrip(".") != domain.lower().rstrip("."):
        return None
    return local
