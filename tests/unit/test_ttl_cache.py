"""The per-process cache's shared loads (warta.store.cache.TtlCache.get_or_load)."""

from __future__ import annotations

import asyncio

import pytest

from warta.store.cache import TtlCache


class Loads:
    """A load that waits to be let go, counting how often it ran."""

    def __init__(self, value: str | None = "agency") -> None:
        self.value = value
        self.count = 0
        self.go = asyncio.Event()

    async def __call__(self) -> str | None:
        self.count += 1
        await self.go.wait()
        return self.value


async def test_misses_at_the_same_time_share_one_load() -> None:
    cache: TtlCache[int, str] = TtlCache(5)
    load = Loads()
    waiting = [asyncio.create_task(cache.get_or_load(1, load)) for _ in range(32)]
    await asyncio.sleep(0)
    load.go.set()
    assert await asyncio.gather(*waiting) == ["agency"] * 32
    assert load.count == 1
    assert await cache.get_or_load(1, load) == "agency" and load.count == 1  # kept


async def test_a_waiter_cancelled_leaves_the_load_to_the_others() -> None:
    cache: TtlCache[int, str] = TtlCache(5)
    load = Loads()
    first, second = (asyncio.create_task(cache.get_or_load(1, load)) for _ in range(2))
    await asyncio.sleep(0)
    first.cancel()
    load.go.set()
    assert await second == "agency"
    with pytest.raises(asyncio.CancelledError):
        await first


async def test_a_failed_load_is_not_kept() -> None:
    cache: TtlCache[int, str] = TtlCache(5)

    async def broken() -> str | None:
        raise RuntimeError("database down")

    with pytest.raises(RuntimeError, match="database down"):
        await cache.get_or_load(1, broken)
    load = Loads()
    load.go.set()
    assert await cache.get_or_load(1, load) == "agency" and load.count == 1


@pytest.mark.parametrize("seconds", [5, 0], ids=["cached", "no-cache"])
async def test_nothing_found_is_not_kept(seconds: float) -> None:
    cache: TtlCache[int, str] = TtlCache(seconds)
    load = Loads(None)
    load.go.set()
    assert await cache.get_or_load(1, load) is None
    assert await cache.get_or_load(1, load) is None and load.count == 2


async def test_what_a_load_read_before_a_change_is_not_kept() -> None:
    cache: TtlCache[int, str] = TtlCache(5)
    old = Loads("before")
    reading = asyncio.create_task(cache.get_or_load(1, old))
    await asyncio.sleep(0)
    cache.forget(1)  # a change committed while it read
    old.go.set()
    assert await reading == "before"
    new = Loads("after")
    new.go.set()
    assert await cache.get_or_load(1, new) == "after"
