"""Citizens' portal sessions, by the hash of their token."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, select

from warta.store.models import Citizen, PortalSession
from warta.store.repositories.base import Repository


class PortalSessionRepository(Repository):
    async def citizen_of(self, token_hash: str, now: datetime) -> uuid.UUID | None:
        """The citizen of a live session, while they are registered (erasure deletes their
        sessions with them; the join makes sure of it)."""
        query = (
            select(PortalSession.citizen_id)
            .join(Citizen, Citizen.id == PortalSession.citizen_id)
            .where(PortalSession.token_hash == token_hash, PortalSession.expires_at > now)
        )
        return await self.session.scalar(query)

    async def end(self, token_hash: str) -> bool:
        """End one session; False when there was none."""
        result = await self.session.execute(
            delete(PortalSession).where(PortalSession.token_hash == token_hash)
        )
        return int(getattr(result, "rowcount", 0) or 0) > 0

    async def end_all_of(self, citizen_id: uuid.UUID) -> None:
        await self.session.execute(
            delete(PortalSession).where(PortalSession.citizen_id == citizen_id)
        )

    async def drop_expired(self, now: datetime) -> None:
        await self.session.execute(delete(PortalSession).where(PortalSession.expires_at <= now))
