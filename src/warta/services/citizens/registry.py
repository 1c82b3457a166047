"""The registry: one identity per NIK, shared by every agency, seen by an agency only once
it has a relationship with the citizen."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from warta.deps import Warta
from warta.domain import citizens as rules
from warta.domain import recipients
from warta.domain.regions import parse_region, parse_zone, zone_of
from warta.errors import InvalidInput, NotFound, ValidationFailed
from warta.services.citizens.preferences import (
    Preferences,
    apply_preferences,
    check_preferences,
    invalid,
    reached_by,
    record_preferences,
)
from warta.services.sending import Caller
from warta.store.models import Citizen, CitizenContact
from warta.store.uow import UnitOfWork


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
    #: records): they are usable at once. Otherwise each needs its one-time code.
    contacts_verified: bool = False


@dataclass(frozen=True)
class CitizenChanges:
    name: str | None = None
    region_code: str | None = None
    time_zone: str | None = None
    language: str | None = None


@dataclass
class CitizenView:
    citizen: Citizen
    nik: str
    name: str
    contacts: list[tuple[CitizenContact, str]]
    topics: list[str] = field(default_factory=list)


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
    """Register a citizen, or link this agency to the one who already has this NIK (their
    record is not changed, apart from new contacts, which start unverified). Returns the
    view and whether the citizen was new."""
    try:
        nik = rules.normalise_nik(new.nik)
        name = rules.check_name(new.name)
        language = rules.check_language(new.language)
    except InvalidInput as exc:
        raise invalid(exc) from exc
    region, zone = _place(new.region_code, new.time_zone)
    prefs = check_preferences(new.preferences or Preferences())
    contacts = _contacts_of(new)
    now = app.clock()
    keyring = app.keyring
    async with app.uow() as uow:
        citizen = await uow.citizens.by_nik_hash(keyring.lookup_hash(nik))
        created = citizen is None
        if citizen is None:
            citizen = Citizen(
                id=uuid.uuid4(),
                nik_hash=keyring.lookup_hash(nik),
                nik_enc=keyring.encrypt(nik, field="citizen.nik"),
                name_enc=keyring.encrypt(name, field="citizen.name"),
                region_code=region,
                zone=zone,
                language=language,
                created_at=now,
                updated_at=now,
            )
            apply_preferences(citizen, prefs)
            await uow.citizens.create(citizen)
            record_preferences(uow, citizen, caller.agency.id, None)
        await uow.citizens.link(caller.agency.id, citizen.id, now)
        known = {(c.kind, c.value_hash) for c in await uow.citizens.contacts([citizen.id])}
        for kind, value in contacts:
            if (kind, keyring.lookup_hash(value)) not in known:
                contact = new_contact(app, citizen.id, kind, value, now)
                contact.verified_at = now if new.contacts_verified else None
                uow.citizens.add(contact)
        await uow.commit()
        shown = await view(app, uow, caller.agency.id, citizen)
    return shown, created


def new_contact(
    app: Warta, citizen_id: uuid.UUID, kind: str, value: str, now: datetime
) -> CitizenContact:
    """A contact row, unverified; the caller adds it."""
    return CitizenContact(
        id=uuid.uuid4(),
        citizen_id=citizen_id,
        kind=kind,
        value_enc=app.keyring.encrypt(value, field="contact.value"),
        value_hash=app.keyring.lookup_hash(value),
        code_attempts=0,
        created_at=now,
    )


async def view(app: Warta, uow: UnitOfWork, agency_id: uuid.UUID, citizen: Citizen) -> CitizenView:
    """The citizen as this agency sees them: decrypted, with contacts and its topics."""
    decrypt = app.keyring.decrypt
    contacts = [
        (c, decrypt(c.value_enc, field="contact.value"))
        for c in await uow.citizens.contacts([citizen.id])
    ]
    return CitizenView(
        citizen=citizen,
        nik=decrypt(citizen.nik_enc, field="citizen.nik"),
        name=decrypt(citizen.name_enc, field="citizen.name"),
        contacts=contacts,
        topics=await uow.citizens.subscriptions(citizen.id, agency_id),
    )


async def visible(uow: UnitOfWork, agency_id: uuid.UUID, citizen_id: uuid.UUID) -> Citizen:
    """The citizen, if this agency has a relationship with them; else 404."""
    citizen = await uow.citizens.visible(agency_id, citizen_id)
    if citizen is None:
        raise NotFound("Citizen not found")
    return citizen


async def get(app: Warta, caller: Caller, citizen_id: uuid.UUID) -> CitizenView:
    async with app.uow() as uow:
        return await view(
            app, uow, caller.agency.id, await visible(uow, caller.agency.id, citizen_id)
        )


async def find_by_nik(app: Warta, caller: Caller, raw_nik: str) -> CitizenView:
    try:
        nik = rules.normalise_nik(raw_nik)
    except InvalidInput as exc:
        raise invalid(exc) from exc
    async with app.uow() as uow:
        citizen = await uow.citizens.by_nik_hash(app.keyring.lookup_hash(nik))
        if citizen is None or await uow.citizens.visible(caller.agency.id, citizen.id) is None:
            raise NotFound("Citizen not found")
        return await view(app, uow, caller.agency.id, citizen)


async def update(
    app: Warta, caller: Caller, citizen_id: uuid.UUID, changes: CitizenChanges
) -> CitizenView:
    async with app.uow() as uow:
        citizen = await visible(uow, caller.agency.id, citizen_id)
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
        return await view(app, uow, caller.agency.id, citizen)


async def set_preferences(
    app: Warta, caller: Caller, citizen_id: uuid.UUID, prefs: Preferences
) -> CitizenView:
    check_preferences(prefs)
    async with app.uow() as uow:
        citizen = await visible(uow, caller.agency.id, citizen_id)
        before = reached_by(citizen)
        apply_preferences(citizen, prefs)
        citizen.updated_at = app.clock()
        record_preferences(uow, citizen, caller.agency.id, before)
        await uow.commit()
        return await view(app, uow, caller.agency.id, citizen)
