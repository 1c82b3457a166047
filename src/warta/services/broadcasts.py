"""Broadcasts: one template to a segment of citizens (a topic's subscribers, a region, or
both), routed per citizen. Creating one stores it and queues its fan-out
(``warta.pipeline.broadcasts``); progress is the count of its notifications by status.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from warta.deps import Warta
from warta.domain.regions import parse_region
from warta.errors import BadRequest, InvalidInput, NotFound, ValidationFailed
from warta.services import attempts, content, routing
from warta.services.citizen_sending import usable_template
from warta.services.sending import (
    Caller,
    check_times,
    render_all,
    team_key_refused,
    with_app_channels,
)
from warta.store.models import Broadcast

PENDING, FANNING_OUT, DONE, CANCELLED = "pending", "fanning-out", "done", "cancelled"


@dataclass(frozen=True)
class NewBroadcast:
    template_id: uuid.UUID
    topic: str | None = None
    region: str | None = None
    personalisation: dict[str, Any] = field(default_factory=dict)
    priority: str = "normal"
    reference: str | None = None
    scheduled_for: datetime | None = None
    expires_at: datetime | None = None


@dataclass(frozen=True)
class Progress:
    broadcast: Broadcast
    counts: dict[str, int]


async def create(app: Warta, caller: Caller, new: NewBroadcast) -> Broadcast:
    # Long on purpose: every check before the one write, so a refused broadcast stores
    # nothing (team key, segment, times, template, content).
    if caller.key_type == "team":  # a segment cannot be held to the guest list
        raise team_key_refused()
    if not new.topic and not new.region:
        raise ValidationFailed("A broadcast needs a topic, a region or both")
    region = None
    if new.region:
        try:
            region = parse_region(new.region).code
        except InvalidInput as exc:
            raise ValidationFailed(exc.msgid, field=exc.field, **exc.values) from exc
    now = app.clock()
    check_times(now, new.scheduled_for, new.expires_at)
    if new.expires_at is not None and new.expires_at <= now:
        raise BadRequest("expires_at is in the past: nothing would be sent")
    template = await usable_template(app, caller, new.template_id)
    # One personalisation for everyone: a broadcast's text is the same for each citizen.
    contents = with_app_channels(render_all(template, new.personalisation))
    if not set(contents) & routing.deliverable(app):
        raise BadRequest("The template has no channel Warta can deliver")
    async with app.uow() as uow:
        if new.topic and await uow.citizens.topic(caller.agency.id, new.topic) is None:
            raise BadRequest("Topic %(slug)s not found", slug=repr(new.topic))
        broadcast = Broadcast(
            id=uuid.uuid4(),
            agency_id=caller.agency.id,
            api_key_id=caller.key_id,
            key_type=caller.key_type,
            template_id=template.id,
            template_version=template.version,
            topic=new.topic,
            region_prefix=region,
            priority=new.priority,
            reference=new.reference,
            content_enc=content.seal_channels(
                app.keyring, contents, field=attempts.BROADCAST_FIELD
            ),
            status=PENDING,
            scheduled_for=new.scheduled_for,
            expires_at=new.expires_at,
            recipients=0,
            # Fanned out at once (or when scheduled), by the queue or else the sweeper.
            lease_until=max(now, new.scheduled_for) if new.scheduled_for else now,
            created_at=now,
        )
        uow.broadcasts.add(broadcast)
        await uow.commit()
    if broadcast.lease_until is not None and broadcast.lease_until <= now:
        await app.queue.submit("fan_out", [broadcast.id])
    return broadcast


async def progress(app: Warta, caller: Caller, broadcast_id: uuid.UUID) -> Progress:
    async with app.uow() as uow:
        broadcast = await uow.broadcasts.get(caller.agency.id, broadcast_id)
        if broadcast is None:
            raise NotFound("Broadcast not found")
        return Progress(broadcast, await uow.broadcasts.counts(broadcast.id))


async def recent(app: Warta, caller: Caller, limit: int = 50) -> list[Progress]:
    """The agency's latest broadcasts, newest first, each with its counts."""
    async with app.uow() as uow:
        found = await uow.broadcasts.recent(caller.agency.id, limit)
        counts = await uow.broadcasts.counts_of(b.id for b in found)
    return [Progress(b, counts.get(b.id, {})) for b in found]


async def cancel(app: Warta, caller: Caller, broadcast_id: uuid.UUID) -> Progress:
    """Stop the fan-out and cancel every notification of it not yet handed to a provider."""
    now = app.clock()
    async with app.uow() as uow:
        broadcast = await uow.broadcasts.get(caller.agency.id, broadcast_id)
        if broadcast is None:
            raise NotFound("Broadcast not found")
        if broadcast.status == CANCELLED:
            raise BadRequest("The broadcast is already cancelled")
        broadcast.status = CANCELLED
        broadcast.completed_at = now
        broadcast.lease_until = None
        await uow.broadcasts.cancel_unsent(broadcast.id, now)
        await uow.commit()
        return Progress(broadcast, await uow.broadcasts.counts(broadcast.id))
