"""A citizen's contacts: phones, addresses, push subscriptions and chat handles."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, or_, select, update
from sqlalchemy.orm import aliased

from warta.domain.trust import CITIZEN, opens_portal
from warta.store.models import Citizen, CitizenContact
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

    async def verified(
        self, citizen_ids: Iterable[uuid.UUID], usable_by: uuid.UUID | None = None
    ) -> list[Any]:
        """Verified, working contacts as plain rows (citizen_id, kind, id, value_enc,
        value_hash, scope), oldest first: routing reads many per batch and needs no
        entities. ``usable_by``: only those this agency may send to (the citizen's own and
        its own, ``trust.usable_by``); None: every one (the citizen's own view)."""
        query = (
            select(
                CitizenContact.citizen_id,
                CitizenContact.kind,
                CitizenContact.id,
                CitizenContact.value_enc,
                CitizenContact.value_hash,
                CitizenContact.scope,
            )
            .where(
                CitizenContact.citizen_id.in_(list(citizen_ids)),
                CitizenContact.verified_at.is_not(None),
                CitizenContact.gone_at.is_(None),
            )
            .order_by(CitizenContact.created_at, CitizenContact.id)
        )
        if usable_by is not None:
            query = query.where(CitizenContact.scope.in_([CITIZEN, str(usable_by)]))
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
        self, citizen_id: uuid.UUID, kind: str, value_hash: str, scope: str
    ) -> CitizenContact | None:
        """The citizen's contact of this kind and value in this scope (``domain/trust.py``)."""
        query = select(CitizenContact).where(
            CitizenContact.citizen_id == citizen_id,
            CitizenContact.kind == kind,
            CitizenContact.value_hash == value_hash,
            CitizenContact.scope == scope,
        )
        return (await self.session.scalars(query)).first()

    async def contact_adders(
        self, citizen_ids: Iterable[uuid.UUID], value_hashes: Iterable[str]
    ) -> list[tuple[uuid.UUID, str, str, uuid.UUID | None]]:
        """Who added each contact of these citizens that has one of these values, as
        (citizen_id, kind, value_hash, added_by), gone or not: whether a page of
        notifications to citizens shows an agency their recipients in clear
        (``trust.shown_in_clear``), in one query."""
        query = select(
            CitizenContact.citizen_id,
            CitizenContact.kind,
            CitizenContact.value_hash,
            CitizenContact.added_by,
        ).where(
            CitizenContact.citizen_id.in_(list(citizen_ids)),
            CitizenContact.value_hash.in_(list(value_hashes)),
        )
        return [(c, kind, h, by) for c, kind, h, by in await self.session.execute(query)]

    async def contact(self, citizen_id: uuid.UUID, contact_id: uuid.UUID) -> CitizenContact | None:
        row = await self.session.get(CitizenContact, contact_id)
        return row if row is not None and row.citizen_id == citizen_id else None

    async def remove_contact(self, contact: CitizenContact) -> None:
        await self.session.delete(contact)

    async def sign_in_contact(self, kind: str, value_hashes: list[str]) -> CitizenContact | None:
        """The oldest verified, working contact with this value that opens the portal (of
        a real citizen: their own, or the first own contact, ``trust.opens_portal``): a
        family's shared phone signs in to the citizen who verified it first."""
        return await self._opening(
            CitizenContact.kind == kind, CitizenContact.value_hash.in_(value_hashes)
        )

    async def portal_contact(
        self, citizen_id: uuid.UUID, contact_id: uuid.UUID
    ) -> CitizenContact | None:
        """This contact of the citizen, if it (still) opens their portal: what a sign-in
        code is checked against when it is used."""
        return await self._opening(
            CitizenContact.id == contact_id, CitizenContact.citizen_id == citizen_id
        )

    async def _opening(self, *which: ColumnElement[bool]) -> CitizenContact | None:
        """The oldest verified, working contact of these that opens a real citizen's
        portal, in one query.

        The query narrows to what ``trust.opens_portal`` allows (the citizen's own; or,
        while the citizen has no verified contact of their own, one the registering
        agency added and that is still its alone: an agency's scope is always its own id,
        ``trust.scope_for``, so "not the citizen's" is that id), and the rule itself
        decides on the row found."""
        own = aliased(CitizenContact)
        has_own = exists().where(
            own.citizen_id == CitizenContact.citizen_id,
            own.scope == CITIZEN,
            own.verified_at.is_not(None),
        )
        first_own = and_(
            CitizenContact.scope != CITIZEN,
            CitizenContact.added_by == Citizen.registered_by,
            ~has_own,
        )
        query = (
            select(CitizenContact, Citizen.registered_by, has_own.label("has_own"))
            .join(Citizen, Citizen.id == CitizenContact.citizen_id)
            .where(
                *which,
                CitizenContact.verified_at.is_not(None),
                CitizenContact.gone_at.is_(None),
                Citizen.sandbox_of.is_(None),
                or_(CitizenContact.scope == CITIZEN, first_own),
            )
            .order_by(CitizenContact.verified_at, CitizenContact.id)
            .limit(1)
        )
        found = (await self.session.execute(query)).first()
        if found is None:
            return None
        contact, registered_by, citizen_has_own = found
        opens = opens_portal(
            contact.scope,
            added_by=contact.added_by,
            registered_by=registered_by,
            citizen_has_own=bool(citizen_has_own),
        )
        return contact if opens else None

    async def shared_with_others(self, citizen_id: uuid.UUID, value_hashes: set[str]) -> set[str]:
        """Which of these contact values another citizen also has (a family phone)."""
        query = select(CitizenContact.value_hash).where(
            CitizenContact.value_hash.in_(list(value_hashes)),
            CitizenContact.citizen_id != citizen_id,
        )
        return set(await self.session.scalars(query))
