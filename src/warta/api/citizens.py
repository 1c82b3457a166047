"""Warta extension: the citizen registry, contacts, preferences, consent and topics.

Same auth and error format as the Notify API. An agency sees only the citizens it has a
relationship with, and of them only what ``domain/trust.py`` allows: registering a NIK
that is already known links the agency to that citizen (200 rather than 201) and answers
with the id, the masked NIK and the agency's own contacts, nothing another agency or the
citizen supplied. A test key works on the agency's sandbox, never on the real registry.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import Field

from warta.api.auth import authenticate, warta
from warta.api.responses import JsonResponse
from warta.api.schemas import Strict
from warta.deps import Warta
from warta.domain.citizens import MAX_CONTACTS, ContactChannel
from warta.domain.timefmt import notify_time
from warta.services import citizens
from warta.services.sending import Caller
from warta.store.models import Consent, Topic

router = APIRouter(prefix="/v2", tags=["Citizens (Warta extension)"])
AppDep = Annotated[Warta, Depends(warta)]
CallerDep = Annotated[Caller, Depends(authenticate)]


class QuietHours(Strict):
    start: str = Field(examples=["21:00"])
    end: str = Field(examples=["06:00"])


class PreferencesIn(Strict):
    channels: list[str] = Field(
        default=["sms"], description="Ordered: the first usable one is tried first."
    )
    quiet_hours: QuietHours | None = Field(
        default=QuietHours(start="21:00", end="06:00"),
        description="Local time; null for none. Urgent notifications ignore it.",
    )
    max_per_day: int | None = None
    max_per_week: int | None = None
    digest: bool = Field(False, description="Group low-priority notifications, daily.")
    digest_at: str = "18:00"

    def to_service(self) -> citizens.Preferences:
        quiet = self.quiet_hours
        return citizens.Preferences(
            channels=tuple(self.channels),
            quiet_start=quiet.start if quiet else None,
            quiet_end=quiet.end if quiet else None,
            max_per_day=self.max_per_day,
            max_per_week=self.max_per_week,
            digest=self.digest,
            digest_at=self.digest_at,
        )


class CitizenIn(Strict):
    nik: str = Field(description="16 digits.")
    name: str
    region_code: str = Field(
        description="Kemendagri kode wilayah, province to village: 32.73.01.1001"
    )
    time_zone: Literal["WIB", "WITA", "WIT"] | None = Field(
        None, description="Default: the zone of the region."
    )
    language: str = "id"
    # Refused before 10,000 numbers are each checked; the registry's cap counts too.
    phone_numbers: list[str] = Field(default_factory=list, max_length=MAX_CONTACTS["sms"])
    email_addresses: list[str] = Field(default_factory=list, max_length=MAX_CONTACTS["email"])
    preferences: PreferencesIn | None = None


class CitizenPatch(Strict):
    name: str | None = None
    region_code: str | None = None
    time_zone: Literal["WIB", "WITA", "WIT"] | None = None
    language: str | None = None


class ContactIn(Strict):
    type: ContactChannel
    value: str = Field(
        description="A phone number, an email address, or for chat whatsapp:<phone number>. "
        "Push subscriptions come from the citizen's portal, Telegram chats from the bot."
    )


class CodeIn(Strict):
    code: str = Field(min_length=1, max_length=12)


class PreferencesChange(PreferencesIn):
    code: str | None = Field(
        None,
        max_length=12,
        description="The presence code the citizen received (POST .../presence-codes) and "
        "read out: preferences are the citizen's, changed only with them present.",
    )


class PresenceIn(Strict):
    contact_id: uuid.UUID | None = Field(
        None,
        description="One of the citizen's own contacts, as GET /v2/citizens/{id} lists them "
        "(masked); none: the first by the citizen's channel order.",
    )


class ConsentIn(Strict):
    granted: bool
    topic: str | None = Field(None, description="A topic slug; none: the whole agency.")
    source: str = Field(description="Where the choice was made: portal, sms, counter...")
    text_shown: str = Field(description="The words the citizen saw and agreed to.")


class TopicIn(Strict):
    slug: str
    name: str


def present(view: citizens.CitizenView) -> dict[str, Any]:
    """The citizen as this agency may see them: the registrant sees the name, region, zone
    and language it supplied (null for any other agency); contacts are the agency's own
    (in clear) and the citizen's own (masked); preferences only where ``view`` has them."""
    c = view.citizen
    mine = view.registrant
    return {
        "id": str(c.id),
        "nik": view.masked_nik,
        "name": view.name,
        "region_code": c.region_code if mine else None,
        "time_zone": c.zone if mine else None,
        "language": c.language if mine else None,
        "registrant": mine,
        "contacts": [_contact(shown) for shown in view.contacts],
        "preferences": (
            citizens.preferences_document(view.preferences) if view.preferences else None
        ),
        "topics": view.topics,
        "linked_at": notify_time(view.linked_at),
        "created_at": notify_time(c.created_at),
        "updated_at": notify_time(c.updated_at) if mine else None,
    }


