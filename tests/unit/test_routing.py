"""The routing policy (warta.domain.routing): tables of cases, then properties.

Times are wall-clock times in a citizen's zone in December 2026: the 1st is a Tuesday,
the 6th a Sunday, the 7th a Monday. Every expected ``at`` is compared as an instant.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from warta.domain import citizens as rules
from warta.domain.channels import ChannelName
from warta.domain.routing import (
    Decision,
    Preferences,
    Priority,
    QuietHours,
    Situation,
    escalation_window,
    next_channel,
    route,
    usable_channels,
)
from warta.errors import InvalidInput

WIB, WITA, WIT = "Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura"
DELIVERABLE: frozenset[ChannelName] = frozenset({"sms", "email"})
NO_QUIET = None


def local(zone: str, day: int, hour: int, minute: int = 0) -> datetime:
    """A wall-clock time in ``zone`` on a day of December 2026, as UTC."""
    return datetime(2026, 12, day, hour, minute, tzinfo=ZoneInfo(zone)).astimezone(UTC)


def reach(*verified: ChannelName, **extra: Any) -> Situation:
    """A citizen with these verified contacts; the template has SMS and email bodies."""
    extra.setdefault("available", DELIVERABLE)
    return Situation(verified=frozenset(verified), **extra)


def ask(
    now: datetime,
    priority: Priority = "normal",
    *,
    expires: datetime | None = None,
    scheduled: datetime | None = None,
) -> dict[str, Any]:
    return {"priority": priority, "now": now, "expires_at": expires, "scheduled_for": scheduled}


T10 = local(WIB, 1, 10)  # Tuesday 10:00 WIB: outside quiet hours
SAME_INSTANT = datetime(2026, 12, 1, 13, 30, tzinfo=UTC)  # 20:30 WIB, 21:30 WITA, 22:30 WIT
EARLY_UTC = datetime(2026, 12, 1, 22, 0, tzinfo=UTC)  # 05:00 WIB, 06:00 WITA, 07:00 WIT


CASES = [
    # Which channel.
    pytest.param(
        Preferences(("email", "sms")), reach("sms", "email"), ask(T10),
        ("send", "email", T10), id="first-preference",
    ),
    pytest.param(
        Preferences(("email", "sms")), reach("sms"), ask(T10),
        ("send", "sms", T10), id="preferred-email-unverified-falls-to-sms",
    ),
    pytest.param(
        Preferences(("email",)), reach("sms"), ask(T10),
        ("send", "sms", T10), id="sms-is-the-last-resort-even-unlisted",
    ),
    pytest.param(
        Preferences(("email", "sms")), reach("sms", "email", available=frozenset({"sms"})),
        ask(T10), ("send", "sms", T10), id="template-without-email-body",
    ),
    pytest.param(
        Preferences(("push", "email")), reach("push", "email", "sms"), ask(T10),
        ("send", "email", T10), id="push-not-deliverable-yet",
    ),
    pytest.param(
        Preferences(("email", "sms")), reach(), ask(T10),
        ("cancel", None, T10), id="nothing-verified",
    ),
    pytest.param(
        Preferences(("email",)), reach("email", available=frozenset({"sms"})), ask(T10),
        ("cancel", None, T10), id="verified-channel-has-no-body-and-no-phone",
    ),
    pytest.param(
        Preferences(("sms", "email")), reach("sms", "email", blocked_channels=frozenset({"sms"})),
        ask(T10), ("send", "email", T10), id="sms-berhenti-uses-email",
    ),
    pytest.param(
        Preferences(("sms", "email")),
        reach("sms", "email", blocked_channels=frozenset({"sms", "email"})),
        ask(T10), ("cancel", None, T10), id="all-blocked",
    ),
    pytest.param(
        Preferences(("email", "sms")), reach("sms", "email", already_tried=("email",)),
        ask(T10), ("send", "sms", T10), id="escalation-skips-tried",
    ),
    pytest.param(
        Preferences(("email", "sms")), reach("sms", "email", already_tried=("email", "sms")),
        ask(T10), ("cancel", None, T10), id="everything-tried",
    ),
    pytest.param(
        Preferences(("sms",)), reach("sms", blocked_channels=frozenset({"sms"})),
        ask(local(WIB, 1, 23), "urgent"), ("send", "sms", local(WIB, 1, 23)),
        id="urgent-goes-through-berhenti",
    ),
    pytest.param(
        Preferences(("email", "sms")), reach(), ask(T10, "urgent"),
        ("cancel", None, T10), id="urgent-still-needs-a-verified-contact",
    ),
    pytest.param(
        Preferences(("sms",)), reach("sms", already_tried=("sms",)), ask(T10, "urgent"),
        ("cancel", None, T10), id="urgent-does-not-retry-a-tried-channel",
    ),
    # Consent.
    pytest.param(
        Preferences(), reach("sms", opted_out_agency=True), ask(T10),
        ("cancel", None, T10), id="withdrawn-agency-cancels-normal",
    ),
    pytest.param(
        Preferences(), reach("sms", opted_out_agency=True), ask(T10, "low"),
        ("cancel", None, T10), id="withdrawn-agency-cancels-low",
    ),
    pytest.param(
        Preferences(), reach("sms", opted_out_agency=True), ask(T10, "urgent"),
        ("send", "sms", T10), id="withdrawn-agency-lets-urgent-through",
    ),
    pytest.param(
        Preferences(), reach("sms", opted_out_topic=True), ask(T10),
        ("cancel", None, T10), id="withdrawn-topic-cancels-normal",
    ),
    pytest.param(
        Preferences(), reach("sms", opted_out_topic=True), ask(T10, "urgent"),
        ("cancel", None, T10), id="withdrawn-topic-cancels-urgent-too",
    ),
    # Quiet hours, in the citizen's zone.
    pytest.param(
        Preferences(), reach("sms"), ask(local(WIB, 1, 22)),
        ("defer", "sms", local(WIB, 2, 6)), id="quiet-hours-defer-to-morning",
    ),
    pytest.param(
        Preferences(), reach("sms"), ask(local(WIB, 2, 3)),
        ("defer", "sms", local(WIB, 2, 6)), id="after-midnight-same-morning",
    ),
    pytest.param(
        Preferences(), reach("sms"), ask(local(WIB, 1, 21)),
        ("defer", "sms", local(WIB, 2, 6)), id="quiet-hours-start-is-in",
    ),
    pytest.param(
        Preferences(), reach("sms"), ask(local(WIB, 2, 6)),
        ("send", "sms", local(WIB, 2, 6)), id="quiet-hours-end-is-out",
    ),
    pytest.param(
        Preferences(), reach("sms"), ask(local(WIB, 1, 20, 59)),
        ("send", "sms", local(WIB, 1, 20, 59)), id="a-minute-before-quiet-hours",
    ),
    pytest.param(
        Preferences(), reach("sms"), ask(local(WIB, 1, 22), "low"),
        ("defer", "sms", local(WIB, 2, 6)), id="low-without-digest-waits-too",
    ),
    pytest.param(
        Preferences(), reach("sms"), ask(local(WIB, 1, 23), "urgent"),
        ("send", "sms", local(WIB, 1, 23)), id="urgent-at-23",
    ),
    pytest.param(
        Preferences(zone=WIB), reach("sms"), ask(SAME_INSTANT),
        ("send", "sms", SAME_INSTANT), id="13:30-UTC-is-20:30-WIB-sent",
    ),
    pytest.param(
        Preferences(zone=WITA), reach("sms"), ask(SAME_INSTANT),
        ("defer", "sms", local(WITA, 2, 6)), id="13:30-UTC-is-21:30-WITA-deferred",
    ),
    pytest.param(
        Preferences(zone=WIT), reach("sms"), ask(SAME_INSTANT),
        ("defer", "sms", local(WIT, 2, 6)), id="13:30-UTC-is-22:30-WIT-deferred",
    ),
    pytest.param(
        Preferences(zone=WIB), reach("sms"), ask(EARLY_UTC),
        ("defer", "sms", local(WIB, 2, 6)), id="22:00-UTC-is-05:00-WIB-deferred",
    ),
    pytest.param(
        Preferences(zone=WIT), reach("sms"), ask(EARLY_UTC),
        ("send", "sms", EARLY_UTC), id="22:00-UTC-is-07:00-WIT-sent",
    ),
    pytest.param(
        Preferences(quiet_hours=QuietHours(time(13), time(15))), reach("sms"),
        ask(local(WIB, 1, 14)), ("defer", "sms", local(WIB, 1, 15)),
        id="daytime-quiet-hours-same-day",
    ),
    pytest.param(
        Preferences(quiet_hours=NO_QUIET), reach("sms"), ask(local(WIB, 1, 23)),
        ("send", "sms", local(WIB, 1, 23)), id="no-quiet-hours",
    ),
    pytest.param(
        Preferences(quiet_hours=QuietHours(time(0), time(0))), reach("sms"),
        ask(local(WIB, 1, 23)), ("send", "sms", local(WIB, 1, 23)),
        id="start-equals-end-means-none",
    ),
    # The agency's schedule.
    pytest.param(
        Preferences(), reach("sms"), ask(T10, scheduled=local(WIB, 1, 21, 30)),
        ("defer", "sms", local(WIB, 2, 6)), id="scheduled-into-quiet-hours",
    ),
    pytest.param(
        Preferences(), reach("sms"), ask(T10, scheduled=local(WIB, 1, 15)),
        ("defer", "sms", local(WIB, 1, 15)), id="scheduled-for-the-afternoon",
    ),
    pytest.param(
        Preferences(), reach("sms"), ask(T10, scheduled=local(WIB, 1, 9)),
        ("send", "sms", T10), id="scheduled-in-the-past-goes-now",
    ),
    pytest.param(
        Preferences(), reach("sms"), ask(T10, "urgent", scheduled=local(WIB, 1, 23)),
        ("defer", "sms", local(WIB, 1, 23)), id="urgent-keeps-the-agency-schedule",
    ),
    pytest.param(
        Preferences(max_per_day=2), reach("sms", sent_today=2, sent_this_week=2),
        ask(T10, scheduled=local(WIB, 2, 10)), ("defer", "sms", local(WIB, 2, 10)),
        id="todays-cap-does-not-hold-tomorrow",
    ),
    # Caps, in the citizen's local day and ISO week.
    pytest.param(
        Preferences(max_per_day=3), reach("sms", sent_today=3, sent_this_week=3), ask(T10),
        ("defer", "sms", local(WIB, 2, 6)), id="daily-cap-then-quiet-hours",
    ),
    pytest.param(
        Preferences(max_per_day=3, quiet_hours=NO_QUIET),
        reach("sms", sent_today=3, sent_this_week=3), ask(T10),
        ("defer", "sms", local(WIB, 2, 0)), id="daily-cap-next-midnight",
    ),
    pytest.param(
        Preferences(max_per_day=3), reach("sms", sent_today=2, sent_this_week=2), ask(T10),
        ("send", "sms", T10), id="under-daily-cap",
    ),
    pytest.param(
        Preferences(max_per_week=5, quiet_hours=NO_QUIET, zone=WITA),
        reach("sms", sent_this_week=5), ask(local(WITA, 6, 12)),
        ("defer", "sms", local(WITA, 7, 0)), id="weekly-cap-sunday-WITA-to-monday-00:00",
    ),
    pytest.param(
        Preferences(max_per_week=5, zone=WITA), reach("sms", sent_this_week=5),
        ask(local(WITA, 6, 12)), ("defer", "sms", local(WITA, 7, 6)),
        id="weekly-cap-sunday-WITA-then-quiet-hours",
    ),
    pytest.param(
        Preferences(max_per_week=5, quiet_hours=NO_QUIET), reach("sms", sent_this_week=5),
        ask(local(WIB, 7, 10)), ("defer", "sms", local(WIB, 14, 0)),
        id="weekly-cap-on-monday-waits-a-week",
    ),
    pytest.param(
        Preferences(max_per_day=3, max_per_week=10, quiet_hours=NO_QUIET),
        reach("sms", sent_today=3, sent_this_week=10), ask(local(WIB, 2, 10)),
        ("defer", "sms", local(WIB, 7, 0)), id="daily-and-weekly-cap-wednesday-to-monday",
    ),
    pytest.param(
        Preferences(max_per_day=3, max_per_week=10, quiet_hours=NO_QUIET),
        reach("sms", sent_today=3, sent_this_week=9), ask(local(WIB, 5, 10)),
        ("defer", "sms", local(WIB, 6, 0)), id="daily-cap-saturday-to-sunday-under-weekly",
    ),
    pytest.param(
        Preferences(max_per_day=3, max_per_week=4, quiet_hours=NO_QUIET),
        reach("sms", sent_today=3, sent_this_week=3), ask(local(WIB, 2, 10)),
        ("defer", "sms", local(WIB, 3, 0)), id="weekly-cap-counts-this-weeks-sends",
    ),
    pytest.param(
        Preferences(max_per_day=1, max_per_week=1), reach("sms", sent_today=9, sent_this_week=9),
        ask(local(WIB, 1, 23), "urgent"), ("send", "sms", local(WIB, 1, 23)),
        id="urgent-ignores-caps",
    ),
    # The digest, for low priority.
    pytest.param(
        Preferences(digest=True), reach("sms"), ask(T10, "low"),
        ("digest", "sms", local(WIB, 1, 18)), id="low-waits-for-digest",
    ),
    pytest.param(
        Preferences(digest=True), reach("sms"), ask(local(WIB, 1, 18), "low"),
        ("send", "sms", local(WIB, 1, 18)), id="digest-time-sends",
    ),
    pytest.param(
        Preferences(digest=True), reach("sms"), ask(local(WIB, 1, 18, 20), "low"),
        ("send", "sms", local(WIB, 1, 18, 20)), id="within-the-digest-hour-sends",
    ),
    pytest.param(
        Preferences(digest=True), reach("sms"), ask(local(WIB, 1, 19), "low"),
        ("digest", "sms", local(WIB, 2, 18)), id="the-digest-hour-ends-at-19:00",
    ),
    pytest.param(
        Preferences(digest=True), reach("sms"), ask(local(WIB, 1, 19, 30), "low"),
        ("digest", "sms", local(WIB, 2, 18)), id="after-the-digest-hour-next-day",
    ),
    pytest.param(
        Preferences(digest=True), reach("sms"), ask(local(WIB, 1, 22), "low"),
        ("digest", "sms", local(WIB, 2, 18)), id="low-in-quiet-hours-waits-for-digest",
    ),
    pytest.param(
        Preferences(digest=True, digest_at=time(22)), reach("sms"), ask(T10, "low"),
        ("digest", "sms", local(WIB, 2, 6)), id="digest-time-in-quiet-hours-goes-at-their-end",
    ),
    pytest.param(
        Preferences(digest=True, digest_at=time(22)), reach("sms"),
        ask(local(WIB, 2, 6), "low"), ("send", "sms", local(WIB, 2, 6)),
        id="digest-in-quiet-hours-due-is-sent-not-deferred-again",
    ),
    pytest.param(
        Preferences(digest=True, digest_at=time(23, 30), quiet_hours=NO_QUIET), reach("sms"),
        ask(local(WIB, 2, 0, 10), "low"), ("send", "sms", local(WIB, 2, 0, 10)),
        id="digest-hour-runs-past-midnight",
    ),
    pytest.param(
        Preferences(digest=True, max_per_day=3), reach("sms", sent_today=3, sent_this_week=3),
        ask(T10, "low"), ("digest", "sms", local(WIB, 2, 18)), id="digest-after-daily-cap",
    ),
    pytest.param(
        Preferences(digest=True), reach("sms"), ask(T10),
        ("send", "sms", T10), id="digest-is-for-low-only",
    ),
    pytest.param(
        Preferences(digest=False), reach("sms"), ask(T10, "low"),
        ("send", "sms", T10), id="low-without-digest-goes-now",
    ),
    # Expiry.
    pytest.param(
        Preferences(), reach("sms"), ask(local(WIB, 1, 22), expires=local(WIB, 1, 23)),
        ("cancel", None, local(WIB, 1, 22)), id="expires-before-quiet-hours-end",
    ),
    pytest.param(
        Preferences(), reach("sms"), ask(local(WIB, 1, 22), expires=local(WIB, 2, 7)),
        ("defer", "sms", local(WIB, 2, 6)), id="expires-after-quiet-hours-end",
    ),
    pytest.param(
        Preferences(), reach("sms"), ask(local(WIB, 1, 22), expires=local(WIB, 2, 6)),
        ("cancel", None, local(WIB, 1, 22)), id="expires-exactly-when-it-could-go",
    ),
    pytest.param(
        Preferences(), reach("sms"), ask(T10, expires=T10),
        ("cancel", None, T10), id="expires-now",
    ),
    pytest.param(
        Preferences(), reach("sms"), ask(T10, expires=local(WIB, 1, 9)),
        ("cancel", None, T10), id="expired-already",
    ),
    pytest.param(
        Preferences(), reach("sms"), ask(T10, "urgent", expires=local(WIB, 1, 9)),
        ("cancel", None, T10), id="urgent-expired-already",
    ),
    pytest.param(
        Preferences(), reach("sms"),
        ask(local(WIB, 1, 23), "urgent", expires=local(WIB, 1, 23, 5)),
        ("send", "sms", local(WIB, 1, 23)), id="urgent-just-before-expiry",
    ),
    pytest.param(
        Preferences(), reach("sms"),
        ask(T10, scheduled=local(WIB, 1, 15), expires=local(WIB, 1, 14)),
        ("cancel", None, T10), id="scheduled-after-expiry",
    ),
    pytest.param(
        Preferences(digest=True), reach("sms"), ask(T10, "low", expires=local(WIB, 1, 17)),
        ("cancel", None, T10), id="expires-before-the-digest",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("prefs", "situation", "question", "expected"), CASES)
def test_route(
    prefs: Preferences,
    situation: Situation,
    question: dict[str, Any],
    expected: tuple[str, str | None, datetime],
) -> None:
    decision = route(prefs, situation, **question)
    assert (decision.action, decision.channel, decision.at) == expected
    assert decision.at.tzinfo is UTC
    assert decision.reasons  # every decision says why


@pytest.mark.parametrize(
    ("prefs", "situation", "question", "reasons"),
    [
        pytest.param(
            Preferences(("email", "sms")), reach("sms"), ask(local(WIB, 1, 22)),
            (
                "email: no verified address",
                "sms: first usable channel in the citizen's order",
                "quiet hours 21:00-06:00 WIB: deferred to 2026-12-02 06:00 WIB",
            ),
            id="unverified-email-and-quiet-hours",
        ),
        pytest.param(
            Preferences(("email",)), reach("sms"), ask(T10),
            ("email: no verified address", "sms: the last resort, not in the citizen's order"),
            id="last-resort",
        ),
        pytest.param(
            Preferences(("email", "sms")), reach(), ask(T10),
            (
                "email: no verified address",
                "sms: no verified phone number",
                "no usable channel left to reach the citizen",
            ),
            id="nothing-verified",
        ),
        pytest.param(
            Preferences(("push", "email", "sms")),
            reach(
                "push", "email", "sms", blocked_channels=frozenset({"sms"}),
                already_tried=("email",),
            ),
            ask(T10),
            (
                "push: not available for this template",
                "email: tried already",
                "sms: the citizen opted out of this channel",
                "no usable channel left to reach the citizen",
            ),
            id="each-channel-passed-over-says-why",
        ),
        pytest.param(
            Preferences(max_per_day=3, quiet_hours=NO_QUIET),
            reach("sms", sent_today=3, sent_this_week=3), ask(T10),
            (
                "sms: first usable channel in the citizen's order",
                "daily limit 3 reached: deferred to 2026-12-02 00:00 WIB",
            ),
            id="daily-limit",
        ),
        pytest.param(
            Preferences(max_per_week=5, zone=WITA), reach("sms", sent_this_week=5),
            ask(local(WITA, 6, 12)),
            (
                "sms: first usable channel in the citizen's order",
                "weekly limit 5 reached: deferred to 2026-12-07 00:00 WITA",
                "quiet hours 21:00-06:00 WITA: deferred to 2026-12-07 06:00 WITA",
            ),
            id="weekly-limit-then-quiet-hours",
        ),
        pytest.param(
            Preferences(), reach("sms"), ask(T10, scheduled=local(WIB, 1, 21, 30)),
            (
                "sms: first usable channel in the citizen's order",
                "scheduled by the agency for 2026-12-01 21:30 WIB",
                "quiet hours 21:00-06:00 WIB: deferred to 2026-12-02 06:00 WIB",
            ),
            id="scheduled-into-quiet-hours",
        ),
        pytest.param(
            Preferences(digest=True), reach("sms"), ask(T10, "low"),
            (
                "sms: first usable channel in the citizen's order",
                "low priority: waits for the daily digest at 18:00 WIB: "
                "deferred to 2026-12-01 18:00 WIB",
            ),
            id="digest",
        ),
        pytest.param(
            Preferences(digest=True), reach("sms"), ask(local(WIB, 1, 18, 20), "low"),
            (
                "sms: first usable channel in the citizen's order",
                "low priority: goes with the daily digest, 18:00 WIB",
            ),
            id="digest-hour",
        ),
        pytest.param(
            Preferences(digest=True, digest_at=time(22), zone=WIT), reach("sms"),
            ask(local(WIT, 1, 10), "low"),
            (
                "sms: first usable channel in the citizen's order",
                "low priority: waits for the daily digest at 06:00 WIT (22:00 is in quiet "
                "hours): deferred to 2026-12-02 06:00 WIT",
            ),
            id="digest-in-quiet-hours",
        ),
        pytest.param(
            Preferences(("sms",)),
            reach("sms", opted_out_agency=True, blocked_channels=frozenset({"sms"})),
            ask(local(WIB, 1, 23), "urgent"),
            (
                "urgent: goes through the withdrawal of consent for this agency",
                "sms: opted out, but urgent messages still go",
                "sms: first usable channel in the citizen's order",
                "urgent: quiet hours, limits and the digest do not apply",
            ),
            id="urgent-through-agency-withdrawal-and-berhenti",
        ),
        pytest.param(
            Preferences(), reach("sms", opted_out_agency=True), ask(T10),
            ("the citizen withdrew consent for this agency",), id="agency-withdrawn",
        ),
        pytest.param(
            Preferences(), reach("sms", opted_out_topic=True), ask(T10, "urgent"),
            ("the citizen withdrew consent for this topic (urgent messages too)",),
            id="topic-withdrawn-urgent",
        ),
        pytest.param(
            Preferences(), reach("sms"), ask(local(WIB, 1, 22), expires=local(WIB, 1, 23)),
            (
                "sms: first usable channel in the citizen's order",
                "quiet hours 21:00-06:00 WIB: deferred to 2026-12-02 06:00 WIB",
                "expires at 2026-12-01 23:00 WIB, before it could be sent at "
                "2026-12-02 06:00 WIB",
            ),
            id="expires-in-quiet-hours",
        ),
        pytest.param(
            Preferences(), reach("sms"), ask(T10, expires=local(WIB, 1, 9)),
            ("expired at 2026-12-01 09:00 WIB, before it could be sent",), id="expired",
        ),
        pytest.param(
            Preferences(zone="Asia/Singapore"), reach("sms"),
            ask(datetime(2026, 12, 1, 14, tzinfo=UTC)),
            (
                "sms: first usable channel in the citizen's order",
                "quiet hours 21:00-06:00 Asia/Singapore: deferred to "
                "2026-12-02 06:00 Asia/Singapore",
            ),
            id="a-zone-outside-indonesia-is-named-as-is",
        ),
    ],
)  # fmt: skip
def test_reasons_a_user_reads(
    prefs: Preferences, situation: Situation, question: dict[str, Any], reasons: tuple[str, ...]
) -> None:
    assert route(prefs, situation, **question).reasons == reasons


@pytest.mark.parametrize(
    ("prefs", "situation", "priority", "usable"),
    [
        pytest.param(
            Preferences(("email", "sms")), reach("sms", "email"), "normal", ("email", "sms"),
            id="both-in-order",
        ),
        pytest.param(
            Preferences(("email",)), reach("sms", "email"), "normal", ("email", "sms"),
            id="sms-appended-as-last-resort",
        ),
        pytest.param(
            Preferences(("email", "email", "sms")), reach("sms", "email"), "normal",
            ("email", "sms"), id="listed-twice-used-once",
        ),
        pytest.param(
            Preferences(("chat", "email", "sms")),
            reach("chat", "email", "sms", available=frozenset({"chat", "email", "sms"})),
            "normal", ("chat", "email", "sms"), id="chat-when-warta-can-deliver-it",
        ),
        pytest.param(
            Preferences(("email", "sms")), reach("sms", "email", already_tried=("email",)),
            "normal", ("sms",), id="escalation",
        ),
        pytest.param(
            Preferences(("sms", "email")),
            reach("sms", "email", blocked_channels=frozenset({"sms"})), "normal", ("email",),
            id="berhenti",
        ),
        pytest.param(
            Preferences(("sms", "email")),
            reach("sms", "email", blocked_channels=frozenset({"sms"})), "urgent",
            ("sms", "email"), id="berhenti-urgent",
        ),
        pytest.param(
            Preferences(("email", "sms")), reach("sms", "email", opted_out_agency=True),
            "normal", (), id="agency-withdrawn",
        ),
        pytest.param(
            Preferences(("email", "sms")), reach("sms", "email", opted_out_topic=True),
            "urgent", (), id="topic-withdrawn-urgent",
        ),
    ],
)  # fmt: skip
def test_usable_channels_and_next_channel(
    prefs: Preferences, situation: Situation, priority: Priority, usable: tuple[str, ...]
) -> None:
    assert usable_channels(prefs, situation, priority=priority) == usable
    assert next_channel(prefs, situation, priority=priority) == (usable[0] if usable else None)


def test_fallbacks_are_the_rest_of_the_usable_channels_for_escalation() -> None:
    prefs = Preferences(("email", "sms"))

    def attempt(*tried: ChannelName) -> Decision:
        situation = reach("sms", "email", already_tried=tried)
        return route(prefs, situation, priority="normal", now=T10)

    assert (attempt().channel, attempt().fallbacks) == ("email", ("sms",))
    assert (attempt("email").channel, attempt("email").fallbacks) == ("sms", ())
    assert (attempt("email", "sms").action, attempt("email", "sms").fallbacks) == ("cancel", ())


def test_a_time_given_in_another_zone_comes_back_as_utc() -> None:
    now = datetime(2026, 12, 1, 10, tzinfo=ZoneInfo(WIB))
    decision = route(Preferences(), reach("sms"), priority="normal", now=now)
    assert decision.at == now and decision.at.tzinfo is UTC


@pytest.mark.parametrize(
    ("priority", "template_window", "window"),
    [
        pytest.param("normal", None, timedelta(minutes=30), id="normal"),
        pytest.param("low", None, timedelta(minutes=30), id="low"),
        pytest.param("urgent", None, timedelta(minutes=5), id="urgent"),
        pytest.param("low", timedelta(hours=2), timedelta(hours=2), id="template-longer"),
        pytest.param("urgent", timedelta(minutes=1), timedelta(minutes=1), id="template-shorter"),
    ],
)
def test_escalation_window(
    priority: Priority, template_window: timedelta | None, window: timedelta
) -> None:
    assert escalation_window(priority, template_window) == window


@pytest.mark.parametrize(
    ("call", "message"),
    [
        pytest.param(
            lambda: route(Preferences(), reach(), priority="normal", now=datetime(2026, 12, 1)),
            "now must carry a time zone", id="naive-now",
        ),
        pytest.param(
            lambda: route(
                Preferences(), reach("sms"), priority="normal", now=T10,
                expires_at=datetime(2026, 12, 2),
            ),
            "expires_at must carry a time zone", id="naive-expiry",
        ),
        pytest.param(
            lambda: route(
                Preferences(), reach("sms"), priority="normal", now=T10,
                scheduled_for=datetime(2026, 12, 2),
            ),
            "scheduled_for must carry a time zone", id="naive-schedule",
        ),
        pytest.param(
            lambda: route(Preferences(), reach("sms"), priority="high", now=T10),  # type: ignore[arg-type]
            "priority 'high' must be urgent, normal or low", id="unknown-priority",
        ),
        pytest.param(
            lambda: escalation_window("normal", timedelta(0)),
            "an escalation window must be longer than zero", id="zero-window",
        ),
        pytest.param(
            lambda: escalation_window("asap", None),  # type: ignore[arg-type]
            "priority 'asap' must be urgent, normal or low", id="window-unknown-priority",
        ),
        pytest.param(
            lambda: Preferences(max_per_day=0),
            "max_per_day must be at least 1, or None for no limit", id="daily-cap-zero",
        ),
        pytest.param(
            lambda: Preferences(max_per_week=-1),
            "max_per_week must be at least 1, or None for no limit", id="weekly-cap-negative",
        ),
        pytest.param(
            lambda: Preferences(zone="WIB"),
            "zone 'WIB' is not an IANA time zone", id="label-not-iana",
        ),
        pytest.param(
            lambda: Preferences(zone="../etc"),
            "zone '../etc' is not an IANA time zone", id="path-not-zone",
        ),
    ],
)  # fmt: skip
def test_refused_questions(call: Any, message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        call()
    assert str(caught.value) == message


# Properties: for any citizen and any moment, what a citizen would notice never happens.

CHANNELS: tuple[ChannelName, ...] = ("sms", "email", "push", "chat")
channel_sets = st.frozensets(st.sampled_from(CHANNELS))
wall_times = st.times().map(lambda t: t.replace(second=0, microsecond=0))
_instants = st.datetimes(datetime(2026, 1, 1), datetime(2027, 12, 31), timezones=st.just(UTC))
# Half on whole minutes, where quiet hours, digests and midnights begin.
instants = _instants | _instants.map(lambda m: m.replace(second=0, microsecond=0))
offsets = st.timedeltas(timedelta(days=-1), timedelta(days=9))


@dataclass(frozen=True)
class Case:
    prefs: Preferences
    situation: Situation
    priority: Priority
    now: datetime
    expires_at: datetime | None
    scheduled_for: datetime | None

    def route(self, **changes: Any) -> Decision:
        question = {
            "priority": self.priority,
            "now": self.now,
            "expires_at": self.expires_at,
            "scheduled_for": self.scheduled_for,
            **changes,
        }
        return route(self.prefs, self.situation, **question)

    @property
    def urgent(self) -> bool:
        return self.priority == "urgent"

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(ZoneInfo(self.prefs.zone))


@st.composite
def cases(draw: st.DrawFn, zones: tuple[str, ...] = (WIB, WITA, WIT)) -> Case:
    prefs = Preferences(
        channel_order=tuple(draw(st.lists(st.sampled_from(CHANNELS), min_size=1, max_size=4))),
        quiet_hours=draw(st.none() | st.builds(QuietHours, wall_times, wall_times)),
        max_per_day=draw(st.none() | st.integers(1, 5)),
        max_per_week=draw(st.none() | st.integers(1, 20)),
        digest=draw(st.booleans()),
        digest_at=draw(wall_times),
        zone=draw(st.sampled_from(zones)),
    )
    sent_today = draw(st.integers(0, 6))
    situation = Situation(
        verified=draw(channel_sets),
        available=draw(channel_sets),
        opted_out_agency=draw(st.booleans()),
        opted_out_topic=draw(st.booleans()),
        blocked_channels=draw(channel_sets),
        sent_today=sent_today,
        sent_this_week=sent_today + draw(st.integers(0, 20)),
        already_tried=tuple(draw(st.lists(st.sampled_from(CHANNELS), unique=True, max_size=2))),
    )
    now = draw(instants)
    return Case(
        prefs=prefs,
        situation=situation,
        priority=draw(st.sampled_from(["urgent", "normal", "low"])),
        now=now,
        expires_at=draw(st.none() | offsets.map(now.__add__)),
        scheduled_for=draw(st.none() | offsets.map(now.__add__)),
    )


def usable_by_the_rules(case: Case) -> list[ChannelName]:
    """The brief's rule, written out on its own: listed order then SMS, each verified,
    available, not tried and (unless urgent) not blocked."""
    order = [*case.prefs.channel_order, "sms"]
    s = case.situation
    return [
        c
        for c in dict.fromkeys(order)
        if c in s.verified
        and c in s.available
        and c not in s.already_tried
        and (case.urgent or c not in s.blocked_channels)
    ]  # type: ignore[misc]


PROPERTY = settings(max_examples=300, deadline=None)


@PROPERTY
@given(cases())
def test_never_inside_quiet_hours_unless_urgent(case: Case) -> None:
    decision = case.route()
    if decision.action == "cancel" or case.urgent or case.prefs.quiet_hours is None:
        return
    assert not case.prefs.quiet_hours.contains(case.local(decision.at).time())


@PROPERTY
@given(cases())
def test_never_over_a_cap_unless_urgent(case: Case) -> None:
    decision = case.route()
    if decision.action == "cancel" or case.urgent:
        return
    prefs, s = case.prefs, case.situation
    if decision.action == "send":
        assert prefs.max_per_day is None or s.sent_today < prefs.max_per_day
        assert prefs.max_per_week is None or s.sent_this_week < prefs.max_per_week
    day, today = case.local(decision.at).date(), case.local(case.now).date()
    if prefs.max_per_day is not None and day == today:
        assert s.sent_today < prefs.max_per_day
    if prefs.max_per_week is not None and day.isocalendar()[:2] == today.isocalendar()[:2]:
        assert s.sent_this_week < prefs.max_per_week


@PROPERTY
@given(cases())
def test_never_at_or_after_expiry(case: Case) -> None:
    decision = case.route()
    if decision.action != "cancel" and case.expires_at is not None:
        assert decision.at < case.expires_at


@PROPERTY
@given(cases())
def test_only_usable_channels(case: Case) -> None:
    decision = case.route()
    if decision.action == "cancel":
        assert decision.channel is None and decision.fallbacks == ()
        return
    s = case.situation
    chosen = [decision.channel, *decision.fallbacks]
    assert len(set(chosen)) == len(chosen)
    for channel in chosen:
        assert channel in s.verified and channel in s.available
        assert channel not in s.already_tried
        assert case.urgent or channel not in s.blocked_channels
    assert chosen == usable_by_the_rules(case)  # first usable, the rest in order


@PROPERTY
@given(cases())
def test_at_is_utc_and_never_before_now(case: Case) -> None:
    decision = case.route()
    assert decision.at.tzinfo is UTC and decision.at >= case.now
    if decision.action in ("send", "cancel"):
        assert decision.at == case.now
    else:
        assert decision.at > case.now
    if decision.action == "digest":
        assert case.priority == "low" and case.prefs.digest


@PROPERTY
@given(cases())
def test_cancelled_exactly_when_it_cannot_go(case: Case) -> None:
    s = case.situation
    withdrawn = s.opted_out_topic or (s.opted_out_agency and not case.urgent)
    expired = case.expires_at is not None and case.now >= case.expires_at
    no_channel = not usable_by_the_rules(case)
    too_late = False
    if not (withdrawn or expired or no_channel):
        unbounded = case.route(expires_at=None)  # when it would go without an expiry
        too_late = case.expires_at is not None and unbounded.at >= case.expires_at
    assert (case.route().action == "cancel") == (withdrawn or expired or no_channel or too_late)


@PROPERTY
@given(cases())
def test_urgent_is_never_held_back(case: Case) -> None:
    if not case.urgent:
        return
    decision = case.route()
    if decision.action != "cancel":
        earliest = max(case.now, case.scheduled_for or case.now)
        assert decision.at == earliest
        assert decision.action == ("send" if earliest == case.now else "defer")


@PROPERTY
@given(cases())
def test_a_deferred_message_is_sent_when_it_is_due(case: Case) -> None:
    """The caller asks again at ``at``: it must then go, not be put off again (a digest
    time inside quiet hours once deferred a message every morning for ever)."""
    decision = case.route()
    if decision.action not in ("defer", "digest"):
        return
    day, today = case.local(decision.at).date(), case.local(case.now).date()
    s = case.situation
    counts = {
        "sent_today": s.sent_today if day == today else 0,
        "sent_this_week": (
            s.sent_this_week if day.isocalendar()[:2] == today.isocalendar()[:2] else 0
        ),
    }
    later = route(
        case.prefs,
        replace(s, **counts),
        priority=case.priority,
        now=decision.at,
        expires_at=case.expires_at,
        scheduled_for=case.scheduled_for,
    )
    assert (later.action, later.channel, later.at) == ("send", decision.channel, decision.at)


@PROPERTY
@given(cases(zones=("Europe/Berlin", "America/Santiago", "Australia/Lord_Howe")))
def test_zones_with_daylight_saving_still_settle(case: Case) -> None:
    """Indonesia has none, but the policy uses zoneinfo and must not loop or go back."""
    decision = case.route()
    assert decision.at >= case.now and decision.at.tzinfo is UTC
    if decision.action != "cancel" and not case.urgent and case.prefs.quiet_hours is not None:
        assert not case.prefs.quiet_hours.contains(case.local(decision.at).time())


# Citizen record fields (warta.domain.citizens), which feed Preferences.


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
