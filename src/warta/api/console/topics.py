"""Topics (what citizens subscribe to) and broadcasts (one template to a topic's
subscribers, a region, or both), through ``services.citizens`` and ``services.broadcasts``
as the API's /v2/topics and /v2/broadcasts use them."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from warta.api.console.bulk import agency_caller, status_rows
from warta.api.console.web import AppDep, allowed, page, personalisation
from warta.deps import Warta
from warta.domain import statuses
from warta.errors import ApiError, MissingPersonalisation, ValidationFailed
from warta.services import broadcasts, citizens, lookups, template_editing
from warta.services.staff import Member
from warta.services.template_editing import Draft

router = APIRouter()
Viewer = Annotated[Member, Depends(allowed("view"))]
Editor = Annotated[Member, Depends(allowed("edit_templates"))]
Sender = Annotated[Member, Depends(allowed("send"))]
#: Scheduled times are typed as Jakarta wall-clock time, as the form says.
WIB = timezone(timedelta(hours=7), "WIB")
PRIORITIES = ("normal", "urgent", "low")

# -- topics --------------------------------------------------------------------------------


async def _topics_page(
    request: Request, app: Warta, me: Member, status: int = 200, **values: object
) -> Response:
    found = await citizens.topics_with_subscribers(app, await agency_caller(app, me))
    return page(request, me, "topics", status, topics=found, **values)


@router.get("/topics")
async def topics(request: Request, app: AppDep, me: Viewer, done: str = "") -> Response:
    return await _topics_page(request, app, me, done=done)


@router.post("/topics")
async def create_topic(
    request: Request,
    app: AppDep,
    me: Editor,
    slug: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
) -> Response:
    try:
        await citizens.create_topic(app, await agency_caller(app, me), slug, name)
    except ApiError as exc:
        form = {"slug": slug, "name": name}
        return await _topics_page(request, app, me, exc.status_code, error=exc, form=form)
    return RedirectResponse("/console/topics?done=created", status_code=303)


# -- broadcasts ----------------------------------------------------------------------------


async def _broadcasts_page(
    request: Request,
    app: Warta,
    me: Member,
    chosen: uuid.UUID | None = None,
    status: int = 200,
    **values: object,
) -> Response:
    caller = await agency_caller(app, me)
    templates = await template_editing.templates(app, me.agency_id)
    template = next((t for t in templates if t.id == chosen), None)
    fields = []
    if template is not None:  # the form asks for each placeholder: the same for everyone
        fields = template_editing.placeholder_names(Draft.of(template.type, template))
    return page(
        request, me, "broadcasts", status,
        broadcasts=[(p, _done(p.counts)) for p in await broadcasts.recent(app, caller)],
        names={t.id: t.name for t in templates}, choices=templates, template=template,
        fields=fields, topics=await citizens.topics(app, caller), priorities=PRIORITIES,
        **values,
    )  # fmt: skip


@router.get("/broadcasts")
async def broadcasts_page(
    request: Request, app: AppDep, me: Viewer, template: uuid.UUID | None = None, done: str = ""
) -> Response:
    return await _broadcasts_page(request, app, me, template, done=done)


@router.post("/broadcasts")
async def create_broadcast(
    request: Request,
    app: AppDep,
    me: Sender,
    template: Annotated[uuid.UUID, Form()],
    topic: Annotated[str, Form()] = "",
    region: Annotated[str, Form()] = "",
    priority: Annotated[str, Form()] = "normal",
    scheduled_for: Annotated[str, Form()] = "",
) -> Response:
    values = await personalisation(request)
    try:
        caller = await agency_caller(app, me)
        await app.quotas.check_rate(caller.agency.id, caller.key_type, caller.agency.rate_limit)
        made = await broadcasts.create(
            app,
            caller,
            broadcasts.NewBroadcast(
                template_id=template,
                topic=topic.strip() or None,
                region=region.strip() or None,
                personalisation=values,
                priority=priority if priority in PRIORITIES else "normal",
                scheduled_for=_wib(scheduled_for),
            ),
        )
    except ApiError as exc:
        typed = {"topic": topic, "region": region, "priority": priority, "values": values,
                 "scheduled_for": scheduled_for}  # fmt: skip
        cause = exc.__cause__
        missing = cause.fields if isinstance(cause, MissingPersonalisation) else []
        return await _broadcasts_page(
            request, app, me, template, exc.status_code,
            error=exc, missing=missing, form=typed,
        )  # fmt: skip
    return RedirectResponse(f"/console/broadcasts/{made.id}", status_code=303)


def _wib(typed: str) -> datetime | None:
    """``2026-12-01T08:00`` from a datetime-local field, as 08:00 WIB."""
    if not typed.strip():
        return None
    try:
        return datetime.fromisoformat(typed.strip()).replace(tzinfo=WIB)
    except ValueError as exc:
        raise ValidationFailed("Give the time like 2026-12-01 08:00") from exc


@router.get("/broadcasts/{broadcast_id}")
async def broadcast_page(
    request: Request, app: AppDep, me: Viewer, broadcast_id: uuid.UUID, done: str = ""
) -> Response:
    progress = await broadcasts.progress(app, await agency_caller(app, me), broadcast_id)
    return await _broadcast_page(request, app, me, progress, done=done)


async def _broadcast_page(
    request: Request,
    app: Warta,
    me: Member,
    progress: broadcasts.Progress,
    status: int = 200,
    **values: object,
) -> Response:
    b = progress.broadcast
    fanning_out = b.status in (broadcasts.PENDING, broadcasts.FANNING_OUT)
    waiting = sum(n for s, n in progress.counts.items() if s not in statuses.FINAL)
    cancellable = b.status != broadcasts.CANCELLED and (fanning_out or waiting > 0)
    # A broadcast scheduled for later is not refreshed every few seconds until then.
    starts = b.scheduled_for if b.status == broadcasts.PENDING else None
    later = starts is not None and starts > app.clock()
    return page(
        request, me, "broadcast", status,
        broadcast=b, template=await lookups.template(app, me.agency_id, b.template_id),
        counts=status_rows(progress.counts), finished=_done(progress.counts),
        total=None if fanning_out else sum(progress.counts.values()),
        cancellable=cancellable, running=cancellable and not later,
        starts=starts if later else None, **values,
    )  # fmt: skip


@router.post("/broadcasts/{broadcast_id}/cancel")
async def cancel_broadcast(
    request: Request, app: AppDep, me: Sender, broadcast_id: uuid.UUID
) -> Response:
    caller = await agency_caller(app, me)
    try:
        await broadcasts.cancel(app, caller, broadcast_id)
    except ApiError as exc:
        progress = await broadcasts.progress(app, caller, broadcast_id)
        return await _broadcast_page(request, app, me, progress, exc.status_code, error=exc)
    return RedirectResponse(f"/console/broadcasts/{broadcast_id}?done=cancelled", status_code=303)


def _done(counts: dict[str, int]) -> int:
    return sum(n for s, n in counts.items() if s in statuses.FINAL)
