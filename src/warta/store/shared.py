"""Redis, for the state several processes must share: the Redis client, key names, the
outage rule, and the change notices every process listens to.

Only ids, counts, times and keyed hashes go to Redis, never personal data. With ``WARTA_REDIS_URL``
empty none of this runs: each process keeps that state in its own memory, exact when there
is one process (``make run``).

When Redis is down Warta fails open: limits fall back to each process's own count (with
several processes an agency may then send up to that many times its rate), caches to their
TTL, provider health to each process's own evidence. A notification is never refused or
lost because Redis is down; a limit is a protection, the message is the service. One
warning is logged when Redis goes, one line when it is back; in between it is tried again
every ``RETRY_AFTER`` seconds, not on every request.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import TypeVar

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

#: Seconds a call to Redis may take before the caller goes on without it: short, since
#: the accept path waits for it (a local round trip takes well under a millisecond).
TIMEOUT = 0.5
#: Seconds after a failure before Redis is tried again.
RETRY_AFTER = 2.0

T = TypeVar("T")


def redis_client(url: str) -> Redis:
    """The process's Redis client (one connection pool). One retry at once, for a
    connection the server closed; a Redis that is down fails fast, for ``Shared``."""
    return Redis.from_url(
        url,
        socket_timeout=TIMEOUT,
        socket_connect_timeout=TIMEOUT,
        retry=Retry(NoBackoff(), 1),
        health_check_interval=30,
        decode_responses=True,
    )


def key(namespace: str, *parts: str | int | uuid.UUID) -> str:
    """A Redis key under the deployment's namespace.

    >>> key("warta", "rate", uuid.UUID(int=1), "live")
    'warta:rate:00000000-0000-0000-0000-000000000001:live'
    """
    return ":".join((namespace, *map(str, parts)))


class Shared:
    """Redis for one process, with the outage rule: ``call`` runs a command, or returns
    None at once while Redis is known to be down (the caller then uses its local state)."""

    def __init__(
        self,
        client: Redis,
        namespace: str,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.namespace = namespace
        self._monotonic = monotonic
        self._down_until: float | None = None

    def key(self, *parts: str | int | uuid.UUID) -> str:
        return key(self.namespace, *parts)

    async def call(self, command: Callable[[Redis], Awaitable[T]]) -> T | None:
        if self._down_until is not None and self._monotonic() < self._down_until:
            return None
        try:
            result = await command(self.client)
        except (RedisError, OSError) as exc:
            if self._down_until is None:
                log.warning(
                    "Redis is unreachable (%s: %s): limits count per process and caches "
                    "expire by time until it is back",
                    type(exc).__name__,
                    exc,
                )
            self._down_until = self._monotonic() + RETRY_AFTER
            return None
        if self._down_until is not None:
            log.info("Redis is reachable again: limits and caches are shared")
            self._down_until = None
        return result

    async def aclose(self) -> None:
        await self.client.aclose()


Handler = Callable[[str], None]


class Notices:
    """Change notices between processes on one Redis channel: ``publish(kind, value)``
    here reaches every process's ``on(kind)`` handler (this one's too). Notices missed
    while disconnected cannot be replayed: every ``on_connect`` handler runs on each
    (re)connection, to drop or reload what may have changed meanwhile."""

    def __init__(self, shared: Shared) -> None:
        self._shared = shared
        self._channel = shared.key("notices")
        self._handlers: dict[str, list[Handler]] = {}
        self._on_connect: list[Callable[[], Awaitable[None]]] = []
        self._task: asyncio.Task[None] | None = None
        #: Set once subscribed (again after each reconnection): tests wait on it.
        self.listening = asyncio.Event()

    def on(self, kind: str, handler: Handler) -> None:
        self._handlers.setdefault(kind, []).append(handler)

    def on_connect(self, handler: Callable[[], Awaitable[None]]) -> None:
        self._on_connect.append(handler)

    async def publish(self, kind: str, value: str) -> None:
        await self._shared.call(lambda r: r.publish(self._channel, f"{kind} {value}"))

    def start(self) -> None:
        self._task = asyncio.create_task(self._listen(), name="redis-notices")

    async def _listen(self) -> None:
        while True:
            try:
                async with self._shared.client.pubsub() as pubsub:
                    await pubsub.subscribe(self._channel)
                    for handler in self._on_connect:
                        await handler()
                    self.listening.set()
                    while True:
                        message = await pubsub.get_message(
                            ignore_subscribe_messages=True, timeout=1.0
                        )
                        if message is not None:
                            self._dispatch(str(message["data"]))
            except (RedisError, OSError) as exc:
                if self.listening.is_set():
                    log.warning("Redis notices interrupted (%s), reconnecting", exc)
                self.listening.clear()
                await asyncio.sleep(RETRY_AFTER)

    def _dispatch(self, data: str) -> None:
        kind, _, value = data.partition(" ")
        for handler in self._handlers.get(kind, ()):
            try:
                handler(value)
            except Exception:  # one bad notice must not stop this process hearing the rest
                log.exception("could not apply the notice %r", data[:100])

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
