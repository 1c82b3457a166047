"""GET /v2/received-text-messages."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from warta.api.auth import authenticate, warta
from warta.api.responses import JsonResponse
from warta.api.schemas import ReceivedTextPage
from warta.api.urls import base_url
from warta.deps import Warta
from warta.domain.timefmt import notify_time
from warta.errors import ValidationFailed
from warta.services import inbound
from warta.services.sending import Caller

router = APIRouter(prefix="/v2", tags=["Received text messages (Notify v2)"])
PAGE_SIZE = 250


def present(text: inbound.Received) -> dict[str, Any]:
    row = text.row
    return {
        "id": str(row.id),
        "created_at": notify_time(row.created_at),
        "notify_number": row.notify_number,
        "user_number": text.user_number,
        "service_id": str(row.agency_id),
        "content": text.content,
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
    anchor = None
    if older_than:
        try:
            anchor = uuid.UUID(older_than)
        except ValueError as exc:
            raise ValidationFailed("older_than is not a valid UUID") from exc
    texts = await inbound.received(app, caller.agency.id, anchor, PAGE_SIZE)
    path = f"{base}{request.url.path}"
    links = {"current": path + (f"?older_than={older_than}" if older_than else "")}
    if texts:  # as Notify: its clients page until a page comes back empty
        links["next"] = f"{path}?older_than={texts[-1].row.id}"
    return JsonResponse({"received_text_messages": [present(t) for t in texts], "links": links})
