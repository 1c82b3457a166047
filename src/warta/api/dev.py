"""/dev/outbox: what the local capture sinks received, for people trying Warta locally.

Mounted only when no real provider is configured (``WARTA_DEV_OUTBOX``): it shows personal
data to anyone who can reach the port, which is fine on 127.0.0.1 and wrong elsewhere.
It can also play a citizen: POST /dev/sms/inbound sends a text from a phone to Warta
through the local SMSC, as a network would (try ``BERHENTI``), and POST
/dev/citizens/{id}/devices gives a citizen what the portal and the bot would: a Web Push
subscription at the local push service and a Telegram chat linked through the local Bot
API's ``/start`` (so push and chat sends to them show here).
"""

from __future__ import annotations

import secrets
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from warta.api.auth import warta
from warta.api.pages import environment
from warta.api.responses import JsonResponse
from warta.bootstrap import LOCAL_SMSC, Warta
from warta.channels.capture import CapturedMessage
from warta.domain.recipients import normalise_phone
from warta.errors import BadRequest
from warta.services import chat, devices
from warta.store.models import Citizen

router = APIRouter(prefix="/dev", tags=["Development"], include_in_schema=False)


async def _messages(
    app: Warta, channel: str | None = None, to: str | None = None
) -> list[dict[str, Any]]:
    """Captured messages, newest first, optionally for one phone number or address; SMS
    that went through the local SMSC learn their notification from the part references
    Warta stored."""
    captured = [m for m in app.outbox.list(channel) if to in (None, m.to)]  # type: ignore[arg-type]
    references = [r for m in captured if m.notification_id is None for r in m.reference]
    owners: dict[str, uuid.UUID] = {}
    if references:
        async with app.uow() as uow:
            owners = await uow.sms.notifications_of(LOCAL_SMSC, references)
    return [_as_dict(m, owners) for m in captured]


def _as_dict(m: CapturedMessage, owners: dict[str, uuid.UUID]) -> dict[str, Any]:
    owner = next((owners[r] for r in m.reference if r in owners), None)
    return {
        "channel": m.channel,
        "to": m.to,
        "sender": m.sender,
        "subject": m.subject,
        "body": m.body,
        "html": m.html,
        "notification_id": m.notification_id or (str(owner) if owner else None),
        "captured_at": m.captured_at.isoformat(),
        "parts": len(m.reference) or None,
        "encoding": {0: "GSM-7", 8: "UCS-2"}.get(m.data_coding)
        if m.data_coding is not None
        else None,
        "receipt": m.receipt,
    }


@router.get("/outbox", response_class=HTMLResponse)
async def outbox_page(request: Request, app: Annotated[Warta, Depends(warta)]) -> HTMLResponse:
    to = request.query_params.get("to")
    page = (
        environment()
        .get_template("outbox.html")
        .render(messages=await _messages(app, to=to), to=to, can_reply=app.local_smsc is not None)
    )
    return HTMLResponse(page)


@router.get("/outbox.json")
async def outbox_json(request: Request, app: Annotated[Warta, Depends(warta)]) -> JsonResponse:
    query = request.query_params
    return JsonResponse(await _messages(app, query.get("channel"), query.get("to")))


@router.post("/sms/inbound", response_model=None)
async def play_inbound(
    app: Annotated[Warta, Depends(warta)],
    sender: Annotated[str, Form(min_length=1)],
    text: Annotated[str, Form(min_length=1)],
    to: Annotated[str, Form()] = "WARTA",
) -> RedirectResponse:
    """A citizen's text to an agency's sender id, delivered through the local SMSC."""
    if app.local_smsc is None:
        raise BadRequest("No local SMSC is running: an SMS provider is configured")
    phone = normalise_phone(sender)  # a clear 400 for a number that is not one
    await app.local_smsc.play_inbound(phone, text, recipient=to)
    return RedirectResponse("/dev/outbox", status_code=303)


@router.post("/citizens/{citizen_id}/devices", response_model=None)
async def link_devices(
    citizen_id: uuid.UUID, app: Annotated[Warta, Depends(warta)]
) -> JsonResponse:
    """Subscribe the citizen's "phone" to push and link a Telegram chat, as their browser
    and the bot's t.me link would (the real protocols, through the local peers)."""
    peers = app.dev_peers
    if peers is None or app.vapid is None:
        raise BadRequest("No local push and chat services are running (WARTA_LOCAL_APP_PEERS)")
    async with app.uow() as uow:
        if await uow.session.get(Citizen, citizen_id) is None:
            raise BadRequest("No citizen with that id")
    push_service = await peers.push_service()
    subscription = push_service.subscribe(app.vapid.public_key_b64url)
    await devices.add_push_subscription(app, citizen_id, subscription)
    linked = False
    if peers.telegram_peer is not None:
        code = (await chat.telegram_link(app, citizen_id)).rsplit("=", 1)[1]
        chat_id = 100_000 + secrets.randbelow(900_000)
        linked = await peers.telegram_peer.start(chat_id, code) == 200
    return JsonResponse({"push": True, "telegram": linked})
