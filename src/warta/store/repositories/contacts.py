"""A citizen's contacts: phones, addresses, push subscriptions and chat handles."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from warta.store.models import CitizenContact
from warta.store.repositories.base import Repository


class ContactQueries(Repository):
    """The contact part of ``uow.citizens``."""

    async def contacts(self, citizen_ids: Iterable[uuid.UUID]) -> Sequence[CitizenContact]:
        query = (
            select(CitizenContact)
            .where(CitizenContact.citizen_id.in_(list(citizen_ids)))
            .order_by(CitizenContact.created_at, CitizenContact.id)
        )
        return (await self.session.scalars(query)).all()

    async def verified(self, citizen_ids: Iterable[uuid.UUID]) -> list[Any]:
        """Verified contacts as plain rows (citizen_id, kind, id, value_enc, value_hash),
        oldest first: routing reads many per batch and needs no entities."""
        query = (
            select(
                CitizenContact.citizen_id,
                CitizenContact.kind,
                CitizenContact.id,
                CitizenContact.value_enc,
                CitizenContact.value_hash,
            )
            .where(
                CitizenContact.citizen_id.in_(list(citizen_ids)),
                CitizenContact.verified_at.is_not(None),
                CitizenContact.gone_at.is_(None),
            )
            .order_by(CitizenContact.created_at)
        )
        return list((await self.session.execute(query)).all())

    async def mark_gone(
        self, contacts: Iterable[tuple[uuid.UUID, str, str]], now: datetime
    ) -> None:
        """Contacts (citizen_id, kind, value_hash) a provider called dead."""
        for citizen_id, kind, value_hash in set(contacts):
            await self.session.execute(
                update(CitizenContact)
                .where(
                    CitizenContact.citizen_id == citizen_id,
                    CitizenContact.kind == kind,
                    CitizenContact.value_hash == value_hash,
                    CitizenContact.gone_at.is_(None),
                )
                .values(gone_at=now)
            )

    async def contact_by_hash(
        self, citizen_id: uuid.UUID, kind: str, value_hash: str
    ) -> CitizenContact | None:
        query = select(CitizenContact).where(
            CitizenContact.citizen_id == citizen_id,
            CitizenContact.kind == kind,
            CitizenContact.value_hash == value_hash,
        )
        return (await self.session.scalars(query)).first()

    async def contact(self, citizen_id: uuid.UUID, contact_id: uuid.UUID) -> CitizenContact | None:
        row = await self.session.get(CitizenContact, contact_id)
        return row if row is not None and row.citizen_id == citizen_id else None

    async def remove_contact(self, contact: CitizenContact) -> None:
        await self.session.delete(contact)

    async def sign_in_contact(self, kind: str, value_hashes: list[str]) -> CitizenContact | None:
        """The oldest verified, working contact with this value: a family's shared phone
        signs in to the citizen who verified it first."""
        query = (
            select(CitizenContact)
            .where(
                CitizenContact.kind == kind,
                CitizenContact.value_hash.in_(value_hashes),
                CitizenContact.verified_at.is_not(None),
                CitizenContact.gone_at.is_(None),
            )
            .order_by(CitizenContact.verified_at, CitizenContact.id)
            .limit(1)
        )
        return await self.session.scalar(query)

    async def shared_with_others(self, citizen_id: uuid.UUID, value_hashes: set[str]) -> set[str]:
        """Which of these contact values another citizen also has (a family phone)."""
        query = select(CitizenContact.value_hash).where(
            CitizenContact.value_hash.in_(list(value_hashes)),
            CitizenContact.citizen_id != citizen_id,
        )
        return set(await self.session.scalars(query))
