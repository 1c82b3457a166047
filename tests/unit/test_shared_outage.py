"""The outage rule of ``store.shared``: while Redis is down, callers go on without it at
once, one warning says so, and Redis is tried again after ``RETRY_AFTER``."""

from __future__ import annotations

import logging

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from warta.store.shared import RETRY_AFTER, Shared, key, redis_client


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Server:
    """What a command meets: a Redis that answers, or one that is down."""

    def __init__(self) -> None:
        self.up = True
        self.calls = 0

    async def command(self, _: Redis) -> str:
        self.calls += 1
        if not self.up:
            raise RedisConnectionError(
                "Error 111 connecting to 127.0.0.1:6379. Connection refused."
            )
        return "PONG"


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        pytest.param(("rate", "a", "normal"), "warta:rate:a:normal", id="parts joined"),
        pytest.param(("daily", 7), "warta:daily:7", id="numbers as text"),
        pytest.param((), "warta", id="the namespace alone"),
    ],
)
def test_keys_live_under_the_namespace(parts: tuple[str, ...], expected: str) -> None:
    assert key("warta", *parts) == expected


async def test_redis_down_is_skipped_until_retry_and_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock, server = Clock(), Server()
    shared = Shared(redis_client("redis://127.0.0.1:6379/0"), "t", monotonic=clock)
    with caplog.at_level(logging.INFO, logger="warta.store.shared"):
        assert await shared.call(server.command) == "PONG"
        server.up = False
        assert await shared.call(server.command) is None
        clock.now += RETRY_AFTER / 2
        assert await shared.call(server.command) is None  # not tried: known down
        assert server.calls == 2
        clock.now += RETRY_AFTER
        assert await shared.call(server.command) is None  # tried again, still down
        assert server.calls == 3
        server.up = True
        clock.now += RETRY_AFTER
        assert await shared.call(server.command) == "PONG"
    await shared.aclose()
    assert [(r.levelname, r.getMessage().split(" (")[0].split(":")[0]) for r in caplog.records] == [
        ("WARNING", "Redis is unreachable"),
        ("INFO", "Redis is reachable again"),
    ]
