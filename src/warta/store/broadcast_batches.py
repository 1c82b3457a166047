"""A broadcast's reads and writes, a batch of citizens at a time, close to the driver.

Why not the repositories' usual queries: a fan-out reads and writes a million rows, and
at that size SQLAlchemy's per-value work (expanding ``IN`` lists of thousands of ids,
turning each id into a ``UUID`` and back) cost more than the database did. So a batch is
one query (the segment, its verified contacts, its opt-outs and SMS stops, joined in the
database), ids stay as the driver gives them (``raw`` below: 32 hex digits on SQLite, a
``UUID`` on PostgreSQL) from the read to the write, and the rows go out hundreds to an
``INSERT`` on SQLite and by binary ``COPY`` on PostgreSQL.
"""

from __future__ import annotations

import itertools
import operator
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, String, and_, exists, false, func, or_, select, type_coerce
from sqlalchemy.engine import Dialect, Result
from sqlalchemy.ext.asyncio import AsyncSession

from warta.domain.trust import CITIZEN
from warta.store.models import (
    NOTIFICATIONS,
    Broadcast,
    Citizen,
    CitizenContact,
    EmailOptOut,
    Notification,
    OptOut,
    SmsOptOut,
    SmsPlatformOptOut,
    Topic,
    TopicSubscription,
)

#: A row's own columns, in this order; every other column (``SHARED``) holds what all rows
#: with the same routing decision share, converted for the database once per decision.
OWN = ("id", "message_id", "citizen_id", "recipient_enc", "recipient_hash")
CITIZEN_AT = OWN.index("citizen_id")  # where a row holds its citizen
SHARED = tuple(c.key for c in NOTIFICATIONS.columns if c.key not in OWN)
#: SQLite's limit on a statement's parameters (since 3.32).
_SQLITE_MAX_VARIABLES = 32766


def raw(column: Any) -> Any:
    """The column as the driver returns it, without SQLAlchemy's conversion."""
    return type_coerce(column, String)


def to_uuid(raw_id: Any) -> uuid.UUID:
    return raw_id if isinstance(raw_id, uuid.UUID) else uuid.UUID(raw_id)


