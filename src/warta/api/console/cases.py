"""Cases: the agency's queue of citizens' complaints, reports and applications, and one
case with its timeline, where staff work it.

Anyone signed in may read (``view``); working a case (assigning it, a public update or
an internal note, a status change, forwarding it, merging a duplicate) takes
``work_cases``. A status change or a public update is previewed first: the page shows
the message the citizen will get, and only the preview's own button sends it. A case
another agency owns, or one this agency forwarded away, answers 404 like a missing one.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from warta.api.console.web import AppDep, allowed, page
from warta.api.pages import language_of
from warta.api.portal_pages.reports import photo_response
from warta.deps import Warta
from warta.domain.cases import (
    MOVES,
    STATUS_LABELS,
    STATUSES,
    format_tracking_id,
    normalise_tracking_id,
)
from warta.errors import ApiError, BadRequest, InvalidInput, NotFound
from warta.services import staff
from warta.services.cases import catalogue, lifecycle, photos, reads
from warta.services.cases.types import Actor, CaseView, QueueFilter
from warta.services.staff import Member

router = APIRouter()
Viewer = Annotated[Member, Depends(allowed("view"))]
Worker = Annotated[Member, Depends(allowed("work_cases"))]
PAGE_SIZE = 50
#: Moves with a form of their own (they need a target), not offered in the status list.
OWN_FORM = frozenset({"forwarded", "duplicate"})
OSM = "https://www.openstreetmap.org/?mlat={lat}&mlon={long}#map=18/{lat}/{long}"


def _actor(me: Member) -> Actor:
    return Actor("staff", id=me.id, agency_id=me.agency_id)


def settable(status: str) -> list[str]:
    """The statuses staff may move a case to from ``status``, in lifecycle order."""
    allowed = MOVES["agency"].get(status, frozenset()) - OWN_FORM
    return [s for s in STATUSES if s in allowed]


def _labels(request: Request) -> dict[str, str]:
    return dict(STATUS_LABELS[language_of(request)])


def coordinates(case: CaseView) -> dict[str, str] | None:
    """A geo: link and an OpenStreetMap address for the case's point, if it has one."""
    where = case.location
    if where.lat is None or where.long is None:
        return None
    lat, long = f"{where.lat:.6f}", f"{where.long:.6f}"
    return {
        "text": f"{lat}, {long}",
        "geo": f"geo:{lat},{long}",
        "osm": OSM.format(lat=lat, long=long),
    }


def _flag(value: str) -> bool | None:
    return True if value == "1" else None


@router.get("/cases")
async def queue(
    request: Request,
    app: AppDep,
    me: Viewer,
    status: str = "",
    service: str = "",
    region: str = "",
    overdue: str = "",
    assigned: str = "",
    forwarded: str = "",
    page_number: Annotated[int, Query(alias="page", ge=1, le=10_000)] = 1,
) -> Response:
    labels = _labels(request)
    services = await catalogue.services(app, me.agency_id)
    team = await staff.team(app, me.agency_id)
    form = {"status": status, "service": service, "region": region.strip(),
            "overdue": overdue, "assigned": assigned}  # fmt: skip
    values: dict[str, Any] = {
        "form": form,
        "labels": labels,
        "services": services,
        "team": team,
        "tracking": format_tracking_id,
        "forwarded": _tracking_or_nothing(forwarded),
    }
    try:
        wanted = QueueFilter(
            status=status or None,
            service_code=service or None,
            region=region.strip() or None,
            overdue=_flag(overdue),
            assigned_to=_staff_id(assigned, team),
            page=max(page_number, 1),
            page_size=PAGE_SIZE,
        )
        if status and status not in labels:
            raise BadRequest("Choose a status from the list")
        found = await reads.queue(app, me.agency_id, wanted)
    except (ApiError, InvalidInput) as exc:
        return page(request, me, "cases", 400, error=exc, found=None, **values)
    names = {m.id: m.name for m in team}
    skip = ("page", "lang", "forwarded")
    filters = [(k, v) for k, v in request.query_params.multi_items() if k not in skip]
    older = urlencode([*filters, ("page", str(wanted.page + 1))]) if len(found) == PAGE_SIZE else ""
    newer = urlencode([*filters, ("page", str(wanted.page - 1))]) if wanted.page > 1 else ""
    return page(request, me, "cases", found=found, names=names, older=older, newer=newer, **values)


def _tracking_or_nothing(value: str) -> str:
    """A tracking ID from the address bar, shown only if it is one (a link cannot make
    the page say anything else)."""
    try:
        return format_tracking_id(normalise_tracking_id(value)) if value else ""
    except InvalidInput:
        return ""


def _staff_id(value: str, team: list[Member]) -> uuid.UUID | None:
    if not value:
        return None
    for member in team:
        if str(member.id) == value:
            return member.id
    raise BadRequest("Choose a person from the list")


async def _case_page(
    request: Request, app: Warta, me: Member, case_id: str, status: int = 200, **values: Any
) -> Response:
    case = await reads.for_agency(app, me.agency_id, case_id)
    team = await staff.team(app, me.agency_id)
    others = {s.agency_id: s.agency_name for s in await catalogue.services(app)}
    others.pop(me.agency_id, None)
    return page(
        request,
        me,
        "case",
        status,
        case=case,
        labels=_labels(request),
        settable=settable(case.status),
        team=team,
        names={m.id: m.name for m in team},
        agencies=sorted(others.items(), key=lambda item: item[1]),
        where=coordinates(case),
        tracking=format_tracking_id,
        **values,
    )


