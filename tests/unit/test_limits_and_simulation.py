"""Rate limits, retry timing, and Notify's simulated recipients."""

from __future__ import annotations

import doctest

import pytest
from hypothesis import given
from hypothesis import strategies as st

from warta.domain import limits, simulated
from warta.domain.limits import TokenBucket, backoff_delay


def test_doctests() -> None:
    for module in (limits, simulated):
        assert doctest.testmod(module).failed == 0


def test_bucket_allows_a_burst_then_the_refill_rate() -> None:
    bucket = TokenBucket.full(capacity=3000, period=60.0, now=0.0)
    assert sum(bucket.take(0.0) for _ in range(3001)) == 3000
    assert sum(bucket.take(1.0) for _ in range(100)) == 50  # 3000 a minute = 50 a second


@given(st.lists(st.floats(min_value=0, max_value=1000), min_size=1, max_size=200))
def test_bucket_never_grants_more_than_capacity_plus_refill(times: list[float]) -> None:
    times.sort()
    bucket = TokenBucket.full(capacity=10, period=60.0, now=times[0])
    granted = sum(bucket.take(t) for t in times)
    assert granted <= 10 + (times[-1] - times[0]) * 10 / 60 + 1e-9


@given(st.integers(min_value=1, max_value=60), st.floats(min_value=0, max_value=0.999999))
def test_backoff_is_capped_positive_and_grows(attempt: int, jitter: float) -> None:
    delay = backoff_delay(attempt, base=10, cap=3600, jitter=jitter)
    assert 0 < delay <= 3600
    assert delay >= min(3600, 10 * 2 ** (attempt - 1)) / 2


@pytest.mark.parametrize(
    ("channel", "recipient", "test_key", "expected"),
    [
        ("sms", "07700900000", False, "delivered"),
        ("sms", "+447700900111", False, "delivered"),
        ("sms", "447700900222", True, "delivered"),
        ("sms", "07700900002", True, "permanent-failure"),
        ("sms", "07700 900003", True, "temporary-failure"),
        ("sms", "07700900002", False, "delivered"),  # live key: never sent, never failed
        ("sms", "081234567890", True, "delivered"),
        ("sms", "081234567890", False, None),
        ("sms", "07700900004", False, None),
        ("email", "simulate-delivered@notifications.service.gov.uk", False, "delivered"),
        ("email", "PERM-FAIL@simulator.notify", True, "permanent-failure"),
        ("email", "temp-fail@simulator.notify", True, "temporary-failure"),
        ("email", "budi@example.com", False, None),
    ],
)
def test_simulated_status(
    channel: str, recipient: str, test_key: bool, expected: str | None
) -> None:
    assert simulated.simulated_status(channel, recipient, test_key=test_key) == expected
