"""Callbacks owed to agencies."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select, update

from warta.store.models import (
    Callback,
    CaseEvent,
    Notification,
    ReceivedText,
)
from warta.store.repositories.base import Repository


class CallbackRepository(Repository):
    async def get(self, callback_id: uuid.UUID) -> Callback | None:
        return await self.session.get(Callback, callback_id)

    async def claim(
        self, callback_id: uuid.UUID, *, now: datetime, lease_until: datetime
    ) -> Callback | None:
        """Take a pending callback that is due, leasing it until ``lease_until``; None when
        it is not pending, not due, or another worker took it first.

        One conditional UPDATE, so a queued task and a sweep that both found the row due
        cannot both send it (reading first, then leasing, let both through)."""
        claimed = await self.session.execute(
            update(Callback)
            .where(
                Callback.id == callback_id,
                Callback.status == "pending",
                Callback.next_attempt_at <= now,
            )
            .values(next_attempt_at=lease_until, attempts=Callback.attempts + 1)
            .returning(Callback.id)
            .execution_options(synchronize_session=False)
        )
        if claimed.scalar_one_or_none() is None:
            return None
        return await self.session.get(Callback, callback_id, populate_existing=True)

    async def due_ids(self, now: datetime, limit: int) -> list[uuid.UUID]:
        query = (
            select(Callback.id)
            .where(Callback.status == "pending", Callback.next_attempt_at <= now)
            .order_by(Callback.next_attempt_at)
            .limit(limit)
        )
        return list((await self.session.scalars(query)).all())

    async def subject(self, callback: Callback) -> Notification | ReceivedText | CaseEvent | None:
        """What the callback reports: a notification's outcome, a text a citizen sent, or
        a change to one of the agency's cases."""
        if callback.case_event_id is not None:
            return await self.session.get(CaseEvent, callback.case_event_id)
        if callback.received_text_id is not None:
            return await self.session.get(ReceivedText, callback.received_text_id)
        return await self.session.get(Notification, callback.notification_id)
