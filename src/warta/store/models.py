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
    false,
    text,
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
    #: A multi-channel template's other bodies as JSON: {"sms": "..."}; ``subject`` and
    #: ``body`` are its email. NULL for single-channel templates.
    channel_bodies: Mapped[str | None] = mapped_column(Text)
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
    #: A multi-channel template's other bodies as JSON: {"sms": "..."}; ``subject`` and
    #: ``body`` are its email. NULL for single-channel templates.
    channel_bodies: Mapped[str | None] = mapped_column(Text)
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


class Citizen(Base):
    """One person, shared by every agency. The NIK is found by its keyed hash only.

    Preferences live on the row (one read per routing decision): ``channel_order`` is a
    comma-separated list; quiet hours are local ``HH:MM`` in ``zone`` (WIB, WITA, WIT),
    both NULL meaning none; caps count non-urgent notifications per local day and week.
    """

    __tablename__ = "citizens"
    __table_args__ = (Index("ix_citizens_region", "region_code"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    nik_hash: Mapped[str] = mapped_column(String(64), unique=True)
    nik_enc: Mapped[bytes] = mapped_column(LargeBinary)
    name_enc: Mapped[bytes] = mapped_column(LargeBinary)
    region_code: Mapped[str] = mapped_column(String(13))
    zone: Mapped[str] = mapped_column(String(4))
    language: Mapped[str] = mapped_column(String(2))
    channel_order: Mapped[str] = mapped_column(String(100))
    quiet_start: Mapped[str | None] = mapped_column(String(5))
    quiet_end: Mapped[str | None] = mapped_column(String(5))
    max_per_day: Mapped[int | None] = mapped_column(Integer)
    max_per_week: Mapped[int | None] = mapped_column(Integer)
    digest: Mapped[bool] = mapped_column(Boolean, default=False)
    digest_at: Mapped[str] = mapped_column(String(5), default="18:00")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class CitizenContact(Base):
    """A phone, address, push subscription or chat handle; usable once ``verified_at``.

    The one-time code is kept as a keyed hash with its expiry and a count of wrong tries.
    """

    __tablename__ = "citizen_contacts"
    __table_args__ = (
        Index("ix_citizen_contacts_owner", "citizen_id", "kind", "value_hash", unique=True),
        Index("ix_citizen_contacts_value", "value_hash"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    citizen_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("citizens.id"))
    kind: Mapped[str] = mapped_column(String(10))
    value_enc: Mapped[bytes] = mapped_column(LargeBinary)
    value_hash: Mapped[str] = mapped_column(String(64))
    verified_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    code_hash: Mapped[str | None] = mapped_column(String(64))
    code_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    code_attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    #: The provider said this contact is dead (subscription expired, token unregistered,
    #: bot blocked): routing no longer chooses it.
    gone_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    #: The citizen last wrote to us on it (WhatsApp: free text only within 24 hours).
    last_inbound_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class AgencyCitizen(Base):
    """An agency may see and address a citizen only through this relationship."""

    __tablename__ = "agency_citizens"

    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"), primary_key=True)
    citizen_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("citizens.id"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Topic(Base):
    __tablename__ = "topics"
    __table_args__ = (Index("ix_topics_agency_slug", "agency_id", "slug", unique=True),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"))
    slug: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class TopicSubscription(Base):
    __tablename__ = "topic_subscriptions"
    __table_args__ = (Index("ix_topic_subscriptions_citizen", "citizen_id"),)

    topic_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("topics.id"), primary_key=True)
    citizen_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("citizens.id"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Consent(Base):
    """The record of every choice: who agreed or withdrew, for which agency or topic, when,
    how (``source``) and what they were shown. Append-only; ``opt_outs`` is its current
    state, kept in the same transaction."""

    __tablename__ = "consents"
    __table_args__ = (Index("ix_consents_citizen", "citizen_id", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    citizen_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("citizens.id"))
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"))
    topic: Mapped[str] = mapped_column(String(100))  # "" for the whole agency
    granted: Mapped[bool] = mapped_column(Boolean)
    source: Mapped[str] = mapped_column(String(20))
    text_shown: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class PreferenceChange(Base):
    """Each change to how a citizen is reached (channel order, quiet hours, caps, digest,
    language) and who made it: ``agency_id`` through the API, or None for the citizen in
    the portal. Shown to the citizen beside their consents, so "who chose email for me?"
    has an answer. Append-only; the citizen row holds the current state, and
    ``preferences`` (JSON) the state this change made."""

    __tablename__ = "preference_changes"
    __table_args__ = (Index("ix_preference_changes_citizen", "citizen_id", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    citizen_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("citizens.id"))
    agency_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("agencies.id"))
    source: Mapped[str] = mapped_column(String(20))
    preferences: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class OptOut(Base):
    """A citizen's current withdrawal from an agency (``topic`` "") or one of its topics."""

    __tablename__ = "opt_outs"

    citizen_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("citizens.id"), primary_key=True)
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"), primary_key=True)
    topic: Mapped[str] = mapped_column(String(100), primary_key=True)
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


class PlatformSecret(Base):
    """Warta's own keys and provider credentials (VAPID key pair, bot tokens), sealed with
    the same keyring as personal data so a database dump does not give them away."""

    __tablename__ = "platform_secrets"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value_enc: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ChatLink(Base):
    """A one-time code a citizen carries to the Telegram bot (``/start <code>``) to link
    their chat: a bot cannot write first. Kept as a keyed hash until used or expired."""

    __tablename__ = "chat_links"

    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    citizen_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("citizens.id"))
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Staff(Base):
    """A person at an agency who signs in to the console. Email and name are personal
    data (sealed, found by keyed hash); the password is an argon2 hash; the TOTP secret
    is sealed, and ``totp_step`` keeps the last accepted time step so a code works once."""

    __tablename__ = "staff"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"), index=True)
    email_hash: Mapped[str] = mapped_column(String(64), unique=True)
    email_enc: Mapped[bytes] = mapped_column(LargeBinary)
    name_enc: Mapped[bytes] = mapped_column(LargeBinary)
    role: Mapped[str] = mapped_column(String(10))
    password_hash: Mapped[str] = mapped_column(String(255))
    totp_secret_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    totp_enrolled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    totp_step: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    failures: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    locked_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    removed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class StaffSession(Base):
    """A console session, kept server-side so signing out or removing a person ends it.
    Only a hash of the token is stored. ``stage`` is ``password`` (second factor still
    due), ``enrol`` (must set up TOTP first) or ``full``."""

    __tablename__ = "staff_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    staff_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff.id"), index=True)
    stage: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    seen_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)


# The Core table, for statements that skip the ORM on hot paths (typed as a Table).
NOTIFICATIONS = cast(Table, Notification.__table__)