@router.get("/cases/{case_id}")
async def one(request: Request, app: AppDep, me: Viewer, case_id: str, done: str = "") -> Response:
    return await _case_page(request, app, me, case_id, done=done)


@router.get("/cases/{case_id}/photos/{photo_id}")
async def photo(
    request: Request, app: AppDep, me: Viewer, case_id: str, photo_id: uuid.UUID
) -> Response:
    case = await reads.for_agency(app, me.agency_id, case_id)
    content_type, path = await reads.agency_photo(app, me.agency_id, case.id, photo_id)
    try:
        data = await photos.read(app, path)
    except FileNotFoundError as exc:  # the citizen was erased meanwhile
        raise NotFound("Photo not found") from exc
    return photo_response(data, content_type)


def _back(case: CaseView, done: str) -> RedirectResponse:
    return RedirectResponse(f"/console/cases/{case.id}?done={done}", status_code=303)


@router.post("/cases/{case_id}/preview")
async def preview(
    request: Request,
    app: AppDep,
    me: Worker,
    case_id: str,
    status: Annotated[str, Form()] = "",
    public_message: Annotated[str, Form(max_length=2000)] = "",
    reason: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """What the citizen will get; nothing is changed until the preview's button."""
    case = await reads.for_agency(app, me.agency_id, case_id)
    form = {"status": status, "public_message": public_message.strip(), "reason": reason.strip()}
    try:
        if status and status not in settable(case.status):
            raise BadRequest("Choose a status from the list")
        if not status and not form["public_message"]:
            raise BadRequest("Choose a new status or write a public update")
        message = await lifecycle.preview(
            app, _actor(me), case.id, status or None, form["public_message"] or None,
            reason=form["reason"] or None,
        )  # fmt: skip
    except (ApiError, InvalidInput) as exc:
        return await _case_page(request, app, me, case_id, 400, error=exc, form=form)
    return page(
        request,
        me,
        "case_preview",
        case=case,
        form=form,
        message=message,
        labels=_labels(request),
        tracking=format_tracking_id,
    )


@router.post("/cases/{case_id}/update")
async def update(
    request: Request,
    app: AppDep,
    me: Worker,
    case_id: str,
    status: Annotated[str, Form()] = "",
    public_message: Annotated[str, Form(max_length=2000)] = "",
    internal_note: Annotated[str, Form(max_length=2000)] = "",
    reason: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    case = await reads.for_agency(app, me.agency_id, case_id)
    form = {"status": status, "public_message": public_message.strip(),
            "internal_note": internal_note.strip(), "reason": reason.strip()}  # fmt: skip
    try:
        if status and status not in settable(case.status):
            raise BadRequest("Choose a status from the list")
        if not (status or form["public_message"] or form["internal_note"]):
            raise BadRequest("Write something first")
        await lifecycle.update(
            app,
            _actor(me),
            case.id,
            status=status or None,
            public_message=form["public_message"] or None,
            internal_note=form["internal_note"] or None,
            reason=form["reason"] or None,
        )
    except (ApiError, InvalidInput) as exc:
        return await _case_page(request, app, me, case_id, 400, error=exc, form=form)
    return _back(case, "note" if not (status or form["public_message"]) else "updated")


@router.post("/cases/{case_id}/assign")
async def assign(
    request: Request,
    app: AppDep,
    me: Worker,
    case_id: str,
    staff_id: Annotated[str, Form()] = "",
) -> Response:
    case = await reads.for_agency(app, me.agency_id, case_id)
    try:
        person = _staff_id(staff_id, await staff.team(app, me.agency_id))
        await lifecycle.assign(app, _actor(me), case.id, person)
    except (ApiError, InvalidInput) as exc:
        return await _case_page(request, app, me, case_id, 400, error=exc)
    return _back(case, "assigned")


@router.post("/cases/{case_id}/forward")
async def forward(
    request: Request,
    app: AppDep,
    me: Worker,
    case_id: str,
    agency_id: Annotated[str, Form()] = "",
    public_message: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    case = await reads.for_agency(app, me.agency_id, case_id)
    try:
        offered = {str(s.agency_id): s.agency_id for s in await catalogue.services(app)}
        target = offered.get(agency_id)
        if target is None or target == me.agency_id:
            raise BadRequest("Choose an agency from the list")
        await lifecycle.forward(app, _actor(me), case.id, target, public_message.strip() or None)
    except (ApiError, InvalidInput) as exc:
        return await _case_page(request, app, me, case_id, 400, error=exc)
    # The case is the other agency's now: this agency can no longer open it.
    return RedirectResponse(
        f"/console/cases?forwarded={format_tracking_id(case.tracking_id)}", status_code=303
    )


@router.post("/cases/{case_id}/duplicate")
async def duplicate(
    request: Request,
    app: AppDep,
    me: Worker,
    case_id: str,
    of: Annotated[str, Form(max_length=40)] = "",
    public_message: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    case = await reads.for_agency(app, me.agency_id, case_id)
    try:
        await lifecycle.mark_duplicate(
            app, _actor(me), case.id, of.strip(), public_message.strip() or None
        )
    except (ApiError, InvalidInput) as exc:
        return await _case_page(request, app, me, case_id, 400, error=exc, duplicate_of=of)
    return _back(case, "duplicate")
