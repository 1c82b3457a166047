"""Where work waits. Only notification, callback and broadcast ids cross it, never personal data.

``warta.deps.WorkQueue`` is the seam for scale-out: the embedded queue below feeds the
in-process worker pool; with ``WARTA_BROKER_URL`` set, ``celery_queue.CeleryQueue``
publishes the same ids to RabbitMQ and Celery workers call the same task functions
(docs/scale-out.md).
"""

from __future__ import annotations

import asyncio
import uuid
from collections import deque
from collections.abc import Sequence

from warta.deps import TASKS, Lane, TaskName


class _Line:
    """One task's waiting ids: urgent ones are taken first."""

    def __init__(self) -> None:
        self.urgent: deque[uuid.UUID] = deque()
        self.normal: deque[uuid.UUID] = deque()
        self.waiting: set[uuid.UUID] = set()
        self.ready = asyncio.Event()  # set while anything waits

    def __len__(self) -> int:
        return len(self.urgent) + len(self.normal)


class EmbeddedQueue:
    """In-memory lines, one per task. Losing them loses nothing: the rows are the truth
    and the sweeper finds anything that was waiting here.

    Ids submitted in the ``urgent`` lane are taken before any other, so an urgent warning
    does not wait behind a million ids a broadcast's fan-out queued.

    An id already waiting is not queued twice: the sweeper re-finds rows that are due
    but not yet taken (in a worker process, every new row), and duplicates would only
    become empty claims.

    ``owner`` is set by the worker pool that serves this queue (``name#boot``): rows made
    for it carry it in their lease, so after a crash that worker's restart takes them back
    at once rather than after ``WARTA_STUCK_AFTER``."""

    owner: str | None = None
    remembers = True

    def __init__(self) -> None:
        self._lines: dict[TaskName, _Line] = {t: _Line() for t in TASKS}

    async def submit(
        self, task: TaskName, ids: Sequence[uuid.UUID], *, lane: Lane | None = None
    ) -> None:
        line = self._lines[task]
        into = line.urgent if lane == "urgent" else line.normal
        for item in ids:
            if item not in line.waiting:
                line.waiting.add(item)
                into.append(item)
        if line:
            line.ready.set()

    async def take(self, task: TaskName, limit: int) -> list[uuid.UUID]:
        """Wait for one id, then take what else is already waiting, up to ``limit``,
        urgent ids first."""
        line = self._lines[task]
        while not line:
            line.ready.clear()
            await line.ready.wait()
        batch: list[uuid.UUID] = []
        for source in (line.urgent, line.normal):
            while source and len(batch) < limit:
                batch.append(source.popleft())
        line.waiting.difference_update(batch)
        return batch

    def drain(self, task: TaskName) -> list[uuid.UUID]:
        line = self._lines[task]
        items = [*line.urgent, *line.normal]
        line.urgent.clear()
        line.normal.clear()
        line.waiting.clear()
        return items


class DatabaseOnlyQueue:
    """For an API process that runs no workers (``warta serve --no-workers``): submitting
    does nothing, because worker processes (``warta worker``) find new rows in the
    database with their sweeper. Rows are created already due, so nothing waits for a
    lease to pass."""

    owner: str | None = None
    remembers = True

    async def submit(
        self, task: TaskName, ids: Sequence[uuid.UUID], *, lane: Lane | None = None
    ) -> None:
        return None
