"""Email opt-outs: the one-click unsubscribe link and spam complaints (issue 19)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, tuple_

from warta.store.models import Citizen, CitizenContact, EmailOptOut
from warta.store.repositories.base import Repository


@dataclass(frozen=True, slots=True)
class EmailStop:
    """One stop as the portal shows it: which agency, which topic ("" for all of its
    non-urgent email), how (``unsubscribe`` or ``complaint``) and when."""

    agency_id: uuid.UUID
    address_hash: str
    topic: str
    source: str
    created_at: datetime


class EmailOptOutRepository(Repository):
    """Addresses (by keyed hash) that take no non-urgent email from an agency or a topic."""

    async def opt_out(
        self, agency_id: uuid.UUID, address_hash: str, topic: str, now: datetime, source: str
    ) -> None:
        """Stop ``agency_id``'s non-urgent email to the address (``topic`` "" for all of
        it, else only that topic's). Idempotent: a second stop keeps the first's time and
        source."""
        insert = self._insert(EmailOptOut).values(
            agency_id=agency_id,
            address_hash=address_hash,
            topic=topic,
            source=source,
            created_at=now,
        )
        await self.session.execute(insert.on_conflict_do_nothing())

    async def opt_in(self, agency_id: uuid.UUID, address_hash: str, topic: str) -> bool:
        """Undo one stop (the portal's "receive again"); False if there was none."""
        result = await self.session.execute(
            delete(EmailOptOut).where(
                EmailOptOut.agency_id == agency_id,
                EmailOptOut.address_hash == address_hash,
                EmailOptOut.topic == topic,
            )
        )
        return bool(getattr(result, "rowcount", 0))

    async def opted_out(
        self, wanted: Iterable[tuple[uuid.UUID, str, str]]
    ) -> set[tuple[uuid.UUID, str, str]]:
        """Which of the (agency, address hash, topic) triples take no non-urgent email:
        the address stopped the whole agency, or that topic (``topic`` "" asks only
        about the whole agency)."""
        triples = list(set(wanted))
        if not triples:
            return set()
        pairs = list({(a, h) for a, h, _ in triples})
        query = select(EmailOptOut.agency_id, EmailOptOut.address_hash, EmailOptOut.topic).where(
            tuple_(EmailOptOut.agency_id, EmailOptOut.address_hash).in_(pairs)
        )
        stopped = {
            (r.agency_id, r.address_hash, r.topic) for r in await self.session.execute(query)
        }
        return {
            (a, h, t)
            for a, h, t in triples
            if (a, h, "") in stopped or (t and (a, h, t) in stopped)
        }

    async def stopped_topics(
        self, agency_id: uuid.UUID, address_hashes: Iterable[str]
    ) -> dict[str, set[str]]:
        """Each of these addresses that stopped any of the agency's email, with what it
        stopped: "" for all of its non-urgent email, else topic slugs (routing)."""
        hashes = list(set(address_hashes))
        if not hashes:
            return {}
        query = select(EmailOptOut.address_hash, EmailOptOut.topic).where(
            EmailOptOut.agency_id == agency_id, EmailOptOut.address_hash.in_(hashes)
        )
        found: dict[str, set[str]] = {}
        for address_hash, topic in await self.session.execute(query):
            found.setdefault(address_hash, set()).add(topic)
        return found

    async def of_addresses(self, address_hashes: Iterable[str]) -> list[EmailStop]:
        """Every stop of these addresses, oldest first (a citizen's my-data page)."""
        hashes = list(set(address_hashes))
        if not hashes:
            return []
        query = (
            select(EmailOptOut)
            .where(EmailOptOut.address_hash.in_(hashes))
            .order_by(EmailOptOut.created_at, EmailOptOut.agency_id, EmailOptOut.topic)
        )
        return [
            EmailStop(r.agency_id, r.address_hash, r.topic, r.source, r.created_at)
            for r in await self.session.scalars(query)
        ]

    async def citizen_language(self, address_hash: str) -> str | None:
        """The language of the (oldest) citizen whose verified email this address is:
        the unsubscribe page speaks it. None for an address no citizen verified."""
        query = (
            select(Citizen.language)
            .join(CitizenContact, CitizenContact.citizen_id == Citizen.id)
            .where(
                CitizenContact.kind == "email",
                CitizenContact.value_hash == address_hash,
                CitizenContact.verified_at.is_not(None),
            )
            .order_by(CitizenContact.created_at)
            .limit(1)
        )
        return (await self.session.scalars(query)).first()
