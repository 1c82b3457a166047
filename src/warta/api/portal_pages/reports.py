"""The citizen's cases on the portal ("Laporan saya"): the list, each case's timeline with
a reply form while the agency waits for the citizen (or the case was resolved and can
still be reopened), the form to file a report or a complaint with an optional photo, and
the case's photos, to the citizen who filed it only.

Filing takes two steps so that it works without JavaScript: choose the service (a GET
form), then the service's own form with its questions (Open311 attributes). The filing
form is multipart because of the photo; it is parsed here in memory (``_photo_form``),
never spooled to a temporary file (a photo is personal data), which is why
``api.uploads.UploadLimit`` lets this one form be larger (``photo_form_limit``).
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from warta.api.pages import csrf_ok, error_text, language_of
from warta.api.pages import translate as _t
from warta.api.portal import session_token
from warta.api.portal_pages.common import (
    AppDep,
    Citizen,
    FormExpired,
    SignedForm,
    back,
    page,
    router,
    signed_in_citizen,
)
from warta.api.schemas import form_refused
from warta.deps import Warta
from warta.domain import cases as rules
from warta.errors import ApiError, BadRequest, InvalidInput, NotFound, WartaError
from warta.services.cases import catalogue, filing, lifecycle, photos, reads
from warta.services.cases.types import Actor, CaseView, Location, NewCase, ServiceView
from warta.settings import Settings

#: Room for the form's text fields and the multipart framing around the photo.
FORM_MARGIN = 64 * 1024
#: Event kinds the citizen's timeline shows (the rest is the agency's own business).
SHOWN = frozenset({"filed", "status", "update", "forward", "duplicate", "reply", "photo"})


def photo_form_limit(settings: Settings) -> int:
    """The largest report form ``UploadLimit`` lets through: one photo and its fields."""
    return settings.case_photo_max_bytes + FORM_MARGIN


class _InMemory(MultiPartParser):
    """Starlette's parser, keeping a file in memory up to the photo cap instead of 1 MiB."""


async def _photo_form(request: Request, app: Warta) -> tuple[uuid.UUID, FormData]:
    """``SignedForm`` for the multipart report form: the citizen, the fields (one file at
    most, in memory), the session's token checked."""
    who = await signed_in_citizen(request, app)
    if request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        parser = _InMemory(request.headers, request.stream(), max_files=1, max_fields=100)
        parser.spool_max_size = photo_form_limit(app.settings)
        try:
            form = await parser.parse()
        except MultiPartException as exc:
            raise BadRequest("This form could not be read") from exc
    else:
        form = await request.form(max_files=0)
    if not csrf_ok(app.keyring, session_token(request), str(form.get("csrf_token", ""))):
        await form.close()
        raise FormExpired(who)
    if form_refused(form):
        await form.close()
        raise BadRequest("This form holds a NUL character, which Warta does not accept in text")
    return who, form


def _labels(request: Request) -> dict[str, str]:
    return rules.STATUS_LABELS[language_of(request)]


# -- the list -----------------------------------------------------------------------------


@router.get("/reports", response_class=HTMLResponse)
async def reports(request: Request, app: AppDep, who: Citizen) -> Response:
    found = await reads.for_citizen(app, who)
    title = _t(request, "My reports")
    return page(
        request, "reports", 200, who, title=title, cases=found, labels=_labels(request),
        fmt=rules.format_tracking_id,
    )  # fmt: skip


# -- filing -------------------------------------------------------------------------------


async def _choose_page(
    request: Request, app: Warta, who: uuid.UUID, status: int = 200, **values: Any
) -> HTMLResponse:
    services = await catalogue.services(app)
    title = _t(request, "New report")
    return page(request, "report_new", status, who, title=title, services=services, **values)


