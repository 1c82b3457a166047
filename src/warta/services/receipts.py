"""Delivery receipts and inbound texts from providers: stored first, then acted on.

A receipt names a provider's message id. It is stored at once in ``sms_parts``, whether
or not the send that produced that id has been recorded yet (an SMSC may answer with the
receipt before the worker has saved its submit_sm_resp). Whichever of the two writes
second settles the notification: ``settle`` locks the notification row before it reads the
parts, so of two receipts for two parts arriving together, the later sees both.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, tuple_, update

from warta.channels.base import InboundSms, Receipt
from warta.domain import statuses
from warta.pipeline import escalation
from warta.pipeline.callbacks import owe_callbacks
from warta.store.models import NOTIFICATIONS, Agency

if TYPE_CHECKING:
    from warta.bootstrap import Warta
    from warta.store.uow import UnitOfWork

log = logging.getLogger(__name__)


async def settle(app: Warta, uow: UnitOfWork, ids: Iterable[uuid.UUID]) -> list[uuid.UUID]:
    """Finish every notification among ``ids`` that awaits receipts and has them all.

    Adds the callbacks it owes to the unit of work; returns their ids to queue after
    commit.
    """
    wanted = list(set(ids))
    if not wanted:
        return []
    table = NOTIFICATIONS
    waiting = (
        await uow.session.execute(
            select(table.c.id, table.c.agency_id, table.c.citizen_id)
            .where(
                table.c.id.in_(wanted),
                table.c.status == statuses.SENDING,
                table.c.lease_until.is_(None),
            )
            .with_for_update()
        )
    ).all()
    if not waiting:
        return []
    parts = await uow.sms.parts_of(row.id for row in waiting)
    outcomes: dict[tuple[str, str | None], list[Any]] = {}
    for row in waiting:
        its_parts = parts.get(row.id, [])
        status = statuses.combine_parts([s for s, _ in its_parts])
        if status is None:
            continue
        reason = None
        if status != statuses.DELIVERED:
            detail = next((d for s, d in its_parts if s != statuses.DELIVERED), None)
            reason = (detail or status)[:255]
        outcomes.setdefault((status, reason), []).append(row)
    return await _finish(app, uow, outcomes)


async def settle_references(
    app: Warta, uow: UnitOfWork, receipts: Iterable[Receipt]
) -> list[uuid.UUID]:
    """Finish notifications a provider names by its own message id (``provider`` and
    ``provider_reference``), for channels without parts: WhatsApp's status webhooks.
    Returns the ids of the callbacks owed, to queue after commit."""
    latest = {(r.provider, r.reference): r for r in receipts}
    if not latest:
        return []
    table = NOTIFICATIONS
    waiting = (
        await uow.session.execute(
            select(
                table.c.id,
                table.c.agency_id,
                table.c.citizen_id,
                table.c.provider,
                table.c.provider_reference,
            )
            .where(
                tuple_(table.c.provider, table.c.provider_reference).in_(list(latest)),
                table.c.status == statuses.SENDING,
            )
            .with_for_update()
        )
    ).all()
    outcomes: dict[tuple[str, str | None], list[Any]] = {}
    for row in waiting:
        receipt = latest[(row.provider, row.provider_reference)]
        reason = None
        if receipt.status != statuses.DELIVERED:
            reason = (receipt.detail or receipt.status)[:255]
        outcomes.setdefault((receipt.status, reason), []).append(row)
    return await _finish(app, uow, outcomes)


async def _finish(
    app: Warta, uow: UnitOfWork, outcomes: dict[tuple[str, str | None], list[Any]]
) -> list[uuid.UUID]:
    """Write each (status, failure_reason) to its rows in one UPDATE, move failed citizen
    messages to their next channel, and owe the agencies their callbacks."""
    finished = [row for rows in outcomes.values() for row in rows]
    if not finished:
        return []
    now = app.clock()
    table = NOTIFICATIONS
    # A digest's members (``pipeline/digests.py``) share their carrier's fate: they were
    # one message. Each is finished, escalated and owed to its own agency as if sent alone.
    settled = {row.id: key for key, rows in outcomes.items() for row in rows}
    for member in await _members(uow, settled):
        outcomes[settled[member.digest_of]].append(member)
        finished.append(member)
    for (status, reason), rows in outcomes.items():
        await uow.session.execute(
            update(table)
            .where(table.c.id.in_([r.id for r in rows]), table.c.status == statuses.SENDING)
            .values(status=status, completed_at=now, updated_at=now, failure_reason=reason)
        )
    failed = [
        row.id
        for (status, _), rows in outcomes.items()
        if status != statuses.DELIVERED
        for row in rows
        if row.citizen_id is not None
    ]
    # A citizen's message that failed on this channel moves to the next one; the new
    # attempt is due now and the sweeper hands it to a worker.
    await escalation.next_attempts(app, uow, failed, now)
    agencies = await agencies_by_id(uow, (row.agency_id for row in finished))
    callbacks = owe_callbacks(app, agencies, finished)
    uow.callbacks.add(*callbacks)
    return [c.id for c in callbacks]


async def _members(uow: UnitOfWork, carriers: Iterable[uuid.UUID]) -> list[Any]:
    """Digest members still awaiting their carrier's receipts, locked like the carriers."""
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
    return list((await uow.session.execute(query)).all())


class ProviderEventHandler:
    """What channels call when a provider speaks first (``channels.base.ProviderEvents``).

    Built before the Warta it needs (channels are built first), then ``attach``-ed.
    Nothing it is given is logged: receipts carry no personal data, inbound texts do.
    """

    def __init__(self) -> None:
        self._app: Warta | None = None
        self._replies: set[asyncio.Task[Any]] = set()

    def attach(self, app: Warta) -> None:
        self._app = app

    @property
    def app(self) -> Warta:
        if self._app is None:
            raise RuntimeError("ProviderEventHandler used before attach()")
        return self._app

    async def receipt(self, receipt: Receipt) -> None:
        await self.receipt_batch([receipt])

    async def receipt_batch(self, receipts: Sequence[Receipt]) -> None:
        """Store several receipts and settle what they finish, in one transaction: a
        channel hands on together the receipts that queued up while it was storing."""
        app = self.app
        now = app.clock()
        async with app.uow() as uow:
            found = await uow.sms.record_receipts(
                ((r.provider, r.reference, r.status, r.detail) for r in receipts), now
            )
            finished = [notification_id for notification_id, _ in found.values() if notification_id]
            callbacks = await settle(app, uow, finished) if finished else []
            await uow.commit()
        if callbacks:
            await app.queue.submit("callback", callbacks)
        observe = getattr(app.channels.get("sms"), "observe_receipt", None)
        if observe is None:
            return
        for receipt in receipts:
            _, sent_at = found.get((receipt.provider, receipt.reference), (None, None))
            if sent_at is not None:
                observe(receipt.provider, max(0.0, (now - sent_at).total_seconds()))

    async def inbound(self, message: InboundSms) -> None:
        from warta.services.inbound import receive_sms  # services build on the pipeline

        await receive_sms(self.app, message)


async def agencies_by_id(
    uow: UnitOfWork, ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, Agency | None]:
    return {a: await uow.agencies.get(a) for a in set(ids)}
