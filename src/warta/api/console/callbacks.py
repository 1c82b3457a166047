"""Callbacks: where Warta posts delivery receipts and texts citizens send, with which token.

A token is never shown back, only that one is set and its last 4 characters, so a saved
callback is changed by typing the URL and the token again.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from warta.api.console.web import AppDep, allowed, page
from warta.errors import ApiError, BadRequest
from warta.services import admin
from warta.services.staff import Member

router = APIRouter()
ApiManager = Annotated[Member, Depends(allowed("manage_api"))]
KINDS = ("receipts", "inbound")


def _inbound(kind: str) -> bool:
    if kind not in KINDS:
        raise BadRequest("Choose the delivery-receipt or the inbound-text callback")
    return kind == "inbound"


async def _callbacks_page(
    request: Request, app: AppDep, me: Member, status: int = 200, **values: object
) -> Response:
    saved = await admin.callbacks(app, me.agency_id)
    return page(request, me, "callbacks", status, saved=saved, **values)


@router.get("/callbacks")
async def callbacks(request: Request, app: AppDep, me: ApiManager, done: str = "") -> Response:
    return await _callbacks_page(request, app, me, done=done)


@router.post("/callbacks")
async def save(
    request: Request,
    app: AppDep,
    me: ApiManager,
    kind: Annotated[str, Form()] = "",
    url: Annotated[str, Form()] = "",
    token: Annotated[str, Form()] = "",
) -> Response:
    url, token = url.strip(), token.strip()
    try:
        if not url:  # an empty URL would remove the callback: that has its own button
            raise BadRequest("Enter the URL the callback goes to")
        await admin.set_callback(app, me.agency_id, url, token, inbound=_inbound(kind))
    except ApiError as exc:
        form = {"kind": kind, "url": url}
        return await _callbacks_page(request, app, me, 400, error=exc, form=form)
    return RedirectResponse("/console/callbacks?done=saved", status_code=303)


@router.post("/callbacks/remove")
async def remove(
    request: Request, app: AppDep, me: ApiManager, kind: Annotated[str, Form()] = ""
) -> Response:
    try:
        await admin.set_callback(app, me.agency_id, None, None, inbound=_inbound(kind))
    except ApiError as exc:
        return await _callbacks_page(request, app, me, 400, error=exc)
    return RedirectResponse("/console/callbacks?done=removed", status_code=303)
