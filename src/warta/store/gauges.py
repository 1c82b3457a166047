"""What ``GET /metrics`` reads from the database at each scrape (``warta.metrics``): two
grouped counts, by index, so a scrape stays cheap while millions of rows wait."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from warta.store.models import Broadcast, Notification
from warta.store.repositories.broadcasts import FANNING_OUT
from warta.store.uow import UnitOfWork


async def queue_due(uow: UnitOfWork, now: datetime) -> dict[tuple[str, str], int]:
    """Rows a worker should take now, by (status, channel): the sweeper's condition
    (``NotificationRepository.due_ids``), counted instead of listed."""
    query = (
        select(Notification.status, Notification.type, func.count())
        .where(
            Notification.status.in_(("created", "sending")),
            Notification.lease_until.is_not(None),
            Notification.lease_until <= now,
        )
        .group_by(Notification.status, Notification.type)
    )
    return {(status, kind): count for status, kind, count in await uow.session.execute(query)}


async def fan_outs(uow: UnitOfWork) -> dict[str, int]:
    """Rows written so far per broadcast being fanned out, by broadcast id."""
    query = select(Broadcast.id, Broadcast.recipients).where(Broadcast.status == FANNING_OUT)
    return {str(id_): written for id_, written in await uow.session.execute(query)}
