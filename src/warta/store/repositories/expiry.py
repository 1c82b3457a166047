"""SMS that a provider accepted and never confirmed: found for ``services.expiry``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select

from warta.domain import statuses
from warta.store.models import NOTIFICATIONS
from warta.store.repositories.base import Repository
from warta.store.repositories.settling import SettlingRow


class ExpiryRepository(Repository):
    async def lock_unreceipted_sms(
        self, sent_before: datetime, *, limit: int
    ) -> Sequence[SettlingRow]:
        """SMS sent before ``sent_before`` and still awaiting their receipt (``sending``, no
        lease), as (id, agency_id, citizen_id): up to ``limit``, locked until commit,
        skipping rows a receipt is settling right now. Reads through the (status,
        lease_until) index: only rows awaiting receipts are looked at."""
        table = NOTIFICATIONS
        query = (
            select(table.c.id, table.c.agency_id, table.c.citizen_id)
            .where(
                table.c.status == statuses.SENDING,
                table.c.lease_until.is_(None),
                table.c.type == "sms",
                table.c.sent_at < sent_before,
            )
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return (await self.session.execute(query)).all()
