"""Warta's own sealed secrets: the VAPID key pair and push and chat credentials."""

from __future__ import annotations

from sqlalchemy import select

from warta.store.models import PlatformSecret
from warta.store.repositories.base import Repository


class PlatformSecretRepository(Repository):
    async def get(self, name: str) -> PlatformSecret | None:
        return await self.session.get(PlatformSecret, name)

    async def remove(self, row: PlatformSecret) -> None:
        await self.session.delete(row)

    async def names(self) -> list[str]:
        return list((await self.session.scalars(select(PlatformSecret.name))).all())
