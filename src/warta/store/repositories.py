"""Repositories: the queries Warta needs, named for what they mean."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Row, Table, and_, bindparam, delete, func, or_, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from warta.store.models import (
    NOTIFICATIONS,
    Agency,
    AgencyCitizen,
    ApiKey,
    Broadcast,
    Callback,
    Citizen,
    CitizenContact,
    Consent,
    GuestListEntry,
    Notification,
    OptOut,
    ReceivedText,
    SmsOptOut,
    SmsPart,
    Staff,
    StaffSession,
    Template,
    TemplateVersion,
    Topic,
    TopicSubscription,
)


class _Repository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, *rows: object) -> None:
        self.session.add_all(rows)

    def _insert(self, table: Any) -> Any:
        # Both dialects spell upsert the same way, from different modules.
        dialect = self.session.get_bind().dialect.name
        return (postgresql if dialect == "postgresql" else sqlite).insert(table)


class AgencyRepository(_Repository):
    async def get(self, agency_id: uuid.UUID) -> Agency | None:
        return await self.session.get(Agency, agency_id)

    async def by_name(self, name: str) -> Agency | None:
        return await self.session.scalar(select(Agency).where(Agency.name == name))

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


class TemplateRepository(_Repository):
    async def get(self, agency_id: uuid.UUID, template_id: uuid.UUID) -> Template | None:
        template = await self.session.get(Template, template_id)
        if template is None or template.agency_id != agency_id:
            return None
        return template

    async def version(
        self, agency_id: uuid.UUID, template_id: uuid.UUID, version: int
    ) -> tuple[Template, TemplateVersion] | None:
        template = await self.get(agency_id, template_id)
        if template is None:
            return None
        found = await self.session.get(TemplateVersion, (template_id, version))
        return None if found is None else (template, found)

    async def for_agency(
        self, agency_id: uuid.UUID, template_type: str | None
    ) -> Sequence[Template]:
        query = select(Template).where(Template.agency_id == agency_id, ~Template.archived)
        if template_type:
            query = query.where(Template.type == template_type)
        return (await self.session.scalars(query.order_by(Template.name))).all()

    async def system(self, agency_id: uuid.UUID, name: str, kind: str) -> Template | None:
        """One of Warta's own (archived) templates for this agency, by name and type."""
        query = select(Template).where(
            Template.agency_id == agency_id,
            Template.name == name,
            Template.type == kind,
            Template.archived,
        )
        return await self.session.scalar(query.limit(1))


# Notify's "failed" filter stands for every failure status.
STATUS_ALIASES = {
    "failed": ["technical-failure", "temporary-failure", "permanent-failure"],
    "sending": ["sending", "pending"],
}


SMS_PARTS = cast(Table, SmsPart.__table__)

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
)


