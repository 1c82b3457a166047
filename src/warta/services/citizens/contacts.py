"""A citizen's contacts and their one-time codes: a phone or an address is usable for
routing only once verified by a code sent through it; a contact the act itself proves
(a push subscription, a Telegram link) is verified at once."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from warta.deps import Warta
from warta.domain import citizens as rules
from warta.errors import BadRequest, NotFound, ValidationFailed
from warta.services import sending
from warta.services.citizens.registry import CitizenView, new_contact, view, visible
from warta.services.sending import Caller
from warta.store.models import CitizenContact, Template
from warta.store.uow import UnitOfWork

CODE_TTL = timedelta(minutes=15)
CODE_ATTEMPTS = 5
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
    notification_id: uuid.UUID
    #: Only for test keys, which send nothing: the code, so an agency's own tests can
    #: finish verification. Never set for live or team keys.
    code: str | None


async def proven_contact(
    app: Warta, uow: UnitOfWork, citizen_id: uuid.UUID, kind: str, value: str, now: datetime
) -> CitizenContact:
    """The citizen's contact of this kind and value, added if new, and now verified and
    alive: for contacts the act itself proves theirs (a push subscription made in their
    signed-in browser or app, a Telegram link opened in their chat)."""
    contact = await uow.citizens.contact_by_hash(citizen_id, kind, app.keyring.lookup_hash(value))
    if contact is None:
        contact = new_contact(app, citizen_id, kind, value, now)
        uow.citizens.add(contact)
    contact.verified_at, contact.gone_at = now, None
    return contact


async def add_contact(
    app: Warta, caller: Caller, citizen_id: uuid.UUID, kind: str, raw: str
) -> CodeSent:
    """Add a contact (or take the existing one) and send it a fresh one-time code."""
    if kind not in rules.CONTACT_KINDS:
        raise ValidationFailed(
            "type must be one of %(kinds)s: push subscriptions come from the citizen's "
            "portal, Telegram chats from the bot's link",
            kinds=", ".join(rules.CONTACT_KINDS),
        )
    value = sending.normalise_recipient(kind, raw)
    now = app.clock()
    code = f"{secrets.randbelow(1_000_000):06d}"
    async with app.uow() as uow:
        citizen = await visible(uow, caller.agency.id, citizen_id)
        existing = {(c.kind, c.value_hash): c for c in await uow.citizens.contacts([citizen.id])}
        contact = existing.get((kind, app.keyring.lookup_hash(value)))
        if contact is None:
            contact = new_contact(app, citizen.id, kind, value, now)
            uow.citizens.add(contact)
        contact.code_hash = code_hash(app, contact.id, code)
        contact.code_expires_at = now + CODE_TTL
        contact.code_attempts = 0
        template = await _code_template(app, uow, caller, kind)
        await uow.commit()
    sent = await sending.send_with_template(
        app,
        caller,
        sending.SendNotification(
            kind,
            value,
            template.id,
            {"kode": code, "instansi": caller.agency.name},
        ),
        template,
        secret=True,  # verification means the agency must not see the code
    )
    return CodeSent(
        contact, value, sent.notification.id, code if caller.key_type == "test" else None
    )


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


async def verify_contact(
    app: Warta, caller: Caller, citizen_id: uuid.UUID, contact_id: uuid.UUID, code: str
) -> CitizenView:
    now = app.clock()
    async with app.uow() as uow:
        citizen = await visible(uow, caller.agency.id, citizen_id)
        contact = await uow.citizens.contact(citizen.id, contact_id)
        if contact is None:
            raise NotFound("Contact not found")
        problem = code_problem(app, contact, code.strip(), now)
        if problem is None:
            contact.verified_at = now
            contact.code_hash = contact.code_expires_at = None
        else:
            contact.code_attempts += 1
        await uow.commit()
        if problem is not None:
            raise BadRequest(problem)
        return await view(app, uow, caller.agency.id, citizen)


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
    async with app.uow() as uow:
        citizen = await visible(uow, caller.agency.id, citizen_id)
        contact = await uow.citizens.contact(citizen.id, contact_id)
        if contact is None:
            raise NotFound("Contact not found")
        await uow.citizens.remove_contact(contact)
        await uow.commit()
