"""Agencies, their API keys and guest lists, templates and their versions, and the
platform's own sealed secrets.
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


class Agency(Base):
    __tablename__ = "agencies"
    __table_args__ = (Index("ix_agencies_sms_sender_key", "sms_sender_key", unique=True),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    email_from: Mapped[str | None] = mapped_column(String(320))
    sms_sender: Mapped[str | None] = mapped_column(String(11))
    #: ``sms_sender`` upper-cased: one agency per sender id, whatever its case.
    sms_sender_key: Mapped[str | None] = mapped_column(String(11))
    rate_limit: Mapped[int] = mapped_column(Integer)
    message_limit: Mapped[int] = mapped_column(Integer)
    callback_url: Mapped[str | None] = mapped_column(String(2000))
    callback_token_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    inbound_callback_url: Mapped[str | None] = mapped_column(String(2000))
    inbound_callback_token_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    #: When a person answers chats handed off by the bot: Monday to Friday, local
    #: ``HH:MM``-``HH:MM`` in ``office_zone`` (WIB, WITA, WIT).
    office_zone: Mapped[str] = mapped_column(String(4), default="WIB", server_default="WIB")
    office_open: Mapped[str] = mapped_column(String(5), default="08:00", server_default="08:00")
    office_close: Mapped[str] = mapped_column(String(5), default="16:00", server_default="16:00")


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
    #: What the chatbot answers about a message sent with it, JSON: {"about", "todo",
    #: "deadline", "where", "contact", "pairs": [[question, answer], …]}; placeholders are
    #: filled from the message's personalisation (docs/chatbot.md).
    qa_json: Mapped[str | None] = mapped_column(Text)


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


class PlatformSecret(Base):
    """Warta's own keys and provider credentials (VAPID key pair, bot tokens), sealed with
    the same keyring as personal data so a database dump does not give them away."""

    __tablename__ = "platform_secrets"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value_enc: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
