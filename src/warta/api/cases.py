"""Warta extension: the case API, for an agency's own ticketing system (docs/case-api.md).

``POST /v2/cases`` files a case, ``GET /v2/cases/{id}`` reads one (by its id or its
tracking ID), ``GET /v2/cases`` lists the agency's queue, ``POST /v2/cases/{id}/updates``
changes its status and/or adds a public update (the citizen is told) or an internal note.
Same auth and error format as the Notify API. An agency sees and changes only the cases
it owns; a case it forwarded is no longer its own. A test key files sandbox cases and
sees and changes only those: nothing it does reaches a citizen or a public page.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import Field

from warta.api.auth import authenticate, warta
from warta.api.portal_pages.reports import photo_response
from warta.api.responses import JsonResponse
from warta.api.schemas import Strict
from warta.api.urls import base_url
from warta.deps import Warta
from warta.domain.cases import MAX_DESCRIPTION, MAX_MESSAGE, Status, format_tracking_id
from warta.domain.timefmt import notify_time
from warta.errors import NotFound, ValidationFailed
from warta.services.cases import filing, lifecycle, photos, reads
from warta.services.cases.types import (
    Actor,
    CaseView,
    EventView,
    Location,
    NewCase,
    QueueFilter,
    Reporter,
)
from warta.services.sending import Caller

router = APIRouter(prefix="/v2/cases", tags=["Cases (Warta extension)"])
AppDep = Annotated[Warta, Depends(warta)]
CallerDep = Annotated[Caller, Depends(authenticate)]
PAGE_SIZE = 50
#: What a stored photo is re-encoded as.
PHOTO_TYPES = tuple(photos.CONTENT_TYPES.values())


class LocationIn(Strict):
    lat: float | None = Field(None, ge=-90, le=90)
    long: float | None = Field(None, ge=-180, le=180)
    address: str | None = Field(None, max_length=500)
    region_code: str | None = Field(
        None, max_length=20, description="Kemendagri kode wilayah: 32.73.01.1001"
    )


class ReporterIn(Strict):
    """An anonymous reporter's contact, when the case has no registered citizen."""

    name: str | None = Field(None, max_length=200)
    email: str | None = Field(None, max_length=320)
    phone: str | None = Field(None, max_length=30)


class CaseIn(Strict):
    service_code: str = Field(max_length=100, description="One of this agency's services.")
    description: str = Field(min_length=1, max_length=MAX_DESCRIPTION)
    location: LocationIn | None = None
    citizen_id: uuid.UUID | None = Field(
        None, description="A citizen this agency registered: told at every step."
    )
    reporter: ReporterIn | None = None
    attributes: dict[str, str | list[str]] = Field(
        default_factory=dict, max_length=50, description="The service's Open311 attributes."
    )
    language: Literal["id", "en"] = "id"


class CaseUpdateIn(Strict):
    status: Status | None = None
    public_message: str | None = Field(
        None,
        max_length=MAX_MESSAGE,
        description="Shown on the public page and sent to the citizen.",
    )
    internal_note: str | None = Field(
        None, max_length=MAX_MESSAGE, description="Only staff see it."
    )
    reason: str | None = Field(None, max_length=1000, description="Why, when rejected.")
    update_id: str | None = Field(
        None,
        max_length=64,
        description="Your own id of this update: sending it again changes nothing.",
    )
    forward_to: uuid.UUID | None = Field(
        None, description='With status "forwarded": the agency that takes the case.'
    )
    duplicate_of: str | None = Field(
        None, max_length=20, description='With status "duplicate": the tracking ID it repeats.'
    )


def _check(body: CaseUpdateIn) -> None:
    if not (body.status or body.public_message or body.internal_note):
        raise ValidationFailed("Give a status, a public_message or an internal_note")
    if (body.status == "forwarded") != (body.forward_to is not None):
        raise ValidationFailed('forward_to goes with status "forwarded", and only with it')
    if (body.status == "duplicate") != bool(body.duplicate_of):
        raise ValidationFailed('duplicate_of goes with status "duplicate", and only with it')
    if body.status in ("forwarded", "duplicate") and (
        body.internal_note or body.reason or body.update_id
    ):
        raise ValidationFailed(
            "A forward or a duplicate takes a public_message only: send a note apart"
        )


def _actor(caller: Caller) -> Actor:
    return Actor("agency", id=caller.key_id, agency_id=caller.agency.id, key_type=caller.key_type)


async def _check_rate(app: Warta, caller: Caller) -> None:
    await app.quotas.check_rate(caller.agency.id, caller.key_type, caller.agency.rate_limit)


async def _own(app: Warta, caller: Caller, wanted: str) -> CaseView:
    """The caller's case by id or tracking ID; a test key's sandbox and the live cases
    never see each other (404 either way, as for another agency's case)."""
    return await reads.for_agency(app, caller.agency.id, wanted, key_type=caller.key_type)


def _event(row: EventView) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "at": notify_time(row.at),
        "event": row.kind,
        "from_status": row.from_status,
        "to_status": row.to_status,
        "public_message": row.public_message,
        "internal_note": row.internal_note,
        "actor": row.actor_kind,
        "update_id": row.update_id,
    }


