"""Warta extension: the citizen registry, contacts, preferences, consent and topics.

Same auth and error format as the Notify API. An agency sees only the citizens it has a
relationship with; registering a NIK that is already known links the agency to that
citizen instead of making a second identity (200 rather than 201).
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
from warta.domain.citizens import ContactChannel
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
    phone_numbers: list[str] = Field(default_factory=list)
    email_addresses: list[str] = Field(default_factory=list)
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


class ConsentIn(Strict):
    granted: bool
    topic: str | None = Field(None, description="A topic slug; none: the whole agency.")
    source: str = Field(description="Where the choice was made: portal, sms, counter...")
    text_shown: str = Field(description="The words the citizen saw and agreed to.")


class TopicIn(Strict):
    slug: str
    name: str


def _masked(nik: str) -> str:
    return f"{nik[:4]}{'*' * 8}{nik[-4:]}"


def present(view: citizens.CitizenView) -> dict[str, Any]:
    c = view.citizen
    prefs = citizens.preferences_of(c)
    return {
        "id": str(c.id),
        "nik": _masked(view.nik),
        "name": view.name,
        "region_code": c.region_code,
        "time_zone": c.zone,
        "language": c.language,
        "contacts": [
            {
                "id": str(contact.id),
                "type": contact.kind,
                "value": value,
                "verified": contact.verified_at is not None,
                "verified_at": notify_time(contact.verified_at),
            }
            for contact, value in view.contacts
        ],
        "preferences": citizens.preferences_document(prefs),
        "topics": view.topics,
        "created_at": notify_time(c.created_at),
        "updated_at": notify_time(c.updated_at),
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
    return JsonResponse(present(await citizens.get(app, caller, citizen_id)))


@router.patch("/citizens/{citizen_id}", summary="Change name, region, time zone or language")
async def update_citizen(
    citizen_id: uuid.UUID, body: CitizenPatch, app: AppDep, caller: CallerDep
) -> JsonResponse:
    changes = citizens.CitizenChanges(**body.model_dump())
    return JsonResponse(present(await citizens.update(app, caller, citizen_id, changes)))


@router.put("/citizens/{citizen_id}/preferences", summary="Replace the citizen's preferences")
async def put_preferences(
    citizen_id: uuid.UUID, body: PreferencesIn, app: AppDep, caller: CallerDep
) -> JsonResponse:
    view = await citizens.set_preferences(app, caller, citizen_id, body.to_service())
    return JsonResponse(present(view))


@router.post(
    "/citizens/{citizen_id}/contacts",
    status_code=201,
    summary="Add a contact and send it a one-time code",
)
async def add_contact(
    citizen_id: uuid.UUID, body: ContactIn, app: AppDep, caller: CallerDep
) -> JsonResponse:
    sent = await citizens.add_contact(app, caller, citizen_id, body.type, body.value)
    shown: dict[str, Any] = {
        "id": str(sent.contact.id),
        "type": sent.contact.kind,
        "value": sent.value,
        "verified": sent.contact.verified_at is not None,
        "code_notification_id": str(sent.notification_id),
    }
    if sent.code is not None:
        shown["code"] = sent.code  # test keys only: nothing is really sent
    return JsonResponse(shown, status_code=201)


@router.post("/citizens/{citizen_id}/contacts/{contact_id}/verify", summary="Check a code")
async def verify_contact(
    citizen_id: uuid.UUID, contact_id: uuid.UUID, body: CodeIn, app: AppDep, caller: CallerDep
) -> JsonResponse:
    view = await citizens.verify_contact(app, caller, citizen_id, contact_id, body.code)
    return JsonResponse(present(view))


@router.delete(
    "/citizens/{citizen_id}/contacts/{contact_id}", status_code=204, summary="Remove a contact"
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
