"""What the chatbot takes and gives."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from warta.domain.channels import Option

ChatChannel = Literal["telegram", "whatsapp", "sms", "portal", "api"]


@dataclass(frozen=True)
class Incoming:
    """One message from a citizen. ``address``: ``telegram:<chat id>``,
    ``whatsapp:<E.164>``, an E.164 number (SMS), ``portal:<citizen id>`` or
    ``api:<agency id>:<session>``. ``option``: the id of a quick reply they chose."""

    channel: ChatChannel
    address: str
    text: str = ""
    option: str | None = None
    language: str | None = None
    #: Whose bot: the agency whose sender id was texted, the API's caller.
    agency_id: uuid.UUID | None = None
    photo: bytes | None = None
    #: The portal's signed-in citizen (the address proves nothing else there).
    citizen_id: uuid.UUID | None = None
    #: From a test key: answered as any other, never handed to staff.
    test: bool = False


@dataclass(frozen=True)
class Answer:
    intent: str
    confidence: float
    text: str
    options: tuple[Option, ...] = ()
    #: Handed to a person: staff answer from the console's "Percakapan".
    handed_off: bool = False
    #: The language it is written in (the SMS menu's words follow it).
    language: str = "id"


@dataclass(frozen=True)
class MessageView:
    id: uuid.UUID
    at: datetime
    author: str  # citizen, bot, staff
    text: str
    intent: str | None


@dataclass(frozen=True)
class ConversationView:
    id: uuid.UUID
    channel: str
    #: The address as staff may see it: masked unless the citizen proved it.
    shown_address: str
    citizen_id: uuid.UUID | None
    language: str
    handoff_at: datetime | None
    updated_at: datetime
    messages: list[MessageView] = field(default_factory=list)
