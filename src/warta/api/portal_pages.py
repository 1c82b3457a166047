"""The citizen portal's pages: sign in with a one-time code, the inbox, one message, and
the citizen's own settings: preferences, topics, consent history, devices, and their
data (download it, delete it).

Server-rendered HTML forms over the same services as /portal/api, in Bahasa Indonesia
(English by ``?lang=en``), working with no JavaScript at all (a cheap phone on a slow
connection): every change is a POST that redirects back (POST-redirect-GET). A push's
link lands on a message page here; opening it marks the message read, which ends
escalation. The session cookie is SameSite=Lax and HttpOnly, and every signed-in form
also carries a token bound to the session (``csrf_token``), so another site cannot post
these forms with it.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, BackgroundTasks, Depends, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from warta.api.auth import warta
from warta.api.pages import csrf_ok, csrf_token, render
from warta.api.pages import translate as _t
from warta.api.portal import clear_session_cookie, session_token, set_session_cookie, tries
from warta.deps import Warta
from warta.domain.citizens import CHANNELS
from warta.errors import ApiError, NotFound, WartaError
from warta.services import chat, citizen_self, citizens, portal

router = APIRouter(prefix="/portal", include_in_schema=False)
AppDep = Annotated[Warta, Depends(warta)]
#: The word that confirms erasure; either language's word is taken.
DELETE_WORDS = ("HAPUS", "DELETE")


def _page(
    request: Request, name: str, status: int = 200, who: uuid.UUID | None = None, **values: Any
) -> HTMLResponse:
    if who is not None:
        app: Warta = request.app.state.warta
        values.update(signed_in=True, csrf=csrf_token(app.keyring, session_token(request)))
    return render(request, f"portal/{name}.html", status, **values)


async def _who(request: Request, app: Warta) -> uuid.UUID | None:
    """The signed-in citizen; None without a session, or once they erased their data."""
    token = session_token(request)
    found = portal.citizen_of(app, token) if token else None
    if found is None or not await citizen_self.is_registered(app, found):
        return None
    return found


def _to_sign_in() -> Response:
    return RedirectResponse("/portal/", status_code=303)


def _back(path: str) -> Response:
    return RedirectResponse(path, status_code=303)


class _SignedOut(Exception):
    """No session, an ended one, or a citizen who erased their data: back to sign-in."""


class _FormExpired(Exception):
    """A signed-in form without this session's token: refused, and nothing is changed."""

    def __init__(self, who: uuid.UUID) -> None:
        self.who = who


async def _citizen(request: Request, app: AppDep) -> uuid.UUID:
    who = await _who(request, app)
    if who is None:
        raise _SignedOut
    return who


async def _signed_form(request: Request, app: AppDep) -> tuple[uuid.UUID, FormData]:
    """A signed-in form's citizen and fields, its token checked against the session."""
    who = await _citizen(request, app)
    form = await request.form()
    if not csrf_ok(app.keyring, session_token(request), str(form.get("csrf_token", ""))):
        raise _FormExpired(who)
    return who, form


#: The signed-in citizen of a page; the citizen and fields of a signed-in form.
Citizen = Annotated[uuid.UUID, Depends(_citizen)]
SignedForm = Annotated[tuple[uuid.UUID, FormData], Depends(_signed_form)]


def install(api: FastAPI) -> None:
    """What the two dependencies answer with when they refuse a request."""

    @api.exception_handler(_SignedOut)
    async def signed_out(_request: Request, _exc: _SignedOut) -> Response:
        return _to_sign_in()

    @api.exception_handler(_FormExpired)
    async def form_expired(request: Request, exc: _FormExpired) -> Response:
        title = _t(request, "This form has expired")
        return _page(request, "forbidden", 403, exc.who, title=title)


@router.get("/", response_class=HTMLResponse)
async def home(request: Request, app: AppDep) -> Response:
    if await _who(request, app) is not None:
        return _back("/portal/inbox")
    return _page(request, "sign_in", title=_t(request, "Sign in"))


@router.post("/sign-in", response_class=HTMLResponse)
async def sign_in(
    request: Request,
    app: AppDep,
    background: BackgroundTasks,
    contact: Annotated[str, Form()] = "",
) -> HTMLResponse:
    try:
        started = await portal.sign_in(app, contact)
    except ApiError as exc:
        return _page(request, "sign_in", 400, title=_t(request, "Sign in"), error=exc)
    if started.code is not None:
        background.add_task(portal.send_code, app, started.code)
    title = _t(request, "Enter the code")
    return _page(request, "sign_in", title=title, challenge=started.challenge)


@router.post("/sign-in/verify", response_class=HTMLResponse)
async def verify(
    request: Request,
    app: AppDep,
    challenge: Annotated[str, Form()] = "",
    code: Annotated[str, Form()] = "",
) -> Response:
    try:
        session = await portal.verify(app, tries(request), challenge, code)
    except ApiError as exc:
        title = _t(request, "Enter the code")
        return _page(request, "sign_in", 400, title=title, challenge=challenge, error=exc)
    response = _back("/portal/inbox")
    set_session_cookie(response, request, app, session)
    return response


@router.post("/sign-out")
async def sign_out(request: Request, app: AppDep, _signed: SignedForm) -> Response:
    response = _to_sign_in()
    clear_session_cookie(response, request, app)
    return response


