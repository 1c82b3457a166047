"""DKIM keys: those of a domain, an owner's, and the ones that sign now."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import or_, select, update

from warta.store.models import DkimKey
from warta.store.repositories.base import Repository


class DkimKeyRepository(Repository):
    async def of_domain(self, domain: str) -> list[DkimKey]:
        """Every key of ``domain``, newest first, retired ones included."""
        query = select(DkimKey).where(DkimKey.domain == domain)
        return list((await self.session.scalars(query.order_by(DkimKey.created_at.desc()))).all())

    async def of_owner(self, agency_id: uuid.UUID | None) -> list[DkimKey]:
        """An agency's keys (None: Warta's own), by domain, newest first."""
        owner = DkimKey.agency_id.is_(None) if agency_id is None else DkimKey.agency_id == agency_id
        query = select(DkimKey).where(owner)
        ordered = query.order_by(DkimKey.domain, DkimKey.created_at.desc())
        return list((await self.session.scalars(ordered)).all())

    async def signing(self, now: datetime) -> list[DkimKey]:
        """The keys that sign at ``now`` (not retired yet), newest first: during a rotation
        a domain has two, and both sign until the older one's ``retired_at``."""
        live = or_(DkimKey.retired_at.is_(None), DkimKey.retired_at > now)
        query = select(DkimKey).where(live).order_by(DkimKey.created_at.desc())
        return list((await self.session.scalars(query)).all())

    async def retire(self, domain: str, at: datetime) -> None:
        """Every key of ``domain`` stops signing at ``at`` (if not sooner)."""
        later = or_(DkimKey.retired_at.is_(None), DkimKey.retired_at > at)
        await self.session.execute(
            update(DkimKey).where(DkimKey.domain == domain, later).values(retired_at=at)
        )
