"""Notifications: search the agency's notifications, and one with its attempt chain.

The detail shows what ``GET /v2/notifications/{id}`` answers (``present`` builds both),
so the console and the API never disagree about a body, a routing decision, whether
a one-time code may be shown or whether a citizen's contact is masked (``reports`` takes
both pages' recipients from ``notification_status``).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from warta.api.console.web import AppDep, allowed, page
from warta.api.notifications import present
from warta.api.urls import base_url
from warta.domain import statuses
from warta.errors import ValidationFailed
from warta.services import notification_status, reports, template_editing
from warta.services.staff import Member
from warta.store.models import Notification

router = APIRouter()
Viewer = Annotated[Member, Depends(allowed("view"))]
#: What the status list offers: Notify's groups first, then every status.
STATUS_CHOICES = ("delivered", "failed", "sending", *statuses.ALL)


def wib(value: datetime | None) -> str:
    """A time as the agency reads it: Jakarta wall-clock time, to the second."""
    return value.astimezone(reports.WIB).strftime("%Y-%m-%d %H:%M:%S") if value else ""


@router.get("/notifications")
async def listing(
    request: Request,
    app: AppDep,
    me: Viewer,
    recipient: str = "",
    reference: str = "",
    template: str = "",
    status: str = "",
    channel: str = "",
    older_than: uuid.UUID | None = None,
) -> Response:
    wanted = reports.Search(recipient, reference, template, status, channel, older_than)
    templates = await template_editing.templates(app, me.agency_id)
    values: dict[str, Any] = {
        "form": wanted,
        "templates": templates,
        "statuses": STATUS_CHOICES,
        "channels": reports.CHANNELS,
        "wib": wib,
    }
    try:
        found = await reports.search(app, me.agency_id, wanted)
    except ValidationFailed as exc:
        return page(request, me, "notifications", 400, error=exc, found=None, **values)
    filters = [(k, v) for k, v in request.query_params.multi_items() if k != "older_than" and v]
    older = urlencode([*filters, ("older_than", str(found.older))]) if found.older else ""
    newest = urlencode(filters)
    return page(request, me, "notifications", found=found, older=older, newest=newest, **values)


@router.get("/notifications/{notification_id}")
async def one(request: Request, app: AppDep, me: Viewer, notification_id: uuid.UUID) -> Response:
    found = await reports.detail(app, me.agency_id, notification_id)
    base = base_url(request, app)

    def shown(row: Notification) -> dict[str, Any]:
        return present(base, notification_status.readable(app, row, found.shared, found.clear))

    attempts = [(a, shown(a)) for a in found.attempts]
    return page(
        request,
        me,
        "notification",
        found=found,
        row=found.row,
        shown=shown(found.row),
        attempts=attempts,
        wib=wib,
    )