@router.get("/inbox", response_class=HTMLResponse)
async def inbox(
    request: Request, app: AppDep, who: Citizen, older_than: uuid.UUID | None = None
) -> Response:
    messages = await portal.page(app, who, older_than)
    older = messages[-1].id if len(messages) == portal.PAGE_SIZE else None
    title = _t(request, "Inbox")
    return _page(request, "inbox", 200, who, title=title, messages=messages, older=older)


@router.get("/inbox/{message_id}", response_class=HTMLResponse)
async def message(request: Request, app: AppDep, who: Citizen, message_id: str) -> Response:
    try:
        shown = await portal.mark_read(app, who, uuid.UUID(message_id))
    except (ValueError, NotFound):
        title = _t(request, "Not found")
        return _page(request, "inbox", 404, who, title=title, messages=[])
    title = shown.subject or shown.agency
    return _page(request, "message", 200, who, title=title, message=shown)


# -- preferences ---------------------------------------------------------------------------


async def _preferences_page(
    request: Request,
    app: Warta,
    who: uuid.UUID,
    status: int = 200,
    error: str | WartaError | None = None,
) -> HTMLResponse:
    choices = await citizen_self.choices(app, who)
    listed = [*choices.preferences.channels]
    listed += [c for c in CHANNELS if c in choices.usable and c not in listed]
    title = _t(request, "Preferences")
    return _page(
        request, "preferences", status, who, title=title, choices=choices, listed=listed,
        error=error, saved=request.query_params.get("saved") is not None,
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
    return _back("/portal/preferences?saved")


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
    return _back("/portal/preferences?saved")


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
    return _page(request, "topics", 200, who, title=title, topics=found, saved=saved)


@router.post("/topics", response_class=HTMLResponse)
async def choose_topic(request: Request, app: AppDep, signed: SignedForm) -> Response:
    who, form = signed
    wanted = (str(form.get("agency_id", "")), str(form.get("topic", "")))
    found = {(str(t.agency_id), t.slug): t for t in await citizen_self.topics(app, who)}
    topic = found.get(wanted)
    if topic is None:
        title = _t(request, "Not found")
        return _page(request, "topics", 404, who, title=title, topics=list(found.values()))
    subscribe = form.get("subscribe") == "yes"
    text = _topic_text(request, subscribe, topic.name, topic.agency)
    await citizen_self.choose(app, who, topic.agency_id, topic.slug, subscribe, text)
    return _back("/portal/topics?saved")


# -- consent history -----------------------------------------------------------------------


@router.get("/consents", response_class=HTMLResponse)
async def consents(request: Request, app: AppDep, who: Citizen) -> Response:
    entries = list(reversed(await citizen_self.history(app, who)))  # newest first
    changes = list(reversed(await citizen_self.preference_history(app, who)))
    title = _t(request, "Consent history")
    return _page(request, "consents", 200, who, title=title, entries=entries, changes=changes)


# -- devices: app, push, Telegram ---------------------------------------------------------


async def _devices_page(
    request: Request, app: Warta, who: uuid.UUID, **values: Any
) -> HTMLResponse:
    found = await citizen_self.devices(app, who)
    title = _t(request, "Devices")
    return _page(request, "devices", 200, who, title=title, devices=found, **values)


@router.get("/devices", response_class=HTMLResponse)
async def devices(request: Request, app: AppDep, who: Citizen) -> Response:
    return await _devices_page(request, app, who)


@router.post("/devices/telegram", response_class=HTMLResponse)
async def telegram(request: Request, app: AppDep, signed: SignedForm) -> Response:
    """Answered directly rather than redirected: the link is one-time, and a URL carrying
    it would end up in history and logs."""
    who, _ = signed
    try:
        link = await chat.telegram_link(app, who)
    except ApiError:
        return await _devices_page(request, app, who, telegram_missing=True)
    return await _devices_page(request, app, who, telegram=link)


# -- my data -------------------------------------------------------------------------------


@router.get("/data", response_class=HTMLResponse)
async def data(request: Request, app: AppDep, who: Citizen) -> Response:
    return _page(request, "data", 200, who, title=_t(request, "My data"))


@router.post("/data/download")
async def download(request: Request, app: AppDep, signed: SignedForm) -> Response:
    who, _ = signed
    body = orjson.dumps(await citizen_self.export(app, who), option=orjson.OPT_INDENT_2)
    return Response(
        body,
        media_type="application/json",
        headers={
            "Content-Disposition": 'attachment; filename="warta-data-saya.json"',
            "Cache-Control": "no-store",
        },
    )


@router.post("/data/delete", response_class=HTMLResponse)
async def delete(request: Request, app: AppDep, signed: SignedForm) -> Response:
    who, form = signed
    if str(form.get("confirm", "")).strip().upper() not in DELETE_WORDS:
        error = _t(request, "Type the word exactly as shown to delete your data")
        return _page(request, "data", 400, who, title=_t(request, "My data"), error=error)
    await citizen_self.erase(app, who)
    response = _back("/portal/deleted")
    clear_session_cookie(response, request, app)
    return response


@router.get("/deleted", response_class=HTMLResponse)
async def deleted(request: Request) -> Response:
    return _page(request, "deleted", title=_t(request, "Your data was deleted"))
