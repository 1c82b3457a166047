"""A conversation per channel address: found or begun, its state read and written, each
message kept (sealed) for the hand-off, the citizen's data download and their erasure.

The state (the flow under way, its filled slots, the options last offered) expires after
``WARTA_CHAT_IDLE_MINUTES`` without a message: the next one starts afresh. Messages are
kept ``WARTA_CHAT_HISTORY_DAYS``, then the sweeper deletes them.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime, timedelta
from typing import Any

from warta.deps import Warta
from warta.domain import trust
from warta.services.chatbot.types import ConversationView, Incoming, MessageView
from warta.store.models import Conversation, ConversationMessage
from warta.store.uow import UnitOfWork

ADDRESS_FIELD = "conversation.address"
STATE_FIELD = "conversation.state"
TEXT_FIELD = "conversation.text"


async def begin(app: Warta, uow: UnitOfWork, incoming: Incoming, now: datetime) -> Conversation:
    """The address's conversation (its state reset when idle too long), or a new one."""
    address_hash = app.keyring.lookup_hash(incoming.address)
    row = await uow.conversations.by_address(incoming.channel, address_hash)
    if row is None:
        row = Conversation(
            id=uuid.uuid4(),
            channel=incoming.channel,
            address_hash=address_hash,
            address_enc=app.keyring.encrypt(incoming.address, field=ADDRESS_FIELD),
            agency_id=incoming.agency_id,
            citizen_id=None,
            language=incoming.language or "id",
            state_enc=None,
            misunderstood=0,
            handoff_at=None,
            created_at=now,
            updated_at=now,
        )
        uow.conversations.add(row)
    elif now - row.updated_at > timedelta(minutes=app.settings.chat_idle_minutes):
        row.state_enc, row.misunderstood = None, 0
    if incoming.agency_id is not None:
        row.agency_id = incoming.agency_id
    row.updated_at = now
    return row


def state(app: Warta, row: Conversation) -> dict[str, Any]:
    if not row.state_enc:
        return {}
    return dict(json.loads(app.keyring.decrypt(row.state_enc, field=STATE_FIELD)))


def save_state(app: Warta, row: Conversation, value: dict[str, Any]) -> None:
    row.state_enc = (
        app.keyring.encrypt(json.dumps(value, ensure_ascii=False), field=STATE_FIELD)
        if value
        else None
    )


def log(
    app: Warta,
    uow: UnitOfWork,
    row: Conversation,
    author: str,
    text: str,
    *,
    intent: str | None = None,
    confidence: float | None = None,
    staff_id: uuid.UUID | None = None,
) -> None:
    uow.conversations.add(
        ConversationMessage(
            id=uuid.uuid4(),
            conversation_id=row.id,
            at=app.clock(),
            author=author,
            text_enc=app.keyring.encrypt(text, field=TEXT_FIELD),
            intent=intent,
            confidence=confidence,
            staff_id=staff_id,
        )
    )


def address_of(app: Warta, row: Conversation) -> str:
    return app.keyring.decrypt(row.address_enc, field=ADDRESS_FIELD)


async def view(
    app: Warta, uow: UnitOfWork, row: Conversation, *, history: bool
) -> ConversationView:
    address = address_of(app, row)
    shown = address if row.citizen_id else trust.mask_contact(row.channel, address)
    messages = await uow.conversations.messages(row.id) if history else []
    return ConversationView(
        id=row.id,
        channel=row.channel,
        shown_address=shown,
        citizen_id=row.citizen_id,
        language=row.language,
        handoff_at=row.handoff_at,
        updated_at=row.updated_at,
        messages=[
            MessageView(
                id=m.id,
                at=m.at,
                author=m.author,
                text=app.keyring.decrypt(m.text_enc, field=TEXT_FIELD),
                intent=m.intent,
            )
            for m in messages
        ],
    )


async def of_citizen(
    app: Warta, citizen_id: uuid.UUID, hashes: list[str]
) -> list[ConversationView]:
    """The citizen's conversations with their messages (their data download)."""
    async with app.uow() as uow:
        rows = await uow.conversations.of_citizen(citizen_id, hashes)
        return [await view(app, uow, row, history=True) for row in rows]


#: How often the sweeper deletes old messages: a window of days needs no finer grain, and
#: a DELETE on every 15-second sweep would take SQLite's write lock for nothing.
FORGET_EVERY = 3600.0
_forgot_at: list[float] = []


async def forget_old(app: Warta) -> None:
    """Messages older than the history window (the sweeper calls this; it acts hourly)."""
    now = time.monotonic()
    if _forgot_at and now - _forgot_at[0] < FORGET_EVERY:
        return
    _forgot_at[:] = [now]
    before = app.clock() - timedelta(days=app.settings.chat_history_days)
    async with app.uow() as uow:
        await uow.conversations.forget_messages_before(before)
        await uow.commit()


async def history(app: Warta, channel: str, address: str) -> ConversationView | None:
    """The conversation at this address with its messages; None before the first."""
    async with app.uow() as uow:
        row = await uow.conversations.by_address(channel, app.keyring.lookup_hash(address))
        return None if row is None else await view(app, uow, row, history=True)
