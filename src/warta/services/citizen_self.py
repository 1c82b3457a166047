"""The citizen acting on their own record, through the portal: preferences, consent to
agencies and topics, the consent history, their contacts (who added each; one an agency
added shown masked until the citizen confirms it as their own with a code sent to it,
``citizens/confirming.py``; refusing any), a copy of their data, and erasure (UU PDP
27/2022: the rights to access (art. 7), to withdraw consent (art. 9) and to erasure
(art. 8, 43)).

The same rules as the agency API apply, through the same functions: preferences are
checked by ``citizens.check_preferences`` and consent is written by
``citizens.write_consent`` (history row, opt-out state and subscription together), with
``source`` "portal" and the words the page showed. A citizen acts only where they have a
relationship: the agencies that registered them, and those agencies' topics.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from warta.deps import Warta
from warta.domain import citizens as rules
from warta.domain import trust
from warta.domain.timefmt import notify_time
from warta.errors import BadRequest, InvalidInput, NotFound, ValidationFailed
from warta.services import citizens, portal, unsubscribe
from warta.services.cases import reads as case_reads
from warta.services.chatbot import conversations as chat_history
from warta.services.citizens import confirming, erasure
from warta.store.models import Citizen, CitizenContact, Consent
from warta.store.uow import UnitOfWork

log = logging.getLogger(__name__)

SOURCE = "portal"


@dataclass(frozen=True)
class AgencyChoice:
    agency_id: uuid.UUID
    agency: str
    #: The citizen withdrew consent for the whole agency (urgent messages still come).
    withdrawn: bool


@dataclass(frozen=True)
class TopicChoice:
    agency_id: uuid.UUID
    agency: str
    slug: str
    name: str
    subscribed: bool


@dataclass(frozen=True)
class Choices:
    preferences: citizens.Preferences
    language: str
    #: Channels with a verified, working contact (the ones routing can use).
    usable: frozenset[str]
    agencies: list[AgencyChoice]


@dataclass(frozen=True)
class HistoryEntry:
    at: datetime
    agency: str
    topic: str | None
    granted: bool
    source: str
    text_shown: str


@dataclass(frozen=True)
class PreferenceEntry:
    at: datetime
    agency: str | None  # None: the citizen, in the portal
    preferences: dict[str, Any]  # as ``citizens.preferences_document`` gives them


@dataclass(frozen=True)
class Devices:
    push: int
    chat: int


@dataclass(frozen=True)
class OwnContact:
    """One of the citizen's contacts as the portal shows it, with who added it."""

    id: uuid.UUID
    kind: str
    #: The phone, address or chat, masked unless it is their own
    #: (``trust.shown_to_citizen``); None for a push subscription (a device, not a value).
    value: str | None
    #: The agency that added it; None: the citizen did.
    added_by: str | None
    #: Theirs (used by every agency, opens the portal), or only the adding agency's.
    citizens_own: bool
    verified: bool
    #: A confirmation code is out to it: the page asks for it.
    code_waiting: bool = False


async def is_registered(app: Warta, citizen_id: uuid.UUID) -> bool:
    """A session outlives nothing: after erasure its citizen is gone and it opens nothing."""
    async with app.uow() as uow:
        return await uow.citizens.registered(citizen_id)


async def zone_of(app: Warta, citizen_id: uuid.UUID) -> str | None:
    """The citizen's time zone (WIB, WITA, WIT), in which their pages show times."""
    async with app.uow() as uow:
        citizen = await uow.citizens.get(citizen_id)
    return citizen.zone if citizen is not None else None


async def _citizen(uow: UnitOfWork, citizen_id: uuid.UUID) -> Citizen:
    citizen = await uow.citizens.get(citizen_id)
    if citizen is None:
        raise NotFound("Citizen not found")
    return citizen


