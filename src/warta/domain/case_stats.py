"""Transparency figures for citizen cases: per month, how many cases an agency (or one
of its services) received and resolved, how long resolving took, and how often on time.

The rules, each with an example:

- **Months are Jakarta's (WIB) calendar months**, the way the agency's own reports count
  them: a case filed 30 November 2026 at 20:00 UTC (03:00 WIB on 1 December) is
  December's.
- **Received** in a month: cases filed in it (every kind, whatever became of them, except
  test-key cases, which the read leaves out).
- **Resolved** in a month: cases whose *last* resolution (the last time they became
  ``resolved``) fell in it and that are still resolved or have since closed. A case
  resolved in March, reopened and resolved again in April counts once, in April, with
  the whole time from filing; one reopened and not yet resolved again counts nowhere. A
  rejection, a duplicate or a case closed without being resolved is not a resolution.
- **Time to resolve**: from filing to that last resolution, in calendar days (wall-clock
  time, weekends and holidays included, as a citizen waits them), to one decimal.
  ``median`` is the middle value (the mean of the two middle ones for an even count);
  ``p90`` is the nearest-rank 90th percentile: the smallest time that at least 90% of
  the month's resolved cases took no longer than. Three cases of 1, 2 and 10 days: median
  2.0, p90 10.0.
- **Within deadline**: the share of the month's resolved cases that never breached a
  deadline (no step of theirs ran past its working-day limit), 0 to 1. None when nothing
  was resolved, never 0 for "no data".
- Months run without gaps from the first month with any case to the last, so a month
  with nothing received shows as 0, not as a missing row.

No personal data goes in or out: a record is the case's agency, service, times and
whether it kept its deadlines. Pure: no I/O.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Final
from zoneinfo import ZoneInfo

#: The months of the report are Jakarta's.
ZONE: Final = ZoneInfo("Asia/Jakarta")
_DAY_SECONDS: Final = 86_400


@dataclass(frozen=True)
class CaseTimes:
    """One case as the figures see it (``services.cases.reads.resolution_times``).

    ``resolved_at`` is the last time the case became resolved, when it is resolved or
    closed after that; None otherwise.
    """

    agency_id: str
    agency_name: str
    service_code: str
    service_name: str
    received_at: datetime
    resolved_at: datetime | None
    within_deadline: bool


@dataclass(frozen=True)
class Month:
    month: str  # "2026-12"
    received: int
    resolved: int
    median_days: float | None
    p90_days: float | None
    within_deadline: float | None  # share of ``resolved``, 0 to 1


@dataclass(frozen=True)
class ServiceFigures:
    code: str
    name: str
    months: list[Month]


@dataclass(frozen=True)
class AgencyFigures:
    agency_id: str
    name: str
    months: list[Month]
    services: list[ServiceFigures]


def month_of(moment: datetime, zone: tzinfo = ZONE) -> str:
    """``2026-11-30 20:00 UTC`` -> ``"2026-12"`` (03:00 on 1 December in Jakarta)."""
    local = moment.astimezone(zone)
    return f"{local.year:04d}-{local.month:02d}"


def days_between(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / _DAY_SECONDS


def median(values: Sequence[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


def nearest_rank(values: Sequence[float], percent: int) -> float | None:
    """The smallest value that at least ``percent``% of ``values`` do not exceed.

    >>> nearest_rank([1.0, 2.0, 10.0], 90), nearest_rank([], 90)
    (10.0, None)
    """
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(percent / 100 * len(ordered)))
    return round(ordered[rank - 1], 1)


def _month_range(first: str, last: str) -> list[str]:
    year, month = int(first[:4]), int(first[5:])
    months = []
    while f"{year:04d}-{month:02d}" <= last:
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def monthly(
    cases: Iterable[CaseTimes], zone: tzinfo = ZONE, span: tuple[str, str] | None = None
) -> list[Month]:
    """The figures of ``cases`` by month, oldest first, without gaps: from the first
    month with a case to the last, or over ``span`` (first and last month) when given."""
    received: dict[str, int] = defaultdict(int)
    times: dict[str, list[float]] = defaultdict(list)
    on_time: dict[str, int] = defaultdict(int)
    for case in cases:
        received[month_of(case.received_at, zone)] += 1
        if case.resolved_at is not None:
            month = month_of(case.resolved_at, zone)
            times[month].append(days_between(case.received_at, case.resolved_at))
            on_time[month] += case.within_deadline
    seen = set(received) | set(times)
    if span is None and not seen:
        return []
    first, last = span or (min(seen), max(seen))
    return [
        Month(
            month=month,
            received=received.get(month, 0),
            resolved=len(times.get(month, ())),
            median_days=median(times.get(month, [])),
            p90_days=nearest_rank(times.get(month, []), 90),
            within_deadline=(
                round(on_time[month] / len(times[month]), 3) if times.get(month) else None
            ),
        )
        for month in _month_range(first, last)
    ]


def by_agency(cases: Iterable[CaseTimes], zone: tzinfo = ZONE) -> list[AgencyFigures]:
    """Each agency's figures, and each of its services', agencies and services by name."""
    agencies: dict[str, list[CaseTimes]] = defaultdict(list)
    for case in cases:
        agencies[case.agency_id].append(case)
    figures = []
    for agency_id, own in agencies.items():
        services: dict[str, list[CaseTimes]] = defaultdict(list)
        for case in own:
            services[case.service_code].append(case)
        months = monthly(own, zone)
        span = (months[0].month, months[-1].month)  # every service over the same months
        figures.append(
            AgencyFigures(
                agency_id=agency_id,
                name=own[-1].agency_name,
                months=months,
                services=sorted(
                    (
                        ServiceFigures(code, group[-1].service_name, monthly(group, zone, span))
                        for code, group in services.items()
                    ),
                    key=lambda s: (s.name.casefold(), s.code),
                ),
            )
        )
    return sorted(figures, key=lambda a: (a.name.casefold(), a.agency_id))
