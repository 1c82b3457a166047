"""Citizens: their contacts, agency links, topics, consents, preference history, opt-outs
and chat links; the checkpoints erasures still owe.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from warta.store.models.base import Base, UtcDateTime


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
    #: Registered with a test key: seen only by that agency's test keys, found by a NIK hash
    #: of its own (``sandbox:<agency>:<nik>``), so it never meets a real citizen.
    sandbox_of: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("agencies.id"))
    #: The agency that registered the citizen: it supplied the name, region, zone and
    #: language, so it alone sees and changes them (``domain/trust.py``).
    registered_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("agencies.id"))


class CitizenContact(Base):
    """A phone, address, push subscription or chat handle; usable once ``verified_at``.

    The one-time code is kept as a keyed hash with its expiry and a count of wrong tries.
    """

    __tablename__ = "citizen_contacts"
    __table_args__ = (
        Index(
            "ix_citizen_contacts_owner", "citizen_id", "kind", "value_hash", "scope", unique=True
        ),
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
    #: Who may use it (docs/trust.md): ``citizen`` (the citizen's own: every agency that
    #: knows the citizen, the digest, escalation, portal sign-in) or the id of the one
    #: agency that added and proved it and has not yet had it confirmed by the citizen.
    scope: Mapped[str] = mapped_column(String(36), server_default="citizen")
    #: The agency that added it; None: the citizen did (portal, device, chat link).
    added_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("agencies.id"))
    #: How it was proven: code, device, chat-link, portal, import or migrated.
    proof: Mapped[str | None] = mapped_column(String(20))


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


class ChatLink(Base):
    """A one-time code a citizen carries to the Telegram bot (``/start <code>``) to link
    their chat: a bot cannot write first. Kept as a keyed hash until used or expired."""

    __tablename__ = "chat_links"

    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    citizen_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("citizens.id"))
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class PendingCheckpoint(Base):
    """An erasure whose erased rows may still have old copies in SQLite's write-ahead log
    (``store/scrub.py``). Written in the erasure's own transaction, so a crash right after
    it still leaves the checkpoint owed; deleted once a truncating checkpoint after it
    succeeds: at once as a rule, else by the sweeper (a long read held the log). No
    personal data: the erasure's time only."""

    __tablename__ = "pending_checkpoints"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
