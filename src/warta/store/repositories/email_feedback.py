"""Bounces and complaints (issue 19): the email notifications a report is about, the
reports kept, an address's soft bounces and an agency's figures per day.
``services/email_feedback.py`` decides what each report does."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, case, func, or_, select, update

from warta.domain import statuses
from warta.domain.bounces import Feedback
from warta.store.models import NOTIFICATIONS, EmailFeedback
from warta.store.repositories.base import Repository

#: (id, agency_id, citizen_id, status, recipient_hash, created_at) of an email notification
EmailRow = Row[*tuple[Any, ...]]
STATUS_LENGTH = 16  # the column's: "5.1.1", at most "5.999.999"


class EmailFeedbackRepository(Repository):
    async def lock_email(self, reported_id: uuid.UUID | None) -> Sequence[EmailRow]:
        """The email notification a report names and, when it carried a digest
        (``pipeline/digests.py``), every notification that went in it: one email, one fate.
        Locked until commit, so the same report read twice at once acts once. Empty when
        the report names none or no email has that id."""
        if reported_id is None:
            return []
        table = NOTIFICATIONS
        query = (
            select(
                table.c.id,
                table.c.agency_id,
                table.c.citizen_id,
                table.c.status,
                table.c.recipient_hash,
                table.c.created_at,
            )
            .where(
                or_(table.c.id == reported_id, table.c.digest_of == reported_id),
                table.c.type == "email",
            )
            .order_by(table.c.created_at, table.c.id)
            .with_for_update()
        )
        rows = (await self.session.execute(query)).all()
        if not any(r.id == reported_id for r in rows):
            return []
        return rows

    async def keep(
        self, feedback: Feedback, rows: Iterable[EmailRow], now: datetime
    ) -> set[uuid.UUID]:
        """Keep one report about ``rows`` (``lock_email``'s); returns the notifications it
        is new for (a report of this kind about a notification is kept once)."""
        table = EmailFeedback.__table__
        kept: set[uuid.UUID] = set()
        for row in rows:
            statement = (
                self._insert(table)
                .values(
                    id=uuid.uuid4(),
                    kind=feedback.kind,
                    notification_id=row.id,
                    reported_id=feedback.notification_id,
                    agency_id=row.agency_id,
                    status=feedback.status[:STATUS_LENGTH],
                    reason=feedback.reason[:255],
                    recipient_hash=row.recipient_hash or None,  # "": erased
                    notification_created_at=row.created_at,
                    created_at=now,
                )
                .on_conflict_do_nothing()
                .returning(table.c.notification_id)
            )
            kept.update(n for n in (await self.session.scalars(statement)).all() if n)
        return kept

    def keep_unmatched(self, kind: str, status: str, now: datetime) -> None:
        """A report that matched no notification: its kind, status code and time only."""
        self.add(
            EmailFeedback(
                id=uuid.uuid4(), kind=kind, status=status[:STATUS_LENGTH], reason="", created_at=now
            )
        )

    async def forget_addresses(self, address_hashes: Iterable[str]) -> None:
        """An erased citizen's addresses: their reports keep kind, status and day only."""
        hashes = list(set(address_hashes))
        if hashes:
            await self.session.execute(
                update(EmailFeedback)
                .where(EmailFeedback.recipient_hash.in_(hashes))
                .values(recipient_hash=None, reason="")
            )

    async def fail_delivered(
        self, ids: Iterable[uuid.UUID], *, status: str, reason: str, now: datetime
    ) -> set[uuid.UUID]:
        """Turn those of ``ids`` still ``delivered`` into ``status`` (a late bounce: see
        docs/api.md, statuses); returns the ids changed. Any other status stays."""
        table = NOTIFICATIONS
        wanted = list(set(ids))
        if not wanted:
            return set()
        statement = (
            update(table)
            .where(table.c.id.in_(wanted), table.c.status == statuses.DELIVERED)
            .values(
                status=status,
                failure_reason=reason,
                completed_at=now,
                updated_at=now,
                escalate_at=None,
            )
            .returning(table.c.id)
        )
        return set((await self.session.scalars(statement)).all())

    async def soft_bounces_of(
        self, recipient_hash: str, since: datetime
    ) -> dict[uuid.UUID, tuple[datetime, list[uuid.UUID]]]:
        """The address's soft-bounced emails since ``since``, by the notification each
        report named: when its first soft bounce came and the notifications it carried."""
        table = EmailFeedback.__table__
        query = select(table.c.reported_id, table.c.notification_id, table.c.created_at).where(
            table.c.recipient_hash == recipient_hash,
            table.c.kind == "soft",
            table.c.created_at >= since,
        )
        found: dict[uuid.UUID, tuple[datetime, list[uuid.UUID]]] = {}
        for reported, notification, at in await self.session.execute(query):
            first, carried = found.get(reported, (at, []))
            found[reported] = (min(first, at), [*carried, notification])
        return found

    async def daily_counts(
        self, agency_id: uuid.UUID, bounds: Sequence[datetime]
    ) -> list[tuple[str, int, int]]:
        """(kind, day, count) of the reports about the agency's notifications made between
        the first and last of ``bounds``; ``day`` numbers the spans between them, as in
        ``NotificationRepository.daily_counts`` (whose sends they are rates of)."""
        table = EmailFeedback.__table__
        days = len(bounds) - 1
        made = table.c.notification_created_at
        day = case(*((made < b, i) for i, b in enumerate(bounds[1:-1])), else_=days - 1)
        rows = (
            select(table.c.kind, day.label("day"))
            .where(table.c.agency_id == agency_id, made >= bounds[0], made < bounds[-1])
            .subquery()
        )
        query = select(rows.c.kind, rows.c.day, func.count()).group_by(rows.c.kind, rows.c.day)
        return [(k, d, c) for k, d, c in await self.session.execute(query)]
