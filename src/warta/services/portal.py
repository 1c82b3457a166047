"""The citizen's own side of Warta: sign-in by one-time code, and the inbox.

Sign-in. A citizen gives a phone number or an address; when it is one of their verified
contacts, a 6-digit code goes to it. Nothing about the sign-in is stored: the answer is a
*challenge*, a sealed token (AES-GCM under the keyring: authenticated, so it cannot be
forged, and encrypted, so it does not show whether anyone matched) holding the contact,
the citizen, the code's keyed hash and the expiry. Every contact gets a challenge of the
same shape and length; an unknown one simply holds a random citizen and a hash no code
has. The code proves the challenge; a session is another sealed token (citizen, issued,
expiry), carried as a cookie or a bearer token.

Inbox. A message is every attempt sharing ``message_id``; its first attempt's row
(``id == message_id``) carries ``seen_at``. A message is shown once Warta has started
sending it on some channel (an attempt has ``sent_at``): a scheduled or deferred message
is not shown early, and one cancelled by consent or expiry never is. Test-key messages
reach no one and are not shown.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, cast

from warta.deps import Warta
from warta.domain import recipients
from warta.domain.channels import OutboundMessage
from warta.domain.email import render_email
from warta.errors import (
    BadRequest,
    DeliveryError,
    InvalidInput,
    NotFound,
    RateLimited,
    ValidationFailed,
)
from warta.security.crypto import DecryptionError
from warta.services import content, routing
from warta.services.citizens import code_hash, code_problem
from warta.store.models import CitizenContact, Notification
from warta.store.uow import UnitOfWork

log = logging.getLogger(__name__)

#: Shorter than a contact's verification code (15 minutes): this one opens an inbox.
SIGN_IN_TTL = timedelta(minutes=10)
SESSION_TTL = timedelta(days=30)
PAGE_SIZE = 20
CHALLENGE_FIELD = "portal.challenge"
SESSION_FIELD = "portal.session"
#: How far back each poll for events looks again: a row stamped just before the last poll
#: may commit just after it (another worker's transaction, another host's clock).
EVENT_OVERLAP = timedelta(seconds=10)
SIGN_IN_TEXT = {
    "id": (
        "Kode masuk Warta",
        "Kode masuk Warta Anda: {code}. Berlaku 10 menit. "
        "Jangan berikan kode ini kepada siapa pun, termasuk petugas.",
    ),
    "en": (
        "Your Warta sign-in code",
        "Your Warta sign-in code: {code}. It expires in 10 minutes. "
        "Never give it to anyone, staff included.",
    ),
}


# -- sealed tokens -------------------------------------------------------------------------


def _seal(app: Warta, payload: dict[str, Any], field: str) -> str:
    sealed = app.keyring.encrypt_bytes(json.dumps(payload).encode(), field=field)
    return base64.urlsafe_b64encode(sealed).decode().rstrip("=")


def _open(app: Warta, token: str, field: str) -> dict[str, Any] | None:
    """The payload, or None for anything this Warta did not seal for ``field``."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        payload = json.loads(app.keyring.decrypt_bytes(raw, field=field))
    except (binascii.Error, ValueError, DecryptionError):
        return None
    return payload if isinstance(payload, dict) else None


def _stamp(when: datetime) -> int:
    return int(when.timestamp())


def _time(stamp: int) -> datetime:
    return datetime.fromtimestamp(stamp, UTC)


# -- sign-in -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SignIn:
    challenge: str
    #: The code's message, to send after answering (None: no citizen has this contact).
    code: OutboundMessage | None


@dataclass(frozen=True)
class Session:
    token: str
    citizen_id: uuid.UUID
    issued_at: datetime
    expires_at: datetime


class WrongTries:
    """Wrong codes (and used codes) per challenge, in this process's memory.

    A challenge is stateless, so something must count: a table would need a migration,
    and this is enough. With several processes an attacker gets 5 tries per process, each
    a 10^-6 chance, for one challenge that dies after 10 minutes; entries go with it. The
    cap bounds memory (about 200 bytes an entry); when it is full of live entries, no
    more guesses are taken until some expire.
    """

    def __init__(self, cap: int = 100_000) -> None:
        self._cap = cap
        self._entries: dict[bytes, tuple[datetime, int, bool]] = {}

    def wrong(self, challenge: str) -> int:
        return self._entries.get(_key(challenge), (_EPOCH, 0, False))[1]

    def used(self, challenge: str) -> bool:
        return self._entries.get(_key(challenge), (_EPOCH, 0, False))[2]

    def add_wrong(self, challenge: str, expires: datetime, now: datetime) -> None:
        key = _key(challenge)
        if key not in self._entries and not self._room(now):
            raise RateLimited("Too many sign-ins at once: try again in a few minutes")
        _, wrong, used = self._entries.get(key, (expires, 0, False))
        self._entries[key] = (expires, wrong + 1, used)

    def use(self, challenge: str, expires: datetime, now: datetime) -> bool:
        """Mark the challenge used; False if it already was (a code signs in once)."""
        key = _key(challenge)
        _, wrong, used = self._entries.get(key, (expires, 0, False))
        if used or (key not in self._entries and not self._room(now)):
            return False
        self._entries[key] = (expires, wrong, True)
        return True

    def _room(self, now: datetime) -> bool:
        if len(self._entries) >= self._cap:
            self._entries = {k: v for k, v in self._entries.items() if v[0] > now}
        return len(self._entries) < self._cap