def _contact(shown: citizens.ContactView) -> dict[str, Any]:
    contact = shown.contact
    return {
        "id": str(contact.id),
        "type": contact.kind,
        "value": shown.value,
        "owner": "citizen" if shown.citizens_own else "agency",
        "verified": contact.verified_at is not None,
        "verified_at": notify_time(contact.verified_at),
    }


def _consent(row: Consent) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "granted": row.granted,
        "topic": row.topic or None,
        "source": row.source,
        "text_shown": row.text_shown,
        "created_at": notify_time(row.created_at),
    }


def _topic(row: Topic) -> dict[str, Any]:
    return {"id": str(row.id), "slug": row.slug, "name": row.name}


@router.post("/citizens", summary="Register a citizen (or link to the one with this NIK)")
async def register(body: CitizenIn, app: AppDep, caller: CallerDep) -> JsonResponse:
    """201 with the new citizen. A NIK Warta already knows: 200 with the citizen's id, the
    masked NIK (`3273**********02`), `"registrant": false` and this agency's own contacts
    only; name, region, time zone, language and preferences are null and the record is
    not changed; contacts sent become this agency's own, each to be proven by a code. A
    test key works in the agency's sandbox and never meets a real citizen (docs/trust.md).
    """
    view, created = await citizens.register(
        app,
        caller,
        citizens.NewCitizen(
            nik=body.nik,
            name=body.name,
            region_code=body.region_code,
            time_zone=body.time_zone,
            language=body.language,
            phone_numbers=body.phone_numbers,
            email_addresses=body.email_addresses,
            preferences=body.preferences.to_service() if body.preferences else None,
        ),
    )
    return JsonResponse(present(view), status_code=201 if created else 200)


@router.get("/citizens", summary="Find a citizen by NIK")
async def find(
    app: AppDep, caller: CallerDep, nik: Annotated[str, Query(min_length=1)]
) -> JsonResponse:
    return JsonResponse(present(await citizens.find_by_nik(app, caller, nik)))


@router.get("/citizens/{citizen_id}", summary="One citizen")
async def get_citizen(citizen_id: uuid.UUID, app: AppDep, caller: CallerDep) -> JsonResponse:
    """The citizen as this agency may see them: the masked NIK; name, region, time zone and
    language only for the agency that registered them; contacts this agency added in clear
    and the citizen's own masked (`owner`: `agency` or `citizen`); never another agency's
    contacts, never preferences (docs/trust.md)."""
    return JsonResponse(present(await citizens.get(app, caller, citizen_id)))


@router.patch("/citizens/{citizen_id}", summary="Change name, region, time zone or language")
async def update_citizen(
    citizen_id: uuid.UUID, body: CitizenPatch, app: AppDep, caller: CallerDep
) -> JsonResponse:
    """Only the agency that registered the citizen (another: 403)."""
    changes = citizens.CitizenChanges(**body.model_dump())
    return JsonResponse(present(await citizens.update(app, caller, citizen_id, changes)))


