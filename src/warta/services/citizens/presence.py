"""The citizen's presence, shown by a one-time code: what an agency needs to change the
citizen's preferences after creating them (``trust.may_set_preferences``).

The service-counter case: the officer asks Warta to send a code to one of the citizen's
own contacts, the citizen reads it out, and the officer's change carries it. The code is
bound to the agency that asked and to the contact it went to, lasts as long as a contact's
verification code, and counts toward the same limits (codes sent to the contact, wrong
guesses, ``code_limits``). It goes straight through the channel, from Warta, never as a
notification of the agency: the agency would otherwise read back the citizen's own phone
or address. In a test key's sandbox nothing is sent and the code is ``000000``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from warta.deps import Warta
from warta.domain import trust
from warta.domain.channels import is_channel
from warta.errors import AuthError, BadRequest, DeliveryError, NotFound, RateLimited
from warta.services import code_limits, sending
from warta.services.citizens.contacts import (
    CODE_TTL,
    LOCKED,
    TOO_MANY_CODES,
    code_hash,
    code_problem,
    new_code,
)
from warta.services.citizens.notices import own_and_live, platform_message
from warta.services.citizens.preferences import (
    Preferences,
    apply_preferences,
    check_preferences,
    reached_by,
    record_preferences,
)
from warta.services.citizens.registry import CitizenView, in_sandbox, view, visible
from warta.services.sending import Caller
from warta.store.models import Citizen, CitizenContact
from warta.store.uow import UnitOfWork

#: Kinds a code can be read from by the citizen at a counter (a push is too easily missed).
KINDS = ("sms", "email", "chat")
NEEDS_CITIZEN = (
    "Preferences belong to the citizen: send them a code "
    "(POST /v2/citizens/{id}/presence-codes) and give the code they read out as code"
)
WRONG = "The code is not right or has expired: the citizen must give the code they received"
NO_CONTACT = "The citizen has no contact of their own to send a code to"
TEXT = {
    "id": (
        "Kode kehadiran Warta",
        "Kode Warta untuk {agency}: {code}. Berikan hanya kepada petugas di depan Anda "
        "yang mengubah pengaturan pemberitahuan Anda. Berlaku 15 menit.",
    ),
    "en": (
        "Your Warta presence code",
        "Warta code for {agency}: {code}. Give it only to the officer in front of you "
        "changing your notification settings. It expires in 15 minutes.",
    ),
}


@dataclass(frozen=True)
class PresenceAsked:
    contact: CitizenContact
    masked: str
    expires_at: datetime


def _presence(caller: Caller, code: str) -> str:
    """What a presence code's hash binds: the agency that asked, and the code."""
    return f"presence:{caller.agency.id}:{code}"


def _candidates(caller: Caller, contacts: list[CitizenContact]) -> list[CitizenContact]:
    """The contacts a presence code may go to: the citizen's own (in the sandbox, where
    the citizen has none, the agency's proven ones)."""
    if in_sandbox(caller):
        return [c for c in contacts if c.verified_at is not None and c.kind in KINDS]
    return [c for c in contacts if own_and_live(c) and c.kind in KINDS]


async def ask(
    app: Warta, caller: Caller, citizen_id: uuid.UUID, contact_id: uuid.UUID | None
) -> PresenceAsked:
    """Send the citizen a presence code, on ``contact_id`` (one of their own, as the
    citizen view lists them masked) or else on the first of their own by their channel
    order."""
    now = app.clock()
    code = new_code(caller)
    async with app.uow() as uow:
        citizen = await visible(uow, caller, citizen_id)
        contact = _chosen(citizen, _candidates(caller, await _contacts(uow, citizen)), contact_id)
        value = app.keyring.decrypt(contact.value_enc, field="contact.value")
        if caller.key_type == "team" and contact.kind in ("sms", "email"):
            await sending.check_team_recipient(app, caller, value)
        elif caller.key_type == "team":
            raise sending.team_key_refused()
        live = not in_sandbox(caller)
        if live and not await code_limits.allow_code(app, uow, key_hash=contact.value_hash):
            raise RateLimited(TOO_MANY_CODES)
        contact.code_hash = code_hash(app, contact.id, _presence(caller, code))
        contact.code_expires_at = now + CODE_TTL
        contact.code_attempts = 0
        await uow.commit()
    if live:
        await _send(app, contact.kind, value, code, caller.agency.name, citizen.language)
    masked = trust.mask_contact(contact.kind, value)
    return PresenceAsked(contact, masked, now + CODE_TTL)


async def _contacts(uow: UnitOfWork, citizen: Citizen) -> list[CitizenContact]:
    return list(await uow.citizens.contacts([citizen.id]))


def _chosen(
    citizen: Citizen, candidates: list[CitizenContact], contact_id: uuid.UUID | None
) -> CitizenContact:
    if contact_id is not None:
        found = next((c for c in candidates if c.id == contact_id), None)
        if found is None:
            raise NotFound("Contact not found")
        return found
    if not candidates:
        raise BadRequest(NO_CONTACT)
    order = citizen.channel_order.split(",")
    return min(candidates, key=lambda c: order.index(c.kind) if c.kind in order else len(order))


async def _send(app: Warta, kind: str, to: str, code: str, agency: str, language: str) -> None:
    """Straight through the channel, like a sign-in code: no retry (the officer asks for
    another), and no row that would keep the code or the citizen's contact."""
    if not is_channel(kind) or kind not in app.channels:
        raise BadRequest(NO_CONTACT)
    subject, text = TEXT.get(language, TEXT["id"])
    message = platform_message(
        app, kind, to, subject, text.format(agency=agency, code=code), language
    )
    try:
        await app.channels[kind].send(message)
    except DeliveryError as exc:
        raise BadRequest("The code could not be sent: try again, or another contact") from exc


async def set_preferences(
    app: Warta, caller: Caller, citizen_id: uuid.UUID, prefs: Preferences, code: str | None
) -> CitizenView:
    """Replace the citizen's preferences, with the citizen present (``code``: the presence
    code they read out); 403 without it or with a wrong one, 429 while the contact is
    locked after wrong guesses. The answer carries the preferences."""
    check_preferences(prefs)
    async with app.uow() as uow:
        citizen = await visible(uow, caller, citizen_id)
        present = await _present(app, uow, caller, await _contacts(uow, citizen), code)
        if not trust.may_set_preferences(creating=False, citizen_present=present):
            await uow.commit()  # the wrong guess counts
            raise AuthError(WRONG if code else NEEDS_CITIZEN)
        before = reached_by(citizen)
        apply_preferences(citizen, prefs)
        citizen.updated_at = app.clock()
        record_preferences(uow, citizen, caller.agency.id, before)
        await uow.commit()
        return await view(app, uow, caller, citizen, full=True)


async def _present(
    app: Warta, uow: UnitOfWork, caller: Caller, contacts: list[CitizenContact], code: str | None
) -> bool:
    """Is ``code`` the presence code this agency last asked for? Spends it if so."""
    waiting = [c for c in _candidates(caller, contacts) if c.code_expires_at is not None]
    if not code or not waiting:
        return False
    now = app.clock()
    contact = max(waiting, key=lambda c: c.code_expires_at or now)
    live = not in_sandbox(caller)
    if live and await code_limits.locked(app, uow, key_hash=contact.value_hash):
        raise RateLimited(LOCKED)
    problem = code_problem(app, contact, _presence(caller, code.strip()), now)
    if problem is not None:
        contact.code_attempts += 1
        if live:
            await code_limits.wrong_guess(app, uow, key_hash=contact.value_hash)
        return False
    contact.code_hash = contact.code_expires_at = None
    return True
