"""Broadcasts, their fan-out and their progress."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update

from warta.domain import statuses
from warta.store import broadcast_batches as batches
from warta.store.models import (
    NOTIFICATIONS,
    Broadcast,
    Notification,
)
from warta.store.repositories.base import Repository

#: The broadcast statuses the fan-out moves through (``services.broadcasts`` has them all).
PENDING, FANNING_OUT, DONE = "pending", "fanning-out", "done"


class BroadcastRepository(Repository):
    async def due_ids(self, now: datetime) -> list[uuid.UUID]:
        """Broadcasts to fan out: new, scheduled and due, or whose worker's lease ran out."""
        query = select(Broadcast.id).where(
            Broadcast.status.in_((PENDING, FANNING_OUT)),
            Broadcast.lease_until.is_not(None),
            Broadcast.lease_until <= now,
        )
        return list((await self.session.scalars(query.limit(100))).all())

    async def contents(self, broadcast_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, bytes]:
        wanted = list(broadcast_ids)
        if not wanted:
            return {}
        query = select(Broadcast.id, Broadcast.content_enc).where(Broadcast.id.in_(wanted))
        return {row.id: row.content_enc for row in await self.session.execute(query)}

    async def get(self, agency_id: uuid.UUID, broadcast_id: uuid.UUID) -> Broadcast | None:
        row = await self.session.get(Broadcast, broadcast_id)
        return row if row is not None and row.agency_id == agency_id else None

    async def counts(self, broadcast_id: uuid.UUID) -> dict[str, int]:
        query = (
            select(Notification.status, func.count())
            .where(Notification.broadcast_id == broadcast_id)
            .group_by(Notification.status)
        )
        return {status: count for status, count in await self.session.execute(query)}

    async def recent(self, agency_id: uuid.UUID, limit: int) -> Sequence[Broadcast]:
        query = (
            select(Broadcast)
            .where(Broadcast.agency_id == agency_id)
            .order_by(Broadcast.created_at.desc())
            .limit(limit)
        )
        return (await self.session.scalars(query)).all()

    async def counts_of(
        self, broadcast_ids: Iterable[uuid.UUID]
    ) -> dict[uuid.UUID, dict[str, int]]:
        """``counts`` for many broadcasts in one query (the index covers it)."""
        wanted = list(broadcast_ids)
        if not wanted:
            return {}
        query = (
            select(Notification.broadcast_id, Notification.status, func.count())
            .where(Notification.broadcast_id.in_(wanted))
            .group_by(Notification.broadcast_id, Notification.status)
        )
        found: dict[uuid.UUID, dict[str, int]] = {}
        for broadcast_id, status, count in await self.session.execute(query):
            if broadcast_id is not None:  # always, by the WHERE; mypy cannot know
                found.setdefault(broadcast_id, {})[status] = count
        return found

    async def claim_fan_out(
        self, broadcast_id: uuid.UUID, now: datetime, lease_until: datetime
    ) -> tuple[Broadcast, bool] | None:
        """Take the broadcast to fan out, if it is due and no live worker holds it; with
        whether it was taken over with no cursor (so rows may exist that no cursor says)."""
        before = await self.session.get(Broadcast, broadcast_id)
        if before is None:
            return None
        uncharted = before.status == FANNING_OUT and before.cursor is None
        taken = await self.session.execute(
            update(Broadcast)
            .where(
                Broadcast.id == broadcast_id,
                Broadcast.status.in_((PENDING, FANNING_OUT)),
                Broadcast.lease_until.is_not(None),
                Broadcast.lease_until <= now,
            )
            .values(status=FANNING_OUT, lease_until=lease_until)
            .execution_options(synchronize_session=False)
        )
        if taken.rowcount != 1:  # type: ignore[attr-defined]
            return None
        await self.session.refresh(before)
        return before, uncharted

    async def get_any(self, broadcast_id: uuid.UUID) -> Broadcast | None:
        return await self.session.get(Broadcast, broadcast_id)

    async def hold(self, broadcast_id: uuid.UUID, lease_until: datetime) -> bool:
        """Extend the fan-out's lease, locking the broadcast's row until commit; False when
        it is no longer being fanned out."""
        return await self._move(broadcast_id, {"lease_until": lease_until})

    async def add_recipients(self, broadcast_id: uuid.UUID, count: int) -> None:
        await self.session.execute(
            update(Broadcast)
            .where(Broadcast.id == broadcast_id)
            .values(recipients=Broadcast.recipients + count)
            .execution_options(synchronize_session=False)
        )

    async def advance(
        self, broadcast_id: uuid.UUID, cursor: uuid.UUID, recipients: int, lease_until: datetime
    ) -> bool:
        """Move the fan-out's cursor past a batch and extend its lease; False when the
        broadcast is no longer being fanned out (cancelled, or taken over)."""
        values = {"cursor": cursor, "recipients": recipients, "lease_until": lease_until}
        return await self._move(broadcast_id, values)

    async def finish_fan_out(
        self,
        broadcast_id: uuid.UUID,
        cursor: uuid.UUID | None,
        recipients: int | None,
        now: datetime,
    ) -> bool:
        """The fan-out is done, if it is still being fanned out (``recipients`` None: as
        counted, by ranges)."""
        values: dict[str, Any] = {"status": DONE, "lease_until": None, "completed_at": now}
        if recipients is not None:
            values |= {"cursor": cursor, "recipients": recipients}
        return await self._move(broadcast_id, values)

    async def _move(self, broadcast_id: uuid.UUID, values: dict[str, Any]) -> bool:
        moved = await self.session.execute(
            update(Broadcast)
            .where(Broadcast.id == broadcast_id, Broadcast.status == FANNING_OUT)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return bool(moved.rowcount)  # type: ignore[attr-defined]

    async def cancel_unsent(self, broadcast_id: uuid.UUID, now: datetime) -> None:
        """Cancel the broadcast's notifications not yet handed to a provider."""
        await self.session.execute(
            update(NOTIFICATIONS)
            .where(
                NOTIFICATIONS.c.broadcast_id == broadcast_id,
                NOTIFICATIONS.c.status == statuses.CREATED,
            )
            .values(
                status=statuses.CANCELLED,
                lease_until=None,
                completed_at=now,
                updated_at=now,
                failure_reason="broadcast cancelled",
            )
        )

    # The fan-out's batches, close to the driver: see ``store/broadcast_batches.py``.

    async def segment_batch(
        self,
        broadcast: Broadcast,
        after: uuid.UUID | None,
        size: int,
        upto: uuid.UUID | None = None,
    ) -> list[Any]:
        """The next ``size`` citizens of the segment after ``after`` (``batches.read``)."""
        return await batches.read(self.session, broadcast, after, size, upto)

    async def reached(
        self, broadcast_id: uuid.UUID, after: uuid.UUID | None, last: uuid.UUID
    ) -> set[Any]:
        """Citizens in a batch's range who have a row of this broadcast (``batches.reached``)."""
        return await batches.reached(self.session, broadcast_id, after, last)

    async def capped_sends(
        self, after: uuid.UUID | None, last: uuid.UUID, since: datetime
    ) -> list[tuple[Any, datetime]]:
        """What caps count for a batch (``batches.sent_between``)."""
        return await batches.sent_between(self.session, after, last, since)

    def row_writer(self) -> batches.Rows:
        """Notification rows converted for this database, written by ``write_rows``."""
        return batches.Rows(self.session.get_bind().dialect)

    async def write_rows(self, writer: batches.Rows, rows: Sequence[tuple[Any, ...]]) -> None:
        await writer.write(self.session, rows)
