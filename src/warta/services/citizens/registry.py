"""The registry: one identity per NIK, shared by every agency, seen by an agency only once
it has a relationship with the citizen, and then only as ``domain/trust.py`` allows.

An agency that registers a NIK already known links to that citizen and learns nothing it
did not supply: the id, the masked NIK and its own contacts. Calls with a test key work on
the agency's sandbox: citizens found by a NIK hash of their own
(``trust.sandbox_nik_key``), so a test key neither finds nor changes a real citizen, nor
learns that a NIK is registered.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from warta.deps import Warta
from warta.domain import citizens as rules
from warta.domain import recipients, trust
from warta.domain.regions import parse_region, parse_zone, zone_of
from warta.errors import AuthError, InvalidInput, NotFound, ValidationFailed
from warta.services.citizens.notices import Notice, allow_notice, own_and_live, tell_citizen
from warta.services.citizens.preferences import (
    Preferences,
    apply_preferences,
    check_preferences,
    invalid,
    preferences_of,
    reached_by,
    record_preferences,
)
from warta.services.sending import Caller
from warta.store.models import Citizen, CitizenContact
from warta.store.uow import UnitOfWork

NOT_REGISTRANT = (
    "Only the agency that registered this citizen may change their name, region, "
    "time zone or language"
)


@dataclass(frozen=True)
class NewCitizen:
    nik: str
    name: str
    region_code: str
    time_zone: str | None = None
    language: str = "id"
    phone_numbers: Sequence[str] = ()
    email_addresses: Sequence[str] = ()
    preferences: Preferences | None = None
    #: The agency verified these contacts itself (an import from its own checked
    #: records): they are usable at once, by that agency alone (proof ``import``).
    #: Otherwise each needs its one-time code.
    contacts_verified: bool = False


@dataclass(frozen=True)
class CitizenChanges:
    name: str | None = None
    region_code: str | None = None
    time_zone: str | None = None
    language: str | None = None


@dataclass(frozen=True)
class ContactView:
    """A contact as one agency may see it: its own in clear, the citizen's own masked."""

    contact: CitizenContact
    value: str
    #: The citizen's own (usable by every agency that knows them); else the agency's.
    citizens_own: bool


@dataclass
class CitizenView:
    """The citizen as one agency may see them (``domain/trust.py``)."""

    citizen: Citizen
    masked_nik: str
    #: The registrant sees what it supplied; None for every other agency.
    name: str | None
    registrant: bool
    contacts: list[ContactView]
    linked_at: datetime | None
    topics: list[str] = field(default_factory=list)
    #: Only in the answers that may carry them: the creating one, and a change made
    #: with the citizen present.
    preferences: Preferences | None = None


def in_sandbox(caller: Caller) -> bool:
    """A test key works on its agency's sandbox, never on the real registry."""
    return caller.key_type == "test"


def nik_hash(app: Warta, caller: Caller, nik: str) -> str:
    """What this caller finds a NIK by: the real registry's hash, or its sandbox's."""
    key = trust.sandbox_nik_key(caller.agency.id, nik) if in_sandbox(caller) else nik
    return app.keyring.lookup_hash(key)


def _contacts_of(new: NewCitizen) -> list[tuple[str, str]]:
    try:
        phones = [("sms", recipients.normalise_phone(p)) for p in new.phone_numbers]
    except InvalidInput as exc:
        raise ValidationFailed(exc.msgid, field="phone_numbers", **exc.values) from exc
    try:
        emails = [("email", recipients.validate_email(e)) for e in new.email_addresses]
    except InvalidInput as exc:
        raise ValidationFailed(exc.msgid, field="email_addresses", **exc.values) from exc
    return list(dict.fromkeys(phones + emails))


def _place(region_code: str, time_zone: str | None) -> tuple[str, str]:
    try:
        region = parse_region(region_code)
        zone = parse_zone(time_zone) if time_zone else zone_of(region)
    except InvalidInput as exc:
        raise invalid(exc) from exc
    return region.code, zone


async def register(app: Warta, caller: Caller, new: NewCitizen) -> tuple[CitizenView, bool]:
    """Register a citizen, or link this agency to the one who already has this NIK. A link
    changes nothing of the record: the contacts supplied become this agency's own,
    unproven (or proven by ``import``), and nothing else is written; the citizen is told
    of them on their own contacts. Returns the view and whether the citizen was new.
    Long on purpose: the checks, the sandbox, the new-or-link branch and the contacts in
    one transaction, so what a link may and may not write is seen together."""
    try:
        nik = rules.normalise_nik(new.nik)
        name = rules.check_name(new.name)
        language = rules.check_language(new.language)
    except InvalidInput as exc:
        raise invalid(exc) from exc
    region, zone = _place(new.region_code, new.time_zone)
    prefs = check_preferences(new.preferences or Preferences())
    supplied = _contacts_of(new)
    now = app.clock()
    agency = caller.agency.id
    async with app.uow() as uow:
        citizen = await uow.citizens.by_nik_hash(nik_hash(app, caller, nik))
        created = citizen is None
        if citizen is None:
            citizen = Citizen(
                id=uuid.uuid4(),
                nik_hash=nik_hash(app, caller, nik),
                nik_enc=app.keyring.encrypt(nik, field="citizen.nik"),
                name_enc=app.keyring.encrypt(name, field="citizen.name"),
                region_code=region,
                zone=zone,
                language=language,
                created_at=now,
                updated_at=now,
                registered_by=agency,
                sandbox_of=agency if in_sandbox(caller) else None,
            )
            apply_preferences(citizen, prefs)
            await uow.citizens.create(citizen)
            record_preferences(uow, citizen, agency, None)
        await uow.citizens.link(agency, citizen.id, now)
        contacts = await uow.citizens.contacts([citizen.id])
        # What it added before and may still use (its own, or confirmed by the citizen).
        mine = {
            (c.kind, c.value_hash)
            for c in contacts
            if c.added_by == agency and trust.usable_by(c.scope, agency)
        }
        added = [(k, v) for k, v in supplied if (k, app.keyring.lookup_hash(v)) not in mine]
        rules.check_contact_room([k for k, _ in added], trust.scope_for(agency), contacts)
        for kind, value in added:
            contact = new_contact(app, citizen.id, kind, value, now, added_by=agency)
            if new.contacts_verified:
                contact.verified_at, contact.proof = now, "import"
            uow.citizens.add(contact)
        told = Notice.of(app, citizen, contacts, caller.agency.name, added)
        if told is not None:
            await allow_notice(app, uow, citizen.id, agency)
        await uow.commit()
        shown = await view(app, uow, caller, citizen, full=created, theirs=created)
    if told is not None:
        await tell_citizen(app, told)
    return shown, created


