"""SMS parts, their receipts, and SMS opt-outs (BERHENTI, BERHENTI SEMUA)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, delete, select, tuple_

from warta.store.models import (
    SmsOptOut,
    SmsPart,
    SmsPlatformOptOut,
)
from warta.store.repositories.base import Repository

SMS_PARTS = cast(Table, SmsPart.__table__)


class SmsRepository(Repository):
    """SMS parts and their receipts, and numbers that opted out.

    Parts are written through the Core table: the ORM's bulk path cost more per row than
    the statement itself, and receipts and parts come by the hundred.
    """

    async def link_parts(self, rows: list[dict[str, Any]]) -> None:
        """Record sent parts (provider, reference, notification_id, part, status,
        sent_at), keeping any receipt that arrived first."""
        if not rows:
            return
        table = SMS_PARTS
        insert = self._insert(table)
        statement = insert.on_conflict_do_update(
            index_elements=[table.c.provider, table.c.reference],
            set_={
                "notification_id": insert.excluded.notification_id,
                "part": insert.excluded.part,
                "sent_at": insert.excluded.sent_at,
            },
        )
        # executemany: SQLAlchemy sends it as multi-row VALUES without recompiling per size.
        # In key order, as receipts are stored: two writers lock the parts in one order.
        await self.session.execute(
            statement, sorted(rows, key=lambda r: (r["provider"], r["reference"]))
        )

    async def record_receipts(
        self, receipts: Iterable[tuple[str, str, str, str | None]], now: datetime
    ) -> dict[tuple[str, str], tuple[uuid.UUID | None, datetime | None]]:
        """Store receipts (provider, reference, status, detail) in one statement; returns
        each part's notification and send time, if known yet, by (provider, reference).

        A part named twice keeps the later receipt, as if stored one after the other
        (PostgreSQL refuses to upsert one row twice in a statement)."""
        latest = {(p, r): (s, d) for p, r, s, d in receipts}
        if not latest:
            return {}
        table = SMS_PARTS
        insert = self._insert(table)
        statement = insert.on_conflict_do_update(
            index_elements=[table.c.provider, table.c.reference],
            set_={
                "status": insert.excluded.status,
                "detail": insert.excluded.detail,
                "receipt_at": insert.excluded.receipt_at,
            },
        ).returning(table.c.provider, table.c.reference, table.c.notification_id, table.c.sent_at)
        params = [
            {"provider": p, "reference": r, "status": s, "detail": d, "receipt_at": now}
            for (p, r), (s, d) in sorted(latest.items())  # in key order, as parts are linked
        ]
        result = await self.session.execute(statement, params)
        return {(row.provider, row.reference): (row.notification_id, row.sent_at) for row in result}

    async def parts_of(
        self, notification_ids: Iterable[uuid.UUID]
    ) -> dict[uuid.UUID, list[tuple[str, str | None]]]:
        """Each notification's parts as (status, detail)."""
        table = SMS_PARTS
        query = select(table.c.notification_id, table.c.status, table.c.detail).where(
            table.c.notification_id.in_(list(notification_ids))
        )
        parts: dict[uuid.UUID, list[tuple[str, str | None]]] = {}
        for row in await self.session.execute(query):
            if row.notification_id is not None:
                parts.setdefault(row.notification_id, []).append((row.status, row.detail))
        return parts

    async def notifications_of(
        self, provider: str, references: Iterable[str]
    ) -> dict[str, uuid.UUID]:
        """Which notification each of a provider's part references belongs to."""
        query = select(SmsPart.reference, SmsPart.notification_id).where(
            SmsPart.provider == provider, SmsPart.reference.in_(list(references))
        )
        return {
            row.reference: row.notification_id
            for row in await self.session.execute(query)
            if row.notification_id is not None
        }

    async def opted_out(self, pairs: Iterable[tuple[uuid.UUID, str]]) -> set[tuple[uuid.UUID, str]]:
        """The (agency, phone hash) pairs whose phone takes no non-urgent SMS from that
        agency: it replied BERHENTI to the agency, or BERHENTI SEMUA to any."""
        wanted = list(set(pairs))
        if not wanted:
            return set()
        query = select(SmsOptOut.agency_id, SmsOptOut.phone_hash).where(
            tuple_(SmsOptOut.agency_id, SmsOptOut.phone_hash).in_(wanted)
        )
        stopped = {(r.agency_id, r.phone_hash) for r in await self.session.execute(query)}
        everywhere = set(
            await self.session.scalars(
                select(SmsPlatformOptOut.phone_hash).where(
                    SmsPlatformOptOut.phone_hash.in_({h for _, h in wanted})
                )
            )
        )
        return stopped | {(a, h) for a, h in wanted if h in everywhere}

    async def opt_out(self, agency_id: uuid.UUID, phone_hash: str, now: datetime) -> None:
        insert = self._insert(SmsOptOut).values(
            agency_id=agency_id, phone_hash=phone_hash, created_at=now
        )
        await self.session.execute(insert.on_conflict_do_nothing())

    async def opt_in(self, agency_id: uuid.UUID, phone_hash: str) -> None:
        await self.session.execute(
            delete(SmsOptOut).where(
                SmsOptOut.agency_id == agency_id, SmsOptOut.phone_hash == phone_hash
            )
        )

    async def opt_out_everywhere(self, phone_hash: str, now: datetime) -> None:
        """BERHENTI SEMUA: no agency's non-urgent SMS to this phone."""
        insert = self._insert(SmsPlatformOptOut).values(phone_hash=phone_hash, created_at=now)
        await self.session.execute(insert.on_conflict_do_nothing())

    async def opt_in_everywhere(self, phone_hash: str) -> None:
        """MULAI SEMUA: lifts BERHENTI SEMUA (a stop sent to one agency stays)."""
        await self.session.execute(
            delete(SmsPlatformOptOut).where(SmsPlatformOptOut.phone_hash == phone_hash)
        )
