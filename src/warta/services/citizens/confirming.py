"""The citizen makes a contact an agency added their own, in the portal, by proving they
hold it: Warta sends a one-time code to that contact and the citizen enters it on the
contacts page.

Being signed in proves nothing about a contact an agency added: the person signed in may
be a squatter who registered the NIK first with their own phone, and the contact the real
person's, which another agency proved at its counter. A click would hand the squatter the
real person's phone (shown in clear from then on, ``trust.shown_to_citizen``) and every
agency's messages to it. The code goes to the contact, so only whoever holds it can read
it; a wrong guess counts toward the contact's lockout, like every code to it
(``code_limits``, keyed by the contact's ``value_hash``).

Like a sign-in or presence code, it goes straight through the channel from Warta's own
sender, never as a notification of the agency that added the contact (whose rows keep
their recipient and content). The code is kept on the contact as a keyed hash bound to
the contact and to this purpose, so neither an agency's verification code nor a presence
code confirms it, nor does this code verify anything else.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from datetime import datetime

from warta.deps import Warta
from warta.domain import trust
from warta.domain.channels import is_channel
from warta.errors import BadRequest, DeliveryError, NotFound, RateLimited
from warta.services import code_limits
from warta.services.citizens.contacts import (
    CODE_TTL,
    LOCKED,
    TOO_MANY_CODES,
    code_hash,
    code_problem,
)
from warta.services.citizens.notices import platform_message
from warta.store.models import CitizenContact
from warta.store.uow import UnitOfWork

log = logging.getLogger(__name__)

ALREADY_OWN = "This contact is already your own"
NOT_PROVEN = "Only a contact proven by its code can be made your own"
ENTER_CODE = "Enter the code sent to this contact"
NOT_SENT = "The code could not be sent: try again later"
#: (subject, text) by the record's language; the text fits one SMS part or two.
TEXT = {
    "id": (
        "Kode konfirmasi kontak Warta",
        "Kode Warta: {code}. Masukkan di halaman Kontak portal Warta untuk menjadikan "
        "kontak ini milik Anda. Bukan Anda yang meminta? Jangan berikan kepada siapa pun. "
        "Berlaku 15 menit.",
    ),
    "en": (
        "Your Warta contact confirmation code",
        "Warta code: {code}. Enter it on the Warta portal's Contacts page to make this "
        "contact your own. Did not ask for it? Give it to no one. It expires in 15 minutes.",
    ),
}


def _confirming(code: str) -> str:
    """What a confirmation code's hash binds besides the contact: its purpose."""
    return f"confirm:{code}"


async def _pending(uow: UnitOfWork, citizen_id: uuid.UUID, contact_id: uuid.UUID) -> CitizenContact:
    """A working contact of this citizen's, proven by the agency that added it and not
    yet their own: the only kind there is to confirm."""
    contact = await uow.citizens.contact(citizen_id, contact_id)
    if contact is None or contact.gone_at is not None:
        raise NotFound("Contact not found")
    if trust.shown_to_citizen(contact.scope):
        raise BadRequest(ALREADY_OWN)
    if contact.verified_at is None:
        raise BadRequest(NOT_PROVEN)
    return contact


def waiting(contact: CitizenContact, now: datetime) -> bool:
    """Is a code out to this contact that the citizen may enter?"""
    return contact.code_expires_at is not None and now < contact.code_expires_at


async def send_code(
    app: Warta, citizen_id: uuid.UUID, contact_id: uuid.UUID, client: str | None = None
) -> None:
    """Send a fresh code to the contact, within the limits of codes to it and from
    ``client`` (the asking address); 429 over them."""
    now = app.clock()
    code = f"{secrets.randbelow(1_000_000):06d}"  # a portal citizen is never a sandbox's
    async with app.uow() as uow:
        citizen = await uow.citizens.get(citizen_id)
        contact = await _pending(uow, citizen_id, contact_id)
        if citizen is None or not is_channel(contact.kind) or contact.kind not in app.channels:
            raise BadRequest(NOT_SENT)
        if not await code_limits.allow_code(app, uow, key_hash=contact.value_hash, client=client):
            raise RateLimited(TOO_MANY_CODES)
        contact.code_hash = code_hash(app, contact.id, _confirming(code))
        contact.code_expires_at = now + CODE_TTL
        contact.code_attempts = 0
        value = app.keyring.decrypt(contact.value_enc, field="contact.value")
        await uow.commit()
    subject, text = TEXT.get(citizen.language, TEXT["id"])
    message = platform_message(
        app, contact.kind, value, subject, text.format(code=code), citizen.language
    )
    try:  # no retry: the citizen asks again
        await app.channels[contact.kind].send(message)
    except DeliveryError as exc:
        log.warning("confirmation code not sent by %s (%s)", contact.kind, type(exc).__name__)
        raise BadRequest(NOT_SENT) from exc
    log.info("citizen %s asked a code to confirm contact %s", citizen_id, contact_id)


async def confirm(app: Warta, citizen_id: uuid.UUID, contact_id: uuid.UUID, code: str) -> None:
    """Make the contact the citizen's own (proof ``portal``) if ``code`` is the one sent
    to it. No code changes nothing; a wrong one counts toward the contact's lockout (5 in
    15 minutes), and while it is locked even the right one is refused (429)."""
    code = code.strip()
    if not code:
        raise BadRequest(ENTER_CODE)
    now = app.clock()
    async with app.uow() as uow:
        contact = await _pending(uow, citizen_id, contact_id)
        if await code_limits.locked(app, uow, key_hash=contact.value_hash):
            raise RateLimited(LOCKED)
        problem = code_problem(app, contact, _confirming(code), now)
        if problem is not None:
            contact.code_attempts += 1
            await code_limits.wrong_guess(app, uow, key_hash=contact.value_hash)
            await uow.commit()
            raise BadRequest(problem)
        contact.code_hash = contact.code_expires_at = None
        await make_own(uow, contact, now)
        await uow.commit()
    log.info("citizen %s confirmed contact %s", citizen_id, contact_id)


async def make_own(uow: UnitOfWork, contact: CitizenContact, now: datetime) -> None:
    """The contact becomes the citizen's own, proven in the portal: every agency that
    knows them may use it, and it opens the portal. The same value already theirs (left
    unproven, say): that copy takes the proof and the agency's copy goes."""
    kept = await uow.citizens.contact_by_hash(
        contact.citizen_id, contact.kind, contact.value_hash, trust.CITIZEN
    )
    if kept is None:
        contact.scope, contact.proof = trust.CITIZEN, "portal"
        return
    kept.verified_at, kept.gone_at, kept.proof = now, None, "portal"
    await uow.citizens.remove_contact(contact)