async def choices(app: Warta, citizen_id: uuid.UUID) -> Choices:
    async with app.uow() as uow:
        citizen = await _citizen(uow, citizen_id)
        usable = {row.kind for row in await uow.citizens.verified([citizen_id])}
        withdrawn = await uow.citizens.withdrawals(citizen_id)
        agencies = [
            AgencyChoice(i, name, (i, "") in withdrawn)
            for i, name in await uow.citizens.related_agencies(citizen_id)
        ]
        return Choices(
            citizens.preferences_of(citizen), citizen.language, frozenset(usable), agencies
        )


async def set_preferences(
    app: Warta, citizen_id: uuid.UUID, prefs: citizens.Preferences, language: str
) -> None:
    """The agency API's rules (``check_preferences``); the next routing decision uses them."""
    citizens.check_preferences(prefs)
    try:
        language = rules.check_language(language)
    except InvalidInput as exc:
        raise ValidationFailed(exc.msgid, field=exc.field, **exc.values) from exc
    async with app.uow() as uow:
        citizen = await _citizen(uow, citizen_id)
        before = citizens.reached_by(citizen)
        citizens.apply_preferences(citizen, prefs)
        citizen.language = language
        citizen.updated_at = app.clock()
        citizens.record_preferences(uow, citizen, None, before)
        await uow.commit()


async def topics(app: Warta, citizen_id: uuid.UUID) -> list[TopicChoice]:
    """Every topic of every agency the citizen has a relationship with."""
    async with app.uow() as uow:
        related = dict(await uow.citizens.related_agencies(citizen_id))
        subscribed = await uow.citizens.subscribed_topic_ids(citizen_id)
        rows = await uow.citizens.topics_by_name(related)
    return sorted(
        (TopicChoice(t.agency_id, related[t.agency_id], t.slug, t.name, t.id in subscribed)
         for t in rows),
        key=lambda c: (c.agency, c.name),
    )  # fmt: skip


async def choose(
    app: Warta,
    citizen_id: uuid.UUID,
    agency_id: uuid.UUID,
    topic: str | None,
    granted: bool,
    text_shown: str,
) -> Consent:
    """The citizen grants or withdraws consent for an agency they know, or one of its
    topics: recorded exactly as the agency API records it, and applied at once."""
    choice = citizens.ConsentChoice(granted, topic or None, SOURCE, text_shown)
    async with app.uow() as uow:
        if await uow.citizens.visible(agency_id, citizen_id) is None:
            raise NotFound("Agency not found")
        consent = await citizens.write_consent(app, uow, citizen_id, agency_id, choice)
        await uow.commit()
    return consent


async def history(app: Warta, citizen_id: uuid.UUID) -> list[HistoryEntry]:
    """Every choice, with every agency, oldest first."""
    async with app.uow() as uow:
        rows = await uow.citizens.consent_history(citizen_id)
        names = await _names(uow, rows)
    return [
        HistoryEntry(
            c.created_at,
            names.get((c.agency_id, ""), ""),
            names.get((c.agency_id, c.topic), c.topic) if c.topic else None,
            c.granted,
            c.source,
            c.text_shown,
        )
        for c in rows
    ]


async def preference_history(app: Warta, citizen_id: uuid.UUID) -> list[PreferenceEntry]:
    """Every change to how the citizen is reached, oldest first."""
    async with app.uow() as uow:
        return await _preference_changes(uow, citizen_id)


async def _preference_changes(uow: UnitOfWork, citizen_id: uuid.UUID) -> list[PreferenceEntry]:
    return [
        PreferenceEntry(change.created_at, agency, json.loads(change.preferences))
        for change, agency in await uow.citizens.preference_changes(citizen_id)
    ]


async def _names(uow: UnitOfWork, rows: Sequence[Consent]) -> dict[tuple[uuid.UUID, str], str]:
    """(agency id, "") -> the agency's name; (agency id, slug) -> the topic's name."""
    agency_ids = list({c.agency_id for c in rows})
    names = {(i, ""): name for i, name in (await uow.citizens.agency_names(agency_ids)).items()}
    names.update(await uow.citizens.topic_names(agency_ids))
    return names


