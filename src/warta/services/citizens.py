"""The citizen registry: one identity per NIK, shared by every agency, seen by an agency
only once it has a relationship with the citizen (it registered them, or they subscribed
to one of its topics).

Contacts are usable for routing only once verified by a one-time code sent through the
contact's own channel. Consent is an append-only record (``consents``) whose current
state (``opt_outs``) changes in the same transaction, so a withdrawal takes effect for the
very next routing decision.
"""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from warta.bootstrap import Warta
from warta.domain import citizens as rules
from warta.domain import recipients
from warta.domain.regions import parse_region, parse_zone, zone_of
from warta.errors import ApiError, BadRequest, InvalidInput, NotFound, ValidationFailed
from warta.services import sending
from warta.services.sending import Caller
from warta.store.models import (
    Citizen,
    CitizenContact,
    Consent,
    PreferenceChange,
    Template,
    Topic,
)
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
class Preferences:
    channels: tuple[str, ...] = ("sms",)
    quiet_start: str | None = "21:00"
    quiet_end: str | None = "06:00"
    max_per_day: int | None = None
    max_per_week: int | None = None
    digest: bool = False
    digest_at: str = "18:00"


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


def _invalid(exc: InvalidInput) -> ValidationFailed:
    # The msgid and values, not str(exc): a page translates the message.
    return ValidationFailed(exc.msgid, field=exc.field, **exc.values)


def check_preferences(prefs: Preferences) -> Preferences:
    """Validated preferences, or a ValidationFailed naming the field."""
    try:
        rules.channel_order(list(prefs.channels))
        if (prefs.quiet_start is None) != (prefs.quiet_end is None):
            raise rules.InvalidCitizen("quiet_hours needs both start and end, or neither")
        if prefs.quiet_start is not None and prefs.quiet_end is not None:
            rules.local_time(prefs.quiet_start, "quiet_hours start")
            rules.local_time(prefs.quiet_end, "quiet_hours end")
        rules.cap(prefs.max_per_day, "max_per_day")
        rules.cap(prefs.max_per_week, "max_per_week")
        rules.local_time(prefs.digest_at, "digest_at")
    except InvalidInput as exc:
        raise _invalid(exc) from exc
    return prefs


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
        raise _invalid(exc) from exc
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
        raise _invalid(exc) from exc
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
            uow.citizens.add(citizen)
            await uow.session.flush()
            record_preferences(uow, citizen, caller.agency.id, None)
        await uow.citizens.link(caller.agency.id, citizen.id, now)
        known = {(c.kind, c.value_hash) for c in await uow.citizens.contacts([citizen.id])}
        for kind, value in contacts:
            if (kind, keyring.lookup_hash(value)) not in known:
                contact = _new_contact(app, citizen.id, kind, value, now)
                contact.verified_at = now if new.contacts_verified else None
                uow.citizens.add(contact)
        await uow.commit()
        view = await _view(app, uow, caller.agency.id, citizen)
    return view, created


async def proven_contact(
    app: Warta, uow: UnitOfWork, citizen_id: uuid.UUID, kind: str, value: str, now: datetime
) -> CitizenContact:
    """The citizen's contact of this kind and value, added if new, and now verified and
    alive: for contacts the act itself proves theirs (a push subscription made in their
    signed-in browser or app, a Telegram link opened in their chat)."""
    contact = await uow.citizens.contact_by_hash(citizen_id, kind, app.keyring.lookup_hash(value))
    if contact is None:
        contact = _new_contact(app, citizen_id, kind, value, now)
        uow.citizens.add(contact)
    contact.verified_at, contact.gone_at = now, None
    return contact


def _new_contact(
    app: Warta, citizen_id: uuid.UUID, kind: str, value: str, now: datetime
) -> CitizenContact:
    return CitizenContact(
        id=uuid.uuid4(),
        citizen_id=citizen_id,
        kind=kind,
        value_enc=app.keyring.encrypt(value, field="contact.value"),
        value_hash=app.keyring.lookup_hash(value),
        code_attempts=0,
        created_at=now,
    )


def apply_preferences(citizen: Citizen, prefs: Preferences) -> None:
    citizen.channel_order = ",".join(rules.channel_order(list(prefs.channels)))
    citizen.quiet_start = prefs.quiet_start
    citizen.quiet_end = prefs.quiet_end
    citizen.max_per_day = prefs.max_per_day
    citizen.max_per_week = prefs.max_per_week
    citizen.digest = prefs.digest
    citizen.digest_at = prefs.digest_at


