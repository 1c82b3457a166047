"""One-time codes sent, wrong guesses and used challenges, by the keyed hash of what they
concern: the counts the limits in ``domain/limits.py`` are checked against
(``services/code_limits.py``)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import case, delete, func, select

from warta.store.models import CodeEvent
from warta.store.repositories.base import Repository

#: A code sent, a wrong guess at one, a challenge used (it signs in once).
CodeKind = Literal["sent", "wrong", "used"]


class CodeEventRepository(Repository):
    async def hold(self, keys: Sequence[str], *, older_than: datetime) -> None:
        """Make this transaction the only one checking these keys until it ends, dropping
        their events older than ``older_than`` on the way.

        Count-then-record is a race otherwise: two requests at once both count two codes
        and both send a third, or both find four wrong guesses and both check a code. On
        PostgreSQL each key takes a transaction-scoped advisory lock (in order, so two
        holders never deadlock; a clash of two keys' first 64 bits only makes one wait).
        On SQLite the delete does it: it is the transaction's first write (pysqlite opens
        the transaction there, so no earlier read left a stale snapshot), and SQLite's
        one write lock is then held until commit.
        """
        ordered = sorted(set(keys))
        if self.session.get_bind().dialect.name == "postgresql":
            for key in ordered:
                lock = int.from_bytes(bytes.fromhex(key[:16]), "big", signed=True)
                await self.session.execute(select(func.pg_advisory_xact_lock(lock)))
        await self.session.execute(
            delete(CodeEvent).where(
                CodeEvent.key_hash.in_(ordered), CodeEvent.created_at < older_than
            )
        )

    async def sent_counts(
        self, keys: Sequence[str], spans: Sequence[timedelta], now: datetime
    ) -> dict[str, dict[timedelta, int]]:
        """Codes sent to each key in the last ``span``, for each span: one query."""
        columns = [
            func.sum(case((CodeEvent.created_at > now - span, 1), else_=0)) for span in spans
        ]
        query = (
            select(CodeEvent.key_hash, *columns)
            .where(
                CodeEvent.key_hash.in_(list(keys)),
                CodeEvent.kind == "sent",
                CodeEvent.created_at > now - max(spans),
            )
            .group_by(CodeEvent.key_hash)
        )
        counts = {key: dict.fromkeys(spans, 0) for key in keys}
        for key, *sums in (await self.session.execute(query)).all():
            counts[key] = {span: int(n or 0) for span, n in zip(spans, sums, strict=True)}
        return counts

    async def times(self, key: str, kind: CodeKind, since: datetime) -> list[datetime]:
        """When this key's events of this kind happened after ``since``, oldest first."""
        query = (
            select(CodeEvent.created_at)
            .where(CodeEvent.key_hash == key, CodeEvent.kind == kind, CodeEvent.created_at > since)
            .order_by(CodeEvent.created_at)
        )
        return list((await self.session.scalars(query)).all())

    async def happened(self, key: str, kind: CodeKind) -> bool:
        """Has this key an event of this kind (a challenge that was used)?"""
        query = select(CodeEvent.id).where(CodeEvent.key_hash == key, CodeEvent.kind == kind)
        return await self.session.scalar(query.limit(1)) is not None

    def record(self, key: str, kind: CodeKind, now: datetime) -> None:
        """Written with the caller's commit."""
        self.session.add(CodeEvent(id=uuid.uuid4(), key_hash=key, kind=kind, created_at=now))

    async def delete_older_than(self, before: datetime) -> int:
        """The sweeper's cleanup: events no limit looks at any more."""
        result = await self.session.execute(delete(CodeEvent).where(CodeEvent.created_at < before))
        return int(getattr(result, "rowcount", 0) or 0)