async def devices(app: Warta, citizen_id: uuid.UUID) -> Devices:
    async with app.uow() as uow:
        kinds = [row.kind for row in await uow.citizens.verified([citizen_id])]
    return Devices(push=kinds.count("push"), chat=kinds.count("chat"))


# -- contacts ------------------------------------------------------------------------------


def _shown(app: Warta, contact: CitizenContact) -> str:
    """A contact's value as the citizen sees it: in clear if it is their own, else masked
    (``trust.shown_to_citizen``: perhaps it is someone else's, proven at an agency)."""
    value = app.keyring.decrypt(contact.value_enc, field="contact.value")
    if trust.shown_to_citizen(contact.scope):
        return value
    return trust.mask_contact(contact.kind, value)


async def contacts(app: Warta, citizen_id: uuid.UUID) -> list[OwnContact]:
    """Every contact on the record, the citizen's own first, with who added each."""
    now = app.clock()
    async with app.uow() as uow:
        rows = await uow.citizens.contacts([citizen_id])
        names = await uow.citizens.agency_names({c.added_by for c in rows if c.added_by})
    shown = [
        OwnContact(
            c.id,
            c.kind,
            None if c.kind == "push" else _shown(app, c),
            names.get(c.added_by, "") if c.added_by else None,
            c.scope == trust.CITIZEN,
            c.verified_at is not None,
            c.scope != trust.CITIZEN and confirming.waiting(c, now),
        )
        for c in rows
        if c.gone_at is None
    ]
    return sorted(shown, key=lambda c: not c.citizens_own)  # stable: oldest first in each


async def make_own_unchecked(app: Warta, citizen_id: uuid.UUID, contact_id: uuid.UUID) -> None:
    """Make a proven contact an agency added the citizen's own *without* the code sent to
    it: for set-up that stands in for the citizen (the demo's citizen, tests). The portal
    never calls this: it takes the code (``confirming.send_code`` and
    ``confirming.confirm``), since being signed in proves nothing about the contact."""
    async with app.uow() as uow:
        contact = await uow.citizens.contact(citizen_id, contact_id)
        if contact is None:
            raise NotFound("Contact not found")
        if contact.verified_at is None:
            raise BadRequest(confirming.NOT_PROVEN)
        if contact.scope != trust.CITIZEN:
            await confirming.make_own(uow, contact, app.clock())
        await uow.commit()


async def refuse_contact(app: Warta, citizen_id: uuid.UUID, contact_id: uuid.UUID) -> None:
    """The citizen removes a contact from their record, whoever added it."""
    async with app.uow() as uow:
        contact = await uow.citizens.contact(citizen_id, contact_id)
        if contact is None:
            raise NotFound("Contact not found")
        await uow.citizens.remove_contact(contact)
        await uow.commit()
    log.info("citizen %s removed contact %s", citizen_id, contact_id)


# -- download my data ----------------------------------------------------------------------


