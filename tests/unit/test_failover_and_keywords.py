"""Choosing SMS providers (weights, demotion, recovery), combining part receipts, and the
keywords citizens text back."""

from __future__ import annotations

import doctest
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from warta.channels.sms_router import SmsRouter
from warta.domain import keywords, statuses
from warta.domain.channels import OutboundMessage, SendResult
from warta.domain.failover import Balancer
from warta.errors import (
    ContentFault,
    DeliveryError,
    ProviderUnavailable,
    TechnicalFailure,
    TemporaryFailure,
)


def test_doctests() -> None:
    for module in (keywords, statuses):
        assert doctest.testmod(module).failed == 0


def first_choices(balancer: Balancer, now: float, n: int = 1000) -> Counter[str]:
    return Counter(balancer.order(now, i / n)[0] for i in range(n))


def test_traffic_follows_the_resting_weights() -> None:
    balancer = Balancer({"telkomsel": 70, "indosat": 30})
    assert first_choices(balancer, 0.0) == {"telkomsel": 700, "indosat": 300}


def test_every_provider_is_listed_for_failover_first_by_weight() -> None:
    balancer = Balancer({"a": 10, "b": 60, "c": 30, "backup": 0})
    assert balancer.order(0.0, 0.99) == ["c", "b", "a", "backup"]
    assert balancer.order(0.0, 0.0) == ["a", "b", "c", "backup"]


def test_a_failing_provider_is_demoted_and_drifts_back() -> None:
    balancer = Balancer({"a": 70, "b": 30}, min_samples=5, recovery=600.0, demoted_to=0.1)
    for _ in range(4):
        balancer.record_send("a", False, 10.0)
    assert not balancer.is_demoted("a", 10.0)  # four failures: not yet evidence enough
    balancer.record_send("a", False, 10.0)
    assert balancer.weight("a", 10.0) == pytest.approx(7.0)
    assert first_choices(balancer, 10.0)["b"] > 800  # most traffic moves
    assert balancer.weight("a", 310.0) == pytest.approx(38.5)  # half way back
    assert balancer.weight("a", 610.0) == 70.0
    assert not balancer.is_demoted("a", 610.0)


def test_errors_below_the_rate_do_not_demote() -> None:
    balancer = Balancer({"a": 1}, min_samples=5, max_error_rate=0.5)
    for i in range(20):
        balancer.record_send("a", i % 3 != 0, float(i))  # a third fail
    assert not balancer.is_demoted("a", 20.0)


def test_old_failures_leave_the_window() -> None:
    balancer = Balancer({"a": 1}, min_samples=5, window=60.0)
    for _ in range(3):
        balancer.record_send("a", False, 0.0)
    for _ in range(3):
        balancer.record_send("a", False, 100.0)  # the first three are 100 s old
    assert not balancer.is_demoted("a", 100.0)


def test_slow_receipts_demote_like_failures() -> None:
    balancer = Balancer({"a": 50, "b": 50}, min_samples=5, slow_after=600.0, max_slow_rate=0.3)
    for latency in (5, 900, 5, 1200, 5):
        balancer.record_receipt("a", latency, 50.0)
    assert balancer.is_demoted("a", 50.0)
    for _ in range(10):
        balancer.record_receipt("b", 30, 50.0)
    assert not balancer.is_demoted("b", 50.0)


def test_unknown_provider_observations_are_ignored() -> None:
    balancer = Balancer({"a": 1})
    balancer.record_send("gone", False, 0.0)
    assert balancer.order(0.0, 0.5) == ["a"]


@given(
    st.dictionaries(st.sampled_from("abcdef"), st.integers(min_value=0, max_value=100), min_size=1),
    st.lists(st.tuples(st.sampled_from("abcdef"), st.booleans(), st.floats(0, 5000))),
    st.floats(0, 10_000),
    st.floats(0, 0.999999),
)
def test_order_is_always_every_provider_once_and_weights_stay_in_bounds(
    resting: dict[str, int],
    sends: list[tuple[str, bool, float]],
    now: float,
    rand: float,
) -> None:
    balancer = Balancer(resting, min_samples=2)
    for name, ok, at in sorted(sends, key=lambda s: s[2]):
        balancer.record_send(name, ok, at)
    order = balancer.order(now, rand)
    assert sorted(order) == sorted(resting)
    for name, rest in resting.items():
        assert 0 <= balancer.weight(name, now) <= rest
    if any(balancer.weight(n, now) > 0 for n in resting):
        assert balancer.weight(order[0], now) > 0  # the first pick always has a share


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        (["delivered"], "delivered"),
        (["delivered", "delivered", "delivered"], "delivered"),
        (["delivered", "sending"], None),
        (["sending"], None),
        ([], None),
        (["delivered", "temporary-failure"], "temporary-failure"),
        (["temporary-failure", "permanent-failure"], "permanent-failure"),
        (["permanent-failure", "sending"], None),  # wait for every part
    ],
)
def test_combine_parts(parts: list[str], expected: str | None) -> None:
    assert statuses.combine_parts(parts) == expected


@pytest.mark.parametrize(
    ("text", "action", "language"),
    [
        ("BERHENTI", "stop", "id"),
        ("berhenti", "stop", "id"),
        ("  Berhenti. ", "stop", "id"),
        ("STOP", "stop", "en"),
        ("stop!", "stop", "en"),
        ("unsubscribe", "stop", "en"),
        ("MULAI", "start", "id"),
        ("start", "start", "en"),
        ("INFO", "help", "id"),
        ("bantuan?", "help", "id"),
        ("HELP", "help", "en"),
    ],
)
def test_keywords(text: str, action: str, language: str) -> None:
    keyword = keywords.parse(text)
    assert keyword is not None
    assert (keyword.action, keyword.language, keyword.everyone) == (action, language, False)