@router.post(
    "/citizens/{citizen_id}/presence-codes",
    status_code=201,
    summary="Send the citizen a code to show they are present (for a preference change)",
)
async def presence_code(
    citizen_id: uuid.UUID, body: PresenceIn, app: AppDep, caller: CallerDep
) -> JsonResponse:
    asked = await citizens.ask_presence(app, caller, citizen_id, body.contact_id)
    shown = {
        "contact": {"id": str(asked.contact.id), "type": asked.contact.kind, "value": asked.masked},
        "expires_at": notify_time(asked.expires_at),
    }
    return JsonResponse(shown, status_code=201)


@router.put(
    "/citizens/{citizen_id}/preferences",
    summary="Replace the citizen's preferences, with the citizen's presence code",
)
async def put_preferences(
    citizen_id: uuid.UUID, body: PreferencesChange, app: AppDep, caller: CallerDep
) -> JsonResponse:
    prefs = body.to_service()
    view = await citizens.set_preferences(app, caller, citizen_id, prefs, body.code)
    return JsonResponse(present(view))


@router.post(
    "/citizens/{citizen_id}/contacts",
    status_code=201,
    summary="Add a contact of this agency's own and send it a one-time code",
)
async def add_contact(
    citizen_id: uuid.UUID, body: ContactIn, app: AppDep, caller: CallerDep
) -> JsonResponse:
    sent = await citizens.add_contact(app, caller, citizen_id, body.type, body.value)
    shown: dict[str, Any] = {
        "id": str(sent.contact.id),
        "type": sent.contact.kind,
        "value": sent.value,
        "owner": "agency",
        "verified": sent.contact.verified_at is not None,
        # The code itself is never in an answer: the citizen reads it out. A test key's
        # sandbox sends nothing (no notification) and its codes are all 000000.
        "code_notification_id": str(sent.notification_id) if sent.notification_id else None,
    }
    return JsonResponse(shown, status_code=201)


@router.post("/citizens/{citizen_id}/contacts/{contact_id}/verify", summary="Check a code")
async def verify_contact(
    citizen_id: uuid.UUID, contact_id: uuid.UUID, body: CodeIn, app: AppDep, caller: CallerDep
) -> JsonResponse:
    view = await citizens.verify_contact(app, caller, citizen_id, contact_id, body.code)
    return JsonResponse(present(view))


@router.delete(
    "/citizens/{citizen_id}/contacts/{contact_id}",
    status_code=204,
    summary="Remove a contact this agency added (the citizen's own: 403)",
)
async def remove_contact(
    citizen_id: uuid.UUID, contact_id: uuid.UUID, app: AppDep, caller: CallerDep
) -> None:
    await citizens.remove_contact(app, caller, citizen_id, contact_id)


@router.post("/citizens/{citizen_id}/consents", status_code=201, summary="Record consent")
async def add_consent(
    citizen_id: uuid.UUID, body: ConsentIn, app: AppDep, caller: CallerDep
) -> JsonResponse:
    choice = citizens.ConsentChoice(body.granted, body.topic, body.source, body.text_shown)
    row = await citizens.record_consent(app, caller, citizen_id, choice)
    return JsonResponse(_consent(row), status_code=201)


@router.get("/citizens/{citizen_id}/consents", summary="The consent history with this agency")
async def list_consents(citizen_id: uuid.UUID, app: AppDep, caller: CallerDep) -> JsonResponse:
    rows = await citizens.consents(app, caller, citizen_id)
    return JsonResponse({"consents": [_consent(r) for r in rows]})


@router.post("/topics", status_code=201, summary="Create a topic citizens can subscribe to")
async def create_topic(body: TopicIn, app: AppDep, caller: CallerDep) -> JsonResponse:
    return JsonResponse(
        _topic(await citizens.create_topic(app, caller, body.slug, body.name)), status_code=201
    )


@router.get("/topics", summary="This agency's topics")
async def list_topics(app: AppDep, caller: CallerDep) -> JsonResponse:
    return JsonResponse({"topics": [_topic(t) for t in await citizens.topics(app, caller)]})
