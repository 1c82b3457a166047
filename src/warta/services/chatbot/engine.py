"""The conversation engine behind every channel: Telegram, WhatsApp, SMS replies, the
portal's chat page and ``POST /v2/chat/messages``.

One turn: find (or begin) the address's conversation, learn whether the address is a
contact a citizen proved, keep the message (sealed), understand it (a tapped option, a
numbered SMS answer, or the classifier), run the intent's flow (``flows``), keep the
answer and the new state. A conversation handed to a person stays with staff: the bot
only says the message was passed on. Each address may send ``WARTA_CHAT_PER_MINUTE``
messages a minute (across processes with Redis, ``store.quotas``); more get one "slow
down".
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from typing import Any

from warta.deps import Warta
from warta.domain import chat_replies as say
from warta.domain import quick_replies
from warta.domain.channels import Option
from warta.services.chatbot import conversations, flows, nlu
from warta.services.chatbot.types import Answer, Incoming
from warta.store.uow import UnitOfWork

log = logging.getLogger(__name__)

_model: dict[str, nlu.Model] = {}
_loading = asyncio.Lock()
#: Misunderstandings in a row after which a person is asked for.
HAND_OFF_AFTER = 2


async def model(app: Warta) -> nlu.Model:
    """The classifier, loaded (or trained from the packaged data) once per process, in a
    thread: training takes a second or two and must not stall the event loop. One per
    process: the data is packaged with the code, so every ``var_dir`` would hold the same."""
    if "model" not in _model:
        async with _loading:
            if "model" not in _model:
                root = app.settings.var_dir
                _model["model"] = await asyncio.to_thread(nlu.load_or_train, root)
    return _model["model"]


async def handle(app: Warta, incoming: Incoming) -> Answer:
    now = app.clock()
    if not await _allowed(app, incoming.address):
        return Answer("tidak_dikenal", 0.0, say.text(incoming.language or "id", "slow_down"))
    async with app.uow() as uow:
        row = await conversations.begin(app, uow, incoming, now)
        row.citizen_id = await _proven(app, uow, incoming)
        state = conversations.state(app, row)
        offered = [Option(i, t) for i, t in state.pop("options", [])]
        option = incoming.option or _numbered(incoming, offered)
        said = incoming.text.strip() or _title(offered, option) or (option or "")
        conversations.log(app, uow, row, "citizen", said or "[foto]")
        conversation_id, waiting = row.id, row.handoff_at is not None
        agency_id, citizen_id, language = row.agency_id, row.citizen_id, row.language
        misunderstood = row.misunderstood
        await uow.commit()
    if waiting:
        answer = Answer("hubungi_petugas", 1.0, say.text(language, "waiting"), handed_off=True)
        new_state = state
    else:
        understood = await _understand(app, incoming.text, option)
        language = incoming.language or _language(understood, incoming.text) or language
        turn = flows.Turn(
            app=app, channel=incoming.channel, address=incoming.address,
            agency_id=agency_id or await _last_sender(app, incoming.address, now),
            citizen_id=citizen_id, language=language, intent=understood.intent,
            confidence=understood.confidence, entities=understood.entities,
            text=incoming.text, option=option, photo=incoming.photo, state=state, now=now,
        )  # fmt: skip
        answer, new_state = await flows.respond(turn)
        misunderstood = misunderstood + 1 if answer.intent == "tidak_dikenal" else 0
        if misunderstood >= HAND_OFF_AFTER:
            answer, new_state = await flows.person(turn)
        agency_id = turn.agency_id
    answer = replace(answer, language=language)
    # A test key's hand-off is answered as any, but never reaches the staff's queue.
    queue = answer.handed_off and not incoming.test
    await _keep(app, conversation_id, answer, new_state, language, misunderstood, agency_id, now,
                queue=queue)  # fmt: skip
    return answer


async def _keep(
    app: Warta,
    conversation_id: Any,
    answer: Answer,
    state: dict[str, Any],
    language: str,
    misunderstood: int,
    agency_id: Any,
    now: Any,
    *,
    queue: bool,
) -> None:
    async with app.uow() as uow:
        row = await uow.conversations.get(conversation_id)
        if row is None:
            return
        offered = [[o.id, o.title] for o in answer.options]
        conversations.save_state(app, row, state | ({"options": offered} if offered else {}))
        row.language, row.misunderstood = language, misunderstood
        if queue and row.handoff_at is None:
            row.handoff_at, row.agency_id = now, agency_id or row.agency_id
        conversations.log(
            app, uow, row, "bot", answer.text, intent=answer.intent, confidence=answer.confidence
        )
        await uow.commit()


async def _understand(app: Warta, text: str, option: str | None) -> nlu.Understood:
    """A tapped option is certain; anything else goes to the classifier."""
    found = await model(app)
    understood = found.understand(text) if text.strip() else found.understand("")
    intent = (option or "").removeprefix("intent:")
    if option is not None and option.startswith("intent:") and intent in say.INTENTS:
        return nlu.Understood(intent, 1.0, understood.entities, understood.language)
    if option is not None:  # a step's own option (yes, skip, a service), or a forged one
        return nlu.Understood("bantuan", 1.0, understood.entities, understood.language)
    return understood


def _language(understood: nlu.Understood, text: str) -> str | None:
    """The message's own language when it says enough to tell (a lone "1" does not)."""
    return understood.language if len(text.split()) >= 2 else None


def _numbered(incoming: Incoming, offered: list[Option]) -> str | None:
    """An SMS answer "2" to the numbered menu last sent."""
    if incoming.channel != "sms" or not offered:
        return None
    return quick_replies.read_sms_reply(incoming.text, offered)


def _title(offered: list[Option], option: str | None) -> str | None:
    return next((o.title for o in offered if o.id == option), None)


async def _proven(app: Warta, uow: UnitOfWork, incoming: Incoming) -> Any:
    """The citizen whose proven contact this address is (the portal's signed-in one)."""
    if incoming.channel == "portal":
        return incoming.citizen_id
    kind = {"sms": "sms", "telegram": "chat", "whatsapp": "chat"}.get(incoming.channel)
    if kind is None:
        return None
    contact = await uow.citizens.sign_in_contact(kind, app.keyring.lookup_hashes(incoming.address))
    return contact.citizen_id if contact is not None else None


async def _last_sender(app: Warta, address: str, now: Any) -> Any:
    """The agency that last sent this address a message: whom the chat is with when the
    citizen wrote to the platform's bot."""
    async with app.uow() as uow:
        row = await uow.conversations.last_notification(
            app.keyring.lookup_hashes(address), now - flows.ABOUT_WINDOW
        )
    return row.agency_id if row is not None else None


async def _allowed(app: Warta, address: str) -> bool:
    # By the address's keyed hash: the address itself never leaves the process.
    return await app.quotas.take(
        app.settings.chat_per_minute, "chat", app.keyring.lookup_hash(address)
    )