_EPOCH = datetime.fromtimestamp(0, UTC)


def _key(challenge: str) -> bytes:
    return hashlib.sha256(challenge.encode()).digest()


async def sign_in(app: Warta, raw_contact: str) -> SignIn:
    """A challenge for this phone number or address, and the code to send if a citizen
    has it as a verified, working contact. The answer looks the same either way."""
    kind = "email" if "@" in raw_contact else "sms"
    try:
        check = recipients.validate_email if kind == "email" else recipients.normalise_phone
        value = check(raw_contact)
    except InvalidInput as exc:
        raise ValidationFailed(exc.msgid, field="contact", **exc.values) from exc
    now = app.clock()
    async with app.uow() as uow:
        found = await uow.citizens.sign_in_contact(kind, app.keyring.lookup_hashes(value))
        citizen = await uow.citizens.get(found.citizen_id) if found is not None else None
    code = f"{secrets.randbelow(1_000_000):06d}"
    expires = _stamp(now + SIGN_IN_TTL)
    if found is None or citizen is None:
        # Same fields, same lengths: a random contact and citizen, a hash no code has.
        fake = {"k": str(uuid.uuid4()), "c": str(uuid.uuid4()), "h": secrets.token_hex(32)}
        return SignIn(_seal(app, fake | {"e": expires}, CHALLENGE_FIELD), None)
    payload = {"k": str(found.id), "c": str(citizen.id), "h": code_hash(app, found.id, code)}
    challenge = _seal(app, payload | {"e": expires}, CHALLENGE_FIELD)
    return SignIn(challenge, _code_message(app, kind, value, code, citizen.language))


def _code_message(app: Warta, kind: str, to: str, code: str, language: str) -> OutboundMessage:
    subject, text = SIGN_IN_TEXT.get(language, SIGN_IN_TEXT["id"])
    # A fresh id, not a row's: the code is not a notification (see ``send_code``).
    sms = OutboundMessage(
        str(uuid.uuid4()), 1, "sms", to, "WARTA", text.format(code=code), urgent=True
    )
    if kind == "sms":
        return sms
    email = render_email(subject, sms.body, lang=language)
    sender = f"warta@{app.settings.email_from_domain}"
    return replace(
        sms, channel="email", sender=sender, body=email.text, subject=email.subject,
        html=email.html,
    )  # fmt: skip


async def send_code(app: Warta, message: OutboundMessage) -> None:
    """Straight through the channel, not the notifications table: a sign-in code is
    worthless after 10 minutes, and a row would keep it readable (sealed, but openable by
    anyone with the key) for as long as notifications are kept. No retry either: a
    citizen who gets nothing asks again."""
    try:
        await app.channels[message.channel].send(message)
    except DeliveryError as exc:
        log.warning("sign-in code not sent by %s (%s)", message.channel, type(exc).__name__)


async def verify(app: Warta, tries: WrongTries, challenge: str, code: str) -> Session:
    """A session for the citizen the challenge was made for, if ``code`` is its code."""
    payload = _open(app, challenge, CHALLENGE_FIELD)
    if payload is None:
        raise BadRequest("This sign-in is not valid: ask for a new code")
    if tries.used(challenge):
        raise BadRequest("This code was already used: ask for a new one")
    now = app.clock()
    expires = _time(payload["e"])
    contact_id, citizen_id = uuid.UUID(payload["k"]), uuid.UUID(payload["c"])
    # The contact rules' own check, on what the challenge holds instead of a stored row.
    held = CitizenContact(
        id=contact_id,
        code_hash=payload["h"],
        code_expires_at=expires,
        code_attempts=tries.wrong(challenge),
    )
    problem = code_problem(app, held, code.strip(), now)
    if problem is not None:
        tries.add_wrong(challenge, expires, now)
        raise BadRequest(problem)
    if not tries.use(challenge, expires, now):
        raise BadRequest("This code was already used: ask for a new one")
    async with app.uow() as uow:
        contact = await uow.citizens.contact(citizen_id, contact_id)
    if contact is None or contact.verified_at is None or contact.gone_at is not None:
        raise BadRequest("This contact can no longer sign in: ask for a new code")
    return new_session(app, citizen_id, now)


def new_session(app: Warta, citizen_id: uuid.UUID, now: datetime) -> Session:
    expires = now + SESSION_TTL
    payload = {"c": str(citizen_id), "i": _stamp(now), "e": _stamp(expires)}
    token = _seal(app, payload, SESSION_FIELD)
    return Session(token, citizen_id, _time(_stamp(now)), _time(_stamp(expires)))


def citizen_of(app: Warta, token: str) -> uuid.UUID | None:
    """The citizen a session token belongs to, while it lasts."""
    payload = _open(app, token, SESSION_FIELD)
    if payload is None or _time(payload["e"]) <= app.clock():
        return None
    return uuid.UUID(payload["c"])


