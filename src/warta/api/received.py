"""GET /v2/received-text-messages."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from warta.api.auth import authenticate, warta
from warta.api.responses import JsonResponse
from warta.api.schemas import ReceivedTextPage
from warta.api.urls import base_url
from warta.bootstrap import Warta
from warta.domain.timefmt import notify_time
from warta.errors import NotFound, ValidationFailed
from warta.services.sending import Caller
from warta.store.models import ReceivedText

router = APIRouter(prefix="/v2", tags=["Received text messages (Notify v2)"])
PAGE_SIZE = 250


def present(app: Warta, row: ReceivedText) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "created_at": notify_time(row.created_at),
        "notify_number": row.notify_number,
        "user_number": app.keyring.decrypt(row.user_number_enc, field="received.user_number"),
        "service_id": str(row.agency_id),
        "content": app.keyring.decrypt(row.content_enc, field="received.content"),
    }


@router.get(
    "/received-text-messages", response_model=ReceivedTextPage, summary="Get received text messages"
)
async def received_texts(
    request: Request,
    app: Annotated[Warta, Depends(warta)],
    caller: Annotated[Caller, Depends(authenticate)],
    older_than: str | None = None,
) -> JsonResponse:
    base = base_url(request, app)
    async with app.uow() as uow:
        anchor = None
        if older_than:
            try:
                anchor_id = uuid.UUID(older_than)
            except ValueError as exc:
                raise ValidationFailed("older_than is not a valid UUID") from exc
            anchor = await uow.received_texts.get(caller.agency.id, anchor_id)
            if anchor is None:
                raise NotFound()
        rows = await uow.received_texts.page(caller.agency.id, anchor, PAGE_SIZE)
    path = f"{base}{request.url.path}"
    links = {"current": path + (f"?older_than={older_than}" if older_than else "")}
    if rows:  # as Notify: its clients page until a page comes back empty
        links["next"] = f"{path}?older_than={rows[-1].id}"
    return JsonResponse({"received_text_messages": [present(app, r) for r in rows], "links": links})
