"""Texts citizens sent to agencies, and those no agency is for (``agency_id`` NULL)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select

from warta.store.models import Callback, ReceivedText
from warta.store.repositories.base import Repository


class ReceivedTextRepository(Repository):
    async def store(self, row: ReceivedText, forward: Callback | None) -> None:
        """The text, and the callback that forwards it to the agency if it has one."""
        self.session.add(row)
        if forward is not None:
            await self.session.flush()  # no ORM relationship orders the callback after it
            self.session.add(forward)

    async def page(
        self, agency_id: uuid.UUID, older_than: ReceivedText | None, limit: int
    ) -> Sequence[ReceivedText]:
        query = select(ReceivedText).where(ReceivedText.agency_id == agency_id)
        if older_than is not None:
            query = query.where(ReceivedText.created_at < older_than.created_at)
        query = query.order_by(ReceivedText.created_at.desc()).limit(limit)
        return (await self.session.scalars(query)).all()

    async def get(self, agency_id: uuid.UUID, text_id: uuid.UUID) -> ReceivedText | None:
        row = await self.session.get(ReceivedText, text_id)
        return row if row is not None and row.agency_id == agency_id else None

    async def unclaimed_from(self, phone_hash: str, since: datetime) -> bool:
        """Whether this phone sent a text no agency was for (kept for the platform) since
        ``since``."""
        query = select(ReceivedText.id).where(
            ReceivedText.agency_id.is_(None),
            ReceivedText.created_at >= since,
            ReceivedText.user_number_hash == phone_hash,
        )
        return (await self.session.scalar(query.limit(1))) is not None
