"""Typed records of what routing and delivery write to notification rows.

Routing (``services.routing``), the last look before a send (``services.escalation``)
and the delivery task (``pipeline.delivery``, ``pipeline.digests``) build these instead of
dicts keyed by column name, so a misspelt column or a wrong value is a type error where
it is made. ``as_columns`` gives the dict the notification repository writes; its keys
are the table's column names.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, Final

from warta.domain.channels import ChannelName


class _Keep(enum.Enum):
    KEEP = "keep"


#: A change that leaves its column as it is; ``None`` writes NULL.
KEEP: Final = _Keep.KEEP

#: What a new attempt starts without. Written all the same, so every row of a bulk insert
#: names the same columns.
_UNTRIED: Final[dict[str, Any]] = {
    "attempts": 0,
    "provider_reference": None,
    "provider": None,
    "sent_at": None,
    "escalate_at": None,
    "job_id": None,
    "digest_of": None,
}


@dataclass(frozen=True, slots=True)
class RoutedColumns:
    """The columns of a new attempt that follow from the message and the routing decision
    alone: the same for every citizen a broadcast routes the same way. A row's own (id,
    message, citizen, recipient, content) go beside them."""

    agency_id: uuid.UUID
    api_key_id: uuid.UUID | None
    key_type: str
    template_id: uuid.UUID
    template_version: int
    type: ChannelName
    status: str
    reference: str | None
    sender: str | None
    simulate: str | None
    priority: str
    billable_units: int
    lease_until: datetime | None
    failure_reason: str | None
    created_at: datetime
    completed_at: datetime | None
    updated_at: datetime
    broadcast_id: uuid.UUID | None
    topic: str | None
    expires_at: datetime | None
    routing: str
    digest: bool

    def as_columns(self) -> dict[str, Any]:
        return {**_values(self), **_UNTRIED}


@dataclass(frozen=True, slots=True)
class AttemptChanges:
    """What an attempt's outcome changes in its row: sent, delivered, failed, retried,
    held back or cancelled by routing, carried in a digest. Fields at ``KEEP`` are left
    as they are."""

    id: uuid.UUID
    status: str
    updated_at: datetime
    lease_until: datetime | None
    completed_at: datetime | _Keep | None = KEEP
    provider_reference: str | _Keep | None = KEEP
    provider: str | _Keep | None = KEEP
    failure_reason: str | _Keep | None = KEEP
    escalate_at: datetime | _Keep | None = KEEP
    sent_at: datetime | _Keep | None = KEEP
    routing: str | _Keep | None = KEEP
    digest: bool | _Keep = KEEP
    digest_of: uuid.UUID | _Keep | None = KEEP

    def as_columns(self) -> dict[str, Any]:
        """``id`` and the columns this outcome changes."""
        return {name: value for name, value in _values(self).items() if value is not KEEP}


def _values(record: RoutedColumns | AttemptChanges) -> dict[str, Any]:
    return {f.name: getattr(record, f.name) for f in fields(record)}
