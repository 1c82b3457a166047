"""The fan-out task: turn a broadcast into one routed notification per citizen.

Citizens are read in batches by id (keyset pagination), so memory stays flat however
many there are. Each batch is one transaction: its rows, the broadcast's ``cursor`` (the
last citizen done) and its count move together, and the batch commits only while the
broadcast is still being fanned out, so a cancel stops it between batches and a crash
resumes after the last committed batch (the lease runs out, the sweeper hands the
broadcast to a worker again).

Split over workers (Celery), a broadcast is fanned out by id range instead
(``claim_ranges``, ``fan_out_range`` for each, ``finish_ranges``): no cursor then, so each
batch's transaction first locks the broadcast's row and leaves out the citizens who
already have a row of it. A range run twice, or at once with other ranges, or a
broadcast taken over without a cursor (``_fan_out_one``), writes each citizen once.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from warta.deps import Warta
from warta.services import attempts, content, routing
from warta.store import broadcast_batches as batches
from warta.store.models import Agency, Broadcast

log = logging.getLogger(__name__)
BATCH = 10000
FANNING_OUT = "fanning-out"
Range = tuple[uuid.UUID | None, uuid.UUID | None]


async def fan_out(app: Warta, ids: Sequence[uuid.UUID]) -> None:
    for broadcast_id in ids:
        with _collector_eased():
            await _fan_out_one(app, broadcast_id)


_easing = 0


@contextlib.contextmanager
def _collector_eased() -> Iterator[None]:
    """While fanning out, the cyclic collector leaves alone what lived before.

    Each batch in flight (rows, routing entries) outlives the collector's young
    generations, so every few batches a full collection walks every object of the
    process (modules, the app: ~250,000): 40% of a fan-out's time on PostgreSQL.
    ``gc.freeze`` takes what exists now out of its sight until the last fan-out in this
    process ends; nothing is lost, garbage among them is collected after ``unfreeze``."""
    global _easing
    if _easing == 0:
        gc.freeze()
    _easing += 1
    try:
        yield
    finally:
        _easing -= 1
        if _easing == 0:
            gc.unfreeze()


def message_of(app: Warta, broadcast: Broadcast, agency: Agency) -> attempts.Message:
    """What every citizen's row of this broadcast shares."""
    senders = attempts.senders(app, agency)
    return attempts.Message.from_row(broadcast, senders, broadcast_id=broadcast.id)


@dataclass(frozen=True)
class _Job:
    """A broadcast's side of every batch: how rows are written, what they share, what
    routing is asked."""

    broadcast: Broadcast
    writer: batches.Rows
    message: attempts.Message
    ask: routing.Ask


async def _job(app: Warta, broadcast: Broadcast) -> _Job | None:
    contents = content.unseal_channels(
        app.keyring, broadcast.content_enc, field=attempts.BROADCAST_FIELD
    )
    async with app.uow() as uow:
        agency = await uow.agencies.get(broadcast.agency_id)
        writer = uow.broadcasts.row_writer()
    if agency is None:
        return None
    ask = routing.Ask(
        topic=broadcast.topic,
        priority=broadcast.priority,
        available=frozenset(contents) & routing.deliverable(app),
        expires_at=broadcast.expires_at,
    )
    return _Job(broadcast, writer, message_of(app, broadcast, agency), ask)


async def _claim(app: Warta, broadcast_id: uuid.UUID) -> tuple[Broadcast, bool] | None:
    """Take the broadcast if it is due and no live worker holds it (and whether it was
    taken over with no cursor)."""
    now = app.clock()
    lease = now + timedelta(seconds=app.settings.lease_seconds)
    async with app.uow() as uow:
        claimed = await uow.broadcasts.claim_fan_out(broadcast_id, now, lease)
        if claimed is None:
            return None
        await uow.commit()
    return claimed


async def _fan_out_one(app: Warta, broadcast_id: uuid.UUID) -> None:
    # Long on purpose: claim, then batch after batch (read, route, write, advance the
    # cursor) in one loop, so the resume point after a crash is visible in one place.
    claimed = await _claim(app, broadcast_id)
    if claimed is None:
        return
    broadcast, uncharted = claimed
    job = await _job(app, broadcast)
    if job is None:
        return
    if uncharted:  # ranges, or a worker that died before its first batch: check each
        if await _fan_out_checked(app, job, None, None) is not None:
            await finish_ranges(app, broadcast.id)
        return
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
            decisions = routing.decide_all(batch, job.ask, now)
            rows, due = attempts.broadcast_rows(app, job.writer, job.message, batch, decisions, now)
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
            writing = asyncio.create_task(_write(app, job, rows, due, cursor, total, now))
    finally:
        # Stopped early (cancelled, taken over, an error): let what is in flight end first.
        await asyncio.gather(reading, *([writing] if writing else []), return_exceptions=True)


