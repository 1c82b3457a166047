"""Open311 GeoReport v2 at ``/open311/v2/`` (docs/open311.md), with FixMyStreet's
``servicerequestupdates`` extension: what a reporting app (FixMyStreet, a city's app)
reads and files.

Reading is public and shows only what a case's public page shows (``reads.public``):
status, public updates, and for a ``laporan`` (a report about a public place) where it is,
what it says and its photos. Test-key cases never appear. Filing and the reporter's own
updates need an ``api_key`` (``warta open311 key create``); a reporter updates only the
cases filed with that key. Every answer is JSON or XML by the path's extension, and every
refusal is Open311's error list (``open311_render``), never Notify's body. Parameters are
read here, not by FastAPI, so each refusal names the parameter as Open311 spells it.

Not in the OpenAPI document: Open311 is described by its own specification, and its
JSON Schemas check these answers (tests/open311_schemas).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.routing import Match

from warta.api.auth import warta
from warta.api.errors import RETRY_AFTER, validation_message
from warta.api.open311_input import attribute_answers, one_value, read_form
from warta.api.open311_render import FORMATS, Format, answer, errors, format_of
from warta.api.urls import base_url
from warta.deps import Warta
from warta.domain import cases as rules
from warta.domain import open311
from warta.errors import (
    ApiError,
    BadRequest,
    InvalidInput,
    NotFound,
    StoreUnavailable,
    ValidationFailed,
)
from warta.services.cases import catalogue, filing, open311_keys, open311_updates, reads
from warta.services.cases.types import (
    Actor,
    EventView,
    Location,
    NewCase,
    PublicCase,
    Reporter,
    ServiceView,
)

SPECIFICATION: Final = "http://wiki.open311.org/GeoReport_v2"
#: When this API last changed, as discovery's ``changeset`` says.
CHANGESET: Final = "2026-12-05T00:00:00Z"
#: The spec's schema caps a request's description; Warta keeps up to 5,000 characters.
MAX_DESCRIPTION: Final = 4000
#: Several services in one search are read one by one and merged: a bounded amount.
MAX_CODES: Final = 20
MERGED_LIMIT: Final = 1000
#: Whose words on a case are theirs alone: the public sees that they answered, not what.
REPORTERS: Final = frozenset({"citizen", "reporter", "open311"})
#: The reporter's contact as the send paths name it, and as Open311 does.
CONTACT_FIELDS: Final = {"email_address": "email", "phone_number": "phone"}


class Open311Route(APIRoute):
    """Every refusal of these routes in Open311's error format, in the path's form."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except (
                ApiError,
                InvalidInput,
                StoreUnavailable,
                HTTPException,
                RequestValidationError,
            ) as exc:
                return refusal(request, exc)

        return handle


def refusal(request: Request, exc: Exception) -> Response:
    fmt = format_of(request.url.path)
    if isinstance(exc, RequestValidationError):
        found = [validation_message(e) for e in exc.errors()]
        return errors(fmt, 400, list(dict.fromkeys(found)))
    if isinstance(exc, HTTPException):
        return errors(fmt, exc.status_code, [str(exc.detail)])
    code = int(getattr(exc, "status_code", 400))
    response = errors(fmt, code, [str(exc)])
    if isinstance(exc, StoreUnavailable):
        response.headers["Retry-After"] = str(RETRY_AFTER)
    return response


router = APIRouter(
    prefix="/open311/v2",
    tags=["Open311 GeoReport v2"],
    route_class=Open311Route,
    include_in_schema=False,
)
AppDep = Annotated[Warta, Depends(warta)]


def checked(fmt: str) -> Format:
    if fmt not in FORMATS:
        raise NotFound("Bad extension: use .json or .xml")
    return "xml" if fmt == "xml" else "json"


# Discovery and services -------------------------------------------------------------


@router.get("/discovery.{fmt}")
async def discovery(request: Request, app: AppDep, fmt: str) -> Response:
    form, base = checked(fmt), base_url(request, app)
    body = {
        "changeset": CHANGESET,
        "contact": f"{base}/open311/v2/discovery.json",
        "key_service": "warta open311 key create --name APP (ask the operator of this Warta)",
        "endpoints": [
            {
                "specification": SPECIFICATION,
                "url": f"{base}/open311/v2",
                "changeset": CHANGESET,
                "type": "production",
                "formats": ["application/json", "text/xml"],
            }
        ],
    }
    return answer(form, "discovery", body)


@router.get("/services.{fmt}")
async def services(app: AppDep, fmt: str) -> Response:
    form = checked(fmt)
    return answer(form, "services", [service_entry(s) for s in await catalogue.services(app)])


@router.get("/services/{code}.{fmt}")
async def service_definition(app: AppDep, code: str, fmt: str) -> Response:
    form = checked(fmt)
    found = await catalogue.service(app, code)
    body = {"service_code": found.code, "attributes": found.attributes}
    return answer(form, "service_definition", body)


