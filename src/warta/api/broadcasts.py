"""Warta extension: broadcasts to a topic's subscribers, a region, or both."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import Field

from warta.api.auth import authenticate, warta
from warta.api.responses import JsonResponse
from warta.api.schemas import Strict
from warta.api.urls import base_url
from warta.deps import Warta
from warta.domain.timefmt import notify_time
from warta.services import broadcasts
from warta.services.sending import Caller

router = APIRouter(prefix="/v2/broadcasts", tags=["Broadcasts (Warta extension)"])
AppDep = Annotated[Warta, Depends(warta)]
CallerDep = Annotated[Caller, Depends(authenticate)]


class BroadcastIn(Strict):
    template_id: uuid.UUID
    topic: str | None = Field(None, description="Send to this topic's subscribers.")
    region: str | None = Field(
        None, description="Kemendagri code prefix: 32 (a province), 32.73 (a regency), ..."
    )
    personalisation: dict[str, Any] | None = Field(None, description="The same for everyone.")
    priority: Literal["urgent", "normal", "low"] = "normal"
    reference: str | None = Field(None, max_length=1000)
    scheduled_for: datetime | None = None
    expires_at: datetime | None = None


def present(base: str, progress: broadcasts.Progress) -> dict[str, Any]:
    b = progress.broadcast
    return {
        "id": str(b.id),
        "status": b.status,
        "template_id": str(b.template_id),
        "template_version": b.template_version,
        "topic": b.topic,
        "region": b.region_prefix,
        "priority": b.priority,
        "reference": b.reference,
        "recipients": b.recipients,
        "counts": progress.counts,
        "scheduled_for": notify_time(b.scheduled_for),
        "expires_at": notify_time(b.expires_at),
        "created_at": notify_time(b.created_at),
        "completed_at": notify_time(b.completed_at),
        "uri": f"{base}/v2/broadcasts/{b.id}",
    }


@router.post("", status_code=201, summary="Broadcast one template to a segment of citizens")
async def create_broadcast(
    body: BroadcastIn, request: Request, app: AppDep, caller: CallerDep
) -> JsonResponse:
    await app.quotas.check_rate(caller.agency.id, caller.key_type, caller.agency.rate_limit)
    made = await broadcasts.create(
        app,
        caller,
        broadcasts.NewBroadcast(
            template_id=body.template_id,
            topic=body.topic,
            region=body.region,
            personalisation=body.personalisation or {},
            priority=body.priority,
            reference=body.reference,
            scheduled_for=body.scheduled_for,
            expires_at=body.expires_at,
        ),
    )
    shown = present(base_url(request, app), broadcasts.Progress(made, {}))
    return JsonResponse(shown, status_code=201)


@router.get("/{broadcast_id}", summary="A broadcast and its progress (counts by status)")
async def get_broadcast(
    broadcast_id: uuid.UUID, request: Request, app: AppDep, caller: CallerDep
) -> JsonResponse:
    progress = await broadcasts.progress(app, caller, broadcast_id)
    return JsonResponse(present(base_url(request, app), progress))


@router.post("/{broadcast_id}/cancel", summary="Stop a broadcast; unsent messages are cancelled")
async def cancel_broadcast(
    broadcast_id: uuid.UUID, request: Request, app: AppDep, caller: CallerDep
) -> JsonResponse:
    progress = await broadcasts.cancel(app, caller, broadcast_id)
    return JsonResponse(present(base_url(request, app), progress))
