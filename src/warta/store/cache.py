"""Short-lived, per-process caches of what every API request reads: an agency with its
decrypted key secrets, and templates.

Why: without them each POST costs three extra queries and three decryptions, most of the
API's time. The price is staleness, bounded: a change drops the entry in this process at
once and, with Redis (``Caches.share``), in every process at once (a key revoked in one
API process or with the CLI is refused by all the others). Without Redis, or while it is
down, another process's change reaches this one within ``WARTA_CACHE_SECONDS``.
"""

from __future__ import annotations

import asyncio
import functools
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from warta.security.apikeys import KeyCandidate, VerifiedTokens
from warta.store.models import Agency, Template
from warta.store.shared import Notices

K = TypeVar("K")
V = TypeVar("V")


class TtlCache(Generic[K, V]):
    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._seconds = seconds
        self._clock = clock
        self._entries: dict[K, tuple[float, V]] = {}
        self._loading: dict[K, asyncio.Future[V | None]] = {}
        #: Tells the other processes to forget a dropped entry (set by ``Caches.share``).
        self.on_drop: Callable[[K], Awaitable[None]] | None = None

    def get(self, key: K) -> V | None:
        entry = self._entries.get(key)
        if entry is None or entry[0] < self._clock():
            return None
        return entry[1]

    def put(self, key: K, value: V) -> None:
        if self._seconds > 0:
            self._entries[key] = (self._clock() + self._seconds, value)

    async def get_or_load(self, key: K, load: Callable[[], Awaitable[V | None]]) -> V | None:
        """The fresh entry, else what ``load()`` finds (kept, unless None). Misses at the
        same time share one load: when an entry expires under load, one query refills it,
        not one per request in flight (that burst was a latency spike every few seconds)."""
        found = self.get(key)
        if found is not None or self._seconds <= 0:
            return found if found is not None else await load()
        loading = self._loading.get(key)
        if loading is None:
            loading = self._loading[key] = asyncio.ensure_future(self._load(key, load))
        return await asyncio.shield(loading)  # a waiter cancelled leaves it to the others

    async def _load(self, key: K, load: Callable[[], Awaitable[V | None]]) -> V | None:
        try:
            value = await load()
        finally:
            # Not forgotten meanwhile (a change committed while it read): keep what it read.
            current = self._loading.get(key) is asyncio.current_task()
            if current:
                del self._loading[key]
        if current and value is not None:
            self.put(key, value)
        return value

    async def drop(self, key: K) -> None:
        """After a change is committed: forget ``key`` here and in every process."""
        self.forget(key)
        if self.on_drop is not None:
            await self.on_drop(key)

    def forget(self, key: K) -> None:
        self._entries.pop(key, None)
        self._loading.pop(key, None)  # a load under way may have read the old value

    def clear(self) -> None:
        self._entries.clear()
        self._loading.clear()


@dataclass(frozen=True)
class AgencyKeys:
    agency: Agency
    keys: list[KeyCandidate]


class Caches:
    def __init__(self, seconds: float) -> None:
        self.agencies: TtlCache[uuid.UUID, AgencyKeys] = TtlCache(seconds)
        self.templates: TtlCache[uuid.UUID, Template] = TtlCache(seconds)
        #: Needs no dropping: each hit is checked against the agency's keys above.
        self.tokens = VerifiedTokens()

    def share(self, notices: Notices) -> None:
        """Drop entries in every process on a change. A process that was cut off from
        Redis may have missed notices: it forgets everything when it reconnects."""
        self.agencies.on_drop = functools.partial(_publish, notices, "agency")
        self.templates.on_drop = functools.partial(_publish, notices, "template")
        notices.on("agency", lambda value: self.agencies.forget(uuid.UUID(value)))
        notices.on("template", lambda value: self.templates.forget(uuid.UUID(value)))

        async def forget_all() -> None:
            self.agencies.clear()
            self.templates.clear()

        notices.on_connect(forget_all)


async def _publish(notices: Notices, kind: str, key: uuid.UUID) -> None:
    await notices.publish(kind, str(key))
