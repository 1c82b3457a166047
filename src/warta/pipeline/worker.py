"""The embedded worker pool: asyncio tasks in the API process, fed by the EmbeddedQueue.

On stop (SIGTERM reaches uvicorn, which ends the lifespan) the pool stops taking work,
lets in-flight batches finish within ``grace`` seconds, and hands back everything else:
ids still queued and rows of batches cut short get their lease ended, so the next start
(or another process) takes them at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from warta.deps import TaskName, Warta
from warta.pipeline.broadcasts import fan_out
from warta.pipeline.callbacks import send_callbacks
from warta.pipeline.delivery import deliver
from warta.pipeline.queue import EmbeddedQueue
from warta.services import chat, code_limits, escalation

log = logging.getLogger(__name__)

Task = Callable[[Warta, Sequence[uuid.UUID]], Coroutine[Any, Any, None]]


async def sweep(app: Warta) -> int:
    """Queue what is due: stuck, crashed or waiting to retry. Returns how many ids."""
    now = app.clock()
    await escalation.escalate_unanswered(app, now)  # new attempts are due now: found below
    await chat.forget_expired_links(app)
    await code_limits.forget_old(app)
    async with app.uow() as uow:
        notifications = await uow.notifications.due_ids(now, limit=10_000)
        callbacks = await uow.callbacks.due_ids(now, limit=10_000)
        broadcasts = await uow.broadcasts.due_ids(now)
    if broadcasts:
        await app.queue.submit("fan_out", broadcasts)
    if notifications:
        await app.queue.submit("deliver", notifications)
    if callbacks:
        await app.queue.submit("callback", callbacks)
    return len(notifications) + len(callbacks) + len(broadcasts)


class WorkerPool:
    def __init__(self, app: Warta, queue: EmbeddedQueue) -> None:
        self.app = app
        self.queue = queue
        self._tasks: list[asyncio.Task[None]] = []
        self._in_flight: dict[asyncio.Task[None], list[uuid.UUID]] = {}
        self._sweeper: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    def start(self) -> None:
        settings = self.app.settings
        for n in range(settings.workers):
            self._tasks.append(
                asyncio.create_task(self._run("deliver", deliver), name=f"deliver-{n}")
            )
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
            self._in_flight[job] = ids if name == "deliver" else []
            try:
                await asyncio.shield(job)
            except asyncio.CancelledError:
                raise
            except Exception:  # the rows keep their lease; the sweeper retries them
                log.exception("%s batch of %d failed", name, len(ids))
            finally:
                self._in_flight.pop(job, None)

    async def _sweep_forever(self) -> None:
        # Stopped by an event, not cancelled: a sweep cut off mid-transaction would only
        # leave an alarming traceback in the log.
        while not self._stopping.is_set():
            try:
                await sweep(self.app)
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
        returned = self.queue.drain("deliver") + unfinished
        if returned:
            async with self.app.uow() as uow:
                await uow.notifications.release(returned, self.app.clock())
                await uow.commit()
            log.info("returned %d notifications for the next start", len(returned))
