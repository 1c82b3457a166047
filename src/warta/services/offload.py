"""CPU-heavy pure work run in worker processes, away from the API's event loop: reading an
uploaded spreadsheet (``services.uploads``), checking every row of a bulk send
(``services.bulk_rows``).

Why processes, not a thread (measured: ``GET /v2/templates`` over HTTP every 20 ms while
30,000 bulk rows were checked, on two busy cores): in the event loop each request
waited the whole check, 7 s; in a thread, requests still took 1.5 to 3 times as long
(median 84-143 ms against 58-85 ms idle, worst 182-374 ms), because pure-Python parsing
holds the GIL the loop needs between each bit of I/O; in a process they stayed near idle
(median 52-78 ms against 52-72 ms, worst 96-271 ms). Three runs of each.
``tests/integration/test_hardening_loop.py`` keeps it so.

Workers are forked from a fork server that imported Warta once, so a new one is ready in
milliseconds rather than after seconds of imports, and none inherits the API's threads,
connections or locks. They start on first use, and run at a lower priority (``NICENESS``):
on a machine with as many busy workers as cores, the API process still gets the CPU
first, where at equal priority requests stalled up to a second. The rows of a file cross
to the worker and back through a pipe between this process and its own child, never a
queue or a file. A worker that dies (killed, out of memory) breaks its pool for good:
the pool is replaced, and the file that was being read is refused.

A long result (the rows of a file) comes back pickled in slices, unpickled one slice at a
time with other requests in between (``run_list``): unpickling 30,000 checked rows at
once held the GIL, and so the event loop, for half a second.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import pickle
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import ParamSpec, TypeVar

from warta.deps import Warta
from warta.errors import ValidationFailed

P = ParamSpec("P")
T = TypeVar("T")

#: The modules whose functions the workers run, imported once in the fork server.
PRELOAD = ["warta.services.bulk_rows"]
#: How much lower the workers' priority is than the API's (``os.nice``).
NICENESS = 10
#: Items of a long result unpickled between two turns of the event loop.
SLICE = 500


class ProcessOffload:
    """A pool of ``workers`` processes; ``run`` awaits one call in it."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None

    def _started(self) -> ProcessPoolExecutor:
        if self._pool is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(PRELOAD)  # no effect once the server runs
            self._pool = ProcessPoolExecutor(
                self.workers, mp_context=context, initializer=os.nice, initargs=(NICENESS,)
            )
        return self._pool

    async def run(self, work: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        pool = self._started()
        try:
            # Submitted from a thread: the first call starts the fork server and a worker,
            # which takes seconds the event loop must not wait.
            future = await asyncio.to_thread(pool.submit, work, *args, **kwargs)
            return await asyncio.wrap_future(future)
        except BrokenProcessPool as exc:
            if self._pool is pool:
                self._pool = None
                pool.shutdown(wait=False, cancel_futures=True)
            raise ValidationFailed(
                "This file could not be checked: upload it again, or split it into smaller files"
            ) from exc

    async def aclose(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


async def run(app: Warta, work: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """``work(*args, **kwargs)`` in a worker process; in this one when ``app`` has no pool
    (``WARTA_UPLOAD_WORKERS=0``). ``work`` must be a module-level function of its
    arguments only. A ``WartaError`` it raises is raised here as it was: exceptions cross
    the pipe with their ``msgid`` and ``values``, so pages still translate them."""
    if app.offload is None:
        return work(*args, **kwargs)
    return await app.offload.run(work, *args, **kwargs)


async def run_list(
    app: Warta, work: Callable[P, list[T]], *args: P.args, **kwargs: P.kwargs
) -> list[T]:
    """``run`` for work that returns a long list: it crosses back in slices."""
    if app.offload is None:
        return work(*args, **kwargs)
    pieces = await app.offload.run(_sliced, work, args, kwargs)
    items: list[T] = []
    for piece in pieces:
        items.extend(pickle.loads(piece))  # from our own worker process
        await asyncio.sleep(0)
    return items


def _sliced(
    work: Callable[..., list[T]], args: tuple[object, ...], kwargs: dict[str, object]
) -> list[bytes]:
    items = work(*args, **kwargs)
    return [pickle.dumps(items[i : i + SLICE]) for i in range(0, len(items), SLICE)]
