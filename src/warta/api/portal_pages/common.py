"""What every portal page shares: the router, the signed-in citizen and signed-form
dependencies (the CSRF check is part of them, so no form can forget it), and how a page
is rendered."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from warta.api.auth import warta
from warta.api.pages import (
    csrf_ok,
    csrf_token,
    is_https,
    remember_sign_in,
    render,
    sign_in_token,
)
from warta.api.pages import translate as _t
from warta.api.portal import (
    session_token,
)
from warta.api.schemas import form_refused
from warta.deps import Warta
from warta.errors import BadRequest
from warta.services import citizen_self, portal_sessions

router = APIRouter(prefix="/portal", include_in_schema=False)
AppDep = Annotated[Warta, Depends(warta)]
#: The word that confirms erasure; either language's word is taken.
DELETE_WORDS = ("HAPUS", "DELETE")


def page(
    request: Request, name: str, status: int = 200, who: uuid.UUID | None = None, **values: Any
) -> HTMLResponse:
    app: Warta = request.app.state.warta
    if who is not None:
        values.update(signed_in=True, csrf=csrf_token(app.keyring, session_token(request)))
    if name == "sign_in":  # its forms' token, bound to the pre-session cookie
        values.update(sign_in_csrf=sign_in_token(request, app.keyring))
    response = render(request, f"portal/{name}.html", status, **values)
    remember_sign_in(request, response, "/portal", is_https(request, app.settings.public_url))
    return response


async def who_is(request: Request, app: Warta) -> uuid.UUID | None:
    """The signed-in citizen; None without a session, once it ended (signed out,
    expired), or once they erased their data (which ends their sessions)."""
    found = await portal_sessions.citizen_of(app, session_token(request))
    if found is None:
        return None
    request.state.zone = await citizen_self.zone_of(app, found)
    return found


def to_sign_in() -> Response:
    return RedirectResponse("/portal/", status_code=303)


def back(path: str) -> Response:
    return RedirectResponse(path, status_code=303)


class SignedOut(Exception):
    """No session, an ended one, or a citizen who erased their data: back to sign-in."""


class FormExpired(Exception):
    """A signed-in form without this session's token: refused, and nothing is changed."""

    def __init__(self, who: uuid.UUID) -> None:
        self.who = who


async def signed_in_citizen(request: Request, app: AppDep) -> uuid.UUID:
    who = await who_is(request, app)
    if who is None:
        raise SignedOut
    return who


async def signed_form(request: Request, app: AppDep) -> tuple[uuid.UUID, FormData]:
    """A signed-in form's citizen and fields, its token checked against the session."""
    who = await signed_in_citizen(request, app)
    form = await request.form()
    if not csrf_ok(app.keyring, session_token(request), str(form.get("csrf_token", ""))):
        raise FormExpired(who)
    if form_refused(form):  # a NUL: PostgreSQL cannot store it
        raise BadRequest("This form holds a NUL character, which Warta does not accept in text")
    return who, form


#: The signed-in citizen of a page; the citizen and fields of a signed-in form.
Citizen = Annotated[uuid.UUID, Depends(signed_in_citizen)]
SignedForm = Annotated[tuple[uuid.UUID, FormData], Depends(signed_form)]


def install(api: FastAPI) -> None:
    """What the two dependencies answer with when they refuse a request."""

    @api.exception_handler(SignedOut)
    async def signed_out(_request: Request, _exc: SignedOut) -> Response:
        return to_sign_in()

    @api.exception_handler(FormExpired)
    async def form_expired(request: Request, exc: FormExpired) -> Response:
        title = _t(request, "This form has expired")
        return page(request, "forbidden", 403, exc.who, title=title)
