"""Settling notifications from delivery receipts: stored first, then acted on.

A receipt names a provider's message id. It is stored at once in ``sms_parts``, whether
or not the send that produced that id has been recorded yet (an SMSC may answer with the
receipt before the worker has saved its submit_sm_resp). Whichever of the two writes
second settles the notification: ``settle`` locks the notification row before it reads the
parts, so of two receipts for two parts arriving together, the later sees both.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from typing import Any

from warta.deps import Warta
from warta.domain import statuses
from warta.domain.channels import Receipt
from warta.services import escalation
from warta.services.callbacks import owe_callbacks
from warta.store.models import Agency
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
    waiting = await uow.notifications.lock_awaiting_parts(wanted)
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
    waiting = await uow.notifications.lock_awaiting_references(latest)
    outcomes: dict[tuple[str, str | None], list[Any]] = {}
    for row in waiting:
        receipt = latest[(row.provider, row.provider_reference)]
        reason = None
        if receipt.status != statuses.DELIVERED:
            reason = (receipt.detail or receipt.status)[:255]
        outcomes.setdefault((receipt.status, reason), []).append(row)
    return await _finish(app, uow, outcomes)


async def finish_as(
    app: Warta, uow: UnitOfWork, rows: Iterable[Any], *, status: str, reason: str | None
) -> list[uuid.UUID]:
    """Finish ``rows`` (locked, as the ``lock_*`` queries give them) with one status, as a
    receipt would: escalated, owed callbacks added. Returns the callbacks' ids."""
    return await _finish(app, uow, {(status, reason): list(rows)})


async def _finish(
    app: Warta, uow: UnitOfWork, outcomes: dict[tuple[str, str | None], list[Any]]
) -> list[uuid.UUID]:
    """Write each (status, failure_reason) to its rows in one UPDATE, move failed citizen
    messages to their next channel, and owe the agencies their callbacks."""
    finished = [row for rows in outcomes.values() for row in rows]
    if not finished:
        return []
    now = app.clock()
    # A digest's members (``pipeline/digests.py``) share their carrier's fate: they were
    # one message. Each is finished, escalated and owed to its own agency as if sent alone.
    settled = {row.id: key for key, rows in outcomes.items() for row in rows}
    for member in await uow.notifications.lock_digest_members(settled):
        outcomes[settled[member.digest_of]].append(member)
        finished.append(member)
    for (status, reason), rows in outcomes.items():
        await uow.notifications.finish_sending(
            [r.id for r in rows], status=status, reason=reason, now=now
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


async def agencies_by_id(
    uow: UnitOfWork, ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, Agency | None]:
    return {a: await uow.agencies.get(a) for a in set(ids)}
