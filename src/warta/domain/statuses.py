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


def combine_parts(parts: list[str]) -> str | None:
    """The status of a multi-part SMS from its parts' receipts; None while any is pending.

    A citizen reads a message only if every part arrived, so one undeliverable part makes
    the whole a failure; a permanent one outweighs a temporary one.

    >>> combine_parts(["delivered", "delivered"])
    'delivered'
    >>> combine_parts(["delivered", "sending"]) is None
    True
    >>> combine_parts(["temporary-failure", "permanent-failure", "delivered"])
    'permanent-failure'
    """
    if not parts or any(p not in FINAL for p in parts):
        return None
    if all(p == DELIVERED for p in parts):
        return DELIVERED
    if PERMANENT_FAILURE in parts:
        return PERMANENT_FAILURE
    return TEMPORARY_FAILURE
