"""Times as a person reads them (issue 15, item 13): in their own zone, the zone named."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from warta.domain.timefmt import local_time

ONE_AM_UTC = datetime(2026, 12, 5, 1, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("zone", "language", "shown"),
    [
        ("WIB", "id", "5 Des 2026 08.00 WIB"),
        ("WITA", "id", "5 Des 2026 09.00 WITA"),
        ("WIT", "id", "5 Des 2026 10.00 WIT"),
        ("WITA", "en", "5 Dec 2026 09:00 WITA"),
        ("PST", "id", "5 Des 2026 08.00 WIB"),  # an unknown zone reads as WIB
    ],
)
def test_local_time_in_each_zone(zone: str, language: str, shown: str) -> None:
    assert local_time(ONE_AM_UTC, zone, language) == shown


def test_naive_is_utc_and_the_day_can_change() -> None:
    assert local_time(datetime(2026, 12, 31, 20, 30), "WIT") == "1 Jan 2027 05.30 WIT"
    assert local_time(None) == ""
