"""Handing a conversation to a person: the console's "Percakapan" queue, staff replies
sent back on the citizen's own channel, and the agency's office hours.

A conversation is handed off when the citizen asks for a person (``hubungi_petugas``) or
the bot misunderstands twice in a row; it stays in the queue until staff close it, and
the bot keeps quiet meanwhile (the citizen's messages go to the queue).
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime, time
from zoneinfo import ZoneInfo

from warta.deps import Warta
from warta.domain.regions import ZONES, parse_zone
from warta.errors import BadRequest, NotFound
from warta.services.chatbot import conversations, outbound
from warta.services.chatbot.types import ConversationView
from warta.store.models import Agency

_HHMM = re.compile(r"(?:[01]\d|2[0-3]):[0-5]\d")


async def queue(app: Warta, agency_id: uuid.UUID) -> list[ConversationView]:
    """Conversations waiting for the agency's staff, longest waiting first."""
    async with app.uow() as uow:
        rows = await uow.conversations.handed_off(agency_id)
        return [await conversations.view(app, uow, row, history=False) for row in rows]


async def conversation(
    app: Warta, agency_id: uuid.UUID, conversation_id: uuid.UUID
) -> ConversationView:
    """One conversation with its history, if it is with this agency; 404 otherwise."""
    async with app.uow() as uow:
        row = await uow.conversations.get(conversation_id)
        if row is None or row.agency_id != agency_id:
            raise NotFound("Conversation not found")
        return await conversations.view(app, uow, row, history=True)


async def staff_reply(
    app: Warta, agency_id: uuid.UUID, staff_id: uuid.UUID, conversation_id: uuid.UUID, text: str
) -> None:
    """Send staff's answer on the citizen's channel and keep it in the history."""
    text = text.strip()
    if not text or len(text) > 2000:
        raise BadRequest("1 to 2000 characters", field="text")
    async with app.uow() as uow:
        row = await uow.conversations.get(conversation_id)
        if row is None or row.agency_id != agency_id:
            raise NotFound("Conversation not found")
        agency = await uow.agencies.get(agency_id)
        address = conversations.address_of(app, row)
        conversations.log(app, uow, row, "staff", text, staff_id=staff_id)
        await uow.commit()
    await outbound.deliver(app, row.channel, address, agency, text, ())


async def close(app: Warta, agency_id: uuid.UUID, conversation_id: uuid.UUID) -> None:
    """Back to the bot: the conversation leaves the queue."""
    async with app.uow() as uow:
        row = await uow.conversations.get(conversation_id)
        if row is None or row.agency_id != agency_id:
            raise NotFound("Conversation not found")
        row.handoff_at = None
        row.misunderstood = 0
        await uow.commit()


async def set_office_hours(
    app: Warta, agency_id: uuid.UUID, zone: str, opens: str, closes: str
) -> None:
    """When the agency's people answer handed-off chats: Monday to Friday, local times."""
    zone = parse_zone(zone)
    if not (_HHMM.fullmatch(opens) and _HHMM.fullmatch(closes)) or opens >= closes:
        raise BadRequest("office hours: two times like 08:00 and 16:00, the first earlier")
    async with app.uow() as uow:
        agency = await uow.agencies.get(agency_id)
        if agency is None:
            raise NotFound("Agency not found")
        agency.office_zone, agency.office_open, agency.office_close = zone, opens, closes
        await uow.commit()


def next_answer_time(agency: Agency | None, now: datetime) -> datetime | None:
    """None when someone is at work now; else when the office next opens (local time)."""
    if agency is None:
        return None
    tz = ZoneInfo(ZONES[parse_zone(agency.office_zone)])
    local = now.astimezone(tz)
    opens = time.fromisoformat(agency.office_open)
    closes = time.fromisoformat(agency.office_close)
    if local.weekday() < 5 and opens <= local.time() < closes:
        return None
    day = local.date()
    if local.weekday() < 5 and local.time() < opens:
        return datetime.combine(day, opens, tzinfo=tz)
    for _ in range(7):
        day = day.fromordinal(day.toordinal() + 1)
        if day.weekday() < 5:
            return datetime.combine(day, opens, tzinfo=tz)
    return None
