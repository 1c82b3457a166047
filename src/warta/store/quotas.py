"""Request rate limits and daily message limits, per agency.

``Quotas`` keeps them in this process's memory: exact for one process. ``SharedQuotas``
keeps them in Redis for every process (``WARTA_REDIS_URL``), and falls back to its own
memory while Redis is down (``store.shared``: fail open, never lose a notification).
The daily count starts from the database once per agency per day, then counts.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta, timezone

from warta.domain.limits import TokenBucket
from warta.errors import DailyLimitExceeded, RateLimited
from warta.store.shared import Shared

# Notify resets daily limits at midnight in London; Warta at midnight in Jakarta (WIB).
WIB = timezone(timedelta(hours=7), "WIB")


def start_of_day_wib(now: datetime) -> datetime:
    local = now.astimezone(WIB)
    return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)


#: Buckets kept in memory before they are all forgotten (a flood of new chat addresses):
#: forgetting fills them, erring on letting requests through rather than growing.
MAX_BUCKETS = 50_000

Name = str | uuid.UUID


class Quotas:
    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self._buckets: dict[tuple[Name, ...], TokenBucket] = {}
        self._daily: dict[uuid.UUID, tuple[date, int]] = {}

    async def take(self, per_minute: int, *name: Name) -> bool:
        """Take one request from the bucket ``name`` (``per_minute`` at once, refilled
        evenly over a minute); False when it is empty."""
        now = self._monotonic()
        bucket = self._buckets.get(name)
        if bucket is None or bucket.capacity != per_minute:
            if len(self._buckets) >= MAX_BUCKETS:
                self._buckets.clear()
            bucket = self._buckets[name] = TokenBucket.full(per_minute, 60.0, now)
        return bucket.take(now)

    async def check_rate(self, agency_id: uuid.UUID, key_type: str, per_minute: int) -> None:
        """Take one request from the agency's bucket for this key type, or Notify's 429."""
        if not await self.take(per_minute, "rate", agency_id, key_type):
            raise _rate_limited(key_type, per_minute)

    async def count_message(
        self,
        agency_id: uuid.UUID,
        limit: int,
        now: datetime,
        count_from_store: Callable[[datetime], Awaitable[int]],
        n: int = 1,
    ) -> None:
        """Count ``n`` more messages today, or refuse them all with Notify's 429."""
        today = now.astimezone(WIB).date()
        day, used = self._daily.get(agency_id, (None, 0))
        if day != today:
            used = await count_from_store(start_of_day_wib(now))
        if used + n > limit:
            self._daily[agency_id] = (today, used)
            raise _over_daily_limit(limit)
        self._daily[agency_id] = (today, used + n)

    async def uncount_message(self, agency_id: uuid.UUID, n: int = 1) -> None:
        """Give back counted messages whose request failed before they were stored."""
        day, used = self._daily.get(agency_id, (None, 0))
        if day is not None and used > 0:
            self._daily[agency_id] = (day, max(0, used - n))


def _rate_limited(key_type: str, per_minute: int) -> RateLimited:
    return RateLimited(
        "Exceeded rate limit for key type %(key_type)s of %(limit)s requests per 60 seconds",
        key_type=key_type.upper(),
        limit=per_minute,
    )


def _over_daily_limit(limit: int) -> DailyLimitExceeded:
    return DailyLimitExceeded("Exceeded send limits (%(limit)s) for today", limit=limit)


#: ``domain.limits.TokenBucket.take`` on a Redis hash, atomic, on Redis's clock (the API
#: hosts' clocks need not agree). KEYS[1]: the bucket; ARGV: capacity, period in seconds,
#: and optionally the time (tests compare it with the domain's arithmetic). 1: taken.
BUCKET_SCRIPT = """
local capacity, period = tonumber(ARGV[1]), tonumber(ARGV[2])
local now = tonumber(ARGV[3])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
end
local state = redis.call('HMGET', KEYS[1], 'tokens', 'updated', 'capacity')
local tokens, updated = tonumber(state[1]), tonumber(state[2])
if not tokens or tonumber(state[3]) ~= capacity then
  tokens, updated = capacity, now
end
tokens = math.min(capacity, tokens + math.max(0, now - updated) * capacity / period)
local taken = 0
if tokens >= 1 then
  tokens, taken = tokens - 1, 1
end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.6f', tokens),
  'updated', string.format('%.6f', now), 'capacity', capacity)
redis.call('EXPIRE', KEYS[1], math.ceil(period))  -- full again by then: nothing to keep
return taken
"""