async def read(
    session: AsyncSession,
    broadcast: Broadcast,
    after: uuid.UUID | None,
    size: int,
    upto: uuid.UUID | None = None,
) -> list[Any]:
    """The next ``size`` citizens of the segment after ``after`` (and up to ``upto``, when
    given), by id, each with every
    verified contact the broadcasting agency may use (its own first, then the citizen's,
    each oldest first; one row per contact, or one with no contact):
    ``id`` (raw), the preference columns, ``opted_out`` (from the whole agency),
    ``opted_out_topic``, ``kind``, ``contact_id`` (raw), ``value_enc``, ``value_hash``,
    ``stopped`` (true when that contact is a phone that replied STOP to the agency, or
    STOP ALL to any, or an address that unsubscribed from its email or the topic's).
    Long on purpose: one statement, tuned as a whole (docs/performance.md)."""
    segment = select(
        Citizen.id,
        Citizen.zone,
        Citizen.channel_order,
        Citizen.quiet_start,
        Citizen.quiet_end,
        Citizen.max_per_day,
        Citizen.max_per_week,
        Citizen.digest,
        Citizen.digest_at,
    )
    if broadcast.topic:
        segment = segment.join(TopicSubscription, TopicSubscription.citizen_id == Citizen.id).join(
            Topic,
            and_(
                Topic.id == TopicSubscription.topic_id,
                Topic.agency_id == broadcast.agency_id,
                Topic.slug == broadcast.topic,
            ),
        )
    if broadcast.region_prefix:
        prefix = broadcast.region_prefix
        segment = segment.where(
            or_(Citizen.region_code == prefix, Citizen.region_code.like(f"{prefix}.%"))
        )
    if after is not None:
        segment = segment.where(Citizen.id > after)
    if upto is not None:
        segment = segment.where(Citizen.id <= upto)
    # A test key's broadcast reaches its agency's sandbox only; any other, real citizens only.
    if broadcast.key_type == "test":
        segment = segment.where(Citizen.sandbox_of == broadcast.agency_id)
    else:
        segment = segment.where(Citizen.sandbox_of.is_(None))
    citizens = segment.order_by(Citizen.id).limit(size).cte("segment")
    # The batch's contacts lie between its first and last citizen: said outright, so the
    # database reads them by index whatever it guesses of the join's size.
    last = select(citizens.c.id).order_by(citizens.c.id.desc()).limit(1).scalar_subquery()
    in_range = [CitizenContact.citizen_id <= last]  # (PostgreSQL has no max() of uuids)
    if after is not None:
        in_range.append(CitizenContact.citizen_id > after)

    def opted_out(topic: str) -> Any:
        return exists().where(
            OptOut.citizen_id == citizens.c.id,
            OptOut.agency_id == broadcast.agency_id,
            OptOut.topic == topic,
        )

    agency = str(broadcast.agency_id)
    sms_stopped = and_(
        CitizenContact.kind == "sms",
        or_(
            exists().where(
                SmsOptOut.agency_id == broadcast.agency_id,
                SmsOptOut.phone_hash == CitizenContact.value_hash,
            ),
            exists().where(SmsPlatformOptOut.phone_hash == CitizenContact.value_hash),
        ),
    )
    email_stopped = and_(
        CitizenContact.kind == "email",
        exists().where(
            EmailOptOut.agency_id == broadcast.agency_id,
            EmailOptOut.address_hash == CitizenContact.value_hash,
            EmailOptOut.topic.in_({"", broadcast.topic or ""}),
        ),
    )
    stopped = or_(sms_stopped, email_stopped)
    query = (
        select(
            raw(citizens.c.id).label("id"),
            *[c for c in citizens.c if c.key != "id"],
            opted_out("").label("opted_out"),
            (opted_out(broadcast.topic) if broadcast.topic else false()).label("opted_out_topic"),
            CitizenContact.kind,
            raw(CitizenContact.id).label("contact_id"),
            CitizenContact.value_enc,
            CitizenContact.value_hash,
            stopped.label("stopped"),
        )
        .select_from(citizens)
        .outerjoin(
            CitizenContact,
            and_(
                CitizenContact.citizen_id == citizens.c.id,
                *in_range,
                CitizenContact.verified_at.is_not(None),
                CitizenContact.gone_at.is_(None),
                CitizenContact.scope.in_([CITIZEN, agency]),  # ``trust.usable_by``
            ),
        )
        # The agency's own contacts first, then the citizen's (``trust.pick_contact``).
        .order_by(citizens.c.id, CitizenContact.scope != agency, CitizenContact.created_at)
    )
    return list((await _core(session, query)).all())


async def sent_between(
    session: AsyncSession, after: uuid.UUID | None, last: uuid.UUID, since: datetime
) -> list[tuple[Any, datetime]]:
    """(raw citizen id, sent at) of each non-urgent message sent since ``since`` to a
    citizen with a cap whose id is in (``after``, ``last``]: what caps count, for a
    batch, by range rather than by a list of ids."""
    query = (
        select(raw(Notification.citizen_id), func.min(Notification.sent_at))
        .join(Citizen, Citizen.id == Notification.citizen_id)
        .where(
            Notification.citizen_id <= last,
            or_(Citizen.max_per_day.is_not(None), Citizen.max_per_week.is_not(None)),
            Notification.sent_at >= since,
            Notification.priority != "urgent",
        )
        .group_by(Notification.citizen_id, Notification.message_id)
    )
    if after is not None:
        query = query.where(Notification.citizen_id > after)
    found: list[Any] = list(await _core(session, query))
    return [(citizen_id, sent_at) for citizen_id, sent_at in found]


async def reached(
    session: AsyncSession, broadcast_id: uuid.UUID, after: uuid.UUID | None, last: uuid.UUID
) -> set[Any]:
    """The raw ids of the citizens in (``after``, ``last``] who already have a row of this
    broadcast."""
    # ``coalesce`` keeps PostgreSQL off the broadcast's index: for a broadcast being
    # written it would guess few rows and then scan all written so far, every batch. The
    # citizen index reads just this batch's range.
    query = select(raw(Notification.citizen_id)).where(
        Notification.citizen_id <= last,
        func.coalesce(Notification.broadcast_id, Notification.id) == broadcast_id,
    )
    if after is not None:
        query = query.where(Notification.citizen_id > after)
    return set((await _core(session, query)).scalars().all())


