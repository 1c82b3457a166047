"""Short-lived, per-process caches of what every API request reads: an agency with its
decrypted key secrets, and templates.

Why: without them each POST costs three extra queries and three decryptions, most of the
API's time. The price is staleness: a change made by another process (a key revoked or
a template edited with the CLI) reaches this one within ``WARTA_CACHE_SECONDS``. Changes
made through this process drop the entry at once.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from warta.security.apikeys import KeyCandidate
from warta.store.models import Agency, Template

K = TypeVar("K")
V = TypeVar("V")


class TtlCache(Generic[K, V]):
    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._seconds = seconds
        self._clock = clock
        self._entries: dict[K, tuple[float, V]] = {}

    def get(self, key: K) -> V | None:
        entry = self._entries.get(key)
        if entry is None or entry[0] < self._clock():
            return None
        return entry[1]

    def put(self, key: K, value: V) -> None:
        if self._seconds > 0:
            self._entries[key] = (self._clock() + self._seconds, value)

    def drop(self, key: K) -> None:
        self._entries.pop(key, None)


@dataclass(frozen=True)
class AgencyKeys:
    agency: Agency
    keys: list[KeyCandidate]


class Caches:
    def __init__(self, seconds: float) -> None:
        self.agencies: TtlCache[uuid.UUID, AgencyKeys] = TtlCache(seconds)
        self.templates: TtlCache[uuid.UUID, Template] = TtlCache(seconds)