async def _form_page(
    request: Request,
    app: Warta,
    who: uuid.UUID,
    service: ServiceView,
    status: int = 200,
    error: WartaError | None = None,
    form: FormData | None = None,
) -> HTMLResponse:
    title = _t(request, "New report")
    values = {k: v for k, v in (form or {}).items() if isinstance(v, str)}
    shown: WartaError | str | None = error
    if error is not None and (question := _question(service, error)):
        shown = f"{question}: {error_text(request, error)}"  # the page shows no field names
    return page(
        request, "report_form", status, who, title=title, service=service, error=shown,
        values=values, max_mb=f"{app.settings.case_photo_max_bytes / 1_000_000:g}",
        description_max=rules.MAX_DESCRIPTION,
    )  # fmt: skip


@router.get("/reports/new", response_class=HTMLResponse)
async def new_report(request: Request, app: AppDep, who: Citizen) -> Response:
    code = request.query_params.get("service", "").strip()
    if not code:
        return await _choose_page(request, app, who)
    try:
        service = await catalogue.service(app, code)
    except NotFound as exc:
        return await _choose_page(request, app, who, 404, error=exc)
    return await _form_page(request, app, who, service)


#: A browser's date-and-time field gives the citizen's wall-clock time without its zone.
_LOCAL_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2})?")
_OFFSETS = {"WIB": "+07:00", "WITA": "+08:00", "WIT": "+09:00"}


def _attributes(
    service: ServiceView, form: FormData, zone: str = "WIB"
) -> dict[str, str | list[str]]:
    """The answers to the service's questions, as Open311 names them (``attribute[code]``);
    a date and time as the citizen's own zone reads it."""
    answers: dict[str, str | list[str]] = {}
    for definition in service.attributes:
        if not definition.get("variable", True):
            continue
        code = str(definition.get("code", ""))
        name = f"attribute[{code}]"
        if definition.get("datatype") == "multivaluelist":
            chosen = [str(v) for v in form.getlist(name) if isinstance(v, str) and v]
            if chosen:
                answers[code] = chosen
            continue
        value = form.get(name)
        if not isinstance(value, str) or not value.strip():
            continue
        value = value.strip()
        if definition.get("datatype") == "datetime" and _LOCAL_TIME.fullmatch(value):
            value += _OFFSETS.get(zone, "+07:00")
        answers[code] = value
    return answers


def _question(service: ServiceView, error: WartaError) -> str | None:
    """The question an error about an answer (``attribute[code]``) is about."""
    for definition in service.attributes:
        if error.field == f"attribute[{definition.get('code')}]":
            return str(definition.get("description") or definition.get("code"))
    return None


async def _photo_of(form: FormData) -> tuple[bytes, ...]:
    upload = form.get("photo")
    if not isinstance(upload, UploadFile):
        return ()
    data = await upload.read()
    return (data,) if data else ()  # a file input left empty sends an empty part


@router.post("/reports", response_class=HTMLResponse)
async def file_report(request: Request, app: AppDep) -> Response:
    who, form = await _photo_form(request, app)
    try:
        return await _file(request, app, who, form)
    finally:
        await form.close()  # parsed here, so not closed with the request


async def _file(request: Request, app: Warta, who: uuid.UUID, form: FormData) -> Response:
    try:
        service = await catalogue.service(app, str(form.get("service", "")).strip())
    except NotFound as exc:
        return await _choose_page(request, app, who, 404, error=exc)
    description = str(form.get("description", "")).strip()
    try:
        if not description:
            raise InvalidInput("Describe what happened")
        if len(description) > rules.MAX_DESCRIPTION:
            raise InvalidInput("At most %(count)s characters", count=rules.MAX_DESCRIPTION)
        address = str(form.get("address", "")).strip() or None
        new = NewCase(
            service_code=service.code,
            description=description,
            location=Location(address=address),
            citizen_id=who,
            attributes=_attributes(service, form, getattr(request.state, "zone", None) or "WIB"),
            photos=await _photo_of(form),
            source="portal",
            language=language_of(request),
        )
        case = await filing.file_case(app, Actor("citizen", id=who), new)
    except (InvalidInput, ApiError) as exc:
        status = exc.status_code if isinstance(exc, ApiError) else 400
        return await _form_page(request, app, who, service, status, exc, form)
    return back(f"/portal/reports/{case.tracking_id}?filed")


