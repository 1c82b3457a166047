"""Callbacks owed to agencies."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select

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
