"""Citizen cases (docs/cases.md): the services an agency takes cases for, the cases, every
change to them, their photos, the agencies' own days off, Open311 reporting apps' keys and
which template tells the citizen of each status.

What a citizen wrote (description, attribute answers, where it is, their contact, public
and internal messages) is sealed; the region code stays clear, for queues and statistics.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    Uuid,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from warta.store.models.base import Base, UtcDateTime


class CaseService(Base):
    """What a case can be about (Open311's service): "Jalan rusak", "KTP-el"."""

    __tablename__ = "case_services"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"), index=True)
    #: Unique across Warta: Open311 clients name a service by its code alone.
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    group_name: Mapped[str] = mapped_column(String(255), default="")
    keywords: Mapped[str] = mapped_column(Text, default="")  # comma-separated
    kind: Mapped[str] = mapped_column(String(12))
    description: Mapped[str] = mapped_column(Text, default="")
    #: Open311 attribute definitions, JSON (``[{"code": …, "datatype": …, …}]``).
    attributes_json: Mapped[str] = mapped_column(Text, default="[]")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Case(Base):
    __tablename__ = "cases"
    __table_args__ = (
        Index("ix_cases_agency_status", "agency_id", "status", "created_at"),
        Index("ix_cases_due", "due_at"),
        Index("ix_cases_citizen", "citizen_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    tracking_id: Mapped[str] = mapped_column(String(8), unique=True)
    #: The agency that owns it now (forwarding moves it).
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"))
    service_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("case_services.id"))
    kind: Mapped[str] = mapped_column(String(12))
    status: Mapped[str] = mapped_column(String(24))
    citizen_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("citizens.id"))
    #: An anonymous reporter's optional contact, JSON {name, email, phone}.
    reporter_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    description_enc: Mapped[bytes] = mapped_column(LargeBinary)
    #: JSON {lat, long, address}; the region code is kept clear beside it.
    location_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    region_code: Mapped[str | None] = mapped_column(String(13))
    attributes_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    language: Mapped[str] = mapped_column(String(2), default="id")
    #: How it came: open311, portal, api, console, chat, sms.
    source: Mapped[str] = mapped_column(String(10))
    open311_key_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("open311_keys.id"))
    #: Filed with a test key: never public, counted nowhere, told only as a test send is.
    key_type: Mapped[str] = mapped_column(String(10), default="normal")
    #: Open311's token for the request (``tokens/{token}.json``).
    token: Mapped[str] = mapped_column(String(36), unique=True)
    assigned_to: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))
    duplicate_of: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("cases.id"))
    #: The end of the current step (``domain.cases.STEP_OF``) and whether it was missed.
    due_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    breached_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    #: When the step began: the resolution time is counted from filing to ``resolved_at``.
    step_started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    #: Resolved within every agency deadline so far (for the transparency page).
    within_deadline: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class CaseEvent(Base):
    """Every change: who, when, from what to what, the public message, the internal note."""

    __tablename__ = "case_events"
    __table_args__ = (
        Index("ix_case_events_case", "case_id", "at"),
        Index("ix_case_events_at", "at"),
        Index("ix_case_events_update_id", "case_id", "update_id", unique=True),
        Index("ix_case_events_untold", "tell", "told_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"))
    #: The agency that owned the case when it happened.
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    kind: Mapped[str] = mapped_column(String(12))
    from_status: Mapped[str | None] = mapped_column(String(24))
    to_status: Mapped[str | None] = mapped_column(String(24))
    public_message_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    internal_note_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    #: citizen, reporter, open311, agency (an API key), staff, system.
    actor_kind: Mapped[str] = mapped_column(String(10))
    actor_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    #: The caller's own id for this update (Open311 ``update_id``): a repeat is ignored.
    update_id: Mapped[str | None] = mapped_column(String(64))
    #: The citizen is owed a message about it until ``told_at``: written with the change,
    #: so a crash before the message is queued leaves it owed and the sweeper sends it.
    tell: Mapped[bool] = mapped_column(Boolean, default=False)
    told_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class CasePhoto(Base):
    """A photo, re-encoded without metadata and sealed in a file under the data folder."""

    __tablename__ = "case_photos"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"), index=True)
    content_type: Mapped[str] = mapped_column(String(20))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    #: Relative to the photos folder.
    path: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class AgencyDayOff(Base):
    """A day the agency does not work besides national holidays (cuti bersama, regional)."""

    __tablename__ = "agency_days_off"

    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    reason: Mapped[str] = mapped_column(String(255), default="")


class Open311Key(Base):
    """The ``api_key`` of a reporting app (FixMyStreet, a city's app); kept as a hash."""

    __tablename__ = "open311_keys"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class CaseMessage(Base):
    """Which of the agency's templates tells the citizen of a status (or a public update,
    ``status`` = ``update``) in a language, for one service or (``service_id`` NULL) all.
    The templates are ordinary ones, edited in the console with their versions."""

    __tablename__ = "case_messages"
    __table_args__ = (
        Index(
            "ix_case_messages_key", "agency_id", "service_key", "status", "language", unique=True
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"))
    #: The service's id as text, or "" for all of the agency's services (a unique index
    #: cannot treat NULLs as equal on every database).
    service_key: Mapped[str] = mapped_column(String(36), default="")
    status: Mapped[str] = mapped_column(String(24))
    language: Mapped[str] = mapped_column(String(2))
    template_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("templates.id"))
