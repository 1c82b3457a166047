"""API keys: the agency's keys, a new key shown once, and revoking one after a confirmation."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from warta.api.console.web import AppDep, allowed, page
from warta.errors import ApiError, NotFound
from warta.services import admin
from warta.services.staff import Member

router = APIRouter()
ApiManager = Annotated[Member, Depends(allowed("manage_api"))]

#: (key type, English label, what it does), in GOV.UK Notify's words.
KINDS = (
    ("normal", "Live", "Sends to anyone. Use it when you are ready to send to real people."),
    (
        "team",
        "Team and guest list",
        "Sends only to the numbers and addresses on your guest list. Use it to build and test "
        "your system.",
    ),
    (
        "test",
        "Test",
        "Pretends to send: messages show as delivered but reach nobody, and do not count "
        "toward your daily limit.",
    ),
)


async def _keys_page(
    request: Request, app: AppDep, me: Member, status: int = 200, **values: object
) -> Response:
    keys = await admin.list_keys(app, me.agency_id)
    labels = {kind: label for kind, label, _ in KINDS}
    return page(request, me, "api_keys", status, keys=keys, kinds=KINDS, labels=labels, **values)


@router.get("/api-keys")
async def api_keys(request: Request, app: AppDep, me: ApiManager, done: str = "") -> Response:
    return await _keys_page(request, app, me, done=done)


@router.post("/api-keys")
async def create(
    request: Request,
    app: AppDep,
    me: ApiManager,
    name: Annotated[str, Form()] = "",
    key_type: Annotated[str, Form()] = "normal",
) -> Response:
    try:
        row, key = await admin.create_key(app, me.agency_id, name, key_type)
    except ApiError as exc:
        form = {"name": name, "key_type": key_type}
        return await _keys_page(request, app, me, 400, error=exc, form=form)
    labels = {kind: label for kind, label, _ in KINDS}
    # Shown here and never again (only the encrypted secret is kept), so not redirected to
    # a GET, and kept out of every cache and the browser's history snapshots.
    response = page(request, me, "api_key_created", key=key, row=row, label=labels[row.key_type])
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/api-keys/{key_id}/revoke")
async def confirm_revoke(
    request: Request, app: AppDep, me: ApiManager, key_id: uuid.UUID
) -> Response:
    keys = await admin.list_keys(app, me.agency_id)
    key = next((k for k in keys if k.id == key_id and k.revoked_at is None), None)
    if key is None:
        raise NotFound("No API key with id %(key_id)s", key_id=key_id)
    return await _keys_page(request, app, me, revoking=key)


@router.post("/api-keys/{key_id}/revoke")
async def revoke(request: Request, app: AppDep, me: ApiManager, key_id: uuid.UUID) -> Response:
    await admin.revoke_key(app, key_id, agency_id=me.agency_id)
    return RedirectResponse("/console/api-keys?done=revoked", status_code=303)