async def export(app: Warta, citizen_id: uuid.UUID) -> dict[str, Any]:
    """Everything Warta holds about the citizen, decrypted: it is their own data. Not
    so a contact an agency added that they have not confirmed: masked, as on the contacts
    page (``trust.shown_to_citizen``).

    Their cases are in it too, as the portal shows them (no internal notes), and their
    conversations with the chatbot and staff.

    Long on purpose: one section per kind of data, so a reader can check it is all there
    (UU PDP's right of access) against the erasure below."""
    decrypt = app.keyring.decrypt
    async with app.uow() as uow:
        citizen = await _citizen(uow, citizen_id)
        contacts = await uow.citizens.contacts([citizen_id])
        adders = await uow.citizens.agency_names({c.added_by for c in contacts if c.added_by})
        related = await uow.citizens.related_agencies(citizen_id)
        subscriptions = [
            {"agency": a, "topic": slug, "name": name, "since": notify_time(at)}
            for a, slug, name, at in await uow.citizens.every_subscription(citizen_id)
        ]
        messages = await portal.present(app, uow, await uow.inbox.every_message(citizen_id))
        consents = await uow.citizens.consent_history(citizen_id)
        names = await _names(uow, consents)
        changes = await _preference_changes(uow, citizen_id)
    cases = await case_reads.for_citizen(app, citizen_id)
    chats = await chat_history.of_citizen(app, citizen_id, [c.value_hash for c in contacts])
    email_stops = await unsubscribe.stops_of(app, citizen_id)
    return {
        "profile": {
            "id": str(citizen.id),
            "nik": decrypt(citizen.nik_enc, field="citizen.nik"),
            "name": decrypt(citizen.name_enc, field="citizen.name"),
            "region_code": citizen.region_code,
            "time_zone": citizen.zone,
            "language": citizen.language,
            "created_at": notify_time(citizen.created_at),
            "updated_at": notify_time(citizen.updated_at),
        },
        "contacts": [
            {
                "type": c.kind,
                "value": _shown(app, c),
                "owner": "you" if c.scope == trust.CITIZEN else "agency",
                "added_by": adders.get(c.added_by, "") if c.added_by else "you",
                "proof": c.proof,
                "verified_at": notify_time(c.verified_at),
                "gone_at": notify_time(c.gone_at),
                "created_at": notify_time(c.created_at),
            }
            for c in contacts
        ],
        "preferences": citizens.preferences_document(citizens.preferences_of(citizen)),
        "preference_changes": [
            {"by": e.agency or "you", "preferences": e.preferences, "created_at": notify_time(e.at)}
            for e in changes
        ],
        "agencies": [name for _, name in related],
        "topics": subscriptions,
        "consents": [
            {
                "agency": names.get((c.agency_id, ""), ""),
                "topic": c.topic or None,
                "granted": c.granted,
                "source": c.source,
                "text_shown": c.text_shown,
                "created_at": notify_time(c.created_at),
            }
            for c in consents
        ],
        # Email one of their addresses stopped: an unsubscribe link, or a spam report.
        "email_stops": [
            {
                "agency": e.agency,
                "topic": e.topic or None,
                "source": e.source,
                "created_at": notify_time(e.at),
            }
            for e in email_stops
        ],
        "messages": [
            {
                "agency": m.agency,
                "subject": m.subject,
                "body": m.body,
                "channel": m.channel,
                "status": m.status,
                "created_at": notify_time(m.created_at),
                "read_at": notify_time(m.read_at),
            }
            for m in messages
        ],
        "cases": [
            {
                "tracking_id": c.tracking_id,
                "agency": c.agency_name,
                "service": c.service.name,
                "status": c.status,
                "description": c.description,
                "location": {
                    "lat": c.location.lat,
                    "long": c.location.long,
                    "address": c.location.address,
                    "region_code": c.location.region_code,
                },
                "attributes": c.attributes,
                "photos": len(c.photos),
                "created_at": notify_time(c.created_at),
                "events": [
                    {
                        "at": notify_time(e.at),
                        "status": e.to_status,
                        "message": e.public_message,
                        "by": "you" if e.actor_kind == "citizen" else "agency",
                    }
                    for e in c.events
                ],
            }
            for c in cases
        ],
        "conversations": [
            {
                "channel": chat.channel,
                "messages": [
                    {"at": notify_time(m.at), "from": m.author, "text": m.text}
                    for m in chat.messages
                ],
            }
            for chat in chats
        ],
    }


# -- delete my data ------------------------------------------------------------------------


async def erase(app: Warta, citizen_id: uuid.UUID) -> None:
    """Erase the citizen: what goes, what stays anonymised, and why, is
    ``citizens/erasure.py``."""
    await erasure.erase(app, citizen_id)
