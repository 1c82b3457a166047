"""What every console page shares: who is signed in, what they may do, CSRF, rendering.

A page declares the permission it needs with ``Depends(allowed("send"))``; that one
dependency also checks the CSRF token on every non-GET request, so no form can forget it.
Not signed in -> a redirect to the sign-in page (back here afterwards); signed in without
the permission -> a 403 page that says which permission is missing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from warta.api.auth import warta
from warta.api.pages import csrf_ok, csrf_token, is_https, render
from warta.api.schemas import form_refused
from warta.deps import Warta
from warta.errors import BadRequest
from warta.services import staff
from warta.services.staff import Member

COOKIE = "warta_staff"
PATH = "/console"
AppDep = Annotated[Warta, Depends(warta)]

#: The navigation: (path, English label, permission needed to see it).
NAV = (
    ("/console/", "Dashboard", "view"),
    ("/console/templates", "Templates", "view"),
    ("/console/send", "Send", "send"),
    ("/console/bulk", "Bulk send", "send"),
    ("/console/notifications", "Notifications", "view"),
    ("/console/topics", "Topics", "view"),
    ("/console/broadcasts", "Broadcasts", "view"),
    ("/console/cases", "Cases", "view"),
    ("/console/conversations", "Conversations", "view"),
    ("/console/faq", "FAQ", "view"),
    ("/console/api-keys", "API keys", "manage_api"),
    ("/console/callbacks", "Callbacks", "manage_api"),
    ("/console/team", "Team", "manage_team"),
)


#: The form field of placeholder ``nama`` is ``p:nama`` (send and broadcast pages).
FIELD = "p:"


async def personalisation(request: Request) -> dict[str, str]:
    """The placeholder values a send or broadcast form holds. A blank field is a missing
    one: the send is then refused rather than sent with a gap."""
    form = await request.form()
    return {
        name.removeprefix(FIELD): str(value).strip()
        for name, value in form.items()
        if name.startswith(FIELD) and str(value).strip()
    }


class SignInNeeded(Exception):
    def __init__(self, back_to: str) -> None:
        self.back_to = back_to


class NotAllowed(Exception):
    def __init__(self, member: Member, permission: str, token: str) -> None:
        self.member, self.permission, self.token = member, permission, token


class BadCsrf(Exception):
    pass


def token_of(request: Request) -> str:
    return request.cookies.get(COOKIE, "")


def set_cookie(response: Response, request: Request, app: Warta, token: str) -> None:
    secure = is_https(request, app.settings.public_url)
    response.set_cookie(
        COOKIE, token, path=PATH, secure=secure, httponly=True, samesite="lax"
    )  # a browser-session cookie: the server decides when the session ends


def clear_cookie(response: Response) -> None:
    response.delete_cookie(COOKIE, path=PATH, httponly=True, samesite="lax")


async def check_csrf(request: Request, app: Warta, token: str) -> None:
    """Forms send ``csrf_token``; scripts send the ``X-CSRF-Token`` header."""
    if request.method in ("GET", "HEAD"):
        return
    sent = request.headers.get("x-csrf-token", "")
    if not sent and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        sent = str((await request.form()).get("csrf_token", ""))
    if not csrf_ok(app.keyring, token, sent):
        raise BadCsrf
    urlencoded = "urlencoded" in request.headers.get("content-type", "").lower()
    if urlencoded and form_refused(await request.form()):  # PostgreSQL cannot store it
        raise BadRequest("This form holds a NUL character, which Warta does not accept in text")


def allowed(permission: str) -> Callable[[Request, Warta], Awaitable[Member]]:
    async def dependency(request: Request, app: AppDep) -> Member:
        token = token_of(request)
        member = await staff.signed_in(app, token) if token else None
        if member is None:
            raise SignInNeeded(request.url.path)
        await check_csrf(request, app, token)
        if not member.can(permission):
            raise NotAllowed(member, permission, token)
        return member

    return dependency


def page(
    request: Request, member: Member | None, name: str, status: int = 200, **values: Any
) -> HTMLResponse:
    """A console page: the person, their navigation and this session's CSRF token."""
    app: Warta = request.app.state.warta
    token = token_of(request)
    nav = [(path, label) for path, label, need in NAV if member and member.can(need)]
    return render(
        request,
        f"console/{name}.html",
        status,
        me=member,
        nav=nav,
        here=request.url.path,
        csrf=csrf_token(app.keyring, token) if token else "",
        **values,
    )


def install(api: FastAPI) -> None:
    @api.exception_handler(SignInNeeded)
    async def sign_in_needed(_request: Request, exc: SignInNeeded) -> Response:
        return RedirectResponse(f"/console/sign-in?next={quote(exc.back_to)}", status_code=303)

    @api.exception_handler(NotAllowed)
    async def not_allowed(request: Request, exc: NotAllowed) -> Response:
        return page(request, exc.member, "forbidden", 403, need=exc.permission)

    @api.exception_handler(BadCsrf)
    async def bad_csrf(request: Request, _exc: BadCsrf) -> Response:
        return page(request, None, "forbidden", 403, need="csrf")
