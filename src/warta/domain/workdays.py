"""Deadlines in Indonesian working days (hari kerja), as SP4N-LAPOR! counts them.

A working day is Monday to Friday, not a national public holiday (the ``holidays``
package's Indonesian calendar, which follows the SKB of the three ministers each year) and
not one of the agency's own days off (cuti bersama, a regional holiday). A step's deadline
is the end of its Nth working day after the day it began, in the case's zone: a case
received on Friday afternoon with 3 working days is due at the end of Wednesday, and a
public holiday on the Monday pushes it to Thursday.

Pure: the calendar is data, looked up by year.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

from warta.domain.regions import ZONES, Zone

#: Each step can stretch over a few weeks at most; a calendar longer than this is a bug.
_MAX_DAYS_SCANNED = 366


@lru_cache(maxsize=32)
def _national(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("ID", years=year))


def is_working_day(day: date, days_off: Iterable[date] = ()) -> bool:
    if day.weekday() >= 5:
        return False
    return day not in _national(day.year) and day not in set(days_off)


def add_working_days(start: date, n: int, days_off: Iterable[date] = ()) -> date:
    """The Nth working day after ``start`` (``start`` itself never counts)."""
    off = frozenset(days_off)
    day, counted = start, 0
    for _ in range(_MAX_DAYS_SCANNED):
        day += timedelta(days=1)
        if is_working_day(day, off):
            counted += 1
            if counted == n:
                return day
    raise ValueError(f"no {n} working days within a year of {start}")


def deadline(
    began: datetime, n: int, zone: Zone = "WIB", days_off: Iterable[date] = ()
) -> datetime:
    """The end (23:59:59 local) of the Nth working day after ``began``'s local day, in UTC."""
    tz = ZoneInfo(ZONES[zone])
    local_day = began.astimezone(tz).date()
    due_day = add_working_days(local_day, n, days_off)
    end = datetime.combine(due_day, time(23, 59, 59), tzinfo=tz)
    return end.astimezone(UTC)
