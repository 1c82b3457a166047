"""Celery tasks: the embedded pool's task functions, run by ``warta worker`` processes.

Each worker process holds one ``Runtime`` in ``RUNTIME`` (the command that starts the
worker fills it, since only entry points may build a Warta): the process's Warta and one
event loop in a thread of its own that lives as long as the process, so SMPP binds, SMTP
connections and the group commit of outcomes outlive any task. Celery's pool threads run
a task by handing its coroutine to that loop and waiting for it.

Tasks take a batch of hex ids and call ``deliver``, ``send_callbacks``, ``fan_out`` and
``sweep``, as the embedded pool does. With Redis (``WARTA_REDIS_URL``), a broadcast is
fanned out in ``RANGES`` id ranges, one task each, so several workers share it
(``broadcasts.fan_out_range``); the range that completes the set, counted in a Redis set
(a range run twice counts once), marks the broadcast done. Without Redis nothing can
count them, so one task fans out the whole broadcast.

Running a task twice is harmless: a delivery claims its rows with a conditional UPDATE (a
row claimed, sent or leased to someone else is skipped), a callback and a fan-out claim
theirs likewise, and a range leaves out the citizens it already reached. So late
acknowledgement is safe: a message whose worker died is given to another worker, which
sends only what the dead one had not claimed; the dead worker's claims come back when
their lease ends, or at once when it restarts under the same ``WARTA_WORKER_NAME``
(``worker.reclaim``).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import time
import uuid
from collections.abc import Coroutine, Sequence
from typing import Any, Literal, TypeVar

from celery import Celery
from celery.exceptions import Reject

from warta import metrics
from warta.deps import Warta
from warta.errors import StoreUnavailable
from warta.pipeline.broadcasts import claim_ranges, fan_out, fan_out_range, finish_ranges
from warta.pipeline.callbacks import send_callbacks
from warta.pipeline.celery_queue import FAN_OUT_RANGE, SWEEP, TASK_NAMES, queue_name
from warta.pipeline.delivery import Delivering, deliver
from warta.pipeline.worker import reclaim, sweep
from warta.store.shared import key, redis_client

log = logging.getLogger(__name__)

Kind = Literal["deliver", "callback", "fan_out", "sweep"]
T = TypeVar("T")
#: Id ranges a broadcast is split into when Redis can count them: a few per fan-out worker.
RANGES = 8


class Runtime:
    """One worker process's Warta and event loop (see the module docstring)."""

    def __init__(
        self, app: Warta, loop: asyncio.AbstractEventLoop, name: str, celery: Celery
    ) -> None:
        self.app, self.loop, self.name, self.celery = app, loop, name, celery
        url = app.settings.redis_url
        self.redis = redis_client(url) if url else None
        self.owner = f"{name}#{uuid.uuid4().hex[:12]}"
        self.delivering = Delivering(app, self.owner)
        self._running: dict[asyncio.Task[Any], tuple[Kind, Sequence[uuid.UUID]]] = {}
        self._name_lock: int | None = None
        self.stopping = False

    async def start(self) -> None:
        """Before the first task: take back what this worker's earlier boots held."""
        taken, self._name_lock = await reclaim(self.app, self.name, self.owner)
        if taken:  # due now: the next sweep queues them
            log.info("%d notifications of an earlier run are due again", taken)

    def run(self, kind: Kind, ids: Sequence[uuid.UUID], work: Coroutine[Any, Any, T]) -> T:
        """Run ``work`` on the loop from a pool thread; returns what it returns. Cut short
        by shutdown (``stop_tasks``), its message goes back to the broker."""
        if self.stopping:  # a message taken during shutdown goes back too
            work.close()
            raise Reject("worker stopping", requeue=True)
        future = asyncio.run_coroutine_threadsafe(self._tracked(kind, ids, work), self.loop)
        try:
            return future.result()
        except concurrent.futures.CancelledError:
            log.info("%s of %d ids cut short by shutdown", kind, len(ids))
            raise Reject("worker stopping", requeue=True) from None

    async def _tracked(
        self, kind: Kind, ids: Sequence[uuid.UUID], work: Coroutine[Any, Any, T]
    ) -> T:
        task = asyncio.ensure_future(work)
        self._running[task] = (kind, ids)
        started = time.perf_counter()
        try:
            return await task
        finally:
            del self._running[task]
            metrics.task_took(kind, time.perf_counter() - started)

    def interrupt(self) -> None:
        """Warm shutdown began (called from the signal handler: must not wait)."""
        self.stopping = True
        asyncio.run_coroutine_threadsafe(self.stop_tasks(), self.loop)

    async def stop_tasks(self) -> None:
        """On warm shutdown, as the embedded pool stops: a fan-out stops between batches
        at once (it resumes from its cursor), deliveries get ``WARTA_SHUTDOWN_GRACE``
        seconds, and rows of those cut short are handed back (lease ended), so another
        worker or the next start sends them at once."""
        self.stopping = True
        running = dict(self._running)
        for task, (kind, _ids) in running.items():
            if kind == "fan_out":
                task.cancel()
        deliveries = {t: ids for t, (kind, ids) in running.items() if kind == "deliver"}
        unfinished: list[uuid.UUID] = []
        if deliveries:
            _done, pending = await asyncio.wait(
                deliveries, timeout=self.app.settings.shutdown_grace
            )
            for task in pending:
                task.cancel()
                unfinished.extend(deliveries[task])
        await asyncio.gather(*running, return_exceptions=True)
        await self.delivering.outcomes.drain()  # what was sent is recorded, not handed back
        if unfinished:
            async with self.app.uow() as uow:
                await uow.notifications.release(unfinished, self.app.clock(), self.owner)
                await uow.commit()
            log.info("returned %d notifications for another worker", len(unfinished))

    async def stop(self) -> None:
        """After the worker: nothing left running, this process's name free again."""
        await self.stop_tasks()
        if self.redis is not None:
            await self.redis.aclose()
        if self._name_lock is not None:
            os.close(self._name_lock)
            self._name_lock = None


