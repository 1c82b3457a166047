"""Notification statuses, as GOV.UK Notify names them, and what they mean for the pipeline."""

from __future__ import annotations

from typing import Final

CREATED: Final = "created"
SENDING: Final = "sending"
PENDING: Final = "pending"
DELIVERED: Final = "delivered"
PERMANENT_FAILURE: Final = "permanent-failure"
TEMPORARY_FAILURE: Final = "temporary-failure"
TECHNICAL_FAILURE: Final = "technical-failure"
CANCELLED: Final = "cancelled"

ALL = (
    CREATED,
    SENDING,
    PENDING,
    DELIVERED,
    PERMANENT_FAILURE,
    TEMPORARY_FAILURE,
    TECHNICAL_FAILURE,
    CANCELLED,
)
# Statuses after which nothing more happens to a notification; each one owes the agency
# a delivery receipt callback.
FINAL = frozenset({DELIVERED, PERMANENT_FAILURE, TEMPORARY_FAILURE, TECHNICAL_FAILURE, CANCELLED})
# Filter names the Notify API accepts beside the statuses themselves.
FILTERS = frozenset({*ALL, "failed"})
