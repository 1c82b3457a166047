"""Transparency figures (warta.domain.case_stats): tables of cases, then properties.

Times are UTC instants; months are Jakarta's (UTC+7).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from warta.domain.case_stats import (
    CaseTimes,
    Month,
    by_agency,
    month_of,
    monthly,
    nearest_rank,
)


def at(month: int, day: int, hour: int = 3) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


def case(
    received: datetime,
    days: float | None = None,
    *,
    late: bool = False,
    agency: str = "a1",
    service: str = "JALAN",
) -> CaseTimes:
    return CaseTimes(
        agency_id=agency,
        agency_name={"a1": "Dinas PU", "a2": "Disdukcapil"}.get(agency, agency),
        service_code=service,
        service_name={"JALAN": "Jalan rusak", "LAMPU": "Lampu jalan"}.get(service, service),
        received_at=received,
        resolved_at=None if days is None else received + timedelta(days=days),
        within_deadline=not late,
    )


@pytest.mark.parametrize(
    ("moment", "month"),
    [
        (datetime(2026, 11, 30, 16, 59, tzinfo=UTC), "2026-11"),  # 23:59 WIB
        (datetime(2026, 11, 30, 17, 0, tzinfo=UTC), "2026-12"),  # 00:00 WIB on the 1st
        (datetime(2026, 12, 31, 17, 0, tzinfo=UTC), "2027-01"),  # new year in Jakarta
        (datetime(2026, 6, 15, 12, 0, tzinfo=UTC), "2026-06"),
    ],
    ids=["last-minute-of-november-wib", "midnight-wib", "new-year-wib", "mid-month"],
)
def test_months_are_jakartas(moment: datetime, month: str) -> None:
    assert month_of(moment) == month


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([], None),
        ([4.0], 4.0),
        ([1.0, 2.0, 10.0], 10.0),
        ([float(d) for d in range(1, 11)], 9.0),
        ([float(d) for d in range(1, 12)], 10.0),
        ([float(d) for d in range(100, 0, -1)], 90.0),
        ([1.04, 1.06], 1.1),
    ],
    ids=["none", "one", "three", "ten", "eleven", "hundred-unsorted", "rounded"],
)
def test_p90_is_the_nearest_rank(values: list[float], expected: float | None) -> None:
    assert nearest_rank(values, 90) == expected


def test_a_month_of_cases() -> None:
    cases = [
        case(at(3, 2), 1),
        case(at(3, 3), 2, late=True),
        case(at(3, 4), 10),
        case(at(3, 5)),  # still open
    ]
    assert monthly(cases) == [
        Month("2026-03", received=4, resolved=3, median_days=2.0, p90_days=10.0,
              within_deadline=0.667),
    ]  # fmt: skip


def test_resolution_counts_in_the_month_it_happened_with_the_whole_wait() -> None:
    # Filed 25 March, resolved 40 days later, in May; April had nothing.
    assert monthly([case(at(3, 25), 40.5)]) == [
        Month("2026-03", 1, 0, None, None, None),
        Month("2026-04", 0, 0, None, None, None),
        Month("2026-05", 0, 1, 40.5, 40.5, 1.0),
    ]


def test_even_count_median_is_the_mean_of_the_middle_two() -> None:
    months = monthly([case(at(4, 1), d) for d in (1, 2, 3, 4)])
    assert (months[0].median_days, months[0].p90_days) == (2.5, 4.0)


def test_nothing_resolved_is_none_not_zero() -> None:
    [month] = monthly([case(at(4, 1)), case(at(4, 2))])
    assert (month.resolved, month.median_days, month.p90_days, month.within_deadline) == (
        0,
        None,
        None,
        None,
    )


def test_no_cases_no_months() -> None:
    assert monthly([]) == []
    assert by_agency([]) == []


def test_span_fills_the_months_asked_for() -> None:
    assert [m.month for m in monthly([case(at(5, 1))], span=("2026-03", "2026-06"))] == [
        "2026-03",
        "2026-04",
        "2026-05",
        "2026-06",
    ]
    assert [m.received for m in monthly([], span=("2026-11", "2027-02"))] == [0, 0, 0, 0]


def test_by_agency_and_service_share_the_agencys_months() -> None:
    cases = [
        case(at(1, 10), 3, service="LAMPU"),
        case(at(3, 10), 1, service="JALAN"),
        case(at(2, 10), 5, late=True, agency="a2", service="KTP"),
    ]
    pu, dukcapil = sorted(by_agency(cases), key=lambda a: a.agency_id)
    assert [a.name for a in by_agency(cases)] == ["Dinas PU", "Disdukcapil"]
    assert [m.month for m in pu.months] == ["2026-01", "2026-02", "2026-03"]
    assert [(s.code, s.name) for s in pu.services] == [
        ("JALAN", "Jalan rusak"),
        ("LAMPU", "Lampu jalan"),
    ]
    for service in pu.services:
        assert [m.month for m in service.months] == ["2026-01", "2026-02", "2026-03"]
    lampu = pu.services[1]
    assert [(m.received, m.resolved) for m in lampu.months] == [(1, 1), (0, 0), (0, 0)]
    assert dukcapil.months == [Month("2026-02", 1, 1, 5.0, 5.0, 0.0)]


moments = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
)
records = st.lists(
    st.builds(
        case,
        moments,
        st.one_of(st.none(), st.floats(min_value=0, max_value=120)),
        late=st.booleans(),
        agency=st.sampled_from(["a1", "a2"]),
        service=st.sampled_from(["JALAN", "LAMPU"]),
    ),
    max_size=40,
)


@given(records)
def test_every_case_is_received_once_and_resolved_at_most_once(cases: list[CaseTimes]) -> None:
    months = monthly(cases)
    assert sum(m.received for m in months) == len(cases)
    assert sum(m.resolved for m in months) == sum(c.resolved_at is not None for c in cases)
    assert [m.month for m in months] == sorted({m.month for m in months})
    for m in months:
        if m.resolved:
            assert m.median_days is not None and m.p90_days is not None
            assert 0 <= m.median_days <= m.p90_days + 0.05
            assert m.within_deadline is not None and 0 <= m.within_deadline <= 1
        else:
            assert (m.median_days, m.p90_days, m.within_deadline) == (None, None, None)


@given(records)
def test_agency_and_service_figures_add_up_to_the_whole(cases: list[CaseTimes]) -> None:
    agencies = by_agency(cases)
    assert sum(m.received for a in agencies for m in a.months) == len(cases)
    for agency in agencies:
        for i, month in enumerate(agency.months):
            assert month.received == sum(s.months[i].received for s in agency.services)
            assert month.resolved == sum(s.months[i].resolved for s in agency.services)
