"""Webhooks the chat services call: Telegram updates and WhatsApp Cloud API events.

    POST /providers/telegram/webhook    an Update; X-Telegram-Bot-Api-Secret-Token checked
    GET  /providers/whatsapp/webhook    hub.mode=subscribe&hub.verify_token=..&hub.challenge=..
    POST /providers/whatsapp/webhook    statuses and messages; X-Hub-Signature-256 checked

Each POST is checked before its body is read as anything: the URLs are public, and a
forged status would mark a message delivered or read. Both answer 200 quickly, so the
service does not resend.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import PlainTextResponse, Response

from warta.api.auth import warta
from warta.api.schemas import ErrorBody, lone_surrogate
from warta.channels import telegram as tg
from warta.channels import whatsapp as wa
from warta.deps import Warta
from warta.errors import AuthError, BadRequest, InvalidInput, NotFound
from warta.services import chat

router = APIRouter(prefix="/providers", tags=["Provider webhooks"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody},
    403: {"model": ErrorBody, "description": "Missing or wrong secret or signature"},
    404: {"model": ErrorBody, "description": "That chat service is not set up"},
}


def _telegram(app: Warta) -> tg.TelegramChannel:
    found = chat.telegram(app)
    if found is None:
        raise NotFound("telegram is not set up on this Warta")
    return found


def _whatsapp(app: Warta) -> wa.WhatsAppChannel:
    found = chat.whatsapp(app)
    if found is None:
        raise NotFound("whatsapp is not set up on this Warta")
    return found


def _parsed(body: bytes) -> Any:
    """JSON whose every string is Unicode: a lone surrogate stored from a webhook would
    break every later read of that text, as it would from the API (``Strict``)."""
    try:
        value = json.loads(body)
    except ValueError as exc:
        raise BadRequest("Webhook body must be JSON") from exc
    if (where := lone_surrogate(value)) is not None:
        raise BadRequest(f"{where} is not valid Unicode text (it holds a lone surrogate)")
    return value


@router.post("/telegram/webhook", summary="Telegram update", responses=_ERRORS)
async def telegram_update(request: Request, app: Annotated[Warta, Depends(warta)]) -> Response:
    channel = _telegram(app)
    if not tg.verify_secret(channel.config, request.headers.get(tg.SECRET_HEADER)):
        raise AuthError(f"Missing or wrong {tg.SECRET_HEADER}")
    body = _parsed(await request.body())
    update = tg.parse_update(body) if isinstance(body, dict) else None
    if update is not None and update.kind == "start" and update.code:
        await chat.telegram_start(app, update.chat_id, update.code)
    elif update is not None and update.kind == "option":
        if update.callback_id:
            await channel.answer_callback(update.callback_id)  # stops the button's spinner
        await chat.telegram_text(app, update.chat_id, option=update.text)
    elif update is not None and update.kind == "photo" and update.file_id:
        # Too big or not fetched: None, and the bot answers the caption alone.
        photo = await chat.telegram_photo(app, update.file_id)
        await chat.telegram_text(app, update.chat_id, update.text or "", photo=photo)
    elif update is not None:
        await chat.telegram_text(app, update.chat_id, update.text or "")
    return Response(status_code=200)


@router.get(
    "/whatsapp/webhook",
    summary="WhatsApp webhook verification",
    # The challenge comes back as text; errors stay JSON (a text/plain response_class
    # would document them as text too).
    responses={200: {"content": {"text/plain": {}}}, **_ERRORS},
)
async def whatsapp_verify(request: Request, app: Annotated[Warta, Depends(warta)]) -> Response:
    channel = _whatsapp(app)
    challenge = wa.verify_subscription(channel.config, request.query_params)
    if challenge is None:
        raise AuthError("hub.verify_token does not match")
    return PlainTextResponse(challenge)


@router.post("/whatsapp/webhook", summary="WhatsApp statuses and messages", responses=_ERRORS)
async def whatsapp_events(request: Request, app: Annotated[Warta, Depends(warta)]) -> Response:
    channel = _whatsapp(app)
    body = await request.body()
    if not wa.valid_signature(channel.config, body, request.headers.get(wa.SIGNATURE_HEADER)):
        raise AuthError(f"Missing or wrong {wa.SIGNATURE_HEADER}")
    try:
        events = wa.parse_webhook(_parsed(body))
    except (ValueError, InvalidInput) as exc:
        raise BadRequest(f"Not a WhatsApp webhook: {exc}") from exc
    await chat.whatsapp_events(app, events)
    return Response(status_code=200)
