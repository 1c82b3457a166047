"""The chat page: the signed-in citizen talks with the bot (and, once handed off, with the
agency's staff) the way they would on Telegram or WhatsApp.

The conversation's address is ``portal:<citizen id>``: the session proves who they are.
Without JavaScript the page is a form: the text, or a quick reply (each a button posting
its option id), then back to the page with the conversation (POST-redirect-GET); the
options the bot offered last are kept for that next page. ``portal-chat.js`` posts the
same forms without reloading and swaps in the returned conversation.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from warta.api.chat_api import known_option
from warta.api.pages import language_of
from warta.api.pages import translate as _t
from warta.api.portal_pages.common import AppDep, Citizen, SignedForm, back, page, router
from warta.deps import Warta
from warta.domain import chat_replies
from warta.errors import ApiError, BadRequest
from warta.services.chatbot import engine
from warta.services.chatbot import portal as chat_portal
from warta.services.chatbot.types import Incoming

MAX_TEXT = 2000


async def _chat_page(
    request: Request, app: Warta, who: uuid.UUID, status: int = 200, **values: Any
) -> HTMLResponse:
    language = language_of(request)
    talk, offered = await chat_portal.talk(app, who)
    waiting = talk is not None and talk.handoff_at is not None
    if not offered and not waiting:  # with staff, the citizen writes to them
        offered = chat_replies.menu(language)
    title = _t(request, "Chat")
    return page(
        request, "chat", status, who, title=title, talk=talk, options=offered,
        waiting=waiting, max_text=MAX_TEXT, **values,
    )  # fmt: skip


def _chosen_language(request: Request) -> str | None:
    """English when the page is; on the Indonesian page the bot answers in the language
    the citizen writes (Indonesian when it cannot tell)."""
    return "en" if language_of(request) == "en" else None


@router.get("/chat", response_class=HTMLResponse)
async def chat(request: Request, app: AppDep, who: Citizen) -> Response:
    return await _chat_page(request, app, who)


@router.post("/chat", response_class=HTMLResponse)
async def say(request: Request, app: AppDep, signed: SignedForm) -> Response:
    """A text or a quick reply (``option``) to the bot; back to the page."""
    who, form = signed
    text = str(form.get("text", "")).strip()
    option = str(form.get("option", "")).strip()[:64] or None
    try:
        if len(text) > MAX_TEXT:
            raise BadRequest("At most %(max)s characters", max=MAX_TEXT)
        if not text and option is None:
            raise BadRequest("Write a message first")
        if not known_option(option):
            option = None if text else "intent:bantuan"  # a stale or forged button: the menu
        incoming = Incoming(
            channel="portal", address=chat_portal.address_of(who), text=text, option=option,
            language=_chosen_language(request), citizen_id=who,
            agency_id=await chat_portal.agency_for(app, who),
        )  # fmt: skip
        await engine.handle(app, incoming)
    except ApiError as exc:
        return await _chat_page(request, app, who, exc.status_code, error=exc, typed=text)
    return back("/portal/chat#latest")