@pytest.mark.parametrize(
    ("text", "action", "language"),
    [
        pytest.param("BERHENTI SEMUA", "stop", "id", id="berhenti-semua"),
        pytest.param(" berhenti   semua! ", "stop", "id", id="spaces-and-case"),
        pytest.param("Berhenti\tSemua.", "stop", "id", id="tab"),
        pytest.param("STOP ALL", "stop", "en", id="stop-all"),
        pytest.param("stop all?", "stop", "en", id="stop-all-lower"),
        pytest.param("MULAI SEMUA", "start", "id", id="mulai-semua"),
        pytest.param("start all", "start", "en", id="start-all"),
    ],
)
def test_keywords_for_every_agency(text: str, action: str, language: str) -> None:
    keyword = keywords.parse(text)
    assert keyword is not None
    assert (keyword.action, keyword.language, keyword.everyone) == (action, language, True)


@pytest.mark.parametrize(
    "text",
    [
        "stop kirim tagihan ke ibu saya",
        "Terima kasih",
        "",
        "BERHENTI BERHENTI",
        "STOPP",
        "info?!x",
        pytest.param("BERHENTI SEMUA SMS", id="semua-and-more"),
        pytest.param("SEMUA BERHENTI", id="semua-first"),
        pytest.param("INFO SEMUA", id="no-help-for-all"),
        pytest.param("STOP SEMUA", id="mixed-languages"),
        pytest.param("BERHENTISEMUA", id="one-word"),
    ],
)
def test_sentences_are_not_keywords(text: str) -> None:
    assert keywords.parse(text) is None


def test_replies_name_the_agency_in_the_keywords_language() -> None:
    stop_id = keywords.reply(keywords.Keyword("stop", "id"), "Dukcapil")
    assert "Dukcapil" in stop_id and "MULAI" in stop_id
    stop_en = keywords.reply(keywords.Keyword("stop", "en"), "Dukcapil")
    assert "START" in stop_en
    for action in ("stop", "start", "help"):
        for language in ("id", "en"):
            text = keywords.reply(keywords.Keyword(action, language), "Dinas Kependudukan")  # type: ignore[arg-type]
            assert len(text) <= 160  # one SMS part


@pytest.mark.parametrize(
    ("text", "says", "then"),
    [
        pytest.param("BERHENTI SEMUA", "instansi mana pun", "MULAI SEMUA", id="stop-id"),
        pytest.param("STOP ALL", "any agency", "START ALL", id="stop-en"),
        pytest.param("MULAI SEMUA", "kembali menerima", "BERHENTI SEMUA", id="start-id"),
        pytest.param("START ALL", "again", "STOP ALL", id="start-en"),
    ],
)
def test_replies_for_every_agency_name_none(text: str, says: str, then: str) -> None:
    keyword = keywords.parse(text)
    assert keyword is not None
    reply = keywords.reply(keyword, "Dinas Kependudukan")
    assert says in reply and then in reply
    assert "Dinas Kependudukan" not in reply
    assert len(reply) <= 160


@pytest.mark.parametrize(
    ("text", "says"),
    [
        pytest.param("Nama saya Sri, NIK saya ...", "BERHENTI SEMUA", id="a-sentence"),
        pytest.param("BERHENTI", "BERHENTI SEMUA", id="stop-for-nobody"),
        pytest.param("help", "STOP ALL", id="english-keyword"),
    ],
)
def test_the_platform_help_points_to_stopping_every_agency(text: str, says: str) -> None:
    help_text = keywords.platform_help(keywords.parse(text))
    assert says in help_text and help_text.startswith("Warta:")
    assert len(help_text) <= 160


class _Sms:
    """An SMS provider that raises ``fail_with`` while it is set."""

    name = "sms"

    def __init__(self, provider: str) -> None:
        self.provider = provider
        self.fail_with: DeliveryError | None = None

    async def start(self) -> None: ...

    async def aclose(self) -> None: ...

    async def send(self, message: OutboundMessage) -> SendResult:
        if self.fail_with is not None:
            raise self.fail_with
        return SendResult("sending", f"{self.provider}-1", self.provider)


@pytest.mark.parametrize(
    ("fault", "demotes"),
    [
        # The message's fault (what SmppChannel raises for text it cannot encode): any
        # provider would fail alike, so provider health ignores it.
        (ContentFault("the SMS cannot be sent: a text of 300 parts cannot be concatenated"), False),
        (ContentFault("the SMS has no text"), False),
        # The provider's faults demote it.
        (ProviderUnavailable("SMPP provider a did not take submit_sm"), True),
        (TemporaryFailure("SMPP provider a still answers ESME_RTHROTTLED"), True),
        (TechnicalFailure("SMPP provider a refused submit_sm: ESME_RINVCMDID"), True),
    ],
)
async def test_only_provider_faults_change_which_provider_is_chosen(
    fault: DeliveryError, demotes: bool
) -> None:
    a, b = _Sms("a"), _Sms("b")
    router = SmsRouter([a, b], Balancer({"a": 90, "b": 10}), clock=lambda: 10.0, rand=lambda: 0.0)
    assert router.balancer.order(10.0, 0.0)[0] == "a"
    a.fail_with = fault
    for n in range(20):  # each send falls over to b, which takes it
        sent = await router.send(OutboundMessage(str(n), 1, "sms", "+6281234567890", "D", "x"))
        assert sent.provider == "b"
    assert router.balancer.is_demoted("a", 10.0) is demotes
    chosen = Counter(router.balancer.order(10.0, i / 100)[0] for i in range(100))
    assert chosen == ({"a": 48, "b": 52} if demotes else {"a": 90, "b": 10})
