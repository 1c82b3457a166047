"""Chat: Telegram link codes, and when a chat contact last wrote (WhatsApp's window)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update

from warta.store.models import ChatLink, CitizenContact
from warta.store.repositories.base import Repository


class ChatRepository(Repository):
    async def take_link(self, code_hash: str) -> ChatLink | None:
        """The link with this code, locked and deleted: a code is used once, even late."""
        link = await self.session.get(ChatLink, code_hash, with_for_update=True)
        if link is not None:
            await self.session.delete(link)
        return link

    async def forget_links_expired_by(self, now: datetime) -> None:
        await self.session.execute(delete(ChatLink).where(ChatLink.expires_at <= now))

    async def wrote(self, value_hash: str, now: datetime) -> None:
        """The chat contact with this address hash just wrote to Warta."""
        await self.session.execute(
            update(CitizenContact)
            .where(CitizenContact.kind == "chat", CitizenContact.value_hash == value_hash)
            .values(last_inbound_at=now)
        )

    async def wrote_since(self, value_hash: str, since: datetime) -> bool:
        """Did the chat contact with this address hash write to Warta since then?"""
        found = await self.session.scalar(
            select(CitizenContact.id).where(
                CitizenContact.kind == "chat",
                CitizenContact.value_hash == value_hash,
                CitizenContact.last_inbound_at >= since,
            )
        )
        return found is not None
