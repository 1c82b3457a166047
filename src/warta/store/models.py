"""Tables. Personal data lives only in ``*_enc`` columns (see warta.security.crypto) and is
found through ``*_hash`` columns; everything else is safe to read in a database console.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    Uuid,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UtcDateTime(TypeDecorator[datetime]):
    """Always aware UTC in Python; SQLite has no time zones, so it is restored on load."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return (
            value.astimezone(UTC)
            if dialect.name != "sqlite"
            else value.astimezone(UTC).replace(tzinfo=None)
        )

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Agency(Base):
    __tablename__ = "agencies"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    email_from: Mapped[str | None] = mapped_column(String(320))
    sms_sender: Mapped[str | None] = mapped_column(String(11))
    rate_limit: Mapped[int] = mapped_column(Integer)
    message_limit: Mapped[int] = mapped_column(Integer)
    callback_url: Mapped[str | None] = mapped_column(String(2000))
    callback_token_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    inbound_callback_url: Mapped[str | None] = mapped_column(String(2000))
    inbound_callback_token_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    key_type: Mapped[str] = mapped_column(String(10))
    secret_enc: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class GuestListEntry(Base):
    """Who a team key may reach (checked by keyed hash)."""

    __tablename__ = "guest_list"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"), index=True)
    recipient_type: Mapped[str] = mapped_column(String(10))
    recipient_enc: Mapped[bytes] = mapped_column(LargeBinary)
    recipient_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Template(Base):
    __tablename__ = "templates"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(10))
    subject: Mapped[str | None] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer)
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class TemplateVersion(Base):
    __tablename__ = "template_versions"

    template_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("templates.id"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    subject: Mapped[str | None] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Notification(Base):
    """The truth about one message. The queue carries only ``id``.

    ``lease_until`` says who owns a row: a ``created`` row is waiting in a queue (the sweeper
    re-queues it once the lease passes); a ``sending`` row with a lease belongs to a worker
    or waits for its retry time; a ``sending`` row without one awaits a delivery receipt.
    """

    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_agency_created", "agency_id", "key_type", "created_at"),
        Index("ix_notifications_due", "status", "lease_until"),
        Index("ix_notifications_reference", "agency_id", "reference"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"))
    api_key_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("api_keys.id"))
    key_type: Mapped[str] = mapped_column(String(10))
    template_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("templates.id"))
    template_version: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(20))
    reference: Mapped[str | None] = mapped_column(String(1000))
    recipient_enc: Mapped[bytes] = mapped_column(LargeBinary)
    recipient_hash: Mapped[str] = mapped_column(String(64))
    # Rendered subject and body, encrypted together. The personalisation itself is not kept
    # (data minimisation, UU PDP art. 16): the rendered text is all anyone needs later.
    content_enc: Mapped[bytes] = mapped_column(LargeBinary)
    sender: Mapped[str | None] = mapped_column(String(320))
    simulate: Mapped[str | None] = mapped_column(String(20))
    billable_units: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    failure_reason: Mapped[str | None] = mapped_column(String(255))
    provider_reference: Mapped[str | None] = mapped_column(String(255))
    provider: Mapped[str | None] = mapped_column(String(64))
    #: urgent | normal | low. Urgent SMS reach numbers that replied BERHENTI/STOP.
    priority: Mapped[str] = mapped_column(String(10), default="normal", server_default="normal")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class Callback(Base):
    """One POST owed to an agency, kept until sent or out of attempts: a delivery receipt
    (``notification_id``) or a text a citizen sent (``received_text_id``)."""

    __tablename__ = "callbacks"
    __table_args__ = (Index("ix_callbacks_due", "status", "next_attempt_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    notification_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("notifications.id"))
    received_text_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("received_texts.id"))
    status: Mapped[str] = mapped_column(String(10))  # pending | sent | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_error: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ReceivedText(Base):
    __tablename__ = "received_texts"
    __table_args__ = (Index("ix_received_agency_created", "agency_id", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"))
    notify_number: Mapped[str] = mapped_column(String(20))
    user_number_enc: Mapped[bytes] = mapped_column(LargeBinary)
    user_number_hash: Mapped[str] = mapped_column(String(64))
    content_enc: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class SmsPart(Base):
    """One SMS part as a provider knows it, by the provider's message id.

    Written from two sides that race: the worker that sent it (``notification_id``,
    ``part``) and the delivery receipt (``status``), which may come first. Whichever
    writes second sees both and settles the notification (``services/provider_events``).
    """

    __tablename__ = "sms_parts"
    __table_args__ = (Index("ix_sms_parts_notification", "notification_id"),)

    provider: Mapped[str] = mapped_column(String(64), primary_key=True)
    reference: Mapped[str] = mapped_column(String(255), primary_key=True)
    notification_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    part: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))  # sending, or a final status
    detail: Mapped[str | None] = mapped_column(String(255))
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    receipt_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class SmsOptOut(Base):
    """A number that replied BERHENTI/STOP to an agency: no more non-urgent SMS from it."""

    __tablename__ = "sms_opt_outs"

    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"), primary_key=True)
    phone_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


# The Core table, for statements that skip the ORM on hot paths (typed as a Table).
NOTIFICATIONS = cast(Table, Notification.__table__)
