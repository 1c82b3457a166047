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
from warta.deps import Warta
from warta.domain.recipients import normalise_phone
from warta.errors import BadRequest
from warta.services import chat, citizen_self, devices, local_outbox

router = APIRouter(prefix="/dev", tags=["Development"], include_in_schema=False)


async def _messages(
    app: Warta, channel: str | None = None, to: str | None = None
) -> list[dict[str, Any]]:
    return [_as_dict(c) for c in await local_outbox.captured(app, channel, to)]


def _as_dict(captured: local_outbox.Captured) -> dict[str, Any]:
    m = captured.message
    return {
        "channel": m.channel,
        "to": m.to,
        "sender": m.sender,
        "subject": m.subject,
        "body": m.body,
        "html": m.html,
        "notification_id": captured.notification_id,
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
    peers = app.local_peers
    if peers is None or app.vapid_public_key is None:
        raise BadRequest("No local push and chat services are running (WARTA_LOCAL_APP_PEERS)")
    if not await citizen_self.is_registered(app, citizen_id):
        raise BadRequest("No citizen with that id")
    push_service = await peers.push_service()
    subscription = push_service.subscribe(app.vapid_public_key)
    await devices.add_push_subscription(app, citizen_id, subscription)
    linked = False
    if peers.telegram_peer is not None:
        code = (await chat.telegram_link(app, citizen_id)).rsplit("=", 1)[1]
        chat_id = 100_000 + secrets.randbelow(900_000)
        linked = await peers.telegram_peer.start(chat_id, code) == 200
    return JsonResponse({"push": True, "telegram": linked})
