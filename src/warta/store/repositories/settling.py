"""Notifications after their send: settled by receipts, escalated to the next channel.

Half of ``NotificationRepository`` (which mixes it in), kept apart so each module stays
readable: every query here locks or reads what the receipts and escalation services act on.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, and_, or_, select, tuple_, update

from warta.domain import statuses
from warta.store.models import NOTIFICATIONS, Notification
from warta.store.repositories.base import Repository

#: Plain rows with the named columns a method lists: settling reads a few columns of many.
SettlingRow = Row[*tuple[Any, ...]]


class SettlingQueries(Repository):
    async def lock_awaiting_parts(self, ids: Iterable[uuid.UUID]) -> Sequence[SettlingRow]:
        """Those of ``ids`` sent and waiting for their parts' receipts (no lease), as
        (id, agency_id, citizen_id), locked until commit: of two receipts settling one
        notification together, the second waits and then reads every part."""
        table = NOTIFICATIONS
        query = (
            select(table.c.id, table.c.agency_id, table.c.citizen_id)
            .where(
                table.c.id.in_(list(ids)),
                table.c.status == statuses.SENDING,
                table.c.lease_until.is_(None),
            )
            .with_for_update()
        )
        return (await self.session.execute(query)).all()

    async def lock_awaiting_references(
        self, references: Iterable[tuple[str, str]]
    ) -> Sequence[SettlingRow]:
        """The sent notifications a provider knows by these (provider, message id) pairs,
        as (id, agency_id, citizen_id, provider, provider_reference), locked until commit."""
        table = NOTIFICATIONS
        query = (
            select(
                table.c.id,
                table.c.agency_id,
                table.c.citizen_id,
                table.c.provider,
                table.c.provider_reference,
            )
            .where(
                tuple_(table.c.provider, table.c.provider_reference).in_(list(references)),
                table.c.status == statuses.SENDING,
            )
            .with_for_update()
        )
        return (await self.session.execute(query)).all()

    async def lock_digest_members(self, carriers: Iterable[uuid.UUID]) -> Sequence[SettlingRow]:
        """Digest members still awaiting their carrier's receipts, as (id, agency_id,
        citizen_id, digest_of), locked like the carriers."""
        table = NOTIFICATIONS
        query = (
            select(table.c.id, table.c.agency_id, table.c.citizen_id, table.c.digest_of)
            .where(
                table.c.digest_of.in_(list(carriers)),
                table.c.status == statuses.SENDING,
                table.c.lease_until.is_(None),
            )
            .with_for_update()
        )
        return (await self.session.execute(query)).all()

    async def finish_sending(
        self, ids: Iterable[uuid.UUID], *, status: str, reason: str | None, now: datetime
    ) -> None:
        """Give these rows, if still sending, their final status and failure reason."""
        table = NOTIFICATIONS
        await self.session.execute(
            update(table)
            .where(table.c.id.in_(list(ids)), table.c.status == statuses.SENDING)
            .values(status=status, completed_at=now, updated_at=now, failure_reason=reason)
        )

    async def of_ids(self, ids: Iterable[uuid.UUID]) -> Sequence[Notification]:
        query = select(Notification).where(Notification.id.in_(list(ids)))
        return (await self.session.scalars(query)).all()

    async def attempt_channels(
        self, message_ids: Iterable[uuid.UUID]
    ) -> list[tuple[uuid.UUID, str, str]]:
        """(message_id, channel, status) of every attempt of these messages, oldest first."""
        query = (
            select(Notification.message_id, Notification.type, Notification.status)
            .where(Notification.message_id.in_(list(message_ids)))
            .order_by(Notification.created_at)
        )
        return [(m, c, s) for m, c, s in await self.session.execute(query) if m is not None]

    async def reached(
        self, message_ids: Iterable[uuid.UUID], *, read_channels: Iterable[str]
    ) -> set[uuid.UUID]:
        """Messages that reached the citizen: delivered on a channel not in
        ``read_channels``, or read."""
        query = select(Notification.message_id).where(
            Notification.message_id.in_(list(message_ids)),
            or_(
                and_(
                    Notification.status == statuses.DELIVERED,
                    Notification.type.not_in(list(read_channels)),
                ),
                Notification.read_at.is_not(None),
            ),
        )
        return {m for m in (await self.session.scalars(query)).all() if m is not None}

    async def take_unanswered(
        self, now: datetime, *, read_channels: Iterable[str], limit: int
    ) -> list[uuid.UUID]:
        """Attempts whose escalation window ran out unanswered (still sending; on
        ``read_channels``, delivered but unread): up to ``limit``, skipping rows another
        worker holds, with the window cleared so only this transaction escalates them."""
        read = list(read_channels)
        query = (
            select(Notification.id)
            .where(
                Notification.escalate_at.is_not(None),
                Notification.escalate_at <= now,
                Notification.read_at.is_(None),
                or_(
                    Notification.status == statuses.SENDING,
                    and_(Notification.status == statuses.DELIVERED, Notification.type.in_(read)),
                ),
            )
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        ids = list((await self.session.scalars(query)).all())
        if ids:
            await self.session.execute(
                update(NOTIFICATIONS).where(NOTIFICATIONS.c.id.in_(ids)).values(escalate_at=None)
            )
        return ids