def present(base: str, case: CaseView, *, full: bool = True) -> dict[str, Any]:
    """A case as the owning agency reads it: everything, personal data included (it
    works the case). The listing leaves out the timeline and photos (``full``)."""
    where, reporter = case.location, case.reporter
    shown: dict[str, Any] = {
        "id": str(case.id),
        "tracking_id": format_tracking_id(case.tracking_id),
        "uri": f"{base}/v2/cases/{case.id}",
        "agency_id": str(case.agency_id),
        "service": {
            "code": case.service.code,
            "name": case.service.name,
            "group": case.service.group,
        },
        "kind": case.kind,
        "status": case.status,
        "open311_status": case.open311_status,
        "extended_status": case.extended_status,
        "description": case.description,
        "location": {
            "lat": where.lat,
            "long": where.long,
            "address": where.address,
            "region_code": where.region_code,
        },
        "citizen_id": str(case.citizen_id) if case.citizen_id else None,
        "reporter": (
            {"name": reporter.name, "email": reporter.email, "phone": reporter.phone}
            if reporter
            else None
        ),
        "source": case.source,
        "test": case.key_type == "test",
        "created_at": notify_time(case.created_at),
        "updated_at": notify_time(case.updated_at),
        "due_at": notify_time(case.due_at),
        "breached": case.breached,
        "assigned_to": str(case.assigned_to) if case.assigned_to else None,
        "duplicate_of": format_tracking_id(case.duplicate_of) if case.duplicate_of else None,
    }
    if full:
        shown["events"] = [_event(e) for e in case.events]
        shown["photos"] = [
            {
                "id": str(p.id),
                "content_type": p.content_type,
                "width": p.width,
                "height": p.height,
                "uri": f"{base}/v2/cases/{case.id}/photos/{p.id}",
            }
            for p in case.photos
        ]
    return shown


@router.post("", status_code=201, summary="File a case (Warta extension)")
async def file_case(body: CaseIn, request: Request, app: AppDep, caller: CallerDep) -> JsonResponse:
    await _check_rate(app, caller)
    where = body.location or LocationIn()
    contact = body.reporter
    new = NewCase(
        service_code=body.service_code,
        description=body.description,
        location=Location(where.lat, where.long, where.address, where.region_code),
        citizen_id=body.citizen_id,
        reporter=Reporter(contact.name, contact.email, contact.phone) if contact else None,
        attributes=dict(body.attributes),
        source="api",
        language=body.language,
    )
    made = await filing.file_case(app, _actor(caller), new)
    return JsonResponse(present(base_url(request, app), made), status_code=201)


@router.get("/{case_id}", summary="A case and its timeline (Warta extension)")
async def get_case(case_id: str, request: Request, app: AppDep, caller: CallerDep) -> JsonResponse:
    return JsonResponse(present(base_url(request, app), await _own(app, caller, case_id)))


@router.get(
    "/{case_id}/photos/{photo_id}",
    summary="A photo of a case (Warta extension)",
    response_class=Response,
    responses={200: {"content": {t: {} for t in PHOTO_TYPES}, "description": "The photo."}},
)
async def case_photo(case_id: str, photo_id: uuid.UUID, app: AppDep, caller: CallerDep) -> Response:
    """The photo as stored: re-encoded without its metadata (no GPS, no camera)."""
    case = await _own(app, caller, case_id)
    content_type, path = await reads.agency_photo(app, caller.agency.id, case.id, photo_id)
    try:
        data = await photos.read(app, path)
    except FileNotFoundError as exc:  # the citizen was erased meanwhile
        raise NotFound("Photo not found") from exc
    return photo_response(data, content_type)


@router.post("/{case_id}/updates", summary="Change a case's status, update or note it")
async def update_case(
    case_id: str, body: CaseUpdateIn, request: Request, app: AppDep, caller: CallerDep
) -> JsonResponse:
    _check(body)
    await _check_rate(app, caller)
    case = await _own(app, caller, case_id)
    actor = _actor(caller)
    if body.status == "forwarded" and body.forward_to is not None:
        done = await lifecycle.forward(app, actor, case.id, body.forward_to, body.public_message)
    elif body.status == "duplicate" and body.duplicate_of:
        done = await lifecycle.mark_duplicate(
            app, actor, case.id, body.duplicate_of, body.public_message
        )
    else:
        done = await lifecycle.update(
            app,
            actor,
            case.id,
            status=body.status,
            public_message=body.public_message,
            internal_note=body.internal_note,
            reason=body.reason,
            update_id=body.update_id,
        )
    return JsonResponse(present(base_url(request, app), done))


@router.get("", summary="The agency's cases, newest first (Warta extension)")
async def list_cases(
    request: Request,
    app: AppDep,
    caller: CallerDep,
    status: Status | None = None,
    service_code: Annotated[str | None, Query(max_length=100)] = None,
    region: Annotated[str | None, Query(max_length=20)] = None,
    overdue: bool | None = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> JsonResponse:
    wanted = QueueFilter(
        status=status,
        service_code=service_code,
        region=region,
        overdue=overdue,
        page=page,
        page_size=PAGE_SIZE,
    )
    rows = await reads.queue(app, caller.agency.id, wanted, key_type=caller.key_type)
    base = base_url(request, app)
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "page"]
    path = f"{base}{request.url.path}?"
    links = {"current": path + urlencode([*query, ("page", str(page))])}
    if len(rows) == PAGE_SIZE:
        links["next"] = path + urlencode([*query, ("page", str(page + 1))])
    return JsonResponse({"cases": [present(base, r, full=False) for r in rows], "links": links})
