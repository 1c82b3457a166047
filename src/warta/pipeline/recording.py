"""Delivery outcomes written as they come, in groups: what bounds the resends after a crash.

A provider's acceptance is only safe once it is in the database: until then a crash sends
the message again. So each outcome is written as soon as its send ends, not when its whole
batch is done, and a channel may have at most ``in_flight`` sends started and not yet
written (``InFlight``). After a crash, then, at most that many per channel go out twice.

Writing each outcome in its own transaction would cost throughput (SQLite writes one at a
time, and each transaction costs CPU), so outcomes are committed together: what ends while
a group is being written goes into the next group, and a group waits up to ``linger``
seconds for more while sends are still going, unless it already holds ``enough``. A lone
outcome, with nothing else on its way, is written at once. The wait never loosens the
bound above: a send's slot stays taken until its outcome is written.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")

_LOOK_EVERY = 0.005  # seconds between looks while a group gathers


class GroupCommit(Generic[T]):
    """``add(items)`` returns once ``write`` has committed them, together with whatever
    else was added meanwhile. A failed write fails every ``add`` in its group.

    ``more_coming()`` says whether more items may come soon (sends still going)."""

    def __init__(
        self,
        write: Callable[[list[T]], Awaitable[None]],
        *,
        more_coming: Callable[[], bool] = lambda: False,
        linger: float = 0.0,
        enough: int = 1,
    ) -> None:
        self._write = write
        self._more_coming = more_coming
        self._linger, self._enough = linger, enough
        self._items: list[T] = []
        self._waiting: list[asyncio.Future[None]] = []
        self._writer: asyncio.Task[None] | None = None

    async def add(self, items: Sequence[T]) -> None:
        if not items:
            return
        written = asyncio.get_running_loop().create_future()
        self._items.extend(items)
        self._waiting.append(written)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_all(), name="record-outcomes")
        await written

    async def drain(self) -> None:
        """Wait until everything added so far is written (or failed)."""
        while self._writer is not None and not self._writer.done():
            await asyncio.wait({self._writer})

    async def _gather(self) -> None:
        """Wait, up to ``linger``, for ``enough`` items while more are coming. Looks every
        few milliseconds rather than at each item: waking per item cost more than it saved."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._linger
        while len(self._items) < self._enough and self._more_coming():
            left = deadline - loop.time()
            if left <= 0:
                return
            await asyncio.sleep(min(left, _LOOK_EVERY))

    async def _write_all(self) -> None:
        while self._items:
            await self._gather()
            items, waiting = self._items, self._waiting
            self._items, self._waiting = [], []
            try:
                await self._write(items)
            except Exception as exc:
                for each in waiting:
                    if not each.done():  # its sender was cancelled meanwhile (shutdown)
                        each.set_exception(exc)
            else:
                for each in waiting:
                    if not each.done():
                        each.set_result(None)


class InFlight:
    """At most ``limit`` sends per channel started and not yet written; ``sending``
    counts those whose send has not ended yet."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.sending = 0
        self._slots: dict[str, asyncio.Semaphore] = {}

    @contextlib.asynccontextmanager
    async def slot(self, channel: str) -> AsyncIterator[None]:
        semaphore = self._slots.get(channel)
        if semaphore is None:
            semaphore = self._slots[channel] = asyncio.Semaphore(self.limit)
        async with semaphore:
            yield

    @contextlib.contextmanager
    def sending_now(self) -> Iterator[None]:
        self.sending += 1
        try:
            yield
        finally:
            self.sending -= 1
