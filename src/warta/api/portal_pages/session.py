"""Signing in with a one-time code, signing out, the inbox and one message."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import BackgroundTasks, Form, Request
from fastapi.responses import HTMLResponse, Response

from warta.api.pages import client_address, sign_in_ok
from warta.api.pages import translate as _t
from warta.api.portal import (
    clear_session_cookie,
    session_token,
    set_session_cookie,
)
from warta.api.portal_pages.common import (
    AppDep,
    Citizen,
    SignedForm,
    back,
    page,
    router,
    to_sign_in,
    who_is,
)
from warta.errors import ApiError, NotFound
from warta.services import portal, portal_sessions


@router.get("/", response_class=HTMLResponse)
async def home(request: Request, app: AppDep) -> Response:
    if await who_is(request, app) is not None:
        return back("/portal/inbox")
    return page(request, "sign_in", title=_t(request, "Sign in"))


@router.post("/sign-in", response_class=HTMLResponse)
async def sign_in(
    request: Request,
    app: AppDep,
    background: BackgroundTasks,
    contact: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> HTMLResponse:
    if not sign_in_ok(request, app.keyring, csrf_token):  # login CSRF: no code is sent
        return _expired(request)
    try:
        started = await portal.sign_in(app, contact, client_address(request))
    except ApiError as exc:
        return page(request, "sign_in", 400, title=_t(request, "Sign in"), error=exc)
    background.add_task(portal.send_code, app, started.code)  # for every contact alike
    title = _t(request, "Enter the code")
    return page(request, "sign_in", title=title, challenge=started.challenge)


@router.post("/sign-in/verify", response_class=HTMLResponse)
async def verify(
    request: Request,
    app: AppDep,
    challenge: Annotated[str, Form()] = "",
    code: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    if not sign_in_ok(request, app.keyring, csrf_token):  # login CSRF: no code is checked
        return _expired(request)
    try:
        session = await portal.verify(app, challenge, code)
    except ApiError as exc:
        title = _t(request, "Enter the code")
        return page(request, "sign_in", 400, title=title, challenge=challenge, error=exc)
    response = back("/portal/inbox")
    set_session_cookie(response, request, app, session)
    return response


def _expired(request: Request) -> HTMLResponse:
    """A sign-in form that did not come from our page in this browser: changed nothing;
    a fresh form to start again."""
    error = _t(request, "This form has expired. Try again.")
    return page(request, "sign_in", 403, title=_t(request, "Sign in"), error=error)


@router.post("/sign-out")
async def sign_out(request: Request, app: AppDep, _signed: SignedForm) -> Response:
    """Ends the session at once (the token opens nothing any more), with this session's
    form token only (``SignedForm``)."""
    await portal_sessions.end_session(app, session_token(request))
    response = to_sign_in()
    clear_session_cookie(response, request, app)
    return response


@router.get("/inbox", response_class=HTMLResponse)
async def inbox(
    request: Request, app: AppDep, who: Citizen, older_than: uuid.UUID | None = None
) -> Response:
    messages = await portal.page(app, who, older_than)
    older = messages[-1].id if len(messages) == portal.PAGE_SIZE else None
    title = _t(request, "Inbox")
    return page(request, "inbox", 200, who, title=title, messages=messages, older=older)


@router.get("/inbox/{message_id}", response_class=HTMLResponse)
async def message(request: Request, app: AppDep, who: Citizen, message_id: str) -> Response:
    try:
        shown = await portal.mark_read(app, who, uuid.UUID(message_id))
    except (ValueError, NotFound):
        title = _t(request, "Not found")
        return page(request, "inbox", 404, who, title=title, messages=[])
    title = shown.subject or shown.agency
    return page(request, "message", 200, who, title=title, message=shown)
