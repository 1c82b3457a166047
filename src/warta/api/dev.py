"""/dev/outbox: what the local capture sinks received, for people trying Warta locally.

Mounted only when no real provider is configured (``WARTA_DEV_OUTBOX``): it shows personal
data to anyone who can reach the port, which is fine on 127.0.0.1 and wrong elsewhere.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from warta.api.auth import warta
from warta.api.responses import JsonResponse
from warta.bootstrap import Warta

router = APIRouter(prefix="/dev", tags=["Development"], include_in_schema=False)
_templates = Environment(
    loader=FileSystemLoader(Path(__file__).parent.parent / "web" / "templates"),
    autoescape=select_autoescape(),
)


@router.get("/outbox", response_class=HTMLResponse)
async def outbox_page(app: Annotated[Warta, Depends(warta)]) -> HTMLResponse:
    page = _templates.get_template("outbox.html").render(messages=app.outbox.list())
    return HTMLResponse(page)


@router.get("/outbox.json")
async def outbox_json(request: Request, app: Annotated[Warta, Depends(warta)]) -> JsonResponse:
    channel = request.query_params.get("channel")
    return JsonResponse(
        [
            {
                "channel": m.channel,
                "to": m.to,
                "sender": m.sender,
                "subject": m.subject,
                "body": m.body,
                "html": m.html,
                "notification_id": m.notification_id,
                "captured_at": m.captured_at.isoformat(),
            }
            for m in app.outbox.list(channel)  # type: ignore[arg-type]
        ]
    )
