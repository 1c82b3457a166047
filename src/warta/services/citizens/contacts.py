"""A citizen's contacts and their one-time codes, with provenance (``domain/trust.py``).

A contact an agency adds is that agency's own: proven by a code sent to the contact itself
(which the agency never sees: the citizen at its counter reads it out), then usable by
that agency alone, and changed or removed only by it until the citizen confirms it as
their own in the portal. The citizen is told on their own contacts whenever an agency adds
one (``notices``). A contact the citizen's act proves theirs (a push subscription made in
their signed-in browser, a Telegram link opened in their chat) is their own at once.

In a test key's sandbox nothing is sent: every code is ``000000``.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from warta.deps import Warta
from warta.domain import citizens as rules
from warta.domain import trust
from warta.errors import AuthError, BadRequest, NotFound, RateLimited, ValidationFailed
from warta.services import code_limits, sending
from warta.services.citizens.notices import Notice, allow_notice, tell_citizen
from warta.services.citizens.registry import (
    CitizenView,
    in_sandbox,
    new_contact,
    view,
    visible,
)
from warta.services.sending import Caller
from warta.store.models import Citizen, CitizenContact, Template
from warta.store.uow import UnitOfWork

CODE_TTL = timedelta(minutes=15)
CODE_ATTEMPTS = 5
#: The code of every contact in a test key's sandbox, where nothing is sent.
SANDBOX_CODE: Final = "000000"
TOO_MANY_CODES = "Too many codes sent to this contact: try again later"
LOCKED = "Too many wrong codes for this contact: try again later"
CITIZENS_OWN = "This contact is the citizen's own: only they can change or remove it, in the portal"
#: The system template each agency sends one-time codes with, made on first use. It is
#: archived so it stays out of the agency's template list and cannot be sent by API.
CODE_TEMPLATE_NAME = "Warta: kode verifikasi"
CODE_BODY = {
    "sms": "Kode verifikasi ((instansi)): ((kode)). Berlaku 15 menit. "
    "Jangan berikan kode ini kepada siapa pun.",
    "email": "Kode verifikasi Anda: **((kode))**\n\nKode ini berlaku 15 menit. "
    "Jangan berikan kode ini kepada siapa pun, termasuk petugas.",
    "chat": "Kode verifikasi ((instansi)): ((kode)). Berlaku 15 menit. "
    "Jangan berikan kode ini kepada siapa pun.",
}


@dataclass(frozen=True)
class CodeSent:
    contact: CitizenContact
    value: str
    #: The code's notification; None in the sandbox, where nothing is sent.
    notification_id: uuid.UUID | None


def new_code(caller: Caller) -> str:
    """A fresh one-time code; the fixed one in a test key's sandbox."""
    return SANDBOX_CODE if in_sandbox(caller) else f"{secrets.randbelow(1_000_000):06d}"


async def proven_contact(
    app: Warta,
    uow: UnitOfWork,
    citizen_id: uuid.UUID,
    kind: str,
    value: str,
    now: datetime,
    *,
    proof: trust.Proof,
) -> CitizenContact:
    """The citizen's own contact of this kind and value, added if new, and now verified
    and alive: for contacts the act itself proves theirs (``proof``: ``device`` for a push
    subscription made in their signed-in browser or app, ``chat-link`` for a Telegram
    link opened in their chat)."""
    value_hash = app.keyring.lookup_hash(value)
    contact = await uow.citizens.contact_by_hash(citizen_id, kind, value_hash, trust.CITIZEN)
    if contact is None:
        held = await uow.citizens.contacts([citizen_id])
        rules.check_contact_room([kind], trust.CITIZEN, held)
        contact = new_contact(app, citizen_id, kind, value, now, added_by=None)
        uow.citizens.add(contact)
    contact.verified_at, contact.gone_at, contact.proof = now, None, proof
    return contact


