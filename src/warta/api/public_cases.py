"""What anyone may see of citizen cases, without signing in: a case's public page by its
tracking number, a report's photos, and the transparency figures of every agency.

``GET /cases/{tracking}``: the status and the public updates, nothing personal (no name,
no contact, no internal note). Where it is, what it says and its photos only for a report
about a public place (*laporan*: a damaged road); a complaint or an application shows
neither, since they may be about the person themselves. A test-key case, an unknown or a
malformed number is the same "not found".

``GET /transparency/`` and ``/transparency/{agency_id}`` (HTML), ``/transparency.json``
and ``/transparency/{agency_id}.json``: per agency and per service, by month, cases
received, resolved, the median and 90th-percentile time to resolve and the share within
deadline (``domain.case_stats``); test-key cases never count.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, replace
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from warta.api.auth import warta
from warta.api.errors import problem_page
from warta.api.pages import language_of, render
from warta.api.pages import translate as _t
from warta.api.portal_pages.reports import photo_response, tracking_or_404
from warta.api.responses import JsonResponse
from warta.deps import Warta
from warta.domain import case_stats
from warta.domain import cases as rules
from warta.errors import NotFound
from warta.services.cases import catalogue, photos, reads
from warta.services.cases.types import ServiceView

router = APIRouter(include_in_schema=False)
AppDep = Annotated[Warta, Depends(warta)]
#: The figures change slowly: a shared cache may keep the JSON a few minutes (not the
#: pages, which are in the reader's language).
STATS_CACHE = "public, max-age=300"
#: Months of each agency the overview page shows (its own page shows them all).
OVERVIEW_MONTHS = 12


def _not_found(request: Request) -> HTMLResponse:
    return problem_page(request, 404, _t(request, "Page not found"))


@router.get("/cases/{tracking}", response_class=HTMLResponse)
async def public_case(request: Request, app: AppDep, tracking: str) -> Response:
    try:
        case = await reads.public(app, tracking_or_404(tracking))
    except NotFound:
        return _not_found(request)
    # "Waiting for your answer" speaks to the citizen; here anyone reads it.
    labels = {
        **rules.STATUS_LABELS[language_of(request)],
        "waiting_for_citizen": _t(request, "Waiting for the reporter's answer"),
    }
    return render(
        request, "public/case.html", title=rules.format_tracking_id(case.tracking_id),
        case=case, labels=labels, fmt=rules.format_tracking_id,
    )  # fmt: skip


@router.get("/cases/{tracking}/photos/{photo_id}")
async def public_photo(app: AppDep, tracking: str, photo_id: str) -> Response:
    """A report's photo (laporan only); 404 for any other kind, as for none at all."""
    try:
        found = await reads.public_photo(app, tracking_or_404(tracking), uuid.UUID(photo_id))
        data = await photos.read(app, found[1])
    except (NotFound, ValueError, FileNotFoundError):  # FileNotFound: erased meanwhile
        return Response(status_code=404)
    response = photo_response(data, found[0])
    response.headers["Cache-Control"] = "public, max-age=300"  # an erased photo goes soon
    return response


# -- transparency ---------------------------------------------------------------------------


def _figures(agency: case_stats.AgencyFigures) -> dict[str, Any]:
    return asdict(agency)


def _every_service(
    figures: list[case_stats.AgencyFigures], services: list[ServiceView]
) -> list[case_stats.AgencyFigures]:
    """``figures`` with every agency that takes cases and every service it offers, those
    without cases yet shown with nothing received (over the agency's months)."""
    by_agency = {f.agency_id: f for f in figures}
    for service in services:
        agency_id = str(service.agency_id)
        if agency_id not in by_agency:
            by_agency[agency_id] = case_stats.AgencyFigures(agency_id, service.agency_name, [], [])
        agency = by_agency[agency_id]
        if any(s.code == service.code for s in agency.services):
            continue
        span = (agency.months[0].month, agency.months[-1].month) if agency.months else None
        months = case_stats.monthly([], span=span) if span else []
        quiet = case_stats.ServiceFigures(service.code, service.name, months)
        by_agency[agency_id] = replace(
            agency,
            services=sorted([*agency.services, quiet], key=lambda s: (s.name.casefold(), s.code)),
        )
    return sorted(by_agency.values(), key=lambda a: (a.name.casefold(), a.agency_id))


async def _all(app: Warta) -> list[case_stats.AgencyFigures]:
    figures = case_stats.by_agency(await reads.resolution_times(app))
    return _every_service(figures, await catalogue.services(app))


async def _one(app: Warta, agency_id: str) -> case_stats.AgencyFigures | None:
    """The agency's figures; None when it takes no cases (or is no agency at all)."""
    try:
        wanted = uuid.UUID(agency_id)
    except ValueError:
        return None
    services = await catalogue.services(app, wanted)
    if not services:
        return None
    figures = case_stats.by_agency(await reads.resolution_times(app, wanted))
    return _every_service(figures, services)[0]


@router.get("/transparency.json")
async def transparency_json(app: AppDep) -> Response:
    agencies = [_figures(a) for a in await _all(app)]
    return JsonResponse({"agencies": agencies}, headers={"Cache-Control": STATS_CACHE})


@router.get("/transparency/", response_class=HTMLResponse)
async def transparency(request: Request, app: AppDep) -> Response:
    agencies = await _all(app)
    return render(
        request, "public/transparency.html", title=_t(request, "Transparency"),
        agencies=agencies, recent=OVERVIEW_MONTHS,
    )  # fmt: skip


@router.get("/transparency/{agency_id}.json")
async def agency_transparency_json(app: AppDep, agency_id: str) -> Response:
    agency = await _one(app, agency_id)
    if agency is None:
        return JsonResponse({"error": "not found"}, status_code=404)
    return JsonResponse(_figures(agency), headers={"Cache-Control": STATS_CACHE})


@router.get("/transparency/{agency_id}", response_class=HTMLResponse)
async def agency_transparency(request: Request, app: AppDep, agency_id: str) -> Response:
    agency = await _one(app, agency_id)
    if agency is None:
        return _not_found(request)
    return render(request, "public/transparency_agency.html", title=agency.name, agency=agency)
