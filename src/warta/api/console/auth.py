"""Staff sign-in: email and password, then a TOTP code (set up at the first sign-in).

Every form here is CSRF-checked: sign-in against the pre-session cookie (no session yet:
``pages.sign_in_token``), the code and sign-out against the session. A form without its
token changes nothing: no password is checked, no session starts or ends, no cookie moves.
"""

from __future__ import annotations

import contextlib
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from warta.api.console.web import PATH, AppDep, clear_cookie, page, set_cookie, token_of
from warta.api.pages import (
    client_address,
    csrf_ok,
    is_https,
    remember_sign_in,
    sign_in_ok,
    sign_in_token,
)
from warta.api.pages import translate as _t
from warta.deps import Warta
from warta.errors import ApiError
from warta.services import staff

router = APIRouter()


def _back_to(next_path: str) -> str:
    """Only a path inside the console: ``next`` must not send anyone to another site."""
    if next_path.startswith("/console/") and not next_path.startswith("//"):
        return next_path
    return "/console/"


def _sign_in_page(request: Request, app: Warta, status: int = 200, **values: Any) -> HTMLResponse:
    token = sign_in_token(request, app.keyring)
    response = page(request, None, "sign_in", status, sign_in_csrf=token, **values)
    remember_sign_in(request, response, PATH, is_https(request, app.settings.public_url))
    return response


@router.get("/sign-in")
async def sign_in_page(request: Request, app: AppDep, next: str = "/console/") -> Response:
    return _sign_in_page(request, app, next=_back_to(next))


@router.post("/sign-in")
async def sign_in(
    request: Request,
    app: AppDep,
    email: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/console/",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    if not sign_in_ok(request, app.keyring, csrf_token):  # login CSRF: nothing is checked
        expired = _t(request, "This form has expired. Try again.")
        return _sign_in_page(request, app, 403, next=_back_to(next), error=expired, email=email)
    try:
        token, stage = await staff.check_password(app, email, password, client_address(request))
    except ApiError as exc:
        return _sign_in_page(
            request, app, exc.status_code, next=_back_to(next), error=exc, email=email
        )
    target = "/console/two-factor/setup" if stage == "enrol" else "/console/two-factor"
    response = RedirectResponse(f"{target}?next={_back_to(next)}", status_code=303)
    set_cookie(response, request, app, token)
    return response


@router.get("/two-factor")
async def code_page(request: Request, next: str = "/console/") -> Response:
    if not token_of(request):
        return RedirectResponse("/console/sign-in", status_code=303)
    return page(request, None, "two_factor", next=_back_to(next))


@router.get("/two-factor/setup")
async def setup_page(request: Request, app: AppDep, next: str = "/console/") -> Response:
    try:
        enrolment = await staff.enrolment(app, token_of(request))
    except ApiError:
        return RedirectResponse("/console/sign-in", status_code=303)
    return page(request, None, "two_factor", enrolment=enrolment, next=_back_to(next))


@router.post("/two-factor")
async def check_code(
    request: Request,
    app: AppDep,
    code: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/console/",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    pending = token_of(request)
    if not csrf_ok(app.keyring, pending, csrf_token):
        return RedirectResponse("/console/sign-in", status_code=303)
    try:
        token = await staff.check_code(app, pending, code, client_address(request))
    except ApiError as exc:
        if exc.status_code == 401 and "session" in str(exc):
            return RedirectResponse("/console/sign-in", status_code=303)
        enrolment = None
        with contextlib.suppress(ApiError):  # not enrolling: the plain code form
            enrolment = await staff.enrolment(app, pending)
        return page(
            request, None, "two_factor", exc.status_code,
            enrolment=enrolment, next=_back_to(next), error=exc,
        )  # fmt: skip
    response = RedirectResponse(_back_to(next), status_code=303)
    set_cookie(response, request, app, token)
    return response


@router.post("/sign-out")
async def sign_out(
    request: Request, app: AppDep, csrf_token: Annotated[str, Form()] = ""
) -> Response:
    """Only with the session's token: another site's form cannot sign anyone out (the
    cookie stays, the session lives)."""
    token = token_of(request)
    if not token:  # a cross-site post carries no cookie, but could still clear it
        return RedirectResponse("/console/sign-in", status_code=303)
    if not csrf_ok(app.keyring, token, csrf_token):
        return page(request, None, "forbidden", 403, need="csrf")
    await staff.sign_out(app, token)
    response = RedirectResponse("/console/sign-in", status_code=303)
    clear_cookie(response)
    return response