async def add_contact(
    app: Warta, caller: Caller, citizen_id: uuid.UUID, kind: str, raw: str
) -> CodeSent:
    """Add a contact of this agency's own (or take the one it has with this value) and
    send it a fresh one-time code; the citizen is told of a new one. Long on purpose: the
    trust checks, the code limits and the write share one transaction."""
    if kind not in rules.CONTACT_KINDS:
        raise ValidationFailed(
            "type must be one of %(kinds)s: push subscriptions come from the citizen's "
            "portal, Telegram chats from the bot's link",
            kinds=", ".join(rules.CONTACT_KINDS),
        )
    value = sending.normalise_recipient(kind, raw)
    value_hash = app.keyring.lookup_hash(value)
    now = app.clock()
    code = new_code(caller)
    scope = trust.scope_for(caller.agency.id)
    async with app.uow() as uow:
        citizen = await visible(uow, caller, citizen_id)
        contacts = await uow.citizens.contacts([citizen.id])
        contact = next(
            (c for c in contacts if (c.kind, c.value_hash, c.scope) == (kind, value_hash, scope)),
            None,
        )
        if contact is None and any(
            (c.kind, c.value_hash, c.added_by) == (kind, value_hash, caller.agency.id)
            for c in contacts
        ):
            raise AuthError(CITIZENS_OWN)  # it added it, and the citizen made it their own
        told = None
        if contact is None:
            rules.check_contact_room([kind], scope, contacts)
            told = Notice.of(app, citizen, contacts, caller.agency.name, [(kind, value)])
            if told is not None:  # first: a refused notice adds nothing
                await allow_notice(app, uow, citizen.id, caller.agency.id)
            contact = new_contact(app, citizen.id, kind, value, now, added_by=caller.agency.id)
            uow.citizens.add(contact)
        if not in_sandbox(caller) and not await code_limits.allow_code(
            app, uow, key_hash=value_hash
        ):
            raise RateLimited(TOO_MANY_CODES)
        contact.code_hash = code_hash(app, contact.id, code)
        contact.code_expires_at = now + CODE_TTL
        contact.code_attempts = 0
        template = None if in_sandbox(caller) else await _code_template(app, uow, caller, kind)
        await uow.commit()
    notification_id = None
    if template is not None:
        sent = await sending.send_with_template(
            app,
            caller,
            sending.SendNotification(
                kind, value, template.id, {"kode": code, "instansi": caller.agency.name}
            ),
            template,
            secret=True,  # verification means the agency must not see the code
        )
        notification_id = sent.notification.id
    if told is not None:
        await tell_citizen(app, told)
    return CodeSent(contact, value, notification_id)


def code_hash(app: Warta, contact_id: uuid.UUID, code: str) -> str:
    """A one-time code as kept: keyed, and bound to its contact."""
    return app.keyring.lookup_hash(f"{contact_id}:{code}")


async def _code_template(app: Warta, uow: UnitOfWork, caller: Caller, kind: str) -> Template:
    found = await uow.templates.system(caller.agency.id, CODE_TEMPLATE_NAME, kind)
    if found is not None:
        return found
    now = app.clock()
    template = Template(
        id=uuid.uuid4(),
        agency_id=caller.agency.id,
        name=CODE_TEMPLATE_NAME,
        type=kind,
        subject="Kode verifikasi ((instansi))" if kind == "email" else None,
        body=CODE_BODY[kind],
        version=1,
        archived=True,
        created_at=now,
        updated_at=now,
    )
    uow.templates.add(template)  # written with the caller's commit
    return template


async def changeable(
    uow: UnitOfWork, caller: Caller, citizen: Citizen, contact_id: uuid.UUID
) -> CitizenContact:
    """A contact this agency added and the citizen has not yet made their own. Another
    agency's is not found (404: the agency must not learn it exists); the citizen's own
    is refused (403)."""
    contact = await uow.citizens.contact(citizen.id, contact_id)
    if contact is None or not trust.usable_by(contact.scope, caller.agency.id):
        raise NotFound("Contact not found")
    if not trust.may_change_contact(contact.scope, caller.agency.id):
        raise AuthError(CITIZENS_OWN)
    return contact


async def verify_contact(
    app: Warta, caller: Caller, citizen_id: uuid.UUID, contact_id: uuid.UUID, code: str
) -> CitizenView:
    """Check the code the contact was sent: right, the contact is this agency's to use.
    Wrong guesses count toward the contact's lockout (429 while it lasts)."""
    now = app.clock()
    async with app.uow() as uow:
        citizen = await visible(uow, caller, citizen_id)
        contact = await changeable(uow, caller, citizen, contact_id)
        live = not in_sandbox(caller)
        if live and await code_limits.locked(app, uow, key_hash=contact.value_hash):
            raise RateLimited(LOCKED)
        problem = code_problem(app, contact, code.strip(), now)
        if problem is None:
            contact.verified_at, contact.proof = now, "code"
            contact.code_hash = contact.code_expires_at = None
        else:
            contact.code_attempts += 1
            if live:
                await code_limits.wrong_guess(app, uow, key_hash=contact.value_hash)
        await uow.commit()
        if problem is not None:
            raise BadRequest(problem)
        return await view(app, uow, caller, citizen)


def code_problem(app: Warta, contact: CitizenContact, code: str, now: datetime) -> str | None:
    """Why ``code`` does not verify the contact (None: it does)."""
    if contact.code_hash is None or contact.code_expires_at is None:
        return "No code is waiting for this contact: ask for a new one"
    if contact.code_attempts >= CODE_ATTEMPTS:
        return "Too many wrong codes: ask for a new one"
    if now >= contact.code_expires_at:
        return "The code has expired: ask for a new one"
    if not secrets.compare_digest(contact.code_hash, code_hash(app, contact.id, code)):
        return "The code is not right"
    return None


async def remove_contact(
    app: Warta, caller: Caller, citizen_id: uuid.UUID, contact_id: uuid.UUID
) -> None:
    """Remove a contact this agency added, while it is still its own."""
    async with app.uow() as uow:
        citizen = await visible(uow, caller, citizen_id)
        await uow.citizens.remove_contact(await changeable(uow, caller, citizen, contact_id))
        await uow.commit()
