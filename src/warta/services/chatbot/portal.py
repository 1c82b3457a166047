"""What the portal's chat page shows a signed-in citizen: their conversation with the bot
(``portal:<citizen id>``), its history, and the quick replies the bot offered last."""

from __future__ import annotations

import uuid

from warta.deps import Warta
from warta.domain.channels import Option
from warta.services.chatbot import conversations
from warta.services.chatbot.types import ConversationView


def address_of(citizen_id: uuid.UUID) -> str:
    return f"portal:{citizen_id}"


async def talk(
    app: Warta, citizen_id: uuid.UUID
) -> tuple[ConversationView | None, tuple[Option, ...]]:
    """The citizen's portal conversation with its messages (None before their first),
    and the options the bot offered in its last answer (none once the conversation
    went idle: the next message starts afresh)."""
    own = app.keyring.lookup_hash(address_of(citizen_id))
    async with app.uow() as uow:
        row = await uow.conversations.by_address("portal", own)
        if row is None:
            return None, ()
        shown = await conversations.view(app, uow, row, history=True)
        state = conversations.state(app, row)
    offered = tuple(Option(str(i), str(t)) for i, t in state.get("options", []))
    return shown, offered


async def agency_for(app: Warta, citizen_id: uuid.UUID) -> uuid.UUID | None:
    """Whose bot the citizen talks to: the agency that sent their newest message (the
    engine finds none for a portal address by itself). None keeps the conversation's
    own: while it waits for a person, it stays in that agency's queue."""
    own = app.keyring.lookup_hash(address_of(citizen_id))
    async with app.uow() as uow:
        row = await uow.conversations.by_address("portal", own)
        if row is not None and row.handoff_at is not None:
            return None
        newest = await uow.inbox.page(citizen_id, None, 1)
    return newest[0].agency_id if newest else None
