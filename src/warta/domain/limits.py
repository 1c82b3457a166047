"""Rate limiting and retry timing: pure arithmetic, the clock and randomness passed in."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class TokenBucket:
    """``capacity`` requests at once, refilled evenly over ``period`` seconds.

    Notify allows 3,000 requests a minute per service and key type: a burst of 3,000,
    then 50 a second.

    >>> bucket = TokenBucket(capacity=2, period=60.0, tokens=2, updated=0.0)
    >>> bucket.take(now=0.0), bucket.take(now=0.0), bucket.take(now=0.0)
    (True, True, False)
    >>> bucket.take(now=30.0)
    True
    """

    capacity: int
    period: float
    tokens: float
    updated: float

    @classmethod
    def full(cls, capacity: int, period: float, now: float) -> TokenBucket:
        return cls(capacity=capacity, period=period, tokens=float(capacity), updated=now)

    def take(self, now: float) -> bool:
        elapsed = max(0.0, now - self.updated)
        self.tokens = min(float(self.capacity), self.tokens + elapsed * self.capacity / self.period)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


def backoff_delay(attempt: int, *, base: float, cap: float, jitter: float) -> float:
    """Seconds to wait before try ``attempt + 1``: exponential, capped, with equal jitter.

    ``jitter`` is a number in [0, 1) from the caller's random source; half of the delay is
    fixed so a retry never comes immediately, half is spread so retries do not stampede.

    >>> backoff_delay(1, base=10, cap=3600, jitter=0.0)
    5.0
    >>> backoff_delay(3, base=10, cap=3600, jitter=0.5)
    30.0
    >>> backoff_delay(30, base=10, cap=3600, jitter=0.999) <= 3600
    True
    """
    ceiling = min(cap, base * 2 ** max(0, attempt - 1))
    return ceiling / 2 + ceiling / 2 * jitter
