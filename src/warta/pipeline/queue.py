"""Where work waits. Only notification, callback and broadcast ids cross it, never personal data.

``warta.deps.WorkQueue`` is the seam for scale-out: the embedded queue below feeds the in-process
worker pool; a Celery-over-RabbitMQ queue would implement the same ``submit`` by sending
``warta.deliver(ids)`` messages, and its workers would call the same task functions.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence

from warta.deps import TASKS, TaskName


class EmbeddedQueue:
    """Unbounded asyncio queues, one per task. Losing them loses nothing: the rows are
    the truth and the sweeper finds anything that was waiting here.

    An id already waiting is not queued twice: the sweeper re-finds rows that are due
    but not yet taken (in a worker process, every new row), and duplicates would only
    become empty claims.

    ``owner`` is set by the worker pool that serves this queue (``name#boot``): rows made
    for it carry it in their lease, so after a crash that worker's restart takes them back
    at once rather than after ``WARTA_STUCK_AFTER``."""

    owner: str | None = None

    def __init__(self) -> None:
        self.queues: dict[TaskName, asyncio.Queue[uuid.UUID]] = {t: asyncio.Queue() for t in TASKS}
        self._waiting: dict[TaskName, set[uuid.UUID]] = {t: set() for t in TASKS}

    async def submit(self, task: TaskName, ids: Sequence[uuid.UUID]) -> None:
        queue, waiting = self.queues[task], self._waiting[task]
        for item in ids:
            if item not in waiting:
                waiting.add(item)
                queue.put_nowait(item)

    async def take(self, task: TaskName, limit: int) -> list[uuid.UUID]:
        """Wait for one id, then take what else is already waiting, up to ``limit``."""
        queue = self.queues[task]
        batch = [await queue.get()]
        while len(batch) < limit and not queue.empty():
            batch.append(queue.get_nowait())
        self._waiting[task].difference_update(batch)
        return batch

    def drain(self, task: TaskName) -> list[uuid.UUID]:
        queue = self.queues[task]
        items = []
        while not queue.empty():
            items.append(queue.get_nowait())
        self._waiting[task].clear()
        return items


class DatabaseOnlyQueue:
    """For an API process that runs no workers (``warta serve --no-workers``): submitting
    does nothing, because worker processes (``warta worker``) find new rows in the
    database with their sweeper. Rows are created already due, so nothing waits for a
    lease to pass."""

    owner: str | None = None

    async def submit(self, task: TaskName, ids: Sequence[uuid.UUID]) -> None:
        return None
