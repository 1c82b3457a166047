"""Notifications: sends and bulk jobs, paging, the console's search and counts, claims
with leases, outcomes, reads. What happens after the send is in ``settling.py``."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row, and_, bindparam, case, func, or_, select, tuple_, update

from warta.store.models import (
    NOTIFICATIONS,
    Agency,
    Job,
    Notification,
)
from warta.store.repositories.paging import newest_first
from warta.store.repositories.settling import SettlingQueries

STATUS_ALIASES = {
    "failed": ["technical-failure", "temporary-failure", "permanent-failure"],
    "sending": ["sending", "pending"],
}

_COLUMNS = [c.key for c in NOTIFICATIONS.columns]
_COLUMN_KINDS = [type(c.type).__name__ for c in NOTIFICATIONS.columns]
# SQLite keeps UUIDs as 32 hex digits and times as naive UTC (see UtcDateTime).
_SQLITE_CONVERTERS: dict[str, Any] = {
    "Uuid": lambda v: v.hex,
    "UtcDateTime": lambda v: v.astimezone(UTC).replace(tzinfo=None),
}


# What a worker needs of a row it claims.
ClaimedRow = Row[*tuple[Any, ...]]
CLAIMED = (
    Notification.id,
    Notification.agency_id,
    Notification.type,
    Notification.attempts,
    Notification.simulate,
    Notification.sender,
    Notification.recipient_enc,
    Notification.content_enc,
    Notification.recipient_hash,
    Notification.priority,
    Notification.citizen_id,
    Notification.message_id,
    Notification.broadcast_id,
    Notification.topic,
    Notification.expires_at,
    Notification.digest,
    Notification.routing,
    Notification.created_at,
    # The other channels' content: what the last routing look may choose among.
    Notification.alternatives_enc,
)


class NotificationRepository(SettlingQueries):
    """Notifications: sends, paging, claims with leases, outcomes; ``SettlingQueries``
    adds what receipts and escalation need."""

    async def job_counts(self, job_id: uuid.UUID) -> dict[str, int]:
        query = (
            select(Notification.status, func.count())
            .where(Notification.job_id == job_id)
            .group_by(Notification.status)
        )
        return {status: count for status, count in await self.session.execute(query)}

    async def add_job(self, job: Job) -> None:
        """Store a bulk job before its rows, which ``insert_many`` writes through the
        driver, past the session: they must find the job there (a foreign key)."""
        self.session.add(job)
        await self.session.flush()

    async def job(self, agency_id: uuid.UUID, job_id: uuid.UUID) -> Job | None:
        row = await self.session.get(Job, job_id)
        return row if row is not None and row.agency_id == agency_id else None

    async def insert_many(self, rows: list[dict[str, Any]]) -> None:
        """Insert rows (dicts holding every column) through the driver's executemany.

        The fan-out's hot path: at a million rows SQLAlchemy's per-value bind processing
        cost more than the inserts, so its two conversions (UUIDs, aware UTC times) are
        done here and the statement goes to the driver as is.
        """
        if not rows:
            return
        connection = await self.session.connection()
        dialect = connection.dialect
        sqlite_style = dialect.name == "sqlite"
        marker = "?" if dialect.paramstyle == "qmark" else "%s"
        sql = (
            f"INSERT INTO {NOTIFICATIONS.name} ({', '.join(_COLUMNS)}) "
            f"VALUES ({', '.join([marker] * len(_COLUMNS))})"
        )
        convert = [_SQLITE_CONVERTERS.get(kind) if sqlite_style else None for kind in _COLUMN_KINDS]
        # Column by column: most of a broadcast's columns hold one value for every row
        # (agency, template, times), converted once. A column a row leaves out is NULL,
        # as an ORM insert would make it.
        columns = []
        for column, fn in zip(_COLUMNS, convert, strict=True):
            values = [row.get(column) for row in rows]
            first = values[0]
            if fn is None:
                columns.append(values)
            elif all(v is first for v in values):
                columns.append([None if first is None else fn(first)] * len(values))
            else:
                columns.append([None if v is None else fn(v) for v in values])
        params = list(zip(*columns, strict=True))
        await connection.exec_driver_sql(sql, params)

    async def mark_read(self, message_ids: Iterable[uuid.UUID], now: datetime) -> int:
        """Every attempt of these messages is read: escalation stops. Returns rows changed."""
        wanted = list(set(message_ids))
        if not wanted:
            return 0
        result = await self.session.execute(
            update(NOTIFICATIONS)
            .where(NOTIFICATIONS.c.message_id.in_(wanted), NOTIFICATIONS.c.read_at.is_(None))
            .values(read_at=now, escalate_at=None)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def messages_of(self, provider: str, references: Iterable[str]) -> set[uuid.UUID]:
        """The citizen messages whose attempts a provider knows by these message ids."""
        query = select(Notification.message_id).where(
            Notification.provider == provider,
            Notification.provider_reference.in_(list(set(references))),
        )
        return {m for m in (await self.session.scalars(query)).all() if m is not None}

    async def attempts(self, message_id: uuid.UUID) -> Sequence[Notification]:
        """Every attempt of one message to a citizen, first first."""
        query = (
            select(Notification)
            .where(Notification.message_id == message_id)
            .order_by(Notification.created_at, Notification.id)
        )
        return (await self.session.scalars(query)).all()

    async def get(self, agency_id: uuid.UUID, notification_id: uuid.UUID) -> Notification | None:
        row = await self.session.get(Notification, notification_id)
        return row if row is not None and row.agency_id == agency_id else None

    async def page(
        self,
        agency_id: uuid.UUID,
        *,
        test_only: bool,
        template_type: str | None,
        statuses: Iterable[str],
        reference: str | None,
        older_than: Notification | None,
        limit: int,
    ) -> Sequence[Notification]:
        key_filter = Notification.key_type == "test"
        query = select(Notification).where(
            Notification.agency_id == agency_id, key_filter if test_only else ~key_filter
        )
        if template_type:
            query = query.where(Notification.type == template_type)
        wanted = [s for status in statuses for s in STATUS_ALIASES.get(status, [status])]
        if wanted:
            query = query.where(Notification.status.in_(wanted))
        if reference is not None:
            query = query.where(Notification.reference == reference)
        query = newest_first(query, Notification, older_than, limit)
        return (await self.session.scalars(query)).all()

    async def search(
        self,
        agency_id: uuid.UUID,
        *,
        recipient_hashes: list[str] | None,
        reference: str | None,
        template_id: uuid.UUID | None,
        status: str | None,
        channel: str | None,
        older_than: Notification | None,
        limit: int,
    ) -> Sequence[Notification]:
        """The console's search over every key's sends; a filter given as None is left out."""
        query = select(Notification).where(Notification.agency_id == agency_id)
        if recipient_hashes is not None:
            query = query.where(Notification.recipient_hash.in_(recipient_hashes))
        if reference is not None:
            query = query.where(Notification.reference == reference)
        if template_id is not None:
            query = query.where(Notification.template_id == template_id)
        if status is not None:
            query = query.where(Notification.status.in_(STATUS_ALIASES.get(status, [status])))
        if channel is not None:
            query = query.where(Notification.type == channel)
        query = newest_first(query, Notification, older_than, limit)
        return (await self.session.scalars(query)).all()

    async def daily_counts(
        self, agency_id: uuid.UUID, bounds: Sequence[datetime]
    ) -> list[tuple[str, str, int, int]]:
        """(channel, status, day, count) of the agency's sends, test keys left out, created
        between the first and last of ``bounds``; ``day`` numbers the spans between them.

        One GROUP BY: the day is a CASE over the bounds, the same SQL on SQLite and
        PostgreSQL (their date functions differ), and the range uses the (agency, key
        type, created) index."""
        n = Notification
        days = len(bounds) - 1
        day = case(*((n.created_at < b, i) for i, b in enumerate(bounds[1:-1])), else_=days - 1)
        rows = (
            select(n.type, n.status, day.label("day"))
            .where(
                n.agency_id == agency_id,
                n.key_type != "test",
                n.created_at >= bounds[0],
                n.created_at < bounds[-1],
            )
            .subquery()
        )  # grouped outside: PostgreSQL would not match two copies of a parametrised CASE
        query = select(rows.c.type, rows.c.status, rows.c.day, func.count()).group_by(
            rows.c.type, rows.c.status, rows.c.day
        )
        return [(t, s, d, c) for t, s, d, c in await self.session.execute(query)]

    async def last_platform_texter(
        self, phone_hashes: Iterable[str], since: datetime
    ) -> Agency | None:
        """The agency that last texted this phone from the platform's sender id (an agency
        with no sender id of its own) since ``since``: whom a reply to ``WARTA`` is for.
        Only SMS handed to a provider count; test keys send nothing."""
        query = (
            select(Agency)
            .join(Notification, Notification.agency_id == Agency.id)
            .where(
                Notification.recipient_hash.in_(list(phone_hashes)),
                Notification.type == "sms",
                Notification.key_type != "test",
                Notification.sent_at >= since,
                Agency.sms_sender.is_(None),
            )
            .order_by(Notification.sent_at.desc())
            .limit(1)
        )
        return (await self.session.scalars(query)).first()

    async def count_created_since(self, agency_id: uuid.UUID, since: datetime) -> int:
        query = select(func.count(Notification.id)).where(
            Notification.agency_id == agency_id,
            Notification.key_type != "test",
            Notification.created_at >= since,
        )
        return int(await self.session.scalar(query) or 0)

    async def claim(
        self,
        ids: Sequence[uuid.UUID],
        *,
        now: datetime,
        lease_until: datetime,
        owner: str | None = None,
    ) -> Sequence[ClaimedRow]:
        """Take the rows no one else owns: fresh ones, or ones whose lease has run out;
        ``owner`` (``name#boot``) is written into the lease.

        Plain rows, not ORM objects: a worker reads them once, and hydrating a hundred
        entities per batch was a visible share of delivery time.
        """
        unowned = or_(
            Notification.status == "created",
            and_(
                Notification.status == "sending",
                Notification.lease_until.is_not(None),
                Notification.lease_until <= now,
            ),
        )
        return await self._claim(and_(Notification.id.in_(ids), unowned), now, lease_until, owner)

    async def lock_digest_citizens(self, ids: Sequence[uuid.UUID]) -> None:
        """Before claiming ``ids``: on PostgreSQL, take a transaction lock on each citizen
        one of them is a digest row of, so two workers never split one digest.

        Without it, two workers handed two rows of one digest (a batch of 1, or two
        sweeps) each claim one, each find the other's row locked, and send two digests.
        With it the second waits, then finds every row claimed. Locks are taken in order
        (no deadlock) and are advisory, keyed by the citizen id's first 64 bits (a clash
        only makes a worker wait). SQLite needs none: its writers already go one at a time,
        and the claim is each transaction's first write.
        """
        if self.session.get_bind().dialect.name != "postgresql" or not ids:
            return
        query = select(Notification.citizen_id).where(
            Notification.id.in_(ids), Notification.digest, Notification.citizen_id.is_not(None)
        )
        citizens = {c for c in (await self.session.scalars(query.distinct())).all() if c}
        keys = sorted(int.from_bytes(c.bytes[:8], "big", signed=True) for c in citizens)
        for key in keys:
            await self.session.execute(select(func.pg_advisory_xact_lock(key)))

    async def claim_digest_due(
        self,
        wanted: Iterable[tuple[uuid.UUID, str]],
        *,
        besides: Iterable[uuid.UUID],
        now: datetime,
        lease_until: datetime,
        owner: str | None = None,
    ) -> Sequence[ClaimedRow]:
        """Also take every due digest row of these (citizen, channel) pairs that is not
        among ``besides`` (the batch already claimed), so a batch boundary never splits a
        citizen's digest.

        Stricter than ``claim``: a ``created`` row counts only once its lease has passed
        (a later lease is a later digest, or a row another queue is about to hand over),
        and on PostgreSQL rows another worker has locked are skipped, not waited for.
        """
        pairs = list(set(wanted))
        if not pairs:
            return []
        due = and_(
            tuple_(Notification.citizen_id, Notification.type).in_(pairs),
            Notification.digest,
            Notification.simulate.is_(None),
            Notification.status.in_(("created", "sending")),
            Notification.lease_until.is_not(None),
            Notification.lease_until <= now,
        )
        skip = list(besides)
        if skip:
            due = and_(due, Notification.id.not_in(skip))
        query = select(Notification.id).where(due).with_for_update(skip_locked=True)
        ids = list((await self.session.scalars(query)).all())
        if not ids:
            return []
        return await self._claim(and_(Notification.id.in_(ids), due), now, lease_until, owner)

    async def _claim(
        self, where: Any, now: datetime, lease_until: datetime, owner: str | None
    ) -> Sequence[ClaimedRow]:
        table = NOTIFICATIONS
        query = (
            update(table)
            .where(where)
            .values(
                status="sending",
                attempts=Notification.attempts + 1,
                lease_until=lease_until,
                lease_owner=owner,
                sent_at=func.coalesce(Notification.sent_at, now),
                updated_at=now,
            )
            .returning(*CLAIMED)
        )
        return (await self.session.execute(query)).all()

    async def save_outcomes(self, rows: list[dict[str, Any]]) -> None:
        """UPDATE by primary key, one executemany per set of changed columns; each dict
        holds ``id`` and the columns it changes."""
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for row in rows:
            groups.setdefault(tuple(sorted(row)), []).append(row)
        table = NOTIFICATIONS
        for columns, group in groups.items():
            statement = (
                update(table)
                .where(table.c.id == bindparam("_id"))
                .values({c: bindparam(c) for c in columns if c != "id"})
            )
            params = [{**{c: r[c] for c in columns if c != "id"}, "_id": r["id"]} for r in group]
            await self.session.execute(statement, params)

    async def due(
        self, now: datetime, limit: int, *, requeue_at: datetime | None = None
    ) -> list[tuple[uuid.UUID, str, str]]:
        """Rows whose lease has passed, soonest first, as (id, type, priority): what the
        sweeper queues, each in its lane. With ``requeue_at``, the ``created`` ones are
        leased to the queue until then (below)."""
        query = (
            select(Notification.id, Notification.type, Notification.priority)
            .where(
                Notification.status.in_(("created", "sending")),
                Notification.lease_until.is_not(None),
                Notification.lease_until <= now,
            )
            .order_by(Notification.lease_until)
            .limit(limit)
        )
        due = [(row.id, row.type, row.priority) for row in await self.session.execute(query)]
        if due and requeue_at is not None:
            # Queued again: a ``created`` row (not yet claimed, so nobody's) now belongs to
            # the queue until ``requeue_at``, so the next sweeps do not queue it again
            # while it waits its turn behind a backlog (as the first queue's lease did).
            # Not digest rows: a due one must stay due to be claimed with its companions.
            await self.session.execute(
                update(Notification)
                .where(
                    Notification.id.in_([d[0] for d in due]),
                    Notification.status == "created",
                    Notification.digest.is_(False),
                )
                .values(lease_until=requeue_at)
                .execution_options(synchronize_session=False)
            )
        return due

    async def release(self, ids: Sequence[uuid.UUID], now: datetime, owner: str) -> None:
        """Hand back those of ``ids`` still leased to ``owner``, so the next worker (or the
        next start) takes them at once. Rows whose outcome is written are no longer
        ``owner``'s (a retry's lease, a receipt awaited) and keep what they have."""
        await self.session.execute(
            update(Notification)
            .where(
                Notification.id.in_(ids),
                Notification.status.in_(("created", "sending")),
                Notification.lease_owner == owner,
                Notification.lease_until > now,
            )
            .values(lease_until=now, lease_owner=None)
            .execution_options(synchronize_session=False)
        )

    async def reclaim(self, name: str, *, owner: str, now: datetime) -> int:
        """A restarted worker takes back the rows that ``name``'s earlier boots held
        (claimed, or waiting in their queue) and that are still leased: they become due
        now instead of when the dead boot's lease runs out. ``owner`` (this boot's) and
        every other name are left alone. Returns how many rows."""
        result = await self.session.execute(
            update(Notification)
            .where(
                Notification.status.in_(("created", "sending")),
                Notification.lease_until > now,
                Notification.lease_owner.startswith(f"{name}#", autoescape=True),
                Notification.lease_owner != owner,
            )
            .values(lease_until=now, lease_owner=None)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0)
