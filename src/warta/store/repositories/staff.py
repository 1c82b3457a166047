"""Console staff and their sessions."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import delete, select

from warta.store.models import (
    Staff,
    StaffSession,
)
from warta.store.repositories.base import Repository


class StaffRepository(Repository):
    async def get(self, staff_id: uuid.UUID) -> Staff | None:
        return await self.session.get(Staff, staff_id)

    async def by_email_hash(self, hashes: Sequence[str]) -> Staff | None:
        return await self.session.scalar(select(Staff).where(Staff.email_hash.in_(hashes)))

    async def of_agency(self, agency_id: uuid.UUID) -> Sequence[Staff]:
        query = (
            select(Staff)
            .where(Staff.agency_id == agency_id, Staff.removed_at.is_(None))
            .order_by(Staff.created_at)
        )
        return (await self.session.scalars(query)).all()

    async def session_of(self, token_hash: str) -> StaffSession | None:
        return await self.session.get(StaffSession, token_hash)

    async def end_session(self, token_hash: str) -> None:
        await self.session.execute(
            delete(StaffSession).where(StaffSession.token_hash == token_hash)
        )

    async def end_sessions_of(self, staff_id: uuid.UUID) -> None:
        await self.session.execute(delete(StaffSession).where(StaffSession.staff_id == staff_id))
