"""What the case services take and give: plain values, decrypted for whoever may see them."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

ActorKind = Literal["citizen", "reporter", "open311", "agency", "staff", "system"]


@dataclass(frozen=True)
class Actor:
    """Who acts: a citizen (``id`` = citizen id), an anonymous reporter (no id), an Open311
    app (its key id), an agency's API key (key id, ``agency_id``, ``key_type``), a member of
    staff (staff id, ``agency_id``) or Warta's own timers."""

    kind: ActorKind
    id: uuid.UUID | None = None
    agency_id: uuid.UUID | None = None
    key_type: str = "normal"

    @property
    def for_agency(self) -> bool:
        return self.kind in ("agency", "staff")


SYSTEM = Actor("system")


@dataclass(frozen=True)
class Location:
    lat: float | None = None
    long: float | None = None
    address: str | None = None
    region_code: str | None = None


@dataclass(frozen=True)
class Reporter:
    """An anonymous reporter's optional contact (and name, if they gave one)."""

    name: str | None = None
    email: str | None = None
    phone: str | None = None


@dataclass(frozen=True)
class NewCase:
    service_code: str
    description: str
    location: Location = field(default_factory=Location)
    citizen_id: uuid.UUID | None = None
    reporter: Reporter | None = None
    attributes: Mapping[str, str | list[str]] = field(default_factory=dict)
    photos: Sequence[bytes] = ()
    source: str = "api"
    language: str = "id"


@dataclass(frozen=True)
class ServiceView:
    id: uuid.UUID
    agency_id: uuid.UUID
    agency_name: str
    code: str
    name: str
    group: str
    keywords: tuple[str, ...]
    kind: str
    description: str
    attributes: list[dict[str, Any]]


@dataclass(frozen=True)
class EventView:
    id: uuid.UUID
    at: datetime
    kind: str
    from_status: str | None
    to_status: str | None
    public_message: str | None
    internal_note: str | None
    actor_kind: str
    update_id: str | None


@dataclass(frozen=True)
class PhotoView:
    id: uuid.UUID
    content_type: str
    width: int
    height: int


@dataclass(frozen=True)
class CaseView:
    id: uuid.UUID
    tracking_id: str
    agency_id: uuid.UUID
    agency_name: str
    service: ServiceView
    kind: str
    status: str
    open311_status: str
    extended_status: str
    description: str
    location: Location
    citizen_id: uuid.UUID | None
    reporter: Reporter | None
    attributes: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    due_at: datetime | None
    breached: bool
    assigned_to: uuid.UUID | None
    duplicate_of: str | None
    events: list[EventView]
    photos: list[PhotoView]
    source: str
    key_type: str
    language: str
    token: str


@dataclass(frozen=True)
class PublicCase:
    """What anyone may see: status and public updates; where it is, what it says and its
    photos only for a report about a public place (``laporan``)."""

    tracking_id: str
    agency_name: str
    service_code: str
    service_name: str
    kind: str
    status: str
    open311_status: str
    extended_status: str
    created_at: datetime
    updated_at: datetime
    public_updates: list[EventView]
    location: Location | None
    description: str | None
    photos: list[PhotoView]
    token: str


@dataclass(frozen=True)
class QueueFilter:
    status: str | None = None
    service_code: str | None = None
    region: str | None = None
    overdue: bool | None = None
    assigned_to: uuid.UUID | None = None
    page: int = 1
    page_size: int = 50
