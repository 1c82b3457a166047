"""Timestamps as the Notify API writes them (UTC, microseconds, a trailing Z), and as a
person reads them: in their own zone, the zone named (``5 Des 2026 14.30 WIB``)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from warta.domain.regions import ZONES, Zone

_MONTHS = {
    "id": ("Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des"),
    "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
}


def notify_time(value: datetime | None) -> str | None:
    """>>> notify_time(datetime(2026, 11, 28, 5, 0, tzinfo=UTC))
    '2026-11-28T05:00:00.000000Z'
    """
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def local_time(value: datetime | None, zone: Zone | str = "WIB", language: str = "id") -> str:
    """``value`` as a person in ``zone`` (WIB, WITA, WIT; anything else is WIB) reads it,
    the zone named; a naive ``value`` is UTC, as the store keeps it. Indonesian writes the
    hour with a full stop, English with a colon.

    >>> local_time(datetime(2026, 12, 5, 1, 0, tzinfo=UTC), "WITA")
    '5 Des 2026 09.00 WITA'
    >>> local_time(datetime(2026, 12, 5, 7, 30, tzinfo=UTC), "WIB", "en")
    '5 Dec 2026 14:30 WIB'
    """
    if value is None:
        return ""
    name: Zone = zone if zone in ZONES else "WIB"
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    here = value.astimezone(ZoneInfo(ZONES[name]))
    months = _MONTHS.get(language, _MONTHS["id"])
    colon = "." if language == "id" else ":"
    return f"{here.day} {months[here.month - 1]} {here.year} {here:%H}{colon}{here:%M} {name}"
