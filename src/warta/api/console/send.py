"""Send one message from a template: to a phone number or an email address, as a test
(recorded, never delivered, like a Notify test key), or to the signed-in person's own
email address to see it arrive.

The console sends as the agency without an API key (``Caller.key_id`` None), through the
same ``services.sending`` an API call uses, so the rules are the same.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from warta.api.console.web import AppDep, allowed, page, personalisation
from warta.deps import Warta
from warta.domain.channels import channel_named
from warta.errors import ApiError, InvalidInput, MissingPersonalisation, NotFound
from warta.services import lookups, sending, template_editing
from warta.services.sending import Caller, SendNotification, Sent
from warta.services.staff import Member
from warta.services.template_editing import Draft
from warta.store.models import Template

router = APIRouter()
Sender = Annotated[Member, Depends(allowed("send"))]
#: Multi-channel templates go to citizens (by preference), from bulk sends and broadcasts.
SENDABLE = ("email", "sms")


async def _page(
    request: Request,
    app: Warta,
    me: Member,
    chosen: Template | None,
    status: int = 200,
    **values: object,
) -> Response:
    choices = [t for t in await template_editing.templates(app, me.agency_id) if t.type in SENDABLE]
    fields = template_editing.placeholder_names(Draft.of(chosen.type, chosen)) if chosen else []
    return page(
        request, me, "send", status, choices=choices, template=chosen, fields=fields, **values
    )


async def _sendable(app: Warta, me: Member, template_id: uuid.UUID) -> Template:
    template, _versions = await template_editing.history(app, me.agency_id, template_id)
    if template.type not in SENDABLE:
        raise NotFound("Templates with email and SMS are sent to citizens, not to an address")
    return template


@router.get("/send")
async def choose(
    request: Request, app: AppDep, me: Sender, template: uuid.UUID | None = None
) -> Response:
    chosen = await _sendable(app, me, template) if template else None
    return await _page(request, app, me, chosen)


async def _send(
    app: Warta, me: Member, template: Template, recipient: str, values: dict[str, str], how: str
) -> Sent:
    """``how``: "send" as the agency's live key would, "test" as its test key, "me" to the
    signed-in person's own email address."""
    entry = await lookups.agency_and_keys(app, me.agency_id)
    if entry is None:
        raise NotFound("No such agency")
    caller = Caller(
        agency=entry.agency, key_id=None, key_type="test" if how == "test" else "normal"
    )
    await app.quotas.check_rate(entry.agency.id, caller.key_type, entry.agency.rate_limit)
    command = SendNotification(
        channel=channel_named(template.type),
        recipient=me.email if how == "me" else recipient,
        template_id=template.id,
        personalisation=dict(values),
    )
    return await sending.send(app, caller, command)


@router.post("/send")
async def send(
    request: Request,
    app: AppDep,
    me: Sender,
    template: Annotated[uuid.UUID, Form()],
    recipient: Annotated[str, Form()] = "",
    action: Annotated[str, Form()] = "send",
) -> Response:
    chosen = await _sendable(app, me, template)
    values = await personalisation(request)
    how = (
        action
        if action in ("test", "me") and (action != "me" or chosen.type == "email")
        else "send"
    )
    try:
        sent = await _send(app, me, chosen, recipient, values, how)
    except (ApiError, InvalidInput) as exc:
        cause = exc.__cause__ if isinstance(exc.__cause__, InvalidInput) else exc
        status = exc.status_code if isinstance(exc, ApiError) else 400
        form_values = {"recipient": recipient, "values": values}
        missing = cause.fields if isinstance(cause, MissingPersonalisation) else []
        return await _page(
            request, app, me, chosen, status, error=exc, missing=missing, form=form_values
        )
    return RedirectResponse(f"/console/notifications/{sent.notification.id}", status_code=303)
