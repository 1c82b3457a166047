"""Timestamps as the Notify API writes them: UTC, microseconds, a trailing Z."""

from __future__ import annotations

from datetime import UTC, datetime


def notify_time(value: datetime | None) -> str | None:
    """>>> notify_time(datetime(2026, 11, 28, 5, 0, tzinfo=UTC))
    '2026-11-28T05:00:00.000000Z'
    """
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