async def _read(
    app: Warta, broadcast: Broadcast, after: uuid.UUID | None, upto: uuid.UUID | None = None
) -> tuple[list[routing.Known], datetime]:
    """The next batch of the segment: what routing needs to know of each citizen."""
    now = app.clock()
    async with app.uow() as uow:  # reads only; rolled back on close
        rows = await uow.broadcasts.segment_batch(broadcast, after, BATCH, upto)
        sent: list[Any] = []
        capped = any(r.max_per_day is not None or r.max_per_week is not None for r in rows)
        if capped:  # most citizens set no cap: counting their sends would be wasted
            last = batches.to_uuid(rows[-1].id)
            sent = await uow.broadcasts.capped_sends(after, last, now - routing.CAP_LOOKBACK)
    return routing.known_of_batch(rows, sent, broadcast.topic), now


async def _write(
    app: Warta,
    job: _Job,
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
        await uow.broadcasts.write_rows(job.writer, rows)
        if not await uow.broadcasts.advance(job.broadcast.id, cursor, total, lease):
            log.info("broadcast %s stopped: cancelled or taken over", job.broadcast.id)
            return False  # leaving without commit rolls this batch back
        await uow.commit()
    await _submit(app, job.broadcast, due)
    return True


async def _submit(app: Warta, broadcast: Broadcast, due: list[uuid.UUID]) -> None:
    if due:
        await app.queue.submit(
            "deliver", due, lane="urgent" if broadcast.priority == "urgent" else None
        )


def id_ranges(parts: int) -> list[Range]:
    """``parts`` ranges (after, up to] that cover every citizen id; citizens' ids are
    random (version 4), so each range holds about as many. None: no bound."""
    bounds = [uuid.UUID(int=i * (1 << 128) // parts) for i in range(1, parts)]
    return list(zip([None, *bounds], [*bounds, None], strict=True))


async def claim_ranges(app: Warta, broadcast_id: uuid.UUID, parts: int) -> list[Range]:
    """Take the broadcast to fan out by range; its ranges, or none when it is not due or
    another worker holds it. Each range goes to ``fan_out_range``, then ``finish_ranges``.
    A broadcast whose ranges stall past the lease is finished by the sweeper's
    ``fan_out``, which checks each citizen as the ranges do."""
    claimed = await _claim(app, broadcast_id)
    return [] if claimed is None else id_ranges(parts)


async def fan_out_range(
    app: Warta, broadcast_id: uuid.UUID, lo: uuid.UUID | None, hi: uuid.UUID | None
) -> int:
    """Fan out the broadcast's citizens with ``lo < id <= hi`` (None: no bound); the
    number of rows written. Safe to run twice and at once with the other ranges."""
    async with app.uow() as uow:
        broadcast = await uow.broadcasts.get_any(broadcast_id)
    if broadcast is None or broadcast.status != FANNING_OUT:
        return 0
    job = await _job(app, broadcast)
    if job is None:
        return 0
    with _collector_eased():
        return await _fan_out_checked(app, job, lo, hi) or 0


async def finish_ranges(app: Warta, broadcast_id: uuid.UUID) -> bool:
    """Mark a broadcast fanned out by ranges done (False: cancelled, or already done)."""
    async with app.uow() as uow:
        finished = await uow.broadcasts.finish_fan_out(broadcast_id, None, None, app.clock())
        await uow.commit()
    return finished


async def _fan_out_checked(
    app: Warta, job: _Job, lo: uuid.UUID | None, hi: uuid.UUID | None
) -> int | None:
    """Batch after batch of (``lo``, ``hi``], each written without the citizens already
    reached; the rows written, or None when the broadcast stopped being fanned out."""
    after, written = lo, 0
    while True:
        batch, now = await _read(app, job.broadcast, after, hi)
        if not batch:
            return written
        last = batches.to_uuid(batch[-1].citizen.id)
        decisions = routing.decide_all(batch, job.ask, now)
        rows, due = attempts.broadcast_rows(app, job.writer, job.message, batch, decisions, now)
        lease = now + timedelta(seconds=app.settings.lease_seconds)
        async with app.uow() as uow:
            # The broadcast's row first: it serialises the batches of every run over this
            # broadcast, so what ``reached`` reads includes all they committed.
            if not await uow.broadcasts.hold(job.broadcast.id, lease):
                return None
            reached = await uow.broadcasts.reached(job.broadcast.id, after, last)
            if reached:
                rows = [r for r in rows if r[batches.CITIZEN_AT] not in reached]
                kept = {batches.to_uuid(r[0]) for r in rows}
                due = [d for d in due if d in kept]
            await uow.broadcasts.write_rows(job.writer, rows)
            await uow.broadcasts.add_recipients(job.broadcast.id, len(rows))
            await uow.commit()
        await _submit(app, job.broadcast, due)
        written, after = written + len(rows), last
