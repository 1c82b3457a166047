"""The embedded worker pool: asyncio tasks in the API process, fed by the EmbeddedQueue.

On stop (SIGTERM reaches uvicorn, which ends the lifespan) the pool stops taking work,
lets in-flight batches finish within ``grace`` seconds, and hands back everything else:
ids still queued and rows of batches cut short get their lease ended, so the next start
(or another process) takes them at once.

After a crash nothing was handed back, so a starting pool takes back what its own earlier
boots held: its leases name it (``WARTA_WORKER_NAME``, the host name by default, then
``#`` and a per-boot id). It does so only while it holds a lock file on that name in
``WARTA_VAR_DIR``, so that two live processes given the same name on one host never take
each other's rows; other names' leases wait for their end, as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import functools
import logging
import os
import re
import socket
import time
import uuid
from collections.abc import Callable, Coroutine, Sequence
from datetime import timedelta
from typing import Any

from warta import metrics
from warta.deps import Lane, TaskName, Warta, lane_of
from warta.errors import StoreUnavailable
from warta.pipeline.broadcasts import fan_out
from warta.pipeline.callbacks import send_callbacks
from warta.pipeline.delivery import Delivering, deliver
from warta.pipeline.queue import EmbeddedQueue
from warta.services import chat, code_limits, escalation, expiry
from warta.services.cases import deadlines, telling
from warta.services.chatbot import conversations
from warta.services.citizens import erasure

log = logging.getLogger(__name__)

Task = Callable[[Warta, Sequence[uuid.UUID]], Coroutine[Any, Any, None]]


async def sweep(app: Warta) -> int:
    """Queue what is due: stuck, crashed or waiting to retry. Returns how many ids."""
    now = app.clock()
    await escalation.escalate_unanswered(app, now)  # new attempts are due now: found below
    await chat.forget_expired_links(app)
    await code_limits.forget_old(app)
    await expiry.expire_unreceipted(app)  # SMS whose receipt never came: temporary-failure
    await erasure.pay_checkpoints(app)  # one an erasure could not make (a long read)
    await deadlines.run_timers(app, now)  # cases: missed deadlines, closing unanswered ones
    await telling.tell_owed(app, now)  # case changes a crash kept from their citizen
    await conversations.forget_old(app)  # chat messages past WARTA_CHAT_HISTORY_DAYS
    async with app.uow() as uow:
        # Leasing what is queued only where the queue would otherwise hold it twice: in
        # the embedded pool each process sweeps and claims its share of what is due.
        requeue_at = (
            None if app.queue.remembers else now + timedelta(seconds=app.settings.stuck_after)
        )
        notifications = await uow.notifications.due(now, limit=10_000, requeue_at=requeue_at)
        callbacks = await uow.callbacks.due_ids(now, limit=10_000)
        broadcasts = await uow.broadcasts.due_ids(now)
        await uow.commit()
    if broadcasts:
        await app.queue.submit("fan_out", broadcasts)
    lanes: dict[Lane | None, list[uuid.UUID]] = {}
    for notification_id, channel, priority in notifications:
        lanes.setdefault(lane_of(channel, priority), []).append(notification_id)
    for lane, ids in lanes.items():
        await app.queue.submit("deliver", ids, lane=lane)
    if callbacks:
        await app.queue.submit("callback", callbacks)
    return len(notifications) + len(callbacks) + len(broadcasts)


def _took(task: str, started: float, _job: asyncio.Task[None]) -> None:
    metrics.task_took(task, time.perf_counter() - started)


async def reclaim(app: Warta, name: str, owner: str) -> tuple[int, int]:
    """Take back what ``name``'s earlier boots held; returns how many rows, and the lock
    file's descriptor, which the caller keeps open until it stops.

    Every running process holds a shared lock on its name's file; one that starts takes
    back leases only if it can lock the file alone, that is, no other process by that
    name is running, and shares the lock once done."""
    folder = app.settings.var_dir / "run"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"worker-{re.sub(r'[^A-Za-z0-9._-]', '_', name)}.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        log.warning("another running process is named %r here: its leases wait for their end", name)
        await asyncio.to_thread(fcntl.flock, fd, fcntl.LOCK_SH)
        return 0, fd
    try:
        async with app.uow() as uow:
            taken = await uow.notifications.reclaim(name, owner=owner, now=app.clock())
            await uow.commit()
    finally:
        fcntl.flock(fd, fcntl.LOCK_SH)
    if taken:
        log.info("took back %d notifications from an earlier run of %s", taken, name)
    return taken, fd


class WorkerPool:
    def __init__(self, app: Warta, queue: EmbeddedQueue) -> None:
        self.app = app
        self.queue = queue
        self.name = app.settings.worker_name or socket.gethostname()
        self.owner = f"{self.name}#{uuid.uuid4().hex[:12]}"
        queue.owner = self.owner
        self.delivering = Delivering(app, self.owner)
        self._tasks: list[asyncio.Task[None]] = []
        self._in_flight: dict[asyncio.Task[None], list[uuid.UUID]] = {}
        self._sweeper: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._name_lock: int | None = None

    def start(self) -> None:
        settings = self.app.settings
        task = functools.partial(deliver, delivering=self.delivering)
        for n in range(settings.workers):
            self._tasks.append(asyncio.create_task(self._run("deliver", task), name=f"deliver-{n}"))
        for n in range(2):
            self._tasks.append(
                asyncio.create_task(self._run("callback", send_callbacks), name=f"callback-{n}")
            )
        self._tasks.append(asyncio.create_task(self._run("fan_out", fan_out), name="fan-out"))
        self._sweeper = asyncio.create_task(self._sweep_forever(), name="sweeper")

    async def _run(self, name: TaskName, task: Task) -> None:
        limit = self.app.settings.batch_size
        while True:
            ids = await self.queue.take(name, limit)
            job = asyncio.create_task(task(self.app, ids))
            job.add_done_callback(functools.partial(_took, name, time.perf_counter()))
            self._in_flight[job] = ids if name == "deliver" else []
            try:
                await asyncio.shield(job)
            except asyncio.CancelledError:
                raise
            except Exception:  # the rows keep their lease; the sweeper retries them
                log.exception("%s batch of %d failed", name, len(ids))
            finally:
                self._in_flight.pop(job, None)

    async def reclaim(self) -> int:
        """Take back what this worker's earlier boots held (see the module docstring)."""
        taken, self._name_lock = await reclaim(self.app, self.name, self.owner)
        return taken

    async def _sweep_forever(self) -> None:
        # Stopped by an event, not cancelled: a sweep cut off mid-transaction would only
        # leave an alarming traceback in the log.
        try:
            await self.reclaim()  # before the first sweep, which then finds them due
        except Exception:
            log.exception("taking back leases failed; they wait for their end")
        while not self._stopping.is_set():
            try:
                await sweep(self.app)
            except StoreUnavailable as exc:  # expected while it lasts: one line a sweep
                log.warning("sweep skipped: %s", exc)
            except Exception:
                log.exception("sweep failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.app.settings.sweep_interval)

    async def stop(self) -> None:
        # Snapshot first: cancelling a runner drops its entry from ``_in_flight``.
        in_flight = dict(self._in_flight)
        self._stopping.set()
        if self._sweeper is not None:
            await self._sweeper
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        unfinished: list[uuid.UUID] = []
        if in_flight:
            _done, pending = await asyncio.wait(in_flight, timeout=self.app.settings.shutdown_grace)
            for job in pending:
                job.cancel()
                unfinished.extend(in_flight[job])
            await asyncio.gather(*pending, return_exceptions=True)
        await self.delivering.outcomes.drain()  # what was sent is recorded, not handed back
        returned = self.queue.drain("deliver") + unfinished
        if returned:
            async with self.app.uow() as uow:
                await uow.notifications.release(returned, self.app.clock(), self.owner)
                await uow.commit()
            log.info("returned %d notifications for the next start", len(returned))
        if self._name_lock is not None:
            os.close(self._name_lock)
            self._name_lock = None
