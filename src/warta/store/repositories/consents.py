"""A citizen's consent (its history and current opt-outs) and agencies' topics."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import delete, func, select

from warta.store.models import Agency, Consent, OptOut, Topic, TopicSubscription
from warta.store.repositories.base import Repository


class ConsentQueries(Repository):
    """The consent and topic part of ``uow.citizens``."""

    async def opt_outs(
        self, citizen_ids: Iterable[uuid.UUID], agency_id: uuid.UUID
    ) -> dict[uuid.UUID, set[str]]:
        """Each citizen's withdrawals from this agency: "" (all of it) and topic slugs."""
        query = select(OptOut.citizen_id, OptOut.topic).where(
            OptOut.agency_id == agency_id, OptOut.citizen_id.in_(list(citizen_ids))
        )
        found: dict[uuid.UUID, set[str]] = {}
        for row in await self.session.execute(query):
            found.setdefault(row.citizen_id, set()).add(row.topic)
        return found

    async def withdrawals(self, citizen_id: uuid.UUID) -> set[tuple[uuid.UUID, str]]:
        """The citizen's withdrawals from every agency: (agency id, "" or a topic slug)."""
        query = select(OptOut.agency_id, OptOut.topic).where(OptOut.citizen_id == citizen_id)
        return {(a, t) for a, t in await self.session.execute(query)}

    async def record_consent(self, consent: Consent) -> None:
        """Append the record and bring the current opt-out state in line with it."""
        self.session.add(consent)
        if consent.granted:
            await self.session.execute(
                delete(OptOut).where(
                    OptOut.citizen_id == consent.citizen_id,
                    OptOut.agency_id == consent.agency_id,
                    OptOut.topic == consent.topic,
                )
            )
            return
        insert = self._insert(OptOut).values(
            citizen_id=consent.citizen_id,
            agency_id=consent.agency_id,
            topic=consent.topic,
            created_at=consent.created_at,
        )
        await self.session.execute(insert.on_conflict_do_nothing())

    async def consents(self, citizen_id: uuid.UUID, agency_id: uuid.UUID) -> Sequence[Consent]:
        query = (
            select(Consent)
            .where(Consent.citizen_id == citizen_id, Consent.agency_id == agency_id)
            .order_by(Consent.created_at, Consent.id)
        )
        return (await self.session.scalars(query)).all()

    async def consent_history(self, citizen_id: uuid.UUID) -> Sequence[Consent]:
        """Every choice the citizen made, with every agency, oldest first."""
        query = (
            select(Consent)
            .where(Consent.citizen_id == citizen_id)
            .order_by(Consent.created_at, Consent.id)
        )
        return (await self.session.scalars(query)).all()

    async def topic(self, agency_id: uuid.UUID, slug: str) -> Topic | None:
        return await self.session.scalar(
            select(Topic).where(Topic.agency_id == agency_id, Topic.slug == slug)
        )

    async def topics(self, agency_id: uuid.UUID) -> Sequence[Topic]:
        query = select(Topic).where(Topic.agency_id == agency_id).order_by(Topic.slug)
        return (await self.session.scalars(query)).all()

    async def topics_by_name(self, agency_ids: Iterable[uuid.UUID]) -> Sequence[Topic]:
        """Every topic of these agencies, by name."""
        query = select(Topic).where(Topic.agency_id.in_(list(agency_ids))).order_by(Topic.name)
        return (await self.session.scalars(query)).all()

    async def topic_names(
        self, agency_ids: Iterable[uuid.UUID]
    ) -> dict[tuple[uuid.UUID, str], str]:
        """(agency id, slug) -> the topic's name, for every topic of these agencies."""
        query = select(Topic.agency_id, Topic.slug, Topic.name).where(
            Topic.agency_id.in_(list(agency_ids))
        )
        return {(a, slug): name for a, slug, name in await self.session.execute(query)}

    async def subscriber_counts(self, agency_id: uuid.UUID) -> dict[uuid.UUID, int]:
        """Subscribers of each of the agency's topics that has any."""
        query = (
            select(TopicSubscription.topic_id, func.count())
            .join(Topic, Topic.id == TopicSubscription.topic_id)
            .where(Topic.agency_id == agency_id)
            .group_by(TopicSubscription.topic_id)
        )
        return {topic_id: count for topic_id, count in await self.session.execute(query)}

    async def subscribe(self, topic_id: uuid.UUID, citizen_id: uuid.UUID, now: datetime) -> None:
        insert = self._insert(TopicSubscription).values(
            topic_id=topic_id, citizen_id=citizen_id, created_at=now
        )
        await self.session.execute(insert.on_conflict_do_nothing())

    async def unsubscribe(self, topic_id: uuid.UUID, citizen_id: uuid.UUID) -> None:
        await self.session.execute(
            delete(TopicSubscription).where(
                TopicSubscription.topic_id == topic_id,
                TopicSubscription.citizen_id == citizen_id,
            )
        )

    async def subscriptions(self, citizen_id: uuid.UUID, agency_id: uuid.UUID) -> list[str]:
        query = (
            select(Topic.slug)
            .join(TopicSubscription, TopicSubscription.topic_id == Topic.id)
            .where(TopicSubscription.citizen_id == citizen_id, Topic.agency_id == agency_id)
            .order_by(Topic.slug)
        )
        return list((await self.session.scalars(query)).all())

    async def subscribed_topic_ids(self, citizen_id: uuid.UUID) -> set[uuid.UUID]:
        query = select(TopicSubscription.topic_id).where(TopicSubscription.citizen_id == citizen_id)
        return set((await self.session.scalars(query)).all())

    async def every_subscription(
        self, citizen_id: uuid.UUID
    ) -> list[tuple[str, str, str, datetime]]:
        """The citizen's subscriptions with every agency: (agency name, topic slug, topic
        name, since), by agency and slug."""
        query = (
            select(Agency.name, Topic.slug, Topic.name, TopicSubscription.created_at)
            .join(Topic, Topic.id == TopicSubscription.topic_id)
            .join(Agency, Agency.id == Topic.agency_id)
            .where(TopicSubscription.citizen_id == citizen_id)
            .order_by(Agency.name, Topic.slug)
        )
        return [(a, slug, name, at) for a, slug, name, at in await self.session.execute(query)]
