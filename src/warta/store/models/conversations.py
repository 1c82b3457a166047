"""The chatbot's conversations (one per channel address), their messages, and the
agencies' FAQ entries (docs/chatbot.md).

What a citizen wrote and what was answered is sealed; the address is found by its keyed
hash. FAQ entries are the agency's own public text.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, Integer, LargeBinary, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from warta.store.models.base import Base, UtcDateTime


class Conversation(Base):
    __tablename__ = "conversations"
    __table_args__ = (
        Index("ix_conversations_address", "channel", "address_hash", unique=True),
        Index("ix_conversations_handoff", "agency_id", "handoff_at"),
        Index("ix_conversations_citizen", "citizen_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    #: telegram, whatsapp, sms, portal or api.
    channel: Mapped[str] = mapped_column(String(10))
    address_hash: Mapped[str] = mapped_column(String(64))
    #: Where answers go: ``telegram:<chat id>``, ``whatsapp:<E.164>``, an E.164 number,
    #: ``portal:<citizen id>``, ``api:<agency id>:<session>``.
    address_enc: Mapped[bytes] = mapped_column(LargeBinary)
    #: The agency the conversation is with: the SMS sender id texted, the API caller, the
    #: sender of the last notification; None for the platform's own bot.
    agency_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("agencies.id"))
    #: The citizen, when the address is a contact they proved (docs/trust.md).
    citizen_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("citizens.id"))
    language: Mapped[str] = mapped_column(String(2), default="id")
    #: JSON: the flow under way, its filled slots, the options last offered.
    state_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    misunderstood: Mapped[int] = mapped_column(Integer, default=0)
    #: Waiting for a person since; None when the bot is answering.
    handoff_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ConversationMessage(Base):
    __tablename__ = "conversation_messages"
    __table_args__ = (Index("ix_conversation_messages_at", "conversation_id", "at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    conversation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE")
    )
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    #: citizen, bot or staff.
    author: Mapped[str] = mapped_column(String(10))
    text_enc: Mapped[bytes] = mapped_column(LargeBinary)
    intent: Mapped[str | None] = mapped_column(String(20))
    confidence: Mapped[float | None] = mapped_column(Float)
    staff_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))


class FaqEntry(Base):
    __tablename__ = "faq_entries"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"), index=True)
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
