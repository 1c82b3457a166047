"""Agencies, their API keys and guest lists."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence

from sqlalchemy import select

from warta.store.models import (
    Agency,
    ApiKey,
    GuestListEntry,
)
from warta.store.repositories.base import Repository


class AgencyRepository(Repository):
    async def get(self, agency_id: uuid.UUID) -> Agency | None:
        return await self.session.get(Agency, agency_id)

    async def by_name(self, name: str) -> Agency | None:
        return await self.session.scalar(select(Agency).where(Agency.name == name))

    async def by_sms_sender(self, sender: str) -> Agency | None:
        """The agency whose own SMS sender id this is, in any case (one at most)."""
        query = select(Agency).where(Agency.sms_sender_key == sender.upper())
        return await self.session.scalar(query)

    async def create(self, agency: Agency, keys: Iterable[ApiKey]) -> None:
        self.session.add(agency)
        await self.session.flush()  # no ORM relationship orders the keys after their agency
        self.session.add_all(keys)

    async def all(self) -> Sequence[Agency]:
        return (await self.session.scalars(select(Agency).order_by(Agency.created_at))).all()

    async def keys(self, agency_id: uuid.UUID) -> Sequence[ApiKey]:
        query = select(ApiKey).where(ApiKey.agency_id == agency_id).order_by(ApiKey.created_at)
        return (await self.session.scalars(query)).all()

    async def key(self, key_id: uuid.UUID) -> ApiKey | None:
        return await self.session.get(ApiKey, key_id)

    async def on_guest_list(self, agency_id: uuid.UUID, hashes: list[str]) -> bool:
        query = select(GuestListEntry.id).where(
            GuestListEntry.agency_id == agency_id, GuestListEntry.recipient_hash.in_(hashes)
        )
        return (await self.session.scalar(query.limit(1))) is not None
