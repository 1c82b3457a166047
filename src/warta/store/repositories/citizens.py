"""Citizens: the registry, relationships with agencies, preference history and sent
counts; their contacts (``contacts.py``), consent and topics (``consents.py``) and what
erasing them does elsewhere (``erasure.py``) are answered by the same ``uow.citizens``."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, exists, func, select

from warta.store.models import (
    Agency,
    AgencyCitizen,
    ChatLink,
    Citizen,
    CitizenContact,
    Consent,
    Notification,
    OptOut,
    PreferenceChange,
    TopicSubscription,
)
from warta.store.repositories.consents import ConsentQueries
from warta.store.repositories.contacts import ContactQueries
from warta.store.repositories.erasure import ErasureQueries


class CitizenRepository(ContactQueries, ConsentQueries, ErasureQueries):
    """Citizens, their contacts, relationships with agencies, consent and topics."""

    async def get(self, citizen_id: uuid.UUID) -> Citizen | None:
        return await self.session.get(Citizen, citizen_id)

    async def of_ids(self, citizen_ids: Iterable[uuid.UUID]) -> list[Citizen]:
        query = select(Citizen).where(Citizen.id.in_(list(citizen_ids)))
        return list((await self.session.scalars(query)).all())

    async def digest_languages(self, citizen_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
        """The language of each of these citizens who still wants a digest."""
        query = select(Citizen.id, Citizen.language).where(
            Citizen.id.in_(list(citizen_ids)), Citizen.digest
        )
        return {row.id: row.language for row in await self.session.execute(query)}

    async def registered(self, citizen_id: uuid.UUID) -> bool:
        found = await self.session.scalar(select(exists().where(Citizen.id == citizen_id)))
        return bool(found)

    async def by_nik_hash(self, nik_hash: str) -> Citizen | None:
        return await self.session.scalar(select(Citizen).where(Citizen.nik_hash == nik_hash))

    async def create(self, citizen: Citizen) -> None:
        """Add a new citizen and write it now: the rows that point at it come next."""
        self.session.add(citizen)
        await self.session.flush()

    async def visible(
        self, agency_id: uuid.UUID, citizen_id: uuid.UUID, *, sandbox: bool = False
    ) -> Citizen | None:
        """The citizen, if this agency has a relationship with them: a real citizen, or
        with ``sandbox`` one of this agency's test-key sandbox (never the other)."""
        in_registry = Citizen.sandbox_of == agency_id if sandbox else Citizen.sandbox_of.is_(None)
        query = (
            select(Citizen)
            .join(AgencyCitizen, AgencyCitizen.citizen_id == Citizen.id)
            .where(AgencyCitizen.agency_id == agency_id, Citizen.id == citizen_id, in_registry)
        )
        return await self.session.scalar(query)

    async def linked_at(self, agency_id: uuid.UUID, citizen_id: uuid.UUID) -> datetime | None:
        """When this agency's relationship with the citizen began."""
        query = select(AgencyCitizen.created_at).where(
            AgencyCitizen.agency_id == agency_id, AgencyCitizen.citizen_id == citizen_id
        )
        return await self.session.scalar(query)

    async def link(self, agency_id: uuid.UUID, citizen_id: uuid.UUID, now: datetime) -> None:
        insert = self._insert(AgencyCitizen).values(
            agency_id=agency_id, citizen_id=citizen_id, created_at=now
        )
        await self.session.execute(insert.on_conflict_do_nothing())

    async def related_agencies(self, citizen_id: uuid.UUID) -> list[tuple[uuid.UUID, str]]:
        """(id, name) of every agency the citizen has a relationship with, by name."""
        query = (
            select(Agency.id, Agency.name)
            .join(AgencyCitizen, AgencyCitizen.agency_id == Agency.id)
            .where(AgencyCitizen.citizen_id == citizen_id)
            .order_by(Agency.name)
        )
        return [(i, name) for i, name in await self.session.execute(query)]

    async def agency_names(self, agency_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
        query = select(Agency.id, Agency.name).where(Agency.id.in_(list(agency_ids)))
        return {i: name for i, name in await self.session.execute(query)}

    async def preference_changes(
        self, citizen_id: uuid.UUID
    ) -> list[tuple[PreferenceChange, str | None]]:
        """Each change with the name of the agency that made it (None: the citizen),
        oldest first."""
        query = (
            select(PreferenceChange, Agency.name)
            .outerjoin(Agency, Agency.id == PreferenceChange.agency_id)
            .where(PreferenceChange.citizen_id == citizen_id)
            .order_by(PreferenceChange.created_at, PreferenceChange.id)
        )
        return [(change, agency) for change, agency in await self.session.execute(query)]

    async def sent_counts(
        self,
        citizen_ids: Iterable[uuid.UUID],
        since: datetime,
        excluding: Iterable[uuid.UUID] = (),
    ) -> dict[uuid.UUID, list[datetime]]:
        """When each citizen's non-urgent notifications were sent since ``since``, for
        caps; one row per message, whichever channel or attempt carried it. Messages in
        ``excluding`` (the ones being routed right now) do not count against themselves."""
        query = (
            select(Notification.citizen_id, func.min(Notification.sent_at))
            .where(
                Notification.citizen_id.in_(list(citizen_ids)),
                Notification.sent_at >= since,
                Notification.priority != "urgent",
            )
            .group_by(Notification.citizen_id, Notification.message_id)
        )
        skip = list(excluding)
        if skip:
            query = query.where(Notification.message_id.not_in(skip))
        found: dict[uuid.UUID, list[datetime]] = {}
        for citizen_id, sent_at in await self.session.execute(query):
            if citizen_id is not None and sent_at is not None:
                found.setdefault(citizen_id, []).append(sent_at)
        return found

    async def delete_everything(self, citizen_id: uuid.UUID) -> None:
        """Delete the citizen and every row of theirs (see ``citizens.erasure``): their
        unused chat link codes, subscriptions, opt-outs, consents, preference changes,
        relationships and contacts, then the citizen."""
        for table in (
            ChatLink,
            TopicSubscription,
            OptOut,
            Consent,
            PreferenceChange,
            AgencyCitizen,
            CitizenContact,
        ):
            await self.session.execute(delete(table).where(table.citizen_id == citizen_id))
        await self.session.execute(delete(Citizen).where(Citizen.id == citizen_id))