def new_contact(
    app: Warta,
    citizen_id: uuid.UUID,
    kind: str,
    value: str,
    now: datetime,
    *,
    added_by: uuid.UUID | None,
) -> CitizenContact:
    """A contact row, unverified, scoped to whoever adds it (``trust.scope_for``); the
    caller adds it."""
    return CitizenContact(
        id=uuid.uuid4(),
        citizen_id=citizen_id,
        kind=kind,
        value_enc=app.keyring.encrypt(value, field="contact.value"),
        value_hash=app.keyring.lookup_hash(value),
        code_attempts=0,
        created_at=now,
        scope=trust.scope_for(added_by),
        added_by=added_by,
    )


async def view(
    app: Warta,
    uow: UnitOfWork,
    caller: Caller,
    citizen: Citizen,
    *,
    full: bool = False,
    theirs: bool = True,
) -> CitizenView:
    """The citizen as this agency may see them. ``full``: the answer to the agency that
    just created them, which carries the preferences it set. ``theirs``: with the
    citizen's own contacts (masked); a link's answer has only the agency's own."""
    agency = caller.agency.id
    decrypt = app.keyring.decrypt
    registrant = trust.sees_record(citizen.registered_by, agency)
    shown = []
    for c in await uow.citizens.contacts([citizen.id]):
        own = c.scope == trust.CITIZEN
        if not trust.usable_by(c.scope, agency) or (own and not (theirs and own_and_live(c))):
            continue  # another agency's, or the citizen's that no one can use
        value = decrypt(c.value_enc, field="contact.value")
        if not trust.shown_in_clear(c.added_by, agency):
            value = trust.mask_contact(c.kind, value)
        shown.append(ContactView(c, value, own))
    return CitizenView(
        citizen=citizen,
        masked_nik=trust.mask_nik(decrypt(citizen.nik_enc, field="citizen.nik")),
        name=decrypt(citizen.name_enc, field="citizen.name") if registrant else None,
        registrant=registrant,
        contacts=shown,
        linked_at=await uow.citizens.linked_at(agency, citizen.id),
        topics=await uow.citizens.subscriptions(citizen.id, agency),
        preferences=preferences_of(citizen) if full else None,
    )


async def visible(uow: UnitOfWork, caller: Caller, citizen_id: uuid.UUID) -> Citizen:
    """The citizen, if this agency has a relationship with them and the key may see them
    (a test key: its sandbox's; any other: the real registry's); else 404."""
    citizen = await uow.citizens.visible(caller.agency.id, citizen_id, sandbox=in_sandbox(caller))
    if citizen is None:
        raise NotFound("Citizen not found")
    return citizen


async def get(app: Warta, caller: Caller, citizen_id: uuid.UUID) -> CitizenView:
    async with app.uow() as uow:
        return await view(app, uow, caller, await visible(uow, caller, citizen_id))


async def find_by_nik(app: Warta, caller: Caller, raw_nik: str) -> CitizenView:
    try:
        nik = rules.normalise_nik(raw_nik)
    except InvalidInput as exc:
        raise invalid(exc) from exc
    async with app.uow() as uow:
        found = await uow.citizens.by_nik_hash(nik_hash(app, caller, nik))
        if found is None:
            raise NotFound("Citizen not found")
        return await view(app, uow, caller, await visible(uow, caller, found.id))


async def update(
    app: Warta, caller: Caller, citizen_id: uuid.UUID, changes: CitizenChanges
) -> CitizenView:
    """The registrant's change to what it supplied; any other agency is refused."""
    async with app.uow() as uow:
        citizen = await visible(uow, caller, citizen_id)
        if not trust.may_edit_record(citizen.registered_by, caller.agency.id):
            raise AuthError(NOT_REGISTRANT)
        before = reached_by(citizen)
        try:
            if changes.name is not None:
                name = rules.check_name(changes.name)
                citizen.name_enc = app.keyring.encrypt(name, field="citizen.name")
            if changes.language is not None:
                citizen.language = rules.check_language(changes.language)
        except InvalidInput as exc:
            raise invalid(exc) from exc
        if changes.region_code is not None or changes.time_zone is not None:
            region, zone = _place(changes.region_code or citizen.region_code, changes.time_zone)
            # A move keeps an explicitly chosen zone only when a new one is given.
            citizen.region_code, citizen.zone = region, zone
        citizen.updated_at = app.clock()
        record_preferences(uow, citizen, caller.agency.id, before)  # the language, if changed
        await uow.commit()
        return await view(app, uow, caller, citizen)
