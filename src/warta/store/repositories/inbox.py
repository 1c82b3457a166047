"""A citizen's messages as their inbox shows them (see ``services/portal.py``), and what
erasing the citizen does to the notification rows that were theirs.

A message is every attempt sharing ``message_id``; its first attempt's row (``id ==
message_id``) stands for it. It is shown once an attempt *to one of the citizen's own
contacts* (``trust.CITIZEN``) has ``sent_at``, and never for a test key.

Own contacts only: a message an agency sent to a contact only it may use (one it added
and proved, not yet confirmed by the citizen) is that agency's business with the person,
who may not be whoever signs in here: a squatter who registered someone's NIK first with
their own phone must not read what a real agency sends to the phone it proved. Confirming
the contact in the portal shows its messages, past ones included.

An attempt is matched to a contact by channel and lookup hash: ``type == kind`` and
``recipient_hash == value_hash``. Routing copies the chosen contact's ``value_hash`` into
the row (``services/attempts.attempt``, ``broadcast_rows``; escalation and the digest keep
it), so every kind agrees (a phone in E.164, an address, a push subscription's JSON, a
chat's ``telegram:<id>`` or ``whatsapp:<phone>``), and key rotation re-hashes both from
the same plaintext. Every attempt that goes out has a contact: none is shown without one.
A contact that later went dead (``gone_at``) still shows what reached it; one the citizen
removed no longer does.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, exists, func, select, update
from sqlalchemy.orm import aliased

from warta.domain import statuses
from warta.domain.trust import CITIZEN
from warta.store.models import NOTIFICATIONS, CitizenContact, Notification
from warta.store.repositories.base import Repository
from warta.store.repositories.paging import newest_first


def _to_own(attempt: type[Notification], citizen_id: uuid.UUID) -> ColumnElement[bool]:
    """The attempt went to (is addressed to) one of the citizen's own contacts."""
    own = aliased(CitizenContact)
    return exists().where(
        own.citizen_id == citizen_id,
        own.scope == CITIZEN,
        own.kind == attempt.type,
        own.value_hash == attempt.recipient_hash,
    )


def _shown(citizen_id: uuid.UUID) -> Select[Any]:
    """First attempts of this citizen's messages that have gone out to a contact of their
    own."""
    attempt = aliased(Notification)
    reached = exists().where(
        attempt.message_id == Notification.message_id,
        attempt.sent_at.is_not(None),
        _to_own(attempt, citizen_id),
    )
    return select(Notification).where(
        Notification.citizen_id == citizen_id,
        Notification.id == Notification.message_id,
        Notification.key_type != "test",
        reached,
    )


class InboxRepository(Repository):
    async def message(self, citizen_id: uuid.UUID, any_id: uuid.UUID) -> Notification | None:
        """The shown message that ``any_id`` (the message's id, or any attempt's, as a
        push carries) belongs to, if it is this citizen's."""
        message_id = await self.session.scalar(
            select(Notification.message_id).where(
                Notification.id == any_id, Notification.citizen_id == citizen_id
            )
        )
        if message_id is None:
            return None
        return await self.session.scalar(_shown(citizen_id).where(Notification.id == message_id))

    async def page(
        self, citizen_id: uuid.UUID, older_than: Notification | None, limit: int
    ) -> Sequence[Notification]:
        """Newest first, after ``older_than`` if given."""
        query = newest_first(_shown(citizen_id), Notification, older_than, limit)
        return (await self.session.scalars(query)).all()

    async def every_message(self, citizen_id: uuid.UUID) -> Sequence[Notification]:
        """Every shown message, oldest first."""
        query = _shown(citizen_id).order_by(Notification.created_at, Notification.id)
        return (await self.session.scalars(query)).all()

    async def messages(
        self, citizen_id: uuid.UUID, message_ids: Iterable[uuid.UUID]
    ) -> Sequence[Notification]:
        query = _shown(citizen_id).where(Notification.id.in_(list(message_ids)))
        return (await self.session.scalars(query)).all()

    async def read_since(self, citizen_id: uuid.UUID, since: datetime) -> Sequence[Notification]:
        query = _shown(citizen_id).where(Notification.read_at > since)
        return (await self.session.scalars(query)).all()

    async def started_since(
        self, citizen_id: uuid.UUID, since: datetime
    ) -> dict[uuid.UUID, datetime]:
        """Message id -> when it first went out to one of the citizen's own contacts, for
        the citizen's messages that first did so after ``since``."""
        went_out = func.min(Notification.sent_at)
        query = (
            select(Notification.message_id, went_out)
            .where(Notification.citizen_id == citizen_id, _to_own(Notification, citizen_id))
            .group_by(Notification.message_id)
            .having(went_out > since)
        )
        found = await self.session.execute(query)
        return {m: at for m, at in found if m is not None and at is not None}

    async def attempts(
        self, message_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, list[Notification]]:
        """Each message's attempts, oldest first (an empty list for none)."""
        query = (
            select(Notification)
            .where(Notification.message_id.in_(message_ids))
            .order_by(Notification.created_at, Notification.id)
        )
        found: dict[uuid.UUID, list[Notification]] = {i: [] for i in message_ids}
        for row in (await self.session.scalars(query)).all():
            if row.message_id is not None:
                found[row.message_id].append(row)
        return found

    async def mark_seen(self, message_ids: Sequence[uuid.UUID], now: datetime) -> None:
        await self.session.execute(
            update(NOTIFICATIONS)
            .where(NOTIFICATIONS.c.id.in_(message_ids), NOTIFICATIONS.c.seen_at.is_(None))
            .values(seen_at=now)
        )

    async def reload(self, row: Notification) -> None:
        await self.session.refresh(row)

    async def forget_citizen(
        self,
        citizen_id: uuid.UUID,
        contact_hashes: Iterable[str],
        recipient_enc: bytes,
        recipient_hash: str,
        now: datetime,
    ) -> None:
        """The erasure of the citizen's notification rows (see ``citizen_self.erase``):
        those sent to them and those sent straight to one of ``contact_hashes``. Unsent
        ones are cancelled; all lose the recipient, content and link to the citizen."""
        n = NOTIFICATIONS.c
        addressed = n.citizen_id.is_(None) & n.recipient_hash.in_(list(contact_hashes))
        theirs = (n.citizen_id == citizen_id) | addressed
        unsent = theirs & (
            (n.status == statuses.CREATED)
            | ((n.status == statuses.SENDING) & n.lease_until.is_not(None))
        )
        await self.session.execute(
            update(NOTIFICATIONS)
            .where(unsent)
            .values(
                status=statuses.CANCELLED,
                lease_until=None,
                completed_at=now,
                updated_at=now,
                failure_reason="citizen erased their data",
            )
        )
        await self.session.execute(
            update(NOTIFICATIONS)
            .where(theirs)
            .values(
                citizen_id=None,
                recipient_enc=recipient_enc,
                recipient_hash=recipient_hash,
                content_enc=None,
                alternatives_enc=None,
                escalate_at=None,
            )
        )
