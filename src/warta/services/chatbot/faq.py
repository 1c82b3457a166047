"""An agency's FAQ: questions and answers its staff write in the console, which the
chatbot answers from (``faq`` intent) when a question matches one well enough."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from warta.deps import Warta
from warta.domain import chat_text
from warta.errors import BadRequest, NotFound
from warta.store.models import FaqEntry

MAX_QUESTION = 500
MAX_ANSWER = 2000
#: Share of an entry's words a question must share to be answered from it.
MATCH = 0.5


@dataclass(frozen=True)
class Entry:
    id: uuid.UUID
    question: str
    answer: str


async def entries(app: Warta, agency_id: uuid.UUID) -> list[Entry]:
    async with app.uow() as uow:
        return [_entry(row) for row in await uow.conversations.faq(agency_id)]


async def save(
    app: Warta,
    agency_id: uuid.UUID,
    question: str,
    answer: str,
    entry_id: uuid.UUID | None = None,
) -> Entry:
    """A new entry, or (with ``entry_id``) a change to one of the agency's."""
    question, answer = question.strip(), answer.strip()
    if not question or len(question) > MAX_QUESTION:
        raise BadRequest("1 to %(max)s characters", field="question", max=MAX_QUESTION)
    if not answer or len(answer) > MAX_ANSWER:
        raise BadRequest("1 to %(max)s characters", field="answer", max=MAX_ANSWER)
    now = app.clock()
    async with app.uow() as uow:
        if entry_id is None:
            row = FaqEntry(
                id=uuid.uuid4(), agency_id=agency_id, question=question, answer=answer,
                created_at=now, updated_at=now,
            )  # fmt: skip
            uow.conversations.add(row)
        else:
            found = await uow.conversations.faq_entry(agency_id, entry_id)
            if found is None:
                raise NotFound("FAQ entry not found")
            row = found
            row.question, row.answer, row.updated_at = question, answer, now
        await uow.commit()
    return _entry(row)


async def remove(app: Warta, agency_id: uuid.UUID, entry_id: uuid.UUID) -> None:
    async with app.uow() as uow:
        row = await uow.conversations.faq_entry(agency_id, entry_id)
        if row is None:
            raise NotFound("FAQ entry not found")
        await uow.conversations.drop_faq_entry(row)
        await uow.commit()


def best(found: list[Entry], text: str) -> Entry | None:
    """The entry whose question shares the largest share of its words with ``text``
    (both normalised), if at least ``MATCH``."""
    words = set(chat_text.normalise(text).split())
    choice, score = None, 0.0
    for entry in found:
        own = set(chat_text.normalise(entry.question).split())
        if not own:
            continue
        share = len(words & own) / len(own)
        if share > score:
            choice, score = entry, share
    return choice if score >= MATCH else None


def _entry(row: FaqEntry) -> Entry:
    return Entry(id=row.id, question=row.question, answer=row.answer)
