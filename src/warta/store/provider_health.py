"""Provider demotions shared by every process (``WARTA_REDIS_URL``): an SMS provider
demoted by one process's evidence is demoted in all.

Only demotions cross, as they happen: a notice to every process, and the time in a Redis
hash that a process reads when it (re)connects. Choosing a provider stays local
(``domain.failover.Balancer``), with no round trip per send. The observations themselves
stay in each process: each demotes on its own evidence, and shares the result.

Times cross as wall-clock seconds (each balancer runs on ``time.monotonic``): hosts'
clocks disagreeing by a second shift a 15-minute recovery by a second.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from warta.domain.failover import Balancer
from warta.store.shared import Notices, Shared

log = logging.getLogger(__name__)

#: Keep the later of the known and the new demotion time of ARGV[1] (ARGV[2]).
_LATEST = """
local known = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if tonumber(ARGV[2]) > known then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
redis.call('EXPIRE', KEYS[1], 86400)  -- a day old, a demotion has long recovered
"""


class ProviderHealth:
    def __init__(
        self,
        shared: Shared,
        notices: Notices,
        *,
        wall: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._shared, self._notices = shared, notices
        self._wall, self._monotonic = wall, monotonic
        self._hash = shared.key("demoted")
        self._latest = shared.client.register_script(_LATEST)
        self._balancers: list[Balancer] = []
        self._sending: set[asyncio.Task[None]] = set()
        notices.on("demoted", self._heard)
        notices.on_connect(self._reload)

    def watch(self, balancer: Balancer) -> None:
        """Share this balancer's demotions, and apply the others' to it."""
        balancer.on_demote = self._demoted
        self._balancers.append(balancer)

    def _demoted(self, name: str, now: float) -> None:
        # Called from the send path, which must not wait for Redis.
        task = asyncio.get_running_loop().create_task(self._share(name, self._to_wall(now)))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _share(self, name: str, at: float) -> None:
        log.info("SMS provider %s demoted: telling the other processes", name)
        await self._shared.call(lambda r: self._latest(keys=[self._hash], args=[name, at]))
        await self._notices.publish("demoted", f"{name} {at}")

    def _heard(self, value: str) -> None:
        name, _, at = value.partition(" ")
        self._apply(name, float(at))

    async def _reload(self) -> None:
        known = await self._shared.call(lambda r: r.hgetall(self._hash))
        for name, at in (known or {}).items():
            self._apply(str(name), float(at))

    def _apply(self, name: str, at: float) -> None:
        since = self._monotonic() - (self._wall() - at)
        for balancer in self._balancers:
            balancer.demote(name, since)

    def _to_wall(self, monotonic: float) -> float:
        return self._wall() - (self._monotonic() - monotonic)
