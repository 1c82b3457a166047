"""Per-process request rate limits and daily message limits.

Buckets live in this process's memory: exact for the embedded deployment; with several
API processes each enforces the limit on its own share of traffic, which errs on the side
of letting messages through (a shared Redis bucket is the scale-out answer).
The daily count starts from the database once per agency per day, then counts in memory.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta, timezone

from warta.domain.limits import TokenBucket
from warta.errors import DailyLimitExceeded, RateLimited

# Notify resets daily limits at midnight in London; Warta at midnight in Jakarta (WIB).
WIB = timezone(timedelta(hours=7), "WIB")


def start_of_day_wib(now: datetime) -> datetime:
    local = now.astimezone(WIB)
    return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)


class Quotas:
    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self._buckets: dict[tuple[uuid.UUID, str], TokenBucket] = {}
        self._daily: dict[uuid.UUID, tuple[date, int]] = {}

    def check_rate(self, agency_id: uuid.UUID, key_type: str, per_minute: int) -> None:
        now = self._monotonic()
        bucket = self._buckets.get((agency_id, key_type))
        if bucket is None or bucket.capacity != per_minute:
            bucket = self._buckets[(agency_id, key_type)] = TokenBucket.full(per_minute, 60.0, now)
        if not bucket.take(now):
            raise RateLimited(
                "Exceeded rate limit for key type %(key_type)s of %(limit)s requests per 60 "
                "seconds",
                key_type=key_type.upper(),
                limit=per_minute,
            )

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
            raise DailyLimitExceeded("Exceeded send limits (%(limit)s) for today", limit=limit)
        self._daily[agency_id] = (today, used + n)

    def uncount_message(self, agency_id: uuid.UUID, n: int = 1) -> None:
        """Give back counted messages whose request failed before they were stored."""
        day, used = self._daily.get(agency_id, (None, 0))
        if day is not None and used > 0:
            self._daily[agency_id] = (day, max(0, used - n))
