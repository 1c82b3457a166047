"""Notifications and what follows them: callbacks, received texts, SMS parts and opt-outs,
broadcasts and jobs.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import cast

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    Uuid,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from warta.store.models.base import Base, UtcDateTime


class Notification(Base):
    """The truth about one message. The queue carries only ``id``.

    ``lease_until`` says who owns a row: a ``created`` row is waiting in a queue (the sweeper
    re-queues it once the lease passes); a ``sending`` row with a lease belongs to a worker
    or waits for its retry time; a ``sending`` row without one awaits a delivery receipt.
    ``lease_owner`` names the worker (and its boot) whose lease it is.
    """

    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_agency_created", "agency_id", "key_type", "created_at"),
        Index("ix_notifications_due", "status", "lease_until"),
        Index("ix_notifications_reference", "agency_id", "reference"),
        Index("ix_notifications_citizen", "citizen_id", "created_at"),
        Index("ix_notifications_message", "message_id"),
        Index("ix_notifications_broadcast", "broadcast_id", "status"),
        # Partial: most rows never escalate and are in no job, and a million-row fan-out
        # should not pay to index their NULLs.
        Index(
            "ix_notifications_escalate",
            "escalate_at",
            sqlite_where=text("escalate_at IS NOT NULL"),
            postgresql_where=text("escalate_at IS NOT NULL"),
        ),
        Index(
            "ix_notifications_provider_reference",
            "provider",
            "provider_reference",
            sqlite_where=text("provider_reference IS NOT NULL"),
            postgresql_where=text("provider_reference IS NOT NULL"),
        ),
        Index(
            "ix_notifications_digest_of",
            "digest_of",
            sqlite_where=text("digest_of IS NOT NULL"),
            postgresql_where=text("digest_of IS NOT NULL"),
        ),
        # Whom a reply to the platform sender is for (``last_platform_texter``). Only sent
        # SMS are indexed: a fan-out inserts rows with no sent_at and pays nothing here.
        Index(
            "ix_notifications_sms_recipient",
            "recipient_hash",
            "sent_at",
            sqlite_where=text("type = 'sms' AND sent_at IS NOT NULL"),
            postgresql_where=text("type = 'sms' AND sent_at IS NOT NULL"),
        ),
        Index(
            "ix_notifications_job",
            "job_id",
            "status",
            sqlite_where=text("job_id IS NOT NULL"),
            postgresql_where=text("job_id IS NOT NULL"),
        ),
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
    # NULL for a broadcast's rows: they share the broadcast's ``content_enc``.
    content_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    sender: Mapped[str | None] = mapped_column(String(320))
    simulate: Mapped[str | None] = mapped_column(String(20))
    billable_units: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Who holds the lease: ``worker name#boot id`` (``pipeline/worker.py``), for a row a
    # worker claimed or its queue holds. A restarted worker takes back at once the rows
    # its earlier boots held; anyone else's wait for ``lease_until``. NULL: no one's.
    lease_owner: Mapped[str | None] = mapped_column(String(255))
    failure_reason: Mapped[str | None] = mapped_column(String(255))
    provider_reference: Mapped[str | None] = mapped_column(String(255))
    provider: Mapped[str | None] = mapped_column(String(64))
    #: urgent | normal | low. Urgent SMS reach numbers that replied BERHENTI/STOP.
    priority: Mapped[str] = mapped_column(String(10), default="normal", server_default="normal")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Sent to a citizen (POST /v2/notifications, broadcasts) rather than to an address.
    # ``message_id`` groups the attempts on successive channels (the first attempt's id);
    # ``routing`` is the policy's decision and reasons as JSON (no personal data);
    # ``alternatives_enc`` the other channels' rendered content, for escalation.
    citizen_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("citizens.id"))
    message_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    broadcast_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("broadcasts.id"))
    topic: Mapped[str | None] = mapped_column(String(100))
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    escalate_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    routing: Mapped[str | None] = mapped_column(Text)
    alternatives_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    job_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("jobs.id"))
    # The citizen's inbox: a message (its first attempt's row) was listed to them
    # (``seen_at``) or opened (``read_at``); every attempt of a read message gets
    # ``read_at``, which ends escalation for push and chat (they report no delivery).
    seen_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # The citizen's digest (pipeline/digests.py). ``digest``: routing held this attempt
    # for the daily digest (its latest decision was ``digest``), so when it falls due it
    # goes together with the citizen's other such messages on its channel. A column, not
    # the ``routing`` JSON: the worker finds a citizen's due digest rows with one indexed
    # query, and JSON text is no reliable thing to filter on in two databases.
    # ``digest_of``: the attempt that carried this one's text in a digest (NULL for the
    # carrier itself and for everything sent alone); a receipt for the carrier settles it.
    digest: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    digest_of: Mapped[uuid.UUID | None] = mapped_column(Uuid)


class Callback(Base):
    """One POST owed to an agency, kept until sent or out of attempts: a delivery receipt
    (``notification_id``), a text a citizen sent (``received_text_id``) or a change to one
    of its cases (``case_event_id``)."""

    __tablename__ = "callbacks"
    __table_args__ = (Index("ix_callbacks_due", "status", "next_attempt_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    notification_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("notifications.id"))
    received_text_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("received_texts.id"))
    case_event_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("case_events.id"))
    #: Where a case's callback goes when not to its owner at the time: the agency that
    #: forwarded the case away hears of it too.
    agency_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("agencies.id"))
    status: Mapped[str] = mapped_column(String(10))  # pending | sent | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_error: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ReceivedText(Base):
    __tablename__ = "received_texts"
    __table_args__ = (Index("ix_received_agency_created", "agency_id", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    #: None: a reply to the platform sender that no agency texted that number recently;
    #: kept for the platform, never handed to an arbitrary agency.
    agency_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("agencies.id"))
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


class SmsPlatformOptOut(Base):
    """A number that replied BERHENTI SEMUA / STOP ALL: no non-urgent SMS from any agency."""

    __tablename__ = "sms_platform_opt_outs"

    phone_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class CodeEvent(Base):
    """One-time codes sent and wrong guesses, by the keyed hash of what they concern (a
    contact, a client address): the limits every process shares (``domain/limits.py``)."""

    __tablename__ = "code_events"
    __table_args__ = (Index("ix_code_events_key", "key_hash", "kind", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Broadcast(Base):
    """One template to a segment (topic subscribers, a region prefix, or both), fanned out
    in batches of citizens by id; ``cursor`` is the last citizen done, so a restart
    resumes where the crash stopped. ``content_enc`` is the rendered content per channel,
    shared by every citizen."""

    __tablename__ = "broadcasts"
    __table_args__ = (Index("ix_broadcasts_due", "status", "lease_until"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"))
    api_key_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("api_keys.id"))
    key_type: Mapped[str] = mapped_column(String(10))
    template_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("templates.id"))
    template_version: Mapped[int] = mapped_column(Integer)
    topic: Mapped[str | None] = mapped_column(String(100))
    region_prefix: Mapped[str | None] = mapped_column(String(13))
    priority: Mapped[str] = mapped_column(String(10))
    reference: Mapped[str | None] = mapped_column(String(1000))
    content_enc: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(20))  # pending | fanning-out | done | cancelled
    scheduled_for: Mapped[datetime | None] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    cursor: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    recipients: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class Job(Base):
    """A bulk send (POST /v2/notifications/bulk): one template, a row per recipient."""

    __tablename__ = "jobs"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"), index=True)
    api_key_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("api_keys.id"))
    template_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("templates.id"))
    template_version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(20))  # finished | cancelled
    total: Mapped[int] = mapped_column(Integer)
    scheduled_for: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


NOTIFICATIONS = cast(Table, Notification.__table__)
