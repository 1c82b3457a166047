"""The citizen's choices: preferences, agencies and topics, and their consent history."""

from __future__ import annotations

import uuid

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from warta.api.pages import translate as _t
from warta.api.portal_pages.common import (
    AppDep,
    Citizen,
    SignedForm,
    back,
    page,
    router,
)
from warta.deps import Warta
from warta.domain.citizens import CHANNELS
from warta.errors import ApiError, WartaError
from warta.services import citizen_self, citizens, unsubscribe


async def _preferences_page(
    request: Request,
    app: Warta,
    who: uuid.UUID,
    status: int = 200,
    error: str | WartaError | None = None,
) -> HTMLResponse:
    choices = await citizen_self.choices(app, who)
    stops = await unsubscribe.stops_of(app, who)
    listed = [*choices.preferences.channels]
    listed += [c for c in CHANNELS if c in choices.usable and c not in listed]
    title = _t(request, "Preferences")
    return page(
        request, "preferences", status, who, title=title, choices=choices, listed=listed,
        error=error, saved=request.query_params.get("saved") is not None, stops=stops,
    )  # fmt: skip


@router.get("/preferences", response_class=HTMLResponse)
async def preferences(request: Request, app: AppDep, who: Citizen) -> Response:
    return await _preferences_page(request, app, who)


class _FormProblem(Exception):
    pass


def _channel_order(request: Request, form: FormData) -> tuple[str, ...]:
    """The channels by the place chosen for each (``rank_sms`` = "1"); blank: not used."""
    ranked: dict[int, str] = {}
    for channel in CHANNELS:
        raw = str(form.get(f"rank_{channel}", "")).strip()
        if not raw:
            continue
        if not raw.isdigit():
            raise _FormProblem(_t(request, "Choose a place for each channel from the list"))
        if int(raw) in ranked:
            raise _FormProblem(_t(request, "Two channels have the same place: give each its own"))
        ranked[int(raw)] = channel
    return tuple(ranked[place] for place in sorted(ranked))


def _cap(request: Request, form: FormData, name: str) -> int | None:
    raw = str(form.get(name, "")).strip()
    if not raw:
        return None
    if not raw.isdigit():
        raise _FormProblem(_t(request, "A limit must be a whole number, or empty for none"))
    return int(raw)


def _preferences_from(request: Request, form: FormData) -> citizens.Preferences:
    quiet = form.get("quiet") == "on"
    return citizens.Preferences(
        channels=_channel_order(request, form),
        quiet_start=str(form.get("quiet_start", "")).strip() if quiet else None,
        quiet_end=str(form.get("quiet_end", "")).strip() if quiet else None,
        max_per_day=_cap(request, form, "max_per_day"),
        max_per_week=_cap(request, form, "max_per_week"),
        digest=form.get("digest") == "on",
        digest_at=str(form.get("digest_at", "")).strip() or "18:00",
    )


@router.post("/preferences", response_class=HTMLResponse)
async def save_preferences(request: Request, app: AppDep, signed: SignedForm) -> Response:
    who, form = signed
    try:
        prefs = _preferences_from(request, form)
        await citizen_self.set_preferences(app, who, prefs, str(form.get("language", "")))
    except _FormProblem as exc:
        return await _preferences_page(request, app, who, 400, str(exc))
    except ApiError as exc:
        return await _preferences_page(request, app, who, 400, exc)
    return back("/portal/preferences?saved")


def _agency_text(request: Request, granted: bool, agency: str) -> str:
    """The words beside the button, recorded as what the citizen was shown."""
    if granted:
        return _t(request, "Allow messages from %(agency)s again.") % {"agency": agency}
    text = _t(request, "Stop messages from %(agency)s. Urgent warnings still reach you.")
    return text % {"agency": agency}


@router.post("/agencies", response_class=HTMLResponse)
async def choose_agency(request: Request, app: AppDep, signed: SignedForm) -> Response:
    who, form = signed
    granted = form.get("granted") == "yes"
    known = {str(a.agency_id): a for a in (await citizen_self.choices(app, who)).agencies}
    agency = known.get(str(form.get("agency_id", "")))
    if agency is None:
        return await _preferences_page(request, app, who, 404, _t(request, "Not found"))
    text = _agency_text(request, granted, agency.agency)
    await citizen_self.choose(app, who, agency.agency_id, None, granted, text)
    return back("/portal/preferences?saved")


@router.post("/email-stops", response_class=HTMLResponse)
async def receive_email_again(request: Request, app: AppDep, signed: SignedForm) -> Response:
    """Undo an unsubscribe link (or a spam report) of one of the citizen's own addresses."""
    who, form = signed
    try:
        agency_id = uuid.UUID(str(form.get("agency_id", "")))
    except ValueError:
        agency_id = None
    topic = str(form.get("topic", ""))
    if agency_id is None or not await unsubscribe.receive_again(app, who, agency_id, topic):
        return await _preferences_page(request, app, who, 404, _t(request, "Not found"))
    return back("/portal/preferences?saved")


# -- topics --------------------------------------------------------------------------------


def _topic_text(request: Request, subscribe: bool, topic: str, agency: str) -> str:
    values = {"topic": topic, "agency": agency}
    if subscribe:
        return _t(request, "Send me messages about %(topic)s from %(agency)s.") % values
    return _t(request, "Stop messages about %(topic)s from %(agency)s.") % values


@router.get("/topics", response_class=HTMLResponse)
async def topics(request: Request, app: AppDep, who: Citizen) -> Response:
    found = await citizen_self.topics(app, who)
    saved = request.query_params.get("saved") is not None
    title = _t(request, "Topics")
    return page(request, "topics", 200, who, title=title, topics=found, saved=saved)


@router.post("/topics", response_class=HTMLResponse)
async def choose_topic(request: Request, app: AppDep, signed: SignedForm) -> Response:
    who, form = signed
    wanted = (str(form.get("agency_id", "")), str(form.get("topic", "")))
    found = {(str(t.agency_id), t.slug): t for t in await citizen_self.topics(app, who)}
    topic = found.get(wanted)
    if topic is None:
        title = _t(request, "Not found")
        return page(request, "topics", 404, who, title=title, topics=list(found.values()))
    subscribe = form.get("subscribe") == "yes"
    text = _topic_text(request, subscribe, topic.name, topic.agency)
    await citizen_self.choose(app, who, topic.agency_id, topic.slug, subscribe, text)
    return back("/portal/topics?saved")


# -- consent history -----------------------------------------------------------------------


@router.get("/consents", response_class=HTMLResponse)
async def consents(request: Request, app: AppDep, who: Citizen) -> Response:
    entries = list(reversed(await citizen_self.history(app, who)))  # newest first
    changes = list(reversed(await citizen_self.preference_history(app, who)))
    title = _t(request, "Consent history")
    return page(request, "consents", 200, who, title=title, entries=entries, changes=changes)