class NotificationRepository(_Repository):
    async def job_counts(self, job_id: uuid.UUID) -> dict[str, int]:
        query = (
            select(Notification.status, func.count())
            .where(Notification.job_id == job_id)
            .group_by(Notification.status)
        )
        return {status: count for status, count in await self.session.execute(query)}

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
        if older_than is not None:
            query = query.where(
                or_(
                    Notification.created_at < older_than.created_at,
                    and_(
                        Notification.created_at == older_than.created_at,
                        Notification.id < older_than.id,
                    ),
                )
            )
        query = query.order_by(Notification.created_at.desc(), Notification.id.desc())
        return (await self.session.scalars(query.limit(limit))).all()

    async def count_created_since(self, agency_id: uuid.UUID, since: datetime) -> int:
        query = select(func.count(Notification.id)).where(
            Notification.agency_id == agency_id,
            Notification.key_type != "test",
            Notification.created_at >= since,
        )
        return int(await self.session.scalar(query) or 0)

    async def claim(
        self, ids: Sequence[uuid.UUID], *, now: datetime, lease_until: datetime
    ) -> Sequence[ClaimedRow]:
        """Take the rows no one else owns: fresh ones, or ones whose lease has run out.

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
        return await self._claim(and_(Notification.id.in_(ids), unowned), now, lease_until)

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
        return await self._claim(and_(Notification.id.in_(ids), due), now, lease_until)

    async def _claim(
        self, where: Any, now: datetime, lease_until: datetime
    ) -> Sequence[ClaimedRow]:
        table = NOTIFICATIONS
        query = (
            update(table)
            .where(where)
            .values(
                status="sending",
                attempts=Notification.attempts + 1,
                lease_until=lease_until,
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

    async def due_ids(self, now: datetime, limit: int) -> list[uuid.UUID]:
        query = (
            select(Notification.id)
            .where(
                Notification.status.in_(("created", "sending")),
                Notification.lease_until.is_not(None),
                Notification.lease_until <= now,
            )
            .order_by(Notification.lease_until)
            .limit(limit)
        )
        return list((await self.session.scalars(query)).all())

    async def release(self, ids: Sequence[uuid.UUID], now: datetime) -> None:
        """Hand rows back so the next worker (or the next start) takes them at once."""
        await self.session.execute(
            update(Notification)
            .where(Notification.id.in_(ids), Notification.status.in_(("created", "sending")))
            .values(lease_until=now)
            .execution_options(synchronize_session=False)
        )


class CallbackRepository(_Repository):
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


class ReceivedTextRepository(_Repository):
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


class SmsRepository(_Repository):
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
        await self.session.execute(statement, rows)

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
            for (p, r), (s, d) in latest.items()
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
        wanted = list(set(pairs))
        if not wanted:
            return set()
        query = select(SmsOptOut.agency_id, SmsOptOut.phone_hash).where(
            tuple_(SmsOptOut.agency_id, SmsOptOut.phone_hash).in_(wanted)
        )
        return {(r.agency_id, r.phone_hash) for r in await self.session.execute(query)}

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


class CitizenRepository(_Repository):
    """Citizens, their contacts, relationships with agencies, consent and topics."""

    async def get(self, citizen_id: uuid.UUID) -> Citizen | None:
        return await self.session.get(Citizen, citizen_id)

    async def by_nik_hash(self, nik_hash: str) -> Citizen | None:
        return await self.session.scalar(select(Citizen).where(Citizen.nik_hash == nik_hash))

    async def visible(self, agency_id: uuid.UUID, citizen_id: uuid.UUID) -> Citizen | None:
        """The citizen, if this agency has a relationship with them."""
        query = (
            select(Citizen)
            .join(AgencyCitizen, AgencyCitizen.citizen_id == Citizen.id)
            .where(AgencyCitizen.agency_id == agency_id, Citizen.id == citizen_id)
        )
        return await self.session.scalar(query)

    async def link(self, agency_id: uuid.UUID, citizen_id: uuid.UUID, now: datetime) -> None:
        insert = self._insert(AgencyCitizen).values(
            agency_id=agency_id, citizen_id=citizen_id, created_at=now
        )
        await self.session.execute(insert.on_conflict_do_nothing())

    async def contacts(self, citizen_ids: Iterable[uuid.UUID]) -> Sequence[CitizenContact]:
        query = (
            select(CitizenContact)
            .where(CitizenContact.citizen_id.in_(list(citizen_ids)))
            .order_by(CitizenContact.created_at, CitizenContact.id)
        )
        return (await self.session.scalars(query)).all()

    async def verified(self, citizen_ids: Iterable[uuid.UUID]) -> list[Any]:
        """Verified contacts as plain rows (citizen_id, kind, id, value_enc, value_hash),
        oldest first: routing reads many per batch and needs no entities."""
        query = (
            select(
                CitizenContact.citizen_id,
                CitizenContact.kind,
                CitizenContact.id,
                CitizenContact.value_enc,
                CitizenContact.value_hash,
            )
            .where(
                CitizenContact.citizen_id.in_(list(citizen_ids)),
                CitizenContact.verified_at.is_not(None),
                CitizenContact.gone_at.is_(None),
            )
            .order_by(CitizenContact.created_at)
        )
        return list((await self.session.execute(query)).all())

    async def mark_gone(
        self, contacts: Iterable[tuple[uuid.UUID, str, str]], now: datetime
    ) -> None:
        """Contacts (citizen_id, kind, value_hash) a provider called dead."""
        for citizen_id, kind, value_hash in set(contacts):
            await self.session.execute(
                update(CitizenContact)
                .where(
                    CitizenContact.citizen_id == citizen_id,
                    CitizenContact.kind == kind,
                    CitizenContact.value_hash == value_hash,
                    CitizenContact.gone_at.is_(None),
                )
                .values(gone_at=now)
            )

    async def contact_by_hash(
        self, citizen_id: uuid.UUID, kind: str, value_hash: str
    ) -> CitizenContact | None:
        query = select(CitizenContact).where(
            CitizenContact.citizen_id == citizen_id,
            CitizenContact.kind == kind,
            CitizenContact.value_hash == value_hash,
        )
        return (await self.session.scalars(query)).first()

    async def contact(self, citizen_id: uuid.UUID, contact_id: uuid.UUID) -> CitizenContact | None:
        row = await self.session.get(CitizenContact, contact_id)
        return row if row is not None and row.citizen_id == citizen_id else None

    async def opt_outs(
        self, citizen_ids: Iterable[uuid.UUID], agency_id: uuid.UUID
    ) -> dict[uuid.UUID, set[str]]:
        """Each citizen's withdrawals from this agency: "" (all of it) and topic slugs."""
        query = select(OptOut.citizen_id, OptOut.topic).where(
            OptOut.agency_id == agency_id, OptOut.citizen_id.in_(list(citizen_ids))
        )
        found: dict[uuid.UUID, set[str]] = {}
        for row in await self.session.execute(query):
            found.setdefault(row.citizen_id, set()).add(row.topic)
        return found

    async def record_consent(self, consent: Consent) -> None:
        """Append the record and bring the current opt-out state in line with it."""
        self.session.add(consent)
        if consent.granted:
            await self.session.execute(
                delete(OptOut).where(
                    OptOut.citizen_id == consent.citizen_id,
                    OptOut.agency_id == consent.agency_id,
                    OptOut.topic == consent.topic,
                )
            )
            return
        insert = self._insert(OptOut).values(
            citizen_id=consent.citizen_id,
            agency_id=consent.agency_id,
            topic=consent.topic,
            created_at=consent.created_at,
        )
        await self.session.execute(insert.on_conflict_do_nothing())

    async def consents(self, citizen_id: uuid.UUID, agency_id: uuid.UUID) -> Sequence[Consent]:
        query = (
            select(Consent)
            .where(Consent.citizen_id == citizen_id, Consent.agency_id == agency_id)
            .order_by(Consent.created_at, Consent.id)
        )
        return (await self.session.scalars(query)).all()

    async def sent_counts(
        self,
        citizen_ids: Iterable[uuid.UUID],
        since: datetime,
        excluding: Iterable[uuid.UUID] = (),
    ) -> dict[uuid.UUID, list[datetime]]:
        """When each citizen's non-urgent notifications were sent since ``since``, for
        caps; one row per message, whichever channel or attempt carried it. Messages in
        ``excluding`` (the ones being routed right now) do not count against themselves."""
        query = (
            select(Notification.citizen_id, func.min(Notification.sent_at))
            .where(
                Notification.citizen_id.in_(list(citizen_ids)),
                Notification.sent_at >= since,
                Notification.priority != "urgent",
            )
            .group_by(Notification.citizen_id, Notification.message_id)
        )
        skip = list(excluding)
        if skip:
            query = query.where(Notification.message_id.not_in(skip))
        found: dict[uuid.UUID, list[datetime]] = {}
        for citizen_id, sent_at in await self.session.execute(query):
            if citizen_id is not None and sent_at is not None:
                found.setdefault(citizen_id, []).append(sent_at)
        return found

    async def topic(self, agency_id: uuid.UUID, slug: str) -> Topic | None:
        return await self.session.scalar(
            select(Topic).where(Topic.agency_id == agency_id, Topic.slug == slug)
        )

    async def topics(self, agency_id: uuid.UUID) -> Sequence[Topic]:
        query = select(Topic).where(Topic.agency_id == agency_id).order_by(Topic.slug)
        return (await self.session.scalars(query)).all()

    async def subscriber_counts(self, agency_id: uuid.UUID) -> dict[uuid.UUID, int]:
        """Subscribers of each of the agency's topics that has any."""
        query = (
            select(TopicSubscription.topic_id, func.count())
            .join(Topic, Topic.id == TopicSubscription.topic_id)
            .where(Topic.agency_id == agency_id)
            .group_by(TopicSubscription.topic_id)
        )
        return {topic_id: count for topic_id, count in await self.session.execute(query)}

    async def subscribe(self, topic_id: uuid.UUID, citizen_id: uuid.UUID, now: datetime) -> None:
        insert = self._insert(TopicSubscription).values(
            topic_id=topic_id, citizen_id=citizen_id, created_at=now
        )
        await self.session.execute(insert.on_conflict_do_nothing())

    async def unsubscribe(self, topic_id: uuid.UUID, citizen_id: uuid.UUID) -> None:
        await self.session.execute(
            delete(TopicSubscription).where(
                TopicSubscription.topic_id == topic_id,
                TopicSubscription.citizen_id == citizen_id,
            )
        )

    async def subscriptions(self, citizen_id: uuid.UUID, agency_id: uuid.UUID) -> list[str]:
        query = (
            select(Topic.slug)
            .join(TopicSubscription, TopicSubscription.topic_id == Topic.id)
            .where(TopicSubscription.citizen_id == citizen_id, Topic.agency_id == agency_id)
            .order_by(Topic.slug)
        )
        return list((await self.session.scalars(query)).all())


