"""Rate limits, retry timing, the limits on one-time codes, and Notify's simulated
recipients."""

from __future__ import annotations

import doctest
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from warta.domain import limits, simulated
from warta.domain.limits import (
    CODES_PER_CLIENT,
    CODES_PER_CONTACT,
    TokenBucket,
    backoff_delay,
    client_network,
    locked_out,
    may_send,
)


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


QUARTER, DAY = timedelta(minutes=15), timedelta(days=1)


@pytest.mark.parametrize(
    ("in_quarter", "in_day", "allowances", "expected"),
    [
        pytest.param(0, 0, CODES_PER_CONTACT, True, id="contact: first code"),
        pytest.param(2, 2, CODES_PER_CONTACT, True, id="contact: third in 15 min"),
        pytest.param(3, 3, CODES_PER_CONTACT, False, id="contact: fourth in 15 min"),
        pytest.param(0, 9, CODES_PER_CONTACT, True, id="contact: tenth of the day"),
        pytest.param(0, 10, CODES_PER_CONTACT, False, id="contact: eleventh of the day"),
        pytest.param(3, 10, CODES_PER_CONTACT, False, id="contact: both full"),
        pytest.param(9, 9, CODES_PER_CLIENT, True, id="client: tenth in 15 min"),
        pytest.param(10, 10, CODES_PER_CLIENT, False, id="client: eleventh in 15 min"),
        pytest.param(0, 49, CODES_PER_CLIENT, True, id="client: fiftieth of the day"),
        pytest.param(0, 50, CODES_PER_CLIENT, False, id="client: fifty-first of the day"),
    ],
)
def test_codes_within_the_allowances(
    in_quarter: int, in_day: int, allowances: tuple[limits.Allowance, ...], expected: bool
) -> None:
    assert may_send({QUARTER: in_quarter, DAY: in_day}, allowances) is expected


def test_a_span_nobody_counted_counts_none() -> None:
    assert may_send({}, CODES_PER_CONTACT)
    assert not may_send({DAY: 10}, CODES_PER_CONTACT)


@pytest.mark.parametrize(
    ("address", "counted_as"),
    [
        pytest.param("203.0.113.7", "203.0.113.7", id="IPv4 as it is"),
        pytest.param("2001:db8:1:2::1", "2001:db8:1:2::/64", id="IPv6 by its /64"),
        pytest.param("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64", id="same /64"),
        pytest.param("2001:db8:1:3::1", "2001:db8:1:3::/64", id="next /64 apart"),
        pytest.param("::ffff:203.0.113.7", "203.0.113.7", id="IPv4-mapped as IPv4"),
        pytest.param("testclient", "testclient", id="not an address: as it is"),
    ],
)
def test_client_addresses_are_counted_by_network(address: str, counted_as: str) -> None:
    assert client_network(address) == counted_as


T0 = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)


def _at(*minutes: float) -> list[datetime]:
    return [T0 + timedelta(minutes=m) for m in minutes]


@pytest.mark.parametrize(
    ("wrong", "now", "expected"),
    [
        pytest.param([], 0, False, id="no wrong guesses"),
        pytest.param([0, 1, 2, 3], 4, False, id="four wrong: not yet"),
        pytest.param([0, 1, 2, 3, 4], 4, True, id="the fifth locks at once"),
        pytest.param([0, 1, 2, 3, 4], 18.9, True, id="locked 15 min after the fifth"),
        pytest.param([0, 1, 2, 3, 4], 19, False, id="unlocked at 15 min after the fifth"),
        pytest.param([0, 1, 2, 3, 14.9], 20, True, id="five within 15 min, spread"),
        pytest.param([0, 1, 2, 3, 15], 16, False, id="five over exactly 15 min: no"),
        pytest.param([0, 16, 17, 18, 19, 20], 21, True, id="the last five of six"),
        pytest.param([0, 10, 20, 30, 40, 50], 51, False, id="slow guessing never locks"),
        pytest.param([0, 1, 2, 3, 4, 30, 31, 32, 33, 34], 40, True, id="locked again"),
        pytest.param([0, 1, 2, 3, 4], 2, True, id="guesses stamped ahead of now count"),
    ],
)
def test_wrong_guesses_lock_the_contact(wrong: list[float], now: float, expected: bool) -> None:
    assert locked_out(_at(*wrong), _at(now)[0]) is expected


def test_the_lock_does_not_depend_on_the_order_given() -> None:
    assert locked_out(list(reversed(_at(0, 1, 2, 3, 4))), _at(5)[0])


@given(st.lists(st.integers(min_value=0, max_value=120), max_size=30), st.integers(0, 150))
def test_a_lock_always_has_five_wrong_within_15_minutes_of_each_other(
    minutes: list[int], now: int
) -> None:
    wrong = _at(*minutes)
    if locked_out(wrong, _at(now)[0]):
        assert len([t for t in wrong if t > _at(now - 30)[0]]) >= 5
    if len([t for t in wrong if _at(now - 15)[0] < t <= _at(now)[0]]) >= 5:
        assert locked_out(wrong, _at(now)[0])  # five in the last 15 minutes: surely locked


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