#: Count ARGV[1] messages toward the limit ARGV[2] on KEYS[1] (one agency, one WIB day).
#: -1: no count yet, call again with the database's count as the seed (ARGV[3]) and the
#: seconds it should live (ARGV[4]); -2: over the limit, nothing counted; else the count.
DAILY_SCRIPT = """
local used = redis.call('GET', KEYS[1])
if not used then
  if ARGV[3] == '' then return -1 end
  used = ARGV[3]
  redis.call('SET', KEYS[1], used, 'EX', ARGV[4])
end
if tonumber(used) + tonumber(ARGV[1]) > tonumber(ARGV[2]) then return -2 end
return redis.call('INCRBY', KEYS[1], ARGV[1])
"""

#: Give back up to ARGV[1] counted messages; a missing count stays missing.
UNCOUNT_SCRIPT = """
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
if used <= 0 then return 0 end
return redis.call('DECRBY', KEYS[1], math.min(used, tonumber(ARGV[1])))
"""

_NO_COUNT, _OVER = -1, -2


class SharedQuotas(Quotas):
    """The same limits kept in Redis, so they hold across every API process; this
    process's own ``Quotas`` while Redis is down (fail open: see ``store.shared``)."""

    def __init__(self, shared: Shared, monotonic: Callable[[], float] = time.monotonic) -> None:
        super().__init__(monotonic)
        self._shared = shared
        self._bucket = shared.client.register_script(BUCKET_SCRIPT)
        self._count = shared.client.register_script(DAILY_SCRIPT)
        self._uncount = shared.client.register_script(UNCOUNT_SCRIPT)
        #: The day key each agency last counted on, for ``uncount_message``.
        self._counted_on: dict[uuid.UUID, str] = {}

    async def take(self, per_minute: int, *name: Name) -> bool:
        key = self._shared.key(*name)
        taken = await self._shared.call(lambda r: self._bucket(keys=[key], args=[per_minute, 60]))
        if taken is None:
            return await super().take(per_minute, *name)
        return bool(taken)

    async def count_message(
        self,
        agency_id: uuid.UUID,
        limit: int,
        now: datetime,
        count_from_store: Callable[[datetime], Awaitable[int]],
        n: int = 1,
    ) -> None:
        start = start_of_day_wib(now)
        name = self._shared.key("daily", agency_id, now.astimezone(WIB).date().isoformat())
        used = await self._shared.call(lambda r: self._count(keys=[name], args=[n, limit, ""]))
        if used == _NO_COUNT:
            # Every process may seed at once: the first SET wins, and none counts before
            # the seed is there, so the database's count is taken exactly once.
            seed = await count_from_store(start)
            # An hour past the day's end: the key outlives any request counted that day.
            ttl = int((start + timedelta(days=1, hours=1) - now).total_seconds())
            used = await self._shared.call(
                lambda r: self._count(keys=[name], args=[n, limit, seed, max(ttl, 1)])
            )
        if used is None:
            self._counted_on.pop(agency_id, None)  # given back locally too
            await super().count_message(agency_id, limit, now, count_from_store, n)
            return
        if used == _OVER:
            raise _over_daily_limit(limit)
        self._counted_on[agency_id] = name

    async def uncount_message(self, agency_id: uuid.UUID, n: int = 1) -> None:
        name = self._counted_on.get(agency_id)
        if name is None:
            await super().uncount_message(agency_id, n)
            return
        if await self._shared.call(lambda r: self._uncount(keys=[name], args=[n])) is None:
            await super().uncount_message(agency_id, n)
