"""Percakapan: conversations the chatbot handed to a person (the citizen asked for one,
or the bot misunderstood twice). Staff read each with its history, answer (the answer
goes back on the citizen's own channel) and close it (back to the bot).

Reading takes ``view``; answering and closing take ``work_cases``, as working a case
does. Another agency's conversation is a 404, as if it did not exist.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from warta.api.console.web import AppDep, allowed, page
from warta.deps import Warta
from warta.errors import ApiError
from warta.services.chatbot import handoff
from warta.services.staff import Member

router = APIRouter()
Viewer = Annotated[Member, Depends(allowed("view"))]
Worker = Annotated[Member, Depends(allowed("work_cases"))]
CHANNELS = {"telegram": "Telegram", "whatsapp": "WhatsApp", "sms": "SMS", "portal": "Portal",
            "api": "App"}  # fmt: skip


@router.get("/conversations")
async def queue(request: Request, app: AppDep, me: Viewer, done: str = "") -> Response:
    waiting = await handoff.queue(app, me.agency_id)
    return page(request, me, "conversations", waiting=waiting, channels=CHANNELS, done=done)


async def _conversation_page(
    request: Request,
    app: Warta,
    me: Member,
    conversation_id: uuid.UUID,
    status: int = 200,
    **values: object,
) -> Response:
    talk = await handoff.conversation(app, me.agency_id, conversation_id)
    return page(request, me, "conversation", status, talk=talk, channels=CHANNELS, **values)


@router.get("/conversations/{conversation_id}")
async def conversation(
    request: Request, app: AppDep, me: Viewer, conversation_id: uuid.UUID, done: str = ""
) -> Response:
    return await _conversation_page(request, app, me, conversation_id, done=done)


@router.post("/conversations/{conversation_id}/reply")
async def reply(
    request: Request,
    app: AppDep,
    me: Worker,
    conversation_id: uuid.UUID,
    text: Annotated[str, Form()] = "",
) -> Response:
    try:
        await handoff.staff_reply(
            app, me.agency_id, me.id, conversation_id, text.replace("\r\n", "\n")
        )
    except ApiError as exc:
        if exc.status_code == 404:
            raise
        return await _conversation_page(
            request, app, me, conversation_id, exc.status_code, error=exc, typed=text
        )
    return RedirectResponse(
        f"/console/conversations/{conversation_id}?done=sent#latest", status_code=303
    )


@router.post("/conversations/{conversation_id}/close")
async def close(request: Request, app: AppDep, me: Worker, conversation_id: uuid.UUID) -> Response:
    await handoff.close(app, me.agency_id, conversation_id)
    return RedirectResponse("/console/conversations?done=closed", status_code=303)