class BroadcastRepository(_Repository):
    async def due_ids(self, now: datetime) -> list[uuid.UUID]:
        """Broadcasts to fan out: new, scheduled and due, or whose worker's lease ran out."""
        query = select(Broadcast.id).where(
            Broadcast.status.in_(("pending", "fanning-out")),
            Broadcast.lease_until.is_not(None),
            Broadcast.lease_until <= now,
        )
        return list((await self.session.scalars(query.limit(100))).all())

    async def contents(self, broadcast_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, bytes]:
        wanted = list(broadcast_ids)
        if not wanted:
            return {}
        query = select(Broadcast.id, Broadcast.content_enc).where(Broadcast.id.in_(wanted))
        return {row.id: row.content_enc for row in await self.session.execute(query)}

    async def get(self, agency_id: uuid.UUID, broadcast_id: uuid.UUID) -> Broadcast | None:
        row = await self.session.get(Broadcast, broadcast_id)
        return row if row is not None and row.agency_id == agency_id else None

    async def counts(self, broadcast_id: uuid.UUID) -> dict[str, int]:
        query = (
            select(Notification.status, func.count())
            .where(Notification.broadcast_id == broadcast_id)
            .group_by(Notification.status)
        )
        return {status: count for status, count in await self.session.execute(query)}

    async def recent(self, agency_id: uuid.UUID, limit: int) -> Sequence[Broadcast]:
        query = (
            select(Broadcast)
            .where(Broadcast.agency_id == agency_id)
            .order_by(Broadcast.created_at.desc())
            .limit(limit)
        )
        return (await self.session.scalars(query)).all()

    async def counts_of(
        self, broadcast_ids: Iterable[uuid.UUID]
    ) -> dict[uuid.UUID, dict[str, int]]:
        """``counts`` for many broadcasts in one query (the index covers it)."""
        wanted = list(broadcast_ids)
        if not wanted:
            return {}
        query = (
            select(Notification.broadcast_id, Notification.status, func.count())
            .where(Notification.broadcast_id.in_(wanted))
            .group_by(Notification.broadcast_id, Notification.status)
        )
        found: dict[uuid.UUID, dict[str, int]] = {}
        for broadcast_id, status, count in await self.session.execute(query):
            if broadcast_id is not None:  # always, by the WHERE; mypy cannot know
                found.setdefault(broadcast_id, {})[status] = count
        return found


class StaffRepository(_Repository):
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