#: This process's runtime, filled by the command that starts the worker.
RUNTIME: Runtime | None = None


def _runtime() -> Runtime:
    if RUNTIME is None:
        raise RuntimeError("no Warta in this worker process: start it with `warta worker`")
    return RUNTIME


def _ids(hexes: Sequence[str]) -> list[uuid.UUID]:
    return [uuid.UUID(h) for h in hexes]


def run_deliver(hexes: Sequence[str]) -> None:
    runtime, ids = _runtime(), _ids(hexes)
    runtime.run("deliver", ids, deliver(runtime.app, ids, delivering=runtime.delivering))


def run_callbacks(hexes: Sequence[str]) -> None:
    runtime, ids = _runtime(), _ids(hexes)
    runtime.run("callback", ids, send_callbacks(runtime.app, ids))


def run_fan_out(hexes: Sequence[str]) -> None:
    runtime, ids = _runtime(), _ids(hexes)
    if runtime.redis is None:
        runtime.run("fan_out", ids, fan_out(runtime.app, ids))
        return
    queue = queue_name(runtime.app.settings, "fan-out")
    for broadcast_id in ids:
        claimed = claim_ranges(runtime.app, broadcast_id, RANGES)
        ranges = runtime.run("fan_out", [broadcast_id], claimed)
        for index, (lo, hi) in enumerate(ranges):
            bounds = [b.hex if b else None for b in (lo, hi)]
            runtime.celery.send_task(
                FAN_OUT_RANGE, args=[broadcast_id.hex, *bounds, index, len(ranges)], queue=queue
            )


def run_fan_out_range(
    broadcast: str, lo: str | None, hi: str | None, index: int, parts: int
) -> None:
    runtime, broadcast_id = _runtime(), uuid.UUID(broadcast)
    bounds = (uuid.UUID(lo) if lo else None, uuid.UUID(hi) if hi else None)
    work = _fan_out_range(runtime, broadcast_id, bounds, index, parts)
    runtime.run("fan_out", [broadcast_id], work)


async def _fan_out_range(
    runtime: Runtime,
    broadcast_id: uuid.UUID,
    bounds: tuple[uuid.UUID | None, uuid.UUID | None],
    index: int,
    parts: int,
) -> None:
    app, redis = runtime.app, runtime.redis
    await fan_out_range(app, broadcast_id, *bounds)
    if redis is None:  # no Redis here: the sweeper's fan_out finishes it after the lease
        return
    done = key(app.settings.namespace, "fan-out", broadcast_id)
    await redis.sadd(done, index)
    await redis.expire(done, 86_400)
    if await redis.scard(done) == parts and await finish_ranges(app, broadcast_id):
        log.info("broadcast %s fanned out in %d ranges", broadcast_id, parts)
        await redis.delete(done)


def run_sweep() -> None:
    runtime = _runtime()
    runtime.run("sweep", [], _sweep(runtime.app))


async def _sweep(app: Warta) -> None:
    try:
        found = await sweep(app)
    except StoreUnavailable as exc:  # expected while it lasts: one line a sweep
        log.warning("sweep skipped: %s", exc)
        return
    if found:
        log.debug("sweep queued %d ids", found)


def register(celery: Celery) -> None:
    """Add Warta's tasks to ``celery`` (made by ``celery_queue.make_celery``)."""
    for name, body in (
        (TASK_NAMES["deliver"], run_deliver),
        (TASK_NAMES["callback"], run_callbacks),
        (TASK_NAMES["fan_out"], run_fan_out),
        (FAN_OUT_RANGE, run_fan_out_range),
        (SWEEP, run_sweep),
    ):
        celery.task(name=name, acks_late=True, reject_on_worker_lost=True, ignore_result=True)(body)
