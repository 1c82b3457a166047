"""The chatbot's conversations and messages, the agencies' FAQ entries, and what the bot
needs to know of the messages a chat address received."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, or_, select

from warta.store.models import Conversation, ConversationMessage, FaqEntry, Notification
from warta.store.repositories.base import Repository


class ConversationRepository(Repository):
    async def by_address(self, channel: str, address_hash: str) -> Conversation | None:
        return await self.session.scalar(
            select(Conversation).where(
                Conversation.channel == channel, Conversation.address_hash == address_hash
            )
        )

    async def get(self, conversation_id: uuid.UUID) -> Conversation | None:
        return await self.session.get(Conversation, conversation_id)

    async def messages(
        self, conversation_id: uuid.UUID, limit: int = 200
    ) -> list[ConversationMessage]:
        """The newest ``limit`` messages, oldest first."""
        rows = await self.session.scalars(
            select(ConversationMessage)
            .where(ConversationMessage.conversation_id == conversation_id)
            .order_by(ConversationMessage.at.desc(), ConversationMessage.id.desc())
            .limit(limit)
        )
        return list(reversed(list(rows)))

    async def handed_off(self, agency_id: uuid.UUID) -> list[Conversation]:
        """Conversations waiting for a person at this agency, longest waiting first."""
        rows = await self.session.scalars(
            select(Conversation)
            .where(Conversation.agency_id == agency_id, Conversation.handoff_at.is_not(None))
            .order_by(Conversation.handoff_at)
        )
        return list(rows)

    async def of_citizen(
        self, citizen_id: uuid.UUID, address_hashes: Iterable[str] = ()
    ) -> list[Conversation]:
        """The citizen's conversations: signed in, or from one of their contacts."""
        hashes = list(address_hashes)
        query = select(Conversation).where(
            or_(Conversation.citizen_id == citizen_id, Conversation.address_hash.in_(hashes))
            if hashes
            else Conversation.citizen_id == citizen_id
        )
        return list(await self.session.scalars(query.order_by(Conversation.created_at)))

    async def forget(self, conversation_ids: Iterable[uuid.UUID]) -> None:
        ids = list(conversation_ids)
        if not ids:
            return
        await self.session.execute(
            delete(ConversationMessage).where(ConversationMessage.conversation_id.in_(ids))
        )
        await self.session.execute(delete(Conversation).where(Conversation.id.in_(ids)))

    async def forget_messages_before(self, before: datetime) -> None:
        await self.session.execute(
            delete(ConversationMessage).where(ConversationMessage.at < before)
        )

    async def last_notification(
        self, recipient_hashes: Iterable[str], since: datetime
    ) -> Notification | None:
        """The newest message sent to this address (any key but test) since ``since``:
        what "apa maksudnya?" is about."""
        return await self.session.scalar(
            select(Notification)
            .where(
                Notification.recipient_hash.in_(list(recipient_hashes)),
                Notification.key_type != "test",
                Notification.created_at >= since,
            )
            .order_by(Notification.created_at.desc())
            .limit(1)
        )

    # FAQ -----------------------------------------------------------------------------

    async def faq(self, agency_id: uuid.UUID) -> list[FaqEntry]:
        rows = await self.session.scalars(
            select(FaqEntry).where(FaqEntry.agency_id == agency_id).order_by(FaqEntry.created_at)
        )
        return list(rows)

    async def faq_entry(self, agency_id: uuid.UUID, entry_id: uuid.UUID) -> FaqEntry | None:
        return await self.session.scalar(
            select(FaqEntry).where(FaqEntry.id == entry_id, FaqEntry.agency_id == agency_id)
        )

    async def drop_faq_entry(self, entry: FaqEntry) -> None:
        await self.session.delete(entry)
