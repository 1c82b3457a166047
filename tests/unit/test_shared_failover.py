"""How a balancer shares demotions (``store.provider_health`` carries them between
processes): it tells ``on_demote`` of each demotion its own evidence makes, and takes
another process's with ``demote``."""

from __future__ import annotations

import pytest

from warta.domain.failover import Balancer


def test_a_demotion_on_evidence_here_is_told_once_with_its_time() -> None:
    heard: list[tuple[str, float]] = []
    balancer = Balancer({"a": 70, "b": 30}, min_samples=5, on_demote=lambda *d: heard.append(d))
    for t in range(4):
        balancer.record_send("a", False, float(t))
    assert heard == []  # four failures: not yet the evidence ``min_samples`` asks for
    balancer.record_send("a", False, 4.0)
    balancer.record_send("b", True, 5.0)
    assert heard == [("a", 4.0)]


@pytest.mark.parametrize(
    ("known", "told", "weight_at_100"),
    [
        pytest.param(None, 100.0, 7.0, id="a demotion elsewhere demotes here"),
        pytest.param(100.0, 40.0, 7.0, id="an older one changes nothing"),
        pytest.param(40.0, 100.0, 7.0, id="a later one restarts recovery"),
        pytest.param(None, -800.0, 70.0, id="a long-recovered one leaves the weight at rest"),
    ],
)
def test_a_demotion_from_elsewhere(known: float | None, told: float, weight_at_100: float) -> None:
    heard: list[tuple[str, float]] = []
    balancer = Balancer({"a": 70, "b": 30}, recovery=900.0, on_demote=lambda *d: heard.append(d))
    if known is not None:
        balancer.demote("a", known)
    balancer.demote("a", told)
    assert balancer.weight("a", 100.0) == pytest.approx(weight_at_100)
    assert balancer.weight("b", 100.0) == 30
    assert heard == [], "what came from elsewhere is not told back"


def test_an_unknown_provider_is_ignored() -> None:
    balancer = Balancer({"a": 70})
    balancer.demote("gone", 1.0)
    assert balancer.order(1.0, 0.5) == ["a"]
