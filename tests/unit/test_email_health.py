"""Email health rules (``domain/email_health.py``): when soft bounces fail an address, and
when a day's bounce and complaint rates warn."""

from __future__ import annotations

import doctest
from datetime import UTC, datetime, timedelta

import pytest

from warta.domain import email_health
from warta.domain.email_health import rate, soft_bounces_fail, warnings

NOW = datetime(2026, 12, 5, 10, tzinfo=UTC)
HOUR = timedelta(hours=1)


def test_doctests() -> None:
    assert doctest.testmod(email_health).failed == 0


@pytest.mark.parametrize(
    ("ago", "fails"),
    [
        pytest.param([], False, id="none"),
        pytest.param([0], False, id="one"),
        pytest.param([0, 1], False, id="two"),
        pytest.param([0, 1, 2], True, id="three-within-hours"),
        pytest.param([0, 24, 71], True, id="three-within-three-days"),
        pytest.param([0, 24, 72], True, id="the-oldest-exactly-three-days-ago"),
        pytest.param([0, 24, 73], False, id="the-oldest-just-outside"),
        pytest.param([0, 100, 200, 300], False, id="many-spread-out"),
        pytest.param([0, 1, 2, 3, 4], True, id="five"),
        pytest.param([-1, 0, 1], False, id="one-in-the-future-does-not-count"),
    ],
)
def test_soft_bounces_fail_an_address_only_when_repeated(ago: list[int], fails: bool) -> None:
    assert soft_bounces_fail([NOW - h * HOUR for h in ago], NOW) is fails


@pytest.mark.parametrize(
    ("count", "sent", "expected"),
    [
        pytest.param(0, 0, 0.0, id="nothing-sent"),
        pytest.param(5, 0, 0.0, id="reports-without-sends"),
        pytest.param(0, 10, 0.0, id="none"),
        pytest.param(1, 4, 0.25, id="a-quarter"),
        pytest.param(10, 10, 1.0, id="all"),
    ],
)
def test_rate(count: int, sent: int, expected: float) -> None:
    assert rate(count, sent) == expected


@pytest.mark.parametrize(
    ("sent", "hard", "complaints", "expected"),
    [
        pytest.param(1000, 0, 0, (), id="clean"),
        pytest.param(1000, 20, 3, (), id="exactly-at-both-thresholds"),
        pytest.param(1000, 21, 3, ("hard-bounces",), id="hard-over-2pct"),
        pytest.param(1000, 20, 4, ("complaints",), id="complaints-over-0.3pct"),
        pytest.param(1000, 21, 4, ("complaints", "hard-bounces"), id="both"),
        pytest.param(100_000, 0, 301, ("complaints",), id="a-national-broadcast"),
        pytest.param(1, 0, 1, ("complaints",), id="one-email-one-complaint"),
        pytest.param(0, 3, 3, (), id="nothing-sent-no-rate"),
    ],
)
def test_warnings(sent: int, hard: int, complaints: int, expected: tuple[str, ...]) -> None:
    assert warnings(sent=sent, hard=hard, complaints=complaints) == expected
