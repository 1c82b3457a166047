"""The routing policy, region codes and citizen fields: tables of cases and properties."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from warta.domain import citizens as rules
from warta.domain.regions import InvalidRegion, parse_region, parse_zone, zone_of
from warta.domain.routing import (
    Preferences,
    QuietHours,
    Situation,
    escalation_window,
    route,
)
from warta.errors import InvalidInput

JAKARTA, MAKASSAR, JAYAPURA = "Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura"
BOTH = frozenset({"sms", "email"})


def local(zone: str, day: int, hour: int, minute: int = 0) -> datetime:
    """A wall-clock time in ``zone`` on a day of December 2026 (the 1st is a Tuesday)."""
    return datetime(2026, 12, day, hour, minute, tzinfo=ZoneInfo(zone)).astimezone(UTC)


def reachable(*channels: str, **extra: object) -> Situation:
    return Situation(verified=frozenset(channels), available=BOTH, **extra)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("prefs", "situation", "priority", "now", "expected"),
    [
        pytest.param(
            Preferences(("email", "sms")), reachable("sms", "email"), "normal",
            local(JAKARTA, 1, 10), ("send", "email", local(JAKARTA, 1, 10)),
            id="first-preference",
        ),
        pytest.param(
            Preferences(("email", "sms")), reachable("sms"), "normal",
            local(JAKARTA, 1, 10), ("send", "sms", local(JAKARTA, 1, 10)),
            id="unverified-email-falls-to-sms",
        ),
        pytest.param(
            Preferences(("email",)), reachable("sms"), "normal",
            local(JAKARTA, 1, 10), ("send", "sms", local(JAKARTA, 1, 10)),
            id="sms-is-the-last-resort-even-unlisted",
        ),
        pytest.param(
            Preferences(("email", "sms")), reachable(), "normal",
            local(JAKARTA, 1, 10), ("cancel", None, local(JAKARTA, 1, 10)),
            id="nothing-verified",
        ),
        pytest.param(
            Preferences(), reachable("sms"), "normal",
            local(JAKARTA, 1, 22), ("defer", "sms", local(JAKARTA, 2, 6)),
            id="quiet-hours-defer-to-morning",
        ),
        pytest.param(
            Preferences(), reachable("sms"), "normal",
            local(JAKARTA, 2, 3), ("defer", "sms", local(JAKARTA, 2, 6)),
            id="after-midnight-same-morning",
        ),
        pytest.param(
            Preferences(), reachable("sms"), "urgent",
            local(JAKARTA, 1, 23), ("send", "sms", local(JAKARTA, 1, 23)),
            id="urgent-ignores-quiet-hours",
        ),
        pytest.param(
            Preferences(zone=JAYAPURA), reachable("sms"), "normal",
            local(JAKARTA, 1, 19, 30), ("defer", "sms", local(JAYAPURA, 2, 6)),
            id="19:30-WIB-is-21:30-WIT",
        ),
        pytest.param(
            Preferences(max_per_day=2), reachable("sms", sent_today=2), "normal",
            local(JAKARTA, 1, 10), ("defer", "sms", local(JAKARTA, 2, 6)),
            id="daily-cap-next-day-after-quiet-hours",
        ),
        pytest.param(
            Preferences(max_per_day=2, quiet_hours=None), reachable("sms", sent_today=2),
            "normal", local(JAKARTA, 1, 10), ("defer", "sms", local(JAKARTA, 2, 0)),
            id="daily-cap-midnight-without-quiet-hours",
        ),
        pytest.param(
            Preferences(max_per_week=5, zone=MAKASSAR), reachable("sms", sent_this_week=5),
            "normal", local(MAKASSAR, 6, 12), ("defer", "sms", local(MAKASSAR, 7, 6)),
            id="weekly-cap-sunday-to-monday-WITA",
        ),
        pytest.param(
            Preferences(max_per_day=1), reachable("sms", sent_today=9), "urgent",
            local(JAKARTA, 1, 10), ("send", "sms", local(JAKARTA, 1, 10)),
            id="urgent-ignores-caps",
        ),
        pytest.param(
            Preferences(digest=True, digest_at=time(18)), reachable("sms"), "low",
            local(JAKARTA, 1, 10), ("digest", "sms", local(JAKARTA, 1, 18)),
            id="low-waits-for-digest",
        ),
        pytest.param(
            Preferences(digest=True, digest_at=time(18)), reachable("sms"), "low",
            local(JAKARTA, 1, 18, 0) + timedelta(seconds=3),
            ("send", "sms", local(JAKARTA, 1, 18, 0) + timedelta(seconds=3)),
            id="digest-due-is-sent-not-deferred-a-day",
        ),
        pytest.param(
            Preferences(digest=True, digest_at=time(22)), reachable("sms"), "low",
            local(JAKARTA, 1, 10), ("digest", "sms", local(JAKARTA, 2, 6)),
            id="digest-time-in-quiet-hours",
        ),
        pytest.param(
            Preferences(digest=True), reachable("sms"), "normal",
            local(JAKARTA, 1, 10), ("send", "sms", local(JAKARTA, 1, 10)),
            id="digest-is-for-low-only",
        ),
        pytest.param(
            Preferences(), reachable("sms", opted_out_agency=True), "normal",
            local(JAKARTA, 1, 10), ("cancel", None, local(JAKARTA, 1, 10)),
            id="withdrawn-agency",
        ),
        pytest.param(
            Preferences(), reachable("sms", opted_out_topic=True), "urgent",
            local(JAKARTA, 1, 10), ("send", "sms", local(JAKARTA, 1, 10)),
            id="urgent-vital-interest",
        ),
        pytest.param(
            Preferences(("sms", "email")),
            reachable("sms", "email", blocked_channels=frozenset({"sms"})),
            "normal", local(JAKARTA, 1, 10), ("send", "email", local(JAKARTA, 1, 10)),
            id="sms-stopped-uses-email",
        ),
        pytest.param(
            Preferences(("email", "sms")),
            reachable("sms", "email", already_tried=("email",)),
            "normal", local(JAKARTA, 1, 10), ("send", "sms", local(JAKARTA, 1, 10)),
            id="escalation-skips-tried",
        ),
    ],
)  # fmt: skip
def test_route(
    prefs: Preferences,
    situation: Situation,
    priority: str,
    now: datetime,
    expected: tuple[str, str | None, datetime],
) -> None:
    decision = route(prefs, situation, priority=priority, now=now)  # type: ignore[arg-type]
    assert (decision.action, decision.channel, decision.at) == expected
    assert decision.reasons  # every decision says why


def test_reasons_name_the_skipped_channel_and_the_wait() -> None:
    decision = route(
        Preferences(("email", "sms")), reachable("sms"), priority="normal",
        now=local(JAKARTA, 1, 22),
    )  # fmt: skip
    assert "email: no verified address" in decision.reasons
    assert "quiet hours 21:00-06:00 WIB: waits until 06:00" in decision.reasons
    assert decision.fallbacks == ()


def test_expiry_before_the_quiet_hours_end_cancels() -> None:
    decision = route(
        Preferences(), reachable("sms"), priority="normal", now=local(JAKARTA, 1, 22),
        expires_at=local(JAKARTA, 1, 23),
    )  # fmt: skip
    assert decision.action == "cancel"
    assert decision.reasons[-1] == "expires before it could be sent"


def test_scheduled_into_quiet_hours_waits_for_the_morning() -> None:
    decision = route(
        Preferences(), reachable("sms"), priority="normal", now=local(JAKARTA, 1, 10),
        scheduled_for=local(JAKARTA, 1, 21, 30),
    )  # fmt: skip
    assert (decision.action, decision.at) == ("defer", local(JAKARTA, 2, 6))


def test_escalation_windows() -> None:
    assert escalation_window("normal", None) == timedelta(minutes=30)
    assert escalation_window("urgent", None) == timedelta(minutes=5)
    assert escalation_window("low", timedelta(hours=2)) == timedelta(hours=2)


channel = st.sampled_from(["sms", "email"])
zones = st.sampled_from([JAKARTA, MAKASSAR, JAYAPURA])
times = st.times().map(lambda t: t.replace(second=0, microsecond=0))
moments = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
)


@st.composite
def cases(draw: st.DrawFn) -> tuple[Preferences, Situation, str, datetime, datetime | None]:
    quiet = draw(st.none() | st.builds(QuietHours, times, times))
    prefs = Preferences(
        channel_order=tuple(draw(st.lists(channel, min_size=1, max_size=2, unique=True))),
        quiet_hours=quiet,
        max_per_day=draw(st.none() | st.integers(1, 5)),
        max_per_week=draw(st.none() | st.integers(1, 20)),
        digest=draw(st.booleans()),
        digest_at=draw(times),
        zone=draw(zones),
    )
    situation = Situation(
        verified=frozenset(draw(st.lists(channel, unique=True))),
        available=frozenset(draw(st.lists(channel, min_size=1, unique=True))),
        opted_out_agency=draw(st.booleans()),
        opted_out_topic=draw(st.booleans()),
        blocked_channels=frozenset(draw(st.lists(channel, unique=True))),
        sent_today=draw(st.integers(0, 6)),
        sent_this_week=draw(st.integers(0, 25)),
        already_tried=tuple(draw(st.lists(channel, unique=True, max_size=1))),
    )
    priority = draw(st.sampled_from(["urgent", "normal", "low"]))
    now = draw(moments)
    expires = draw(st.none() | st.timedeltas(timedelta(0), timedelta(days=9)).map(now.__add__))
    return prefs, situation, priority, now, expires


@settings(max_examples=400, deadline=None)
@given(cases())
def test_properties(case: tuple[Preferences, Situation, str, datetime, datetime | None]) -> None:
    prefs, situation, priority, now, expires = case
    decision = route(prefs, situation, priority=priority, now=now, expires_at=expires)  # type: ignore[arg-type]
    urgent = priority == "urgent"
    assert decision.at >= now and decision.at.tzinfo is not None
    if decision.action == "cancel":
        assert decision.channel is None
        return
    chosen = decision.channel
    assert chosen in situation.verified and chosen in situation.available
    assert chosen not in situation.already_tried
    if expires is not None:
        assert decision.at < expires  # never sent at or after expiry
    if urgent:
        assert decision.action == "send" and decision.at == now
        return
    assert chosen not in situation.blocked_channels
    assert not situation.opted_out_agency and not situation.opted_out_topic
    moment = decision.at.astimezone(ZoneInfo(prefs.zone))
    if prefs.quiet_hours is not None:
        assert not prefs.quiet_hours.contains(moment.time())  # never in quiet hours
    if decision.action == "send":  # now: under both caps
        assert prefs.max_per_day is None or situation.sent_today < prefs.max_per_day
        assert prefs.max_per_week is None or situation.sent_this_week < prefs.max_per_week


@pytest.mark.parametrize(
    ("raw", "code", "level", "zone"),
    [
        pytest.param("32", "32", "province", "WIB", id="province"),
        pytest.param("32.73", "32.73", "regency", "WIB", id="regency"),
        pytest.param("3273011001", "32.73.01.1001", "village", "WIB", id="plain-digits"),
        pytest.param(" 51.71.01 ", "51.71.01", "district", "WITA", id="bali-spaces"),
        pytest.param("94.01", "94.01", "regency", "WIT", id="papua-tengah-2022"),
        pytest.param("62.71", "62.71", "regency", "WIB", id="kalteng-is-WIB"),
    ],
)
def test_regions(raw: str, code: str, level: str, zone: str) -> None:
    region = parse_region(raw)
    assert (region.code, region.level, zone_of(region)) == (code, level, zone)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        pytest.param("", "must be a Kemendagri code", id="empty"),
        pytest.param("32.7", "must be a Kemendagri code", id="half-regency"),
        pytest.param("32.73.01.101", "must be a Kemendagri code", id="short-village"),
        pytest.param("99.01", "99 is not an Indonesian province", id="unknown-province"),
    ],
)
def test_bad_regions(raw: str, message: str) -> None:
    with pytest.raises(InvalidRegion, match=message):
        parse_region(raw)


def test_region_containment() -> None:
    village = parse_region("32.73.01.1001")
    assert village.is_within(parse_region("32.73"))
    assert village.is_within(parse_region("32"))
    assert not village.is_within(parse_region("32.74"))
    assert not parse_region("32.73").is_within(parse_region("32.73.01"))


def test_zones() -> None:
    assert parse_zone("wita") == "WITA"
    with pytest.raises(InvalidInput, match="WIB, WITA or WIT"):
        parse_zone("UTC+7")


@pytest.mark.parametrize(
    ("raw", "result"),
    [
        pytest.param("3273 0141 0190 0002", "3273014101900002", id="spaces"),
        pytest.param("3273-0141-0190-0002", "3273014101900002", id="dashes"),
        pytest.param("12345", "16 digits", id="short"),
        pytest.param("0073014101900002", "province code", id="province"),
        pytest.param("3273013201900002", "birth date", id="day-32"),
        pytest.param("3273014113900002", "birth date", id="month-13"),
        pytest.param("3273014101900000", "cannot be 0000", id="serial"),
    ],
)
def test_nik(raw: str, result: str) -> None:
    if result.isdigit():
        assert rules.normalise_nik(raw) == result
    else:
        with pytest.raises(rules.InvalidCitizen, match=result):
            rules.normalise_nik(raw)


def test_preference_fields() -> None:
    assert rules.channel_order(["Email", "sms"]) == ("email", "sms")
    assert rules.local_time("06:30", "x") == time(6, 30)
    for bad, message in [
        (lambda: rules.channel_order([]), "at least one"),
        (lambda: rules.channel_order(["sms", "sms"]), "twice"),
        (lambda: rules.local_time("25:00", "quiet_hours start"), "24-hour time"),
        (lambda: rules.cap(0, "max_per_day"), "between 1 and 1000"),
        (lambda: rules.check_language("jv"), "id, en"),
    ]:
        with pytest.raises(rules.InvalidCitizen, match=message):
            bad()