def service_entry(service: ServiceView) -> dict[str, Any]:
    return {
        "service_code": service.code,
        "service_name": service.name,
        "description": service.description,
        "metadata": bool(service.attributes),
        "type": "realtime",
        "keywords": ",".join(service.keywords),
        "group": service.group,
    }


# Requests -----------------------------------------------------------------------------


@router.get("/requests.{fmt}")
async def requests(request: Request, app: AppDep, fmt: str) -> Response:
    form, query = checked(fmt), request.query_params
    page, page_size = open311.parse_page(query.get("page"), query.get("page_size"))
    ids = open311.parse_request_ids(query.get("service_request_id"))
    if ids:  # the spec: service_request_id overrides every other parameter
        found = await reads.open311_requests(app, ids=ids, page=page, page_size=page_size)
    else:
        found = await _search(app, query.get, page, page_size)
    base = base_url(request, app)
    return answer(form, "service_requests", [request_entry(c, base) for c in found])


async def _search(
    app: Warta, query: Callable[[str], str | None], page: int, page_size: int
) -> list[PublicCase]:
    """``service_code`` (comma-delimited: several services), ``start_date``/``end_date``
    (the last 90 days by default) and ``status``, newest first."""
    start, end = open311.date_range(query("start_date"), query("end_date"), app.clock())
    shown = open311.parse_status_filter(query("status"))
    statuses = sorted(open311.statuses_with(shown[0])) if len(shown) == 1 else None
    codes = open311.keywords(query("service_code")) or (None,)
    if len(codes) > MAX_CODES:
        raise BadRequest("service_code: at most %(max)s codes at once", max=MAX_CODES)
    if len(codes) > 1 and page * page_size > MERGED_LIMIT:
        raise BadRequest(
            "with several service codes, page × page_size may not pass %(max)s", max=MERGED_LIMIT
        )
    # Each service's first pages, merged: one page of the whole, newest first.
    found: list[PublicCase] = []
    for code in codes:
        found += await reads.open311_requests(
            app,
            service_code=code,
            start=start,
            end=end,
            statuses=statuses,
            page=1 if len(codes) > 1 else page,
            page_size=page * page_size if len(codes) > 1 else page_size,
        )
    if len(codes) == 1:
        return found
    found.sort(key=lambda c: (c.created_at, c.tracking_id), reverse=True)
    return found[(page - 1) * page_size : page * page_size]


@router.get("/requests/{request_id}.{fmt}")
async def one_request(request: Request, app: AppDep, request_id: str, fmt: str) -> Response:
    form = checked(fmt)
    try:
        tracking = rules.normalise_tracking_id(request_id)
    except InvalidInput as exc:
        raise NotFound("service_request_id %(id)s: no such request", id=repr(request_id)) from exc
    found = await reads.public(app, tracking)
    return answer(form, "service_requests", [request_entry(found, base_url(request, app))])


@router.get("/tokens/{token}.{fmt}")
async def token(app: AppDep, token: str, fmt: str) -> Response:
    form = checked(fmt)
    found = await reads.by_token(app, token)
    entry = {"service_request_id": rules.format_tracking_id(found.tracking_id), "token": token}
    return answer(form, "service_requests", [entry])


@router.post("/requests.{fmt}")
async def file_request(request: Request, app: AppDep, fmt: str) -> Response:
    form, fields = checked(fmt), await read_form(request)
    key_id = await open311_keys.check(app, one_value(fields, "api_key"))
    code = one_value(fields, "service_code")
    if not code:
        raise BadRequest("service_code is required")
    try:
        service = await catalogue.service(app, code)
    except NotFound as exc:
        raise BadRequest("service_code %(code)s is not a service", code=repr(code)) from exc
    where = open311.parse_location(one_value(fields, "lat"), one_value(fields, "long"))
    address = one_value(fields, "address_string") or None
    if service.kind == "laporan" and where is None and address is None:
        raise BadRequest("a location is required: lat and long, or address_string")
    description = one_value(fields, "description")
    if not description:
        raise BadRequest("description is required")
    name = " ".join(
        n for n in (one_value(fields, "first_name"), one_value(fields, "last_name")) if n
    )
    new = NewCase(
        service_code=service.code,
        description=description,
        location=Location(
            lat=where[0] if where else None, long=where[1] if where else None, address=address
        ),
        reporter=Reporter(
            name=name or None,
            email=one_value(fields, "email") or None,
            phone=one_value(fields, "phone") or None,
        ),
        attributes=attribute_answers(fields),
        source="open311",
    )
    try:
        made = await filing.file_case(app, Actor("open311", id=key_id), new)
    except ValidationFailed as exc:  # the reporter's contact, named as Notify names it
        if exc.field not in CONTACT_FIELDS:
            raise
        raise BadRequest(exc.msgid, field=CONTACT_FIELDS[exc.field], **exc.values) from exc
    entry = {
        "service_request_id": rules.format_tracking_id(made.tracking_id),
        "token": made.token,
        "service_notice": rules.NEXT_STEP["id"][made.status],
    }
    return answer(form, "service_requests", [entry])


