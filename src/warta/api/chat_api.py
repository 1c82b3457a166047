"""Warta extension: the chatbot for an agency's own app (docs/chatbot.md).

``POST /v2/chat/messages`` takes one message of a citizen's session in the agency's app
and answers as the bot answers on Telegram or WhatsApp. Same auth and error format as
the Notify API. The conversation's address is ``api:<agency id>:<session>``, so two
agencies' sessions never meet, whatever the session strings. A test key gets the same
answers from conversations of its own (``apitest:<agency id>:<session>``: no live session
string can name one), and nothing it says reaches the agency's staff: a hand-off it asks
for never reaches the staff's queue.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from warta.api.auth import authenticate, warta
from warta.api.responses import JsonResponse
from warta.api.schemas import Strict
from warta.deps import Warta
from warta.domain import chat_replies
from warta.domain.timefmt import notify_time
from warta.errors import ValidationFailed
from warta.services.chatbot import conversations, engine
from warta.services.chatbot.types import Incoming
from warta.services.sending import Caller

router = APIRouter(prefix="/v2/chat", tags=["Chatbot (Warta extension)"])
MAX_TEXT = 2000


class ChatIn(Strict):
    session: str = Field(
        min_length=1,
        max_length=100,
        description="Your app's id for the citizen's conversation: the same for each message.",
    )
    text: str = Field("", max_length=MAX_TEXT, description="What the citizen wrote.")
    option: str | None = Field(
        None, max_length=64, description="The id of a quick reply the citizen tapped."
    )
    language: Literal["id", "en"] | None = Field(
        None, description="The citizen's language, when your app knows it."
    )


class OptionOut(BaseModel):
    id: str
    title: str


class ReplyOut(BaseModel):
    text: str
    options: list[OptionOut]


class ChatOut(BaseModel):
    intent: str
    confidence: float = Field(ge=0, le=1)
    reply: ReplyOut


def address(caller: Caller, session: str) -> str:
    """The conversation's address: the caller's agency first, so sessions never meet."""
    scheme = "apitest" if caller.key_type == "test" else "api"
    return f"{scheme}:{caller.agency.id}:{session}"


@router.post(
    "/messages",
    response_model=ChatOut,
    summary="Send a citizen's message to the chatbot",
    description="The bot's answer: the intent it understood, how sure it is, and its reply "
    "with quick options (show each as a button; send its `id` back as `option`).",
)
async def message(
    body: ChatIn,
    app: Annotated[Warta, Depends(warta)],
    caller: Annotated[Caller, Depends(authenticate)],
) -> JsonResponse:
    if not body.text.strip() and not body.option:
        raise ValidationFailed("Give a text or an option")
    if not known_option(body.option):
        raise ValidationFailed("option is not one the bot offers")
    await app.quotas.check_rate(caller.agency.id, caller.key_type, caller.agency.rate_limit)
    incoming = Incoming(
        channel="api", address=address(caller, body.session), text=body.text,
        option=body.option, language=body.language, agency_id=caller.agency.id,
        test=caller.key_type == "test",
    )  # fmt: skip
    answer = await engine.handle(app, incoming)
    return JsonResponse(present(answer.intent, answer.confidence, answer.text, answer.options))


class MessageOut(BaseModel):
    author: Literal["citizen", "bot", "staff"]
    text: str
    created_at: str


class HistoryOut(BaseModel):
    messages: list[MessageOut]
    waiting_for_staff: bool


@router.get(
    "/messages",
    response_model=HistoryOut,
    summary="A session's conversation",
    description="Every message of the session kept so far, oldest first: the citizen's, the "
    "bot's and staff's (a conversation handed to a person is answered from the console; "
    "read the answers here). `waiting_for_staff` is true until staff close it.",
)
async def history(
    app: Annotated[Warta, Depends(warta)],
    caller: Annotated[Caller, Depends(authenticate)],
    session: Annotated[str, Query(min_length=1, max_length=100)],
) -> JsonResponse:
    await app.quotas.check_rate(caller.agency.id, caller.key_type, caller.agency.rate_limit)
    found = await conversations.history(app, "api", address(caller, session))
    messages = found.messages if found is not None else []
    return JsonResponse(
        {
            "messages": [
                {"author": m.author, "text": m.text, "created_at": notify_time(m.at)}
                for m in messages
            ],
            "waiting_for_staff": found is not None and found.handoff_at is not None,
        }
    )


def known_option(option: str | None) -> bool:
    """An ``intent:`` option names one of the bot's intents (the engine has no flow for
    any other); other options are read against what the bot offered."""
    if option is None or not option.startswith("intent:"):
        return True
    return option.removeprefix("intent:") in chat_replies.INTENTS


def present(intent: str, confidence: float, text: str, options: Any) -> dict[str, Any]:
    return {
        "intent": intent,
        "confidence": round(min(max(float(confidence), 0.0), 1.0), 4),
        "reply": {"text": text, "options": [{"id": o.id, "title": o.title} for o in options]},
    }