async def _view(app: Warta, uow: UnitOfWork, agency_id: uuid.UUID, citizen: Citizen) -> CitizenView:
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


async def _visible(uow: UnitOfWork, agency_id: uuid.UUID, citizen_id: uuid.UUID) -> Citizen:
    citizen = await uow.citizens.visible(agency_id, citizen_id)
    if citizen is None:
        raise NotFound("Citizen not found")
    return citizen


async def get(app: Warta, caller: Caller, citizen_id: uuid.UUID) -> CitizenView:
    async with app.uow() as uow:
        return await _view(
            app, uow, caller.agency.id, await _visible(uow, caller.agency.id, citizen_id)
        )


async def find_by_nik(app: Warta, caller: Caller, raw_nik: str) -> CitizenView:
    try:
        nik = rules.normalise_nik(raw_nik)
    except InvalidInput as exc:
        raise _invalid(exc) from exc
    async with app.uow() as uow:
        citizen = await uow.citizens.by_nik_hash(app.keyring.lookup_hash(nik))
        if citizen is None or await uow.citizens.visible(caller.agency.id, citizen.id) is None:
            raise NotFound("Citizen not found")
        return await _view(app, uow, caller.agency.id, citizen)


async def update(
    app: Warta, caller: Caller, citizen_id: uuid.UUID, changes: CitizenChanges
) -> CitizenView:
    async with app.uow() as uow:
        citizen = await _visible(uow, caller.agency.id, citizen_id)
        before = reached_by(citizen)
        try:
            if changes.name is not None:
                name = rules.check_name(changes.name)
                citizen.name_enc = app.keyring.encrypt(name, field="citizen.name")
            if changes.language is not None:
                citizen.language = rules.check_language(changes.language)
        except InvalidInput as exc:
            raise _invalid(exc) from exc
        if changes.region_code is not None or changes.time_zone is not None:
            region, zone = _place(changes.region_code or citizen.region_code, changes.time_zone)
            # A move keeps an explicitly chosen zone only when a new one is given.
            citizen.region_code, citizen.zone = region, zone
        citizen.updated_at = app.clock()
        record_preferences(uow, citizen, caller.agency.id, before)  # the language, if changed
        await uow.commit()
        return await _view(app, uow, caller.agency.id, citizen)


async def set_preferences(
    app: Warta, caller: Caller, citizen_id: uuid.UUID, prefs: Preferences
) -> CitizenView:
    check_preferences(prefs)
    async with app.uow() as uow:
        citizen = await _visible(uow, caller.agency.id, citizen_id)
        before = reached_by(citizen)
        apply_preferences(citizen, prefs)
        citizen.updated_at = app.clock()
        record_preferences(uow, citizen, caller.agency.id, before)
        await uow.commit()
        return await _view(app, uow, caller.agency.id, citizen)


def preferences_document(prefs: Preferences) -> dict[str, Any]:
    """Preferences as the API and "download my data" give them."""
    return {
        "channels": list(prefs.channels),
        "quiet_hours": (
            {"start": prefs.quiet_start, "end": prefs.quiet_end} if prefs.quiet_start else None
        ),
        "max_per_day": prefs.max_per_day,
        "max_per_week": prefs.max_per_week,
        "digest": prefs.digest,
        "digest_at": prefs.digest_at,
    }


def reached_by(citizen: Citizen) -> str:
    """How the citizen is reached now, as a preference change records it (JSON)."""
    document = preferences_document(preferences_of(citizen))
    return json.dumps({**document, "language": citizen.language})


def record_preferences(
    uow: UnitOfWork, citizen: Citizen, agency_id: uuid.UUID | None, before: str | None
) -> None:
    """Record the citizen's preferences as just set (``before``: ``reached_by`` ahead of
    the change, None for a new citizen), by an agency (through the API or an import) or,
    with no ``agency_id``, by the citizen. A save that changed nothing is not a change."""
    after = reached_by(citizen)
    if after == before:
        return
    uow.citizens.add(
        PreferenceChange(
            id=uuid.uuid4(),
            citizen_id=citizen.id,
            agency_id=agency_id,
            source="agency" if agency_id else "portal",
            preferences=after,
            created_at=citizen.updated_at,
        )
    )


def preferences_of(citizen: Citizen) -> Preferences:
    return Preferences(
        channels=tuple(citizen.channel_order.split(",")),
        quiet_start=citizen.quiet_start,
        quiet_end=citizen.quiet_end,
        max_per_day=citizen.max_per_day,
        max_per_week=citizen.max_per_week,
        digest=citizen.digest,
        digest_at=citizen.digest_at,
    )