async def _core(session: AsyncSession, query: Select[Any]) -> Result[Any]:
    # On the session's connection, not the session: the ORM's result handling (loading
    # "instances", even of plain columns) cost more per row than the driver did.
    return await (await session.connection()).execute(query)


class Rows:
    """Notification rows for one dialect: ``shared`` converts the shared columns once,
    ``own`` a row's own; ``write`` inserts rows made of ``own(...) + shared(...)``."""

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self._convert = [_processor(dialect, c) for c in SHARED]
        self._uuid = _processor(dialect, "id")
        # The positions written: a row's own, and each shared column some row has a value
        # in (or whose NULL differs from its default). Most shared columns of a fan-out
        # (sent_at, provider, job_id, ...) are NULL in every row, and leaving them out
        # spares binding them a million times.
        self._used = {*range(len(OWN))} | {
            len(OWN) + i
            for i, c in enumerate(SHARED)
            if NOTIFICATIONS.c[c].server_default is not None
        }

    def shared(self, values: dict[str, Any]) -> tuple[Any, ...]:
        row = tuple(
            None if (v := values.get(c)) is None else (fn(v) if fn else v)
            for c, fn in zip(SHARED, self._convert, strict=True)
        )
        self._used.update(len(OWN) + i for i, v in enumerate(row) if v is not None)
        return row

    def own(
        self, row_id: uuid.UUID, citizen_raw: Any, recipient_enc: bytes, recipient_hash: str
    ) -> tuple[Any, ...]:
        db_id = self._uuid(row_id) if self._uuid else row_id
        return (db_id, db_id, citizen_raw, recipient_enc, recipient_hash)

    async def write(self, session: AsyncSession, rows: Sequence[tuple[Any, ...]]) -> None:
        if not rows:
            return
        connection = await session.connection()
        used = sorted(self._used)
        pick = operator.itemgetter(*used)
        rows = [pick(row) for row in rows]
        columns = ", ".join(_ALL[i] for i in used)
        if self.dialect.name == "postgresql":
            # COPY: one stream instead of a statement per row; in the session's transaction.
            driver = (await connection.get_raw_connection()).driver_connection
            statement = f"COPY {NOTIFICATIONS.name} ({columns}) FROM STDIN (FORMAT BINARY)"
            async with (
                driver.cursor() as cursor,  # type: ignore[union-attr]
                cursor.copy(statement) as copy,
            ):
                # Binary: the server takes each value as is instead of parsing its text.
                copy.set_types([_POSTGRES_TYPES[i] for i in used])
                for row in rows:
                    await copy.write_row(row)
            return
        # Many rows per statement: SQLite runs each statement in its thread without the
        # GIL, and a statement per row had that thread wait for the GIL once per row.
        width = len(used)
        per_statement = _SQLITE_MAX_VARIABLES // width
        for start in range(0, len(rows), per_statement):
            chunk = rows[start : start + per_statement]
            values = ", ".join([f"({', '.join(['?'] * width)})"] * len(chunk))
            await connection.exec_driver_sql(
                f"INSERT INTO {NOTIFICATIONS.name} ({columns}) VALUES {values}",
                tuple(itertools.chain.from_iterable(chunk)),
            )


#: Each column's PostgreSQL type, for binary COPY, in the order rows are written.
_POSTGRES_TYPES = [
    {"Uuid": "uuid", "Integer": "int4", "LargeBinary": "bytea", "Boolean": "bool"}.get(
        kind, "timestamptz" if kind == "UtcDateTime" else "text"
    )
    for kind in (type(NOTIFICATIONS.c[c].type).__name__ for c in (*OWN, *SHARED))
]
_ALL = (*OWN, *SHARED)


def _processor(dialect: Dialect, column: str) -> Any:
    return NOTIFICATIONS.c[column].type.dialect_impl(dialect).bind_processor(dialect)
