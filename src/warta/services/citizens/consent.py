"""Consent and topics. Consent is an append-only record (``consents``) whose current state
(``opt_outs``) changes in the same transaction, so a withdrawal takes effect for the very
next routing decision."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from warta.deps import Warta
from warta.errors import BadRequest, ValidationFailed
from warta.services.citizens.registry import visible
from warta.services.sending import Caller
from warta.store.models import Consent, Topic
from warta.store.uow import UnitOfWork


@dataclass(frozen=True)
class ConsentChoice:
    granted: bool
    topic: str | None
    source: str
    text_shown: str


async def record_consent(
    app: Warta, caller: Caller, citizen_id: uuid.UUID, choice: ConsentChoice
) -> Consent:
    """Record a grant or withdrawal, for this agency or one of its topics; it applies to
    the next routing decision. A topic grant also subscribes, a withdrawal unsubscribes."""
    async with app.uow() as uow:
        citizen = await visible(uow, caller, citizen_id)
        consent = await write_consent(app, uow, citizen.id, caller.agency.id, choice)
        await uow.commit()
    return consent


async def write_consent(
    app: Warta, uow: UnitOfWork, citizen_id: uuid.UUID, agency_id: uuid.UUID, choice: ConsentChoice
) -> Consent:
    """The one way a choice is recorded, whether an agency or the citizen's portal makes
    it: the history row, the opt-out state and the topic subscription, in ``uow``."""
    if not choice.source.strip() or len(choice.source) > 20:
        raise ValidationFailed("source is required (at most 20 characters), e.g. portal, sms")
    if not choice.text_shown.strip():
        raise ValidationFailed("text_shown is required: the words the citizen agreed to")
    topic = await _topic(uow, agency_id, choice.topic) if choice.topic else None
    consent = Consent(
        id=uuid.uuid4(),
        citizen_id=citizen_id,
        agency_id=agency_id,
        topic=topic.slug if topic else "",
        granted=choice.granted,
        source=choice.source.strip(),
        text_shown=choice.text_shown,
        created_at=app.clock(),
    )
    await uow.citizens.record_consent(consent)
    if topic is not None:
        if choice.granted:
            await uow.citizens.subscribe(topic.id, citizen_id, consent.created_at)
        else:
            await uow.citizens.unsubscribe(topic.id, citizen_id)
    return consent


async def consents(app: Warta, caller: Caller, citizen_id: uuid.UUID) -> Sequence[Consent]:
    async with app.uow() as uow:
        citizen = await visible(uow, caller, citizen_id)
        return await uow.citizens.consents(citizen.id, caller.agency.id)


async def _topic(uow: UnitOfWork, agency_id: uuid.UUID, slug: str) -> Topic:
    topic = await uow.citizens.topic(agency_id, slug)
    if topic is None:
        raise BadRequest("Topic %(slug)s not found", slug=repr(slug))
    return topic


async def create_topic(app: Warta, caller: Caller, slug: str, name: str) -> Topic:
    slug = slug.strip().lower()
    if not slug or len(slug) > 100 or not all(c.isalnum() or c == "-" for c in slug):
        raise ValidationFailed("slug must be 1-100 letters, digits or '-', like pajak-kendaraan")
    if not name.strip():
        raise ValidationFailed("name cannot be empty")
    async with app.uow() as uow:
        if await uow.citizens.topic(caller.agency.id, slug) is not None:
            raise BadRequest("Topic %(slug)s already exists", slug=repr(slug))
        topic = Topic(
            id=uuid.uuid4(),
            agency_id=caller.agency.id,
            slug=slug,
            name=name.strip(),
            created_at=app.clock(),
        )
        uow.citizens.add(topic)
        await uow.commit()
    return topic


async def topics(app: Warta, caller: Caller) -> Sequence[Topic]:
    async with app.uow() as uow:
        return await uow.citizens.topics(caller.agency.id)


async def topics_with_subscribers(app: Warta, caller: Caller) -> list[tuple[Topic, int]]:
    async with app.uow() as uow:
        found = await uow.citizens.topics(caller.agency.id)
        counts = await uow.citizens.subscriber_counts(caller.agency.id)
    return [(topic, counts.get(topic.id, 0)) for topic in found]