# -- inbox ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class InboxMessage:
    id: uuid.UUID
    agency: str
    subject: str | None
    body: str
    channel: str
    status: str
    created_at: datetime
    seen_at: datetime | None
    read_at: datetime | None


async def _first(uow: UnitOfWork, citizen_id: uuid.UUID, any_id: uuid.UUID) -> Notification:
    """The message that ``any_id`` (the message's id, or any attempt's, as a push carries)
    belongs to, if it is this citizen's and shown; else 404."""
    found = await uow.inbox.message(citizen_id, any_id)
    if found is None:
        raise NotFound("Message not found")
    return found


async def page(
    app: Warta, citizen_id: uuid.UUID, older_than: uuid.UUID | None = None
) -> list[InboxMessage]:
    """Newest first; listing a message marks it seen."""
    async with app.uow() as uow:
        anchor = await _first(uow, citizen_id, older_than) if older_than is not None else None
        rows = await uow.inbox.page(citizen_id, anchor, PAGE_SIZE)
        shown = await present(app, uow, rows)
        return await _mark_seen(app, uow, shown)


async def get(app: Warta, citizen_id: uuid.UUID, any_id: uuid.UUID) -> InboxMessage:
    async with app.uow() as uow:
        [shown] = await present(app, uow, [await _first(uow, citizen_id, any_id)])
        [seen] = await _mark_seen(app, uow, [shown])
        return seen


async def mark_read(app: Warta, citizen_id: uuid.UUID, any_id: uuid.UUID) -> InboxMessage:
    """Every attempt gets ``read_at`` (and loses ``escalate_at``: a read message does not
    escalate). Idempotent: a second read keeps the first time."""
    async with app.uow() as uow:
        first = await _first(uow, citizen_id, any_id)
        await uow.notifications.mark_read([first.id], app.clock())
        await uow.commit()
        await uow.inbox.reload(first)
        [shown] = await present(app, uow, [first])
        [seen] = await _mark_seen(app, uow, [shown])
        return seen


async def _mark_seen(app: Warta, uow: UnitOfWork, shown: list[InboxMessage]) -> list[InboxMessage]:
    unseen = [m.id for m in shown if m.seen_at is None]
    if not unseen:
        return shown
    now = app.clock()
    await uow.inbox.mark_seen(unseen, now)
    await uow.commit()
    return [m if m.seen_at else replace(m, seen_at=now) for m in shown]


async def present(
    app: Warta, uow: UnitOfWork, firsts: Sequence[Notification]
) -> list[InboxMessage]:
    """Messages (their first attempts) as the inbox shows them."""
    if not firsts:
        return []
    attempts = await uow.inbox.attempts([r.id for r in firsts])
    names = await uow.citizens.agency_names({r.agency_id for r in firsts})
    shared = await routing.shared_contents(app, uow, [a for v in attempts.values() for a in v])
    shown = []
    for first in firsts:
        tries = attempts[first.id] or [first]
        chosen = _chosen(tries)
        text = _content(app, [chosen, *reversed(tries)], shared)
        shown.append(
            InboxMessage(
                id=first.id,
                agency=names.get(first.agency_id, ""),
                subject=text.get("subject"),
                body=text.get("text") or text.get("body") or "",  # email: its text part
                channel=chosen.type,
                status=chosen.status,
                created_at=first.created_at,
                seen_at=first.seen_at,
                read_at=first.read_at,
            )
        )
    return shown


def _chosen(attempts: list[Notification]) -> Notification:
    """The attempt that delivered, else the latest that went out, else the latest."""
    delivered = [a for a in attempts if a.status == "delivered"]
    sent = [a for a in attempts if a.sent_at is not None]
    return (delivered or sent[-1:] or attempts[-1:])[0]


def _content(
    app: Warta, rows: list[Notification], shared: dict[uuid.UUID, content.ChannelContents]
) -> content.Content:
    """The first of these rows' content that exists (a broadcast's rows share theirs)."""
    for row in rows:
        if row.content_enc is not None:
            return content.unseal(app.keyring, row.content_enc)
        if row.broadcast_id is not None and row.type in shared.get(row.broadcast_id, {}):
            return shared[row.broadcast_id][row.type]
    return {}


# -- events --------------------------------------------------------------------------------


#: ("message" or "read", when it went out or was read, the message)
Change = tuple[Literal["message", "read"], datetime, InboxMessage]


async def changes(app: Warta, citizen_id: uuid.UUID, since: datetime) -> list[Change]:
    """Messages that started going out, and messages read, after ``since``, in order."""
    async with app.uow() as uow:
        times = await uow.inbox.started_since(citizen_id, since)
        new = await present(app, uow, await uow.inbox.messages(citizen_id, list(times)))
        found: list[Change] = [("message", times[m.id], m) for m in new]
        read = await present(app, uow, await uow.inbox.read_since(citizen_id, since))
        found += [("read", cast(datetime, m.read_at), m) for m in read]
    return sorted(found, key=lambda change: change[1])
