"""The case rules: who may move a case where, the timers each status runs, tracking ids a
person can read over the phone, and deadlines in Indonesian working days."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime

import pytest

from warta.domain import cases, workdays
from warta.errors import InvalidInput


@pytest.mark.parametrize(
    ("current", "target", "by", "allowed"),
    [
        ("received", "verified", "agency", True),
        ("received", "reopened", "agency", False),
        ("received", "closed", "agency", False),  # closing needs a resolution first
        ("in_progress", "rejected", "agency", True),
        ("resolved", "duplicate", "agency", True),
        ("closed", "in_progress", "agency", False),  # final
        ("rejected", "reopened", "citizen", False),
        ("waiting_for_citizen", "in_progress", "citizen", True),
        ("resolved", "reopened", "citizen", True),
        ("in_progress", "resolved", "citizen", False),  # only the agency resolves
        ("resolved", "closed", "system", True),
        ("waiting_for_citizen", "closed", "system", True),
        ("in_progress", "closed", "system", False),  # the agency's clock only flags
    ],
)
def test_who_may_move_a_case_where(current: str, target: str, by: str, allowed: bool) -> None:
    assert cases.can_move(current, target, by) is allowed  # type: ignore[arg-type]


def test_a_refused_move_says_why() -> None:
    with pytest.raises(InvalidInput, match="a case that is closed cannot become in_progress"):
        cases.check_move("closed", "in_progress", "agency")
    with pytest.raises(InvalidInput, match="must be one of"):
        cases.check_move("received", "done", "agency")


def test_every_open_status_runs_a_timer_and_no_final_one_does() -> None:
    for status in cases.STATUSES:
        assert (status in cases.STEP_OF) is (status not in cases.TERMINAL)


def test_open311_statuses_are_open_until_resolved() -> None:
    assert cases.OPEN311_STATUS["waiting_for_citizen"] == "open"
    assert cases.OPEN311_STATUS["resolved"] == "closed"
    assert cases.EXTENDED_STATUS["resolved"] == "fixed"
    assert set(cases.OPEN311_STATUS) == set(cases.EXTENDED_STATUS) == set(cases.STATUSES)


def test_tracking_ids_avoid_characters_heard_two_ways() -> None:
    rng = random.Random(7)
    for _ in range(200):
        made = cases.new_tracking_id(rng.choice)
        assert len(made) == 8 and not set(made) & set("0O1I")
        assert cases.normalise_tracking_id(cases.format_tracking_id(made).lower()) == made


@pytest.mark.parametrize("raw", ["", "ABC", "K7QM-2H9", "K7QM-2H9DD", "K0QM-2H9D", "K7QM 1H9D"])
def test_malformed_tracking_ids_are_refused(raw: str) -> None:
    with pytest.raises(InvalidInput, match="8 letters and digits"):
        cases.normalise_tracking_id(raw)


def test_one_misheard_character_is_caught_by_the_check_character() -> None:
    made = cases.new_tracking_id(random.Random(1).choice)
    for position in range(8):
        for wrong in cases.ALPHABET:
            if wrong == made[position]:
                continue
            typo = made[:position] + wrong + made[position + 1 :]
            with pytest.raises(InvalidInput):
                cases.normalise_tracking_id(typo)


@pytest.mark.parametrize(
    ("start", "n", "days_off", "expected"),
    [
        (date(2026, 12, 1), 3, (), date(2026, 12, 4)),  # Tue -> Fri
        (date(2026, 12, 4), 3, (), date(2026, 12, 9)),  # Fri -> Wed, over the weekend
        (date(2026, 12, 22), 3, (), date(2026, 12, 28)),  # over Christmas (Fri 25)
        (date(2026, 12, 22), 3, (date(2026, 12, 24),), date(2026, 12, 29)),  # cuti bersama
        (date(2026, 8, 14), 1, (), date(2026, 8, 18)),  # Independence Day is Mon 17 Aug
        (date(2026, 12, 22), 10, (), date(2027, 1, 8)),  # New Year, Isra' Mi'raj 2027
    ],
)
def test_working_days_skip_weekends_holidays_and_the_agencys_days_off(
    start: date, n: int, days_off: tuple[date, ...], expected: date
) -> None:
    assert workdays.add_working_days(start, n, days_off) == expected


def test_a_deadline_ends_at_midnight_in_the_cases_own_zone() -> None:
    # 23:30 on Monday in Jakarta is already Tuesday in Jayapura (WIT, UTC+9).
    began = datetime(2026, 11, 30, 16, 30, tzinfo=UTC)
    assert workdays.deadline(began, 1, "WIB") == datetime(2026, 12, 1, 16, 59, 59, tzinfo=UTC)
    assert workdays.deadline(began, 1, "WIT") == datetime(2026, 12, 2, 14, 59, 59, tzinfo=UTC)


def test_default_messages_name_the_case_in_both_languages() -> None:
    for language in ("id", "en"):
        for key in (*cases.STATUSES, cases.UPDATE):
            message = cases.default_message(key, language)
            assert "((tracking_id))" in message.sms and "((tracking_id))" in message.email
