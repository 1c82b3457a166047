"""The fan-out task: turn a broadcast into one routed notification per citizen.

Citizens are read in batches by id (keyset pagination), so memory stays flat however
many there are. Each batch is one transaction: its rows, the broadcast's ``cursor`` (the
last citizen done) and its count move together, and the batch commits only while the
broadcast is still being fanned out by this worker, so a cancel stops it between batches
and a crash resumes after the last committed batch (the lease runs out, the sweeper
hands the broadcast to a worker again).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from warta.deps import Warta
from warta.services import attempts, content, routing
from warta.store import broadcast_batches as batches
from warta.store.models import Agency, Broadcast

log = logging.getLogger(__name__)
BATCH = 5000


async def fan_out(app: Warta, ids: Sequence[uuid.UUID]) -> None:
    for broadcast_id in ids:
        await _fan_out_one(app, broadcast_id)


async def _claim(app: Warta, broadcast_id: uuid.UUID, now: datetime) -> Broadcast | None:
    """Take the broadcast if it is due and no live worker holds it."""
    lease = now + timedelta(seconds=app.settings.lease_seconds)
    async with app.uow() as uow:
        broadcast = await uow.broadcasts.claim_fan_out(broadcast_id, now, lease)
        if broadcast is None:
            return None
        await uow.commit()
    return broadcast


def message_of(app: Warta, broadcast: Broadcast, agency: Agency) -> attempts.Message:
    """What every citizen's row of this broadcast shares."""
    senders = attempts.senders(app, agency)
    return attempts.Message.from_row(broadcast, senders, broadcast_id=broadcast.id)


async def _fan_out_one(app: Warta, broadcast_id: uuid.UUID) -> None:
    # Long on purpose: claim, then batch after batch (read, route, write, advance the
    # cursor) in one loop, so the resume point after a crash is visible in one place.
    broadcast = await _claim(app, broadcast_id, app.clock())
    if broadcast is None:
        return
    contents = content.unseal_channels(
        app.keyring, broadcast.content_enc, field=attempts.BROADCAST_FIELD
    )
    async with app.uow() as uow:
        agency = await uow.agencies.get(broadcast.agency_id)
        writer = uow.broadcasts.row_writer()
    if agency is None:
        return
    message = message_of(app, broadcast, agency)
    ask = routing.Ask(
        topic=broadcast.topic,
        priority=broadcast.priority,
        available=frozenset(contents) & routing.deliverable(app),
        expires_at=broadcast.expires_at,
    )
    cursor, total = broadcast.cursor, broadcast.recipients
    # Three batches in flight at most, each stage on its own: the next batch is read (the
    # database, in its thread or server), this one routed (Python), the last one written
    # (the database again). Memory stays flat and each batch still commits alone, with
    # the cursor after it.
    reading = asyncio.create_task(_read(app, broadcast, cursor))
    writing: asyncio.Task[bool] | None = None
    try:
        while True:
            batch, now = await reading
            if batch:
                last = batches.to_uuid(batch[-1].citizen.id)
                reading = asyncio.create_task(_read(app, broadcast, last))
            decisions = routing.decide_all(batch, ask, now)
            rows, due = attempts.broadcast_rows(app, writer, message, batch, decisions, now)
            if writing is not None and not await writing:
                return
            writing = None
            if not batch:
                async with app.uow() as uow:
                    finished = await uow.broadcasts.finish_fan_out(broadcast.id, cursor, total, now)
                    await uow.commit()
                if finished:
                    log.info("broadcast %s fanned out to %d citizens", broadcast.id, total)
                return
            cursor, total = last, total + len(batch)
            writing = asyncio.create_task(
                _write(app, writer, broadcast, rows, due, cursor, total, now)
            )
    finally:
        # Stopped early (cancelled, taken over, an error): let what is in flight end first.
        await asyncio.gather(reading, *([writing] if writing else []), return_exceptions=True)


async def _read(
    app: Warta, broadcast: Broadcast, after: uuid.UUID | None
) -> tuple[list[routing.Known], datetime]:
    """The next batch of the segment: what routing needs to know of each citizen."""
    now = app.clock()
    async with app.uow() as uow:  # reads only; rolled back on close
        rows = await uow.broadcasts.segment_batch(broadcast, after, BATCH)
        sent: list[Any] = []
        capped = any(r.max_per_day is not None or r.max_per_week is not None for r in rows)
        if capped:  # most citizens set no cap: counting their sends would be wasted
            last = batches.to_uuid(rows[-1].id)
            sent = await uow.broadcasts.capped_sends(after, last, now - routing.CAP_LOOKBACK)
    return routing.known_of_batch(rows, sent, broadcast.topic), now


async def _write(
    app: Warta,
    writer: batches.Rows,
    broadcast: Broadcast,
    rows: list[tuple[Any, ...]],
    due: list[uuid.UUID],
    cursor: uuid.UUID,
    total: int,
    now: datetime,
) -> bool:
    """One batch's rows and the cursor after it, in one transaction; False (nothing
    written) when the broadcast was cancelled or taken over meanwhile."""
    lease = now + timedelta(seconds=app.settings.lease_seconds)
    async with app.uow() as uow:
        await uow.broadcasts.write_rows(writer, rows)
        if not await uow.broadcasts.advance(broadcast.id, cursor, total, lease):
            log.info("broadcast %s stopped: cancelled or taken over", broadcast.id)
            return False  # leaving without commit rolls this batch back
        await uow.commit()
    if due:
        await app.queue.submit("deliver", due)
    return True