def request_entry(case: PublicCase, base: str) -> dict[str, Any]:
    """One request as GeoReport gives it (plus FixMyStreet's ``extended_status``): where
    and what only for a ``laporan``, as on the case's public page."""
    place = case.location or Location()
    notes = [e.public_message for e in case.public_updates if e.public_message]
    description = case.description
    if description is not None and len(description) > MAX_DESCRIPTION:
        description = description[: MAX_DESCRIPTION - 1] + "…"
    tracking = rules.format_tracking_id(case.tracking_id)
    photo = f"{base}/cases/{case.tracking_id}/photos/{case.photos[0].id}" if case.photos else None
    return {
        "service_request_id": tracking,
        "status": case.open311_status,
        "extended_status": case.extended_status,
        "status_notes": notes[-1] if notes else None,
        "service_name": case.service_name,
        "service_code": case.service_code,
        "description": description,
        "agency_responsible": case.agency_name,
        "service_notice": rules.NEXT_STEP["id"].get(case.status),
        "requested_datetime": open311.format_datetime(case.created_at),
        "updated_datetime": open311.format_datetime(case.updated_at),
        "expected_datetime": None,
        "address": place.address,
        "address_id": None,
        "zipcode": None,
        "lat": place.lat,
        "long": place.long,
        "media_url": photo,
    }


# FixMyStreet's updates ----------------------------------------------------------------


@router.get("/servicerequestupdates.{fmt}")
async def updates(request: Request, app: AppDep, fmt: str) -> Response:
    form, query = checked(fmt), request.query_params
    start, end = open311.date_range(query.get("start_date"), query.get("end_date"), app.clock())
    found = await reads.updates_between(app, start, end)
    entries = [update_entry(c, e) for c, e in found]
    return answer(form, "service_request_updates", [e for e in entries if e is not None])


def update_entry(case: PublicCase, event: EventView) -> dict[str, Any] | None:
    """As mySociety's open311-adapter gives an update: the status in force after it (in
    FixMyStreet's extended words) and Warta's own as ``external_status_code``. What a
    citizen or reporter wrote stays private, as on the case's public page: their answer
    shows only as the status it moved the case to, and one that moved nothing not at all."""
    from_reporter = event.actor_kind in REPORTERS
    if from_reporter and event.to_status is None:
        return None
    status = event.to_status or _status_at(case, event)
    return {
        "update_id": str(event.id),
        "service_request_id": rules.format_tracking_id(case.tracking_id),
        "status": open311.extended_status(status),
        "updated_datetime": open311.format_datetime(event.at),
        "description": "" if from_reporter else event.public_message or "",
        "media_url": "",
        "external_status_code": status,
    }


def _status_at(case: PublicCase, event: EventView) -> str:
    events = case.public_updates
    in_force = open311.statuses_in_force(e.to_status for e in events)
    for seen, status in zip(events, in_force, strict=True):
        if seen.id == event.id:
            return status
    return case.status


@router.post("/servicerequestupdates.{fmt}")
async def post_update(request: Request, app: AppDep, fmt: str) -> Response:
    """A FixMyStreet user's own update on a request its app filed
    (``services/open311_updates.py`` says what it does)."""
    form, fields = checked(fmt), await read_form(request)
    key_id = await open311_keys.check(app, one_value(fields, "api_key"))
    raw_id = one_value(fields, "service_request_id")
    if not raw_id:
        raise BadRequest("service_request_id is required")
    try:
        tracking = rules.normalise_tracking_id(raw_id)
    except InvalidInput as exc:
        raise BadRequest(str(exc), field="service_request_id") from exc
    update_id = open311.check_update_id(one_value(fields, "update_id"))
    status = one_value(fields, "status")
    if not status:
        raise BadRequest("status is required")
    says = open311.reporter_says(status)
    if when := one_value(fields, "updated_datetime"):
        open311.parse_datetime(when, "updated_datetime")
    text = one_value(fields, "description")
    if not text:
        raise BadRequest("description is required")
    made = await open311_updates.reporter_update(app, key_id, tracking, update_id, text, says)
    return answer(form, "service_request_updates", [{"update_id": made}])


# Anything else under /open311/v2/ ----------------------------------------------------


@router.api_route(
    "/{rest:path}", methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
)
async def elsewhere(request: Request, rest: str) -> Response:
    """Open311's 404, or 405 for a path that takes another method."""
    fmt = format_of(request.url.path)
    allowed = sorted(
        method
        for route in router.routes
        if isinstance(route, APIRoute)
        and route.endpoint is not elsewhere
        and route.matches(request.scope)[0] is Match.PARTIAL
        for method in (route.methods or ())
    )
    if allowed:
        refused = errors(fmt, 405, ["The method is not allowed for the requested URL."])
        refused.headers["Allow"] = ", ".join(allowed)
        return refused
    return errors(fmt, 404, ["Not found: the endpoints are listed in discovery.json"])
