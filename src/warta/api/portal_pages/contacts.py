"""The citizen's devices and contacts: who added each; confirm one with a code sent to
it, or refuse one."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from warta.api.pages import translate as _t
from warta.api.portal import (
    client_address,
)
from warta.api.portal_pages.common import (
    AppDep,
    Citizen,
    SignedForm,
    back,
    page,
    router,
)
from warta.deps import Warta
from warta.errors import ApiError, NotFound, WartaError
from warta.services import chat, citizen_self
from warta.services.citizens import confirming


async def _devices_page(
    request: Request, app: Warta, who: uuid.UUID, **values: Any
) -> HTMLResponse:
    found = await citizen_self.devices(app, who)
    title = _t(request, "Devices")
    return page(request, "devices", 200, who, title=title, devices=found, **values)


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


# -- contacts: who added each, confirm (with a code) or refuse ----------------------------


async def _contacts_page(
    request: Request, app: Warta, who: uuid.UUID, status: int = 200, error: WartaError | None = None
) -> HTMLResponse:
    found = await citizen_self.contacts(app, who)
    saved = request.query_params.get("saved") is not None
    sent = request.query_params.get("sent") is not None
    title = _t(request, "Contacts")
    return page(
        request, "contacts", status, who, title=title, contacts=found, saved=saved, sent=sent,
        error=error,
    )  # fmt: skip


@router.get("/contacts", response_class=HTMLResponse)
async def contacts(request: Request, app: AppDep, who: Citizen) -> Response:
    return await _contacts_page(request, app, who)


def _contact_id(form: FormData) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(form.get("contact_id", "")))
    except ValueError:
        return None


async def _on_contact(
    request: Request,
    app: Warta,
    signed: tuple[uuid.UUID, FormData],
    act: Callable[[uuid.UUID, uuid.UUID, FormData], Awaitable[object]],
    done: str,
) -> Response:
    """Run ``act(citizen, contact, form)`` for the form's contact, then back to the page
    with ``done`` (or the page again with the error)."""
    who, form = signed
    contact_id = _contact_id(form)
    try:
        if contact_id is None:
            raise NotFound("Contact not found")
        await act(who, contact_id, form)
    except ApiError as exc:
        return await _contacts_page(request, app, who, exc.status_code, exc)
    return back(f"/portal/contacts?{done}")


@router.post("/contacts/code", response_class=HTMLResponse)
async def send_confirmation_code(request: Request, app: AppDep, signed: SignedForm) -> Response:
    """Send a code to a contact an agency added, for the citizen to make it their own."""

    async def act(who: uuid.UUID, contact_id: uuid.UUID, _form: FormData) -> None:
        await confirming.send_code(app, who, contact_id, client_address(request))

    return await _on_contact(request, app, signed, act, "sent")


@router.post("/contacts/confirm", response_class=HTMLResponse)
async def confirm_contact(request: Request, app: AppDep, signed: SignedForm) -> Response:
    """The citizen makes a contact an agency added their own, with the code sent to it."""

    async def act(who: uuid.UUID, contact_id: uuid.UUID, form: FormData) -> None:
        await confirming.confirm(app, who, contact_id, str(form.get("code", "")))

    return await _on_contact(request, app, signed, act, "saved")


@router.post("/contacts/refuse", response_class=HTMLResponse)
async def refuse_contact(request: Request, app: AppDep, signed: SignedForm) -> Response:
    """The citizen removes a contact from their record, whoever added it."""

    async def act(who: uuid.UUID, contact_id: uuid.UUID, _form: FormData) -> None:
        await citizen_self.refuse_contact(app, who, contact_id)

    return await _on_contact(request, app, signed, act, "saved")
