"""The citizen's own side of Warta: sign-in by one-time code, and the inbox.

Sign-in. A citizen gives a phone number or an address; when it opens their portal
(``trust.opens_portal``: one of their own verified contacts, or, while they have none,
one the registering agency proved, which signing in makes theirs; never another agency's,
never a test key's sandbox citizen's), a 6-digit code goes to it, within the limits
every one-time code shares (``services/code_limits.py``: per contact and per asking
address). The answer is a *challenge*, a sealed token (AES-GCM under the keyring:
authenticated, so it cannot be forged, and encrypted, so it does not show whether anyone
matched) holding the contact, the citizen, the code's keyed hash, the contact's limit key
and the expiry. Every contact gets a challenge of the same shape and length, by the same
path; an unknown, an agency's or a limited one simply holds a hash no code has, and no
code is sent. The code proves
the challenge; wrong guesses (per contact, across challenges) and used challenges are
``code_events`` rows, shared by every process. A session is a random token carried as a
cookie or a bearer token, kept server-side (``portal_sessions``, by its hash) so signing
out ends it at once, and erasing the citizen ends all of theirs.

Inbox. A message is every attempt sharing ``message_id``; its first attempt's row
(``id == message_id``) carries ``seen_at``. A message is shown once Warta has sent it to
one of the citizen's own contacts (an attempt to it has ``sent_at``): a scheduled or
deferred message is not shown early, one cancelled by consent or expiry never is, and
one an agency sent to a contact only it may use is not shown until the citizen makes
that contact their own (``store/repositories/inbox.py``). Test-key messages reach no one
and are not shown.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, cast

from warta.deps import Warta
from warta.domain import recipients, trust
from warta.domain.channels import OutboundMessage
from warta.domain.email import render_email
from warta.errors import (
    BadRequest,
    DeliveryError,
    InvalidInput,
    NotFound,
    ValidationFailed,
)
from warta.security.crypto import DecryptionError
from warta.services import code_limits, content
from warta.services import portal_sessions as sessions
from warta.services.attempts import shared_contents
from warta.services.citizens import code_hash, code_problem
from warta.services.citizens.confirming import make_own
from warta.store.models import CitizenContact, Notification
from warta.store.uow import UnitOfWork

log = logging.getLogger(__name__)

#: Shorter than a contact's verification code (15 minutes): this one opens an inbox.
SIGN_IN_TTL = timedelta(minutes=10)
PAGE_SIZE = 20
CHALLENGE_FIELD = "portal.challenge"
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
    #: The code's message, to send after answering; None when it must not go (the
    #: contact opens no real citizen's portal, or a limit stopped it).
    code: OutboundMessage | None


#: What every refused guess at a code says, a locked contact's right code included.
WRONG_CODE = "The code is not right"


def _parse_contact(raw_contact: str) -> tuple[str, str]:
    kind = "email" if "@" in raw_contact else "sms"
    try:
        check = recipients.validate_email if kind == "email" else recipients.normalise_phone
        return kind, check(raw_contact)
    except InvalidInput as exc:
        raise ValidationFailed(exc.msgid, field="contact", **exc.values) from exc


async def sign_in(app: Warta, raw_contact: str, client: str | None = None) -> SignIn:
    """A challenge for this phone number or address, and the code to send if it is a
    verified, working contact that opens a real citizen's portal (``trust.opens_portal``)
    and neither it nor ``client`` (the asking address) is over its code limits
    (``services/code_limits.py``).

    Every contact takes the same path: the same look-ups, the limit counted and recorded,
    a code made, hashed, sealed and written into a message; only the sending is skipped.
    So neither the answer nor its time shows whether anyone matched, whose contact it is,
    or that a limit applied. A challenge whose code was not sent holds a hash no code has.
    """
    kind, value = _parse_contact(raw_contact)
    now = app.clock()
    key = code_limits.contact_key(app, value)
    async with app.uow() as uow:
        found = await uow.citizens.sign_in_contact(kind, app.keyring.lookup_hashes(value))
        citizen = await uow.citizens.get(found.citizen_id if found else uuid.uuid4())
        allowed = await code_limits.allow_code(app, uow, key_hash=key, client=client)
        await uow.commit()
    # ``sign_in_contact`` found it by ``trust.opens_portal``: the citizen's own, or the
    # first own contact (the registering agency's, while the citizen has none).
    opens = found is not None and citizen is not None and citizen.sandbox_of is None
    contact_id = found.id if found is not None and opens else uuid.uuid4()
    citizen_id = citizen.id if citizen is not None and opens else uuid.uuid4()
    code = f"{secrets.randbelow(1_000_000):06d}"
    digest = code_hash(app, contact_id, code)
    message = _code_message(app, kind, value, code, citizen.language if citizen else "id")
    send = opens and allowed
    payload = {
        "k": str(contact_id),
        "c": str(citizen_id),
        "h": digest if send else secrets.token_hex(32),
        "w": key,
        "e": _stamp(now + SIGN_IN_TTL),
    }
    return SignIn(_seal(app, payload, CHALLENGE_FIELD), message if send else None)


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


async def send_code(app: Warta, message: OutboundMessage | None) -> None:
    """Straight through the channel, not the notifications table: a sign-in code is
    worthless after 10 minutes, and a row would keep it readable (sealed, but openable by
    anyone with the key) for as long as notifications are kept. No retry either: a
    citizen who gets nothing asks again. None: nothing to send (the routes call this for
    every sign-in alike)."""
    if message is None:
        return
    try:
        await app.channels[message.channel].send(message)
    except DeliveryError as exc:
        log.warning("sign-in code not sent by %s (%s)", message.channel, type(exc).__name__)


async def verify(app: Warta, challenge: str, code: str) -> sessions.Session:
    """A session for the citizen the challenge was made for, if ``code`` is its code.

    Both counts live in the database (``code_events``), so every process and host agrees:
    wrong guesses per contact over all its challenges (5 in 15 minutes lock it for 15: a
    new challenge does not start afresh), and a challenge that signed in once never does
    again. A locked contact's guesses are answered as wrong ones, the right code too, and
    not counted (nothing was checked). Signing in with the first own contact (one the
    registering agency proved, while the citizen has none) makes it the citizen's own.
    """
    payload = _open(app, challenge, CHALLENGE_FIELD)
    if payload is None or not {"k", "c", "h", "w", "e"} <= payload.keys():
        raise BadRequest("This sign-in is not valid: ask for a new code")
    now = app.clock()
    contact_id, citizen_id = uuid.UUID(payload["k"]), uuid.UUID(payload["c"])
    spent = code_limits.challenge_key(app, challenge)
    # The contact rules' own check, on what the challenge holds instead of a stored row.
    # Its attempts are 0: wrong guesses are counted per contact below, not per code.
    held = CitizenContact(
        id=contact_id, code_hash=payload["h"], code_expires_at=_time(payload["e"]), code_attempts=0
    )
    async with app.uow() as uow:
        locked = await code_limits.locked(app, uow, key_hash=payload["w"])
        if await code_limits.used(app, uow, key_hash=spent):
            raise BadRequest("This code was already used: ask for a new one")
        problem = code_problem(app, held, code.strip(), now)
        if problem is not None or locked:
            if not locked:
                await code_limits.wrong_guess(app, uow, key_hash=payload["w"])
                await uow.commit()
            raise BadRequest(problem or WRONG_CODE)
        await code_limits.mark_used(app, uow, key_hash=spent)
        contact = await uow.citizens.portal_contact(citizen_id, contact_id)
        if contact is not None and contact.scope != trust.CITIZEN:
            # The first own contact (``trust.opens_portal``): signing in with it is the
            # citizen confirming it, in the transaction that spends the code.
            await make_own(uow, contact, now)
        await uow.commit()
    if contact is None:
        raise BadRequest("This contact can no longer sign in: ask for a new code")
    return await sessions.new_session(app, citizen_id, now)


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
    shared = await shared_contents(app, uow, [a for v in attempts.values() for a in v])
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
