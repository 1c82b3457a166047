"""The citizen portal's pages: sign in with a one-time code, the inbox, one message.

Server-rendered HTML forms over the same services as /portal/api, in Bahasa Indonesia,
working with no JavaScript at all (a cheap phone on a slow connection). A push's link
lands on a message page here; opening it marks the message read, which ends escalation.
The session cookie is SameSite=Lax and HttpOnly, so another site cannot post these forms
with it.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from warta.api.auth import warta
from warta.api.pages import render
from warta.api.pages import translate as _t
from warta.api.portal import clear_session_cookie, session_token, set_session_cookie, tries
from warta.bootstrap import Warta
from warta.errors import ApiError, NotFound
from warta.services import portal

router = APIRouter(prefix="/portal", include_in_schema=False)
AppDep = Annotated[Warta, Depends(warta)]


def _page(request: Request, name: str, status: int = 200, **values: Any) -> HTMLResponse:
    return render(request, f"portal/{name}.html", status, **values)


def _signed_in(request: Request, app: Warta) -> uuid.UUID | None:
    token = session_token(request)
    return portal.citizen_of(app, token) if token else None


@router.get("/", response_class=HTMLResponse)
async def home(request: Request, app: AppDep) -> Response:
    if _signed_in(request, app) is not None:
        return RedirectResponse("/portal/inbox", status_code=303)
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
        return _page(request, "sign_in", 400, title=_t(request, "Sign in"), error=str(exc))
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
        return _page(request, "sign_in", 400, title=title, challenge=challenge, error=str(exc))
    response = RedirectResponse("/portal/inbox", status_code=303)
    set_session_cookie(response, request, app, session)
    return response


@router.post("/sign-out")
async def sign_out(request: Request, app: AppDep) -> Response:
    response = RedirectResponse("/portal/", status_code=303)
    clear_session_cookie(response, request, app)
    return response


@router.get("/inbox", response_class=HTMLResponse)
async def inbox(request: Request, app: AppDep, older_than: uuid.UUID | None = None) -> Response:
    who = _signed_in(request, app)
    if who is None:
        return RedirectResponse("/portal/", status_code=303)
    messages = await portal.page(app, who, older_than)
    older = messages[-1].id if len(messages) == portal.PAGE_SIZE else None
    title = _t(request, "Inbox")
    return _page(request, "inbox", title=title, signed_in=True, messages=messages, older=older)


@router.get("/inbox/{message_id}", response_class=HTMLResponse)
async def message(request: Request, app: AppDep, message_id: str) -> Response:
    who = _signed_in(request, app)
    if who is None:
        return RedirectResponse("/portal/", status_code=303)
    try:
        shown = await portal.mark_read(app, who, uuid.UUID(message_id))
    except (ValueError, NotFound):
        title = _t(request, "Not found")
        return _page(request, "inbox", 404, title=title, signed_in=True, messages=[])
    title = shown.subject or shown.agency
    return _page(request, "message", title=title, signed_in=True, message=shown)