# -- contacts and one-time codes -----------------------------------------------------------


@dataclass(frozen=True)
class CodeSent:
    contact: CitizenContact
    value: str
    notification_id: uuid.UUID
    #: Only for test keys, which send nothing: the code, so an agency's own tests can
    #: finish verification. Never set for live or team keys.
    code: str | None


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
        citizen = await _visible(uow, caller.agency.id, citizen_id)
        existing = {(c.kind, c.value_hash): c for c in await uow.citizens.contacts([citizen.id])}
        contact = existing.get((kind, app.keyring.lookup_hash(value)))
        if contact is None:
            contact = _new_contact(app, citizen.id, kind, value, now)
            uow.citizens.add(contact)
        contact.code_hash = _code_hash(app, contact.id, code)
        contact.code_expires_at = now + CODE_TTL
        contact.code_attempts = 0
        template = await _code_template(app, uow, caller, kind)
        await uow.commit()
    sent = await sending.send_with_template(
        app,
        caller,
        sending.SendNotification(
            kind,  # type: ignore[arg-type]
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


def _code_hash(app: Warta, contact_id: uuid.UUID, code: str) -> str:
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
    uow.templates.add(template)
    await uow.session.flush()
    return template


async def verify_contact(
    app: Warta, caller: Caller, citizen_id: uuid.UUID, contact_id: uuid.UUID, code: str
) -> CitizenView:
    now = app.clock()
    async with app.uow() as uow:
        citizen = await _visible(uow, caller.agency.id, citizen_id)
        contact = await uow.citizens.contact(citizen.id, contact_id)
        if contact is None:
            raise NotFound("Contact not found")
        problem = _code_problem(app, contact, code.strip(), now)
        if problem is None:
            contact.verified_at = now
            contact.code_hash = contact.code_expires_at = None
        else:
            contact.code_attempts += 1
        await uow.commit()
        if problem is not None:
            raise BadRequest(problem)
        return await _view(app, uow, caller.agency.id, citizen)


def _code_problem(app: Warta, contact: CitizenContact, code: str, now: datetime) -> str | None:
    if contact.code_hash is None or contact.code_expires_at is None:
        return "No code is waiting for this contact: ask for a new one"
    if contact.code_attempts >= CODE_ATTEMPTS:
        return "Too many wrong codes: ask for a new one"
    if now >= contact.code_expires_at:
        return "The code has expired: ask for a new one"
    if not secrets.compare_digest(contact.code_hash, _code_hash(app, contact.id, code)):
        return "The code is not right"
    return None


async def remove_contact(
    app: Warta, caller: Caller, citizen_id: uuid.UUID, contact_id: uuid.UUID
) -> None:
    async with app.uow() as uow:
        citizen = await _visible(uow, caller.agency.id, citizen_id)
        contact = await uow.citizens.contact(citizen.id, contact_id)
        if contact is None:
            raise NotFound("Contact not found")
        await uow.session.delete(contact)
        await uow.commit()


# -- consent and topics --------------------------------------------------------------------


@dataclass(frozen=True)
class ConsentChoice:
    granted: bool
    topic: str | None
    source: str
    text_shown: str


async def record_consent(
    app: Warta, caller: Caller, citizen_id: uuid.UUID, choice: ConsentChoice
) -> Consent:
    """Record a grant or withdrawal, for this agency or one of its topics; it applies to
    the next routing decision. A topic grant also subscribes, a withdrawal unsubscribes."""
    async with app.uow() as uow:
        citizen = await _visible(uow, caller.agency.id, citizen_id)
        consent = await write_consent(app, uow, citizen.id, caller.agency.id, choice)
        await uow.commit()
    return consent


async def write_consent(
    app: Warta, uow: UnitOfWork, citizen_id: uuid.UUID, agency_id: uuid.UUID, choice: ConsentChoice
) -> Consent:
    """The one way a choice is recorded, whether an agency or the citizen's portal makes
    it: the history row, the opt-out state and the topic subscription, in ``uow``."""
    if not choice.source.strip() or len(choice.source) > 20:
        raise ValidationFailed("source is required (at most 20 characters), e.g. portal, sms")
    if not choice.text_shown.strip():
        raise ValidationFailed("text_shown is required: the words the citizen agreed to")
    topic = await _topic(uow, agency_id, choice.topic) if choice.topic else None
    consent = Consent(
        id=uuid.uuid4(),
        citizen_id=citizen_id,
        agency_id=agency_id,
        topic=topic.slug if topic else "",
        granted=choice.granted,
        source=choice.source.strip(),
        text_shown=choice.text_shown,
        created_at=app.clock(),
    )
    await uow.citizens.record_consent(consent)
    if topic is not None:
        if choice.granted:
            await uow.citizens.subscribe(topic.id, citizen_id, consent.created_at)
        else:
            await uow.citizens.unsubscribe(topic.id, citizen_id)
    return consent


async def consents(app: Warta, caller: Caller, citizen_id: uuid.UUID) -> Sequence[Consent]:
    async with app.uow() as uow:
        citizen = await _visible(uow, caller.agency.id, citizen_id)
        return await uow.citizens.consents(citizen.id, caller.agency.id)


async def _topic(uow: UnitOfWork, agency_id: uuid.UUID, slug: str) -> Topic:
    topic = await uow.citizens.topic(agency_id, slug)
    if topic is None:
        raise BadRequest("Topic %(slug)s not found", slug=repr(slug))
    return topic


async def create_topic(app: Warta, caller: Caller, slug: str, name: str) -> Topic:
    slug = slug.strip().lower()
    if not slug or len(slug) > 100 or not all(c.isalnum() or c == "-" for c in slug):
        raise ValidationFailed("slug must be 1-100 letters, digits or '-', like pajak-kendaraan")
    if not name.strip():
        raise ValidationFailed("name cannot be empty")
    async with app.uow() as uow:
        if await uow.citizens.topic(caller.agency.id, slug) is not None:
            raise BadRequest("Topic %(slug)s already exists", slug=repr(slug))
        topic = Topic(
            id=uuid.uuid4(),
            agency_id=caller.agency.id,
            slug=slug,
            name=name.strip(),
            created_at=app.clock(),
        )
        uow.citizens.add(topic)
        await uow.commit()
    return topic


async def topics(app: Warta, caller: Caller) -> Sequence[Topic]:
    async with app.uow() as uow:
        return await uow.citizens.topics(caller.agency.id)


async def topics_with_subscribers(app: Warta, caller: Caller) -> list[tuple[Topic, int]]:
    async with app.uow() as uow:
        found = await uow.citizens.topics(caller.agency.id)
        counts = await uow.citizens.subscriber_counts(caller.agency.id)
    return [(topic, counts.get(topic.id, 0)) for topic in found]


# -- CSV import ----------------------------------------------------------------------------

IMPORT_COLUMNS = ("nik", "name", "region_code")
OPTIONAL_COLUMNS = ("phone", "email", "time_zone", "language", "channels")


@dataclass(frozen=True)
class ImportedRow:
    line: int
    outcome: str  # created | linked | error
    message: str
    citizen_id: uuid.UUID | None = None


def check_import_header(header: Sequence[str] | None) -> None:
    columns = [c.strip().lower() for c in header or []]
    missing = [c for c in IMPORT_COLUMNS if c not in columns]
    if missing:
        raise BadRequest("The CSV lacks the column(s) %(columns)s", columns=", ".join(missing))
    unknown = [c for c in columns if c not in IMPORT_COLUMNS + OPTIONAL_COLUMNS]
    if unknown:
        raise BadRequest(
            "Unknown CSV column(s) %(columns)s; known: %(known)s",
            columns=", ".join(unknown),
            known=", ".join(IMPORT_COLUMNS + OPTIONAL_COLUMNS),
        )


async def import_row(
    app: Warta, caller: Caller, line: int, row: dict[str, str], *, trust_contacts: bool
) -> ImportedRow:
    """One CSV row: a citizen registered or linked, or the reason it was not."""
    values = {k.strip().lower(): (v or "").strip() for k, v in row.items() if k}
    split = [p.strip() for p in values.get("channels", "").split(";") if p.strip()]
    new = NewCitizen(
        nik=values.get("nik", ""),
        name=values.get("name", ""),
        region_code=values.get("region_code", ""),
        time_zone=values.get("time_zone") or None,
        language=values.get("language") or "id",
        phone_numbers=[values["phone"]] if values.get("phone") else [],
        email_addresses=[values["email"]] if values.get("email") else [],
        preferences=Preferences(channels=tuple(split)) if split else None,
        contacts_verified=trust_contacts,
    )
    try:
        view, created = await register(app, caller, new)
    except (InvalidInput, ApiError) as exc:
        return ImportedRow(line, "error", str(exc))
    outcome = "created" if created else "linked"
    return ImportedRow(line, outcome, outcome, view.citizen.id)
