"""Several SMS providers: weighted shares, failover within one send, demotion."""

from __future__ import annotations

from collections import Counter

import pytest

from warta.channels.sms_router import SmsRouter
from warta.domain.channels import OutboundMessage, SendResult
from warta.domain.failover import Balancer
from warta.errors import (
    DeliveryError,
    PermanentFailure,
    ProviderUnavailable,
    TechnicalFailure,
    TemporaryFailure,
)


class Provider:
    name = "sms"

    def __init__(self, provider: str, fail_with: DeliveryError | None = None) -> None:
        self.provider = provider
        self.fail_with = fail_with
        self.sent: list[str] = []
        self.started = self.closed = False

    async def start(self) -> None:
        self.started = True

    async def send(self, message: OutboundMessage) -> SendResult:
        if self.fail_with is not None:
            raise self.fail_with
        self.sent.append(message.notification_id)
        return SendResult("sending", f"{self.provider}-{len(self.sent)}", self.provider)

    async def aclose(self) -> None:
        self.closed = True


def message(n: int) -> OutboundMessage:
    return OutboundMessage(str(n), 1, "sms", "+6281234567890", "DINAS", "Halo")


class Steps:
    """A deterministic 'random' source cycling through evenly spread values."""

    def __init__(self, n: int) -> None:
        self.n, self.i = n, 0

    def __call__(self) -> float:
        self.i += 1
        return ((self.i - 1) % self.n) / self.n


async def test_traffic_is_shared_by_weight() -> None:
    a, b = Provider("a"), Provider("b")
    router = SmsRouter([a, b], Balancer({"a": 75, "b": 25}), clock=lambda: 0.0, rand=Steps(100))
    for n in range(100):
        await router.send(message(n))
    assert (len(a.sent), len(b.sent)) == (75, 25)


@pytest.mark.parametrize(
    "failure",
    [ProviderUnavailable("down"), TemporaryFailure("throttled"), TechnicalFailure("bad login")],
)
async def test_a_failing_provider_costs_nothing_the_next_one_sends(failure: DeliveryError) -> None:
    dead, alive = Provider("dead", failure), Provider("alive")
    router = SmsRouter([dead, alive], Balancer({"dead": 90, "alive": 10}), rand=Steps(10))
    results = [await router.send(message(n)) for n in range(20)]
    assert [r.provider for r in results] == ["alive"] * 20
    assert alive.sent == [str(n) for n in range(20)]  # every message, once, in order


async def test_after_enough_failures_the_dead_provider_is_not_even_tried_first() -> None:
    dead, alive = Provider("dead", ProviderUnavailable("down")), Provider("alive")
    balancer = Balancer({"dead": 50, "alive": 50}, min_samples=5, demoted_to=0.0)
    router = SmsRouter([dead, alive], balancer, clock=lambda: 100.0, rand=Steps(10))
    for n in range(40):
        await router.send(message(n))
    assert balancer.is_demoted("dead", 100.0)
    firsts = Counter(balancer.order(100.0, i / 10)[0] for i in range(10))
    assert firsts == {"alive": 10}


async def test_a_permanent_failure_is_about_the_number_and_is_not_retried_elsewhere() -> None:
    refusing, other = Provider("refusing", PermanentFailure("ESME_RINVDSTADR")), Provider("o")
    router = SmsRouter([refusing, other], Balancer({"refusing": 100, "o": 0}))
    with pytest.raises(PermanentFailure):
        await router.send(message(1))
    assert other.sent == []
    assert not router.balancer.is_demoted("refusing", 0.0)


async def test_when_every_provider_fails_the_pipeline_gets_a_retryable_error() -> None:
    router = SmsRouter(
        [Provider("a", ProviderUnavailable("a down")), Provider("b", TemporaryFailure("busy"))],
        Balancer({"a": 1, "b": 1}),
    )
    with pytest.raises(DeliveryError) as raised:
        await router.send(message(1))
    assert raised.value.retry


async def test_slow_receipts_move_traffic_away() -> None:
    a, b = Provider("a"), Provider("b")
    balancer = Balancer({"a": 50, "b": 50}, min_samples=5, slow_after=600.0)
    router = SmsRouter([a, b], balancer, clock=lambda: 10.0, rand=Steps(100))
    for _ in range(5):
        router.observe_receipt("a", 1800.0)
    for n in range(100):
        await router.send(message(n))
    assert len(b.sent) > 80


class Binding(Provider):
    """An SMPP-like provider: ``bound`` while its connection is up."""

    bound = True


async def test_a_provider_known_down_is_passed_over_without_waiting_for_it() -> None:
    # The down one would take the message if asked: only the order keeps it out.
    down, backup = Binding("down"), Binding("backup")
    down.bound = False
    router = SmsRouter([down, backup], Balancer({"down": 100, "backup": 0}))
    results = [await router.send(message(n)) for n in range(5)]
    assert [r.provider for r in results] == ["backup"] * 5
    assert not router.balancer.is_demoted("down", 0.0)  # passed over, not failed
    backup.bound = False  # none bound: the balancer's order stands
    assert (await router.send(message(5))).provider == "down"
    down.bound = backup.bound = True  # back: its weight again
    assert (await router.send(message(6))).provider == "down"


async def test_start_and_close_reach_every_provider() -> None:
    a, b = Provider("a"), Provider("b")
    router = SmsRouter([a, b], Balancer({"a": 1, "b": 1}))
    await router.start()
    await router.aclose()
    assert a.started and b.started and a.closed and b.closed