# -- one case -----------------------------------------------------------------------------


def can_reply(case: CaseView, now: Any) -> bool:
    """The agency asked the citizen something, or resolved it and the window to say it is
    not resolved (reopen) is still open."""
    if case.status == "waiting_for_citizen":
        return True
    return case.status == "resolved" and (case.due_at is None or case.due_at > now)


async def _case_page(
    request: Request,
    app: Warta,
    who: uuid.UUID,
    tracking: str,
    status: int = 200,
    error: WartaError | None = None,
) -> HTMLResponse:
    case = await reads.citizen_case(app, who, tracking_or_404(tracking))
    events = [e for e in case.events if e.kind in SHOWN]
    title = _t(request, "Report %(id)s") % {"id": rules.format_tracking_id(case.tracking_id)}
    return page(
        request, "report", status, who, title=title, case=case, events=events,
        labels=_labels(request), next_step=rules.NEXT_STEP[language_of(request)],
        fmt=rules.format_tracking_id, can_reply=can_reply(case, app.clock()),
        message_max=rules.MAX_MESSAGE, filed="filed" in request.query_params,
        replied="replied" in request.query_params, error=error,
    )  # fmt: skip


def tracking_or_404(raw: str) -> str:
    """A tracking id from the URL, or NotFound: a malformed one names no case."""
    try:
        return rules.normalise_tracking_id(raw)
    except InvalidInput as exc:
        raise NotFound("Report not found") from exc


@router.get("/reports/{tracking}", response_class=HTMLResponse)
async def report(request: Request, app: AppDep, who: Citizen, tracking: str) -> Response:
    try:
        return await _case_page(request, app, who, tracking)
    except NotFound:
        return page(request, "forbidden", 404, who, title=_t(request, "Report not found"))


@router.post("/reports/{tracking}/reply", response_class=HTMLResponse)
async def reply(request: Request, app: AppDep, signed: SignedForm, tracking: str) -> Response:
    who, form = signed
    message = str(form.get("message", "")).strip()
    try:
        case = await reads.citizen_case(app, who, tracking_or_404(tracking))
    except NotFound:
        return page(request, "forbidden", 404, who, title=_t(request, "Report not found"))
    try:
        if not message:
            raise InvalidInput("Write your answer")
        if len(message) > rules.MAX_MESSAGE:
            raise InvalidInput("At most %(count)s characters", count=rules.MAX_MESSAGE)
        await lifecycle.citizen_reply(app, Actor("citizen", id=who), case.id, message)
    except (InvalidInput, ApiError) as exc:
        status = exc.status_code if isinstance(exc, ApiError) else 400
        return await _case_page(request, app, who, tracking, status, exc)
    return back(f"/portal/reports/{case.tracking_id}?replied")


@router.get("/reports/{tracking}/photos/{photo_id}")
async def photo(
    request: Request, app: AppDep, who: Citizen, tracking: str, photo_id: str
) -> Response:
    """A photo of the citizen's own case; 404 for anyone else's, as for one that is not."""
    try:
        found = await reads.citizen_photo(app, who, tracking_or_404(tracking), uuid.UUID(photo_id))
        data = await photos.read(app, found[1])
    except (NotFound, ValueError, FileNotFoundError):  # FileNotFound: erased meanwhile
        return Response(status_code=404)
    return photo_response(data, found[0])


def photo_response(data: bytes, content_type: str) -> Response:
    """A stored photo: only as the image type it was re-encoded to, never sniffed as
    anything else, kept by no shared cache."""
    return Response(
        data,
        media_type=content_type,
        headers={
            "Cache-Control": "private, max-age=3600",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Content-Disposition": "inline",
        },
    )
