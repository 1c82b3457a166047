"""Webhooks that Twilio-shaped SMS gateways call: delivery receipts and citizens' replies.

    POST /providers/sms/{provider}/status    MessageSid, MessageStatus, ErrorCode  -> 204
    POST /providers/sms/{provider}/inbound   From, To, Body                        -> TwiML

Each request must carry the ``X-Twilio-Signature`` of that provider's auth token, or it is
refused with 403 before its fields are read: the URLs are public, and a forged receipt
would mark a message delivered.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from warta.api.auth import warta
from warta.api.errors import error_body
from warta.api.schemas import ErrorBody
from warta.channels.sms_http import (
    SIGNATURE_HEADER,
    WEBHOOK_PREFIX,
    HttpSmsChannel,
    inbound_from_params,
    status_to_receipt,
    verify,
)
from warta.deps import Warta
from warta.errors import AuthError, BadRequest, NotFound

router = APIRouter(prefix=WEBHOOK_PREFIX, tags=["Provider webhooks"], include_in_schema=True)

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


def _form(*fields: str) -> dict[str, Any]:
    """OpenAPI for a form body the handler reads itself (so FastAPI cannot describe it)."""
    schema = {"type": "object", "properties": {f: {"type": "string"} for f in fields}}
    return {
        "requestBody": {
            "required": True,
            "content": {"application/x-www-form-urlencoded": {"schema": schema}},
        }
    }


_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody},
    403: {"model": ErrorBody, "description": "Missing or wrong X-Twilio-Signature"},
    404: {"model": ErrorBody, "description": "No HTTP gateway of that name"},
}


@router.post(
    "/{provider}/status",
    status_code=204,
    summary="Delivery status callback",
    responses=_ERRORS,
    openapi_extra=_form("MessageSid", "MessageStatus", "ErrorCode"),
)
async def status_callback(
    provider: str, request: Request, app: Annotated[Warta, Depends(warta)]
) -> Response:
    channel = _gateway(app, provider)
    params = await _signed_params(request, app, channel)
    receipt = status_to_receipt(channel.provider, params)
    if receipt is not None:
        if app.events is None:
            return _not_wired()
        await app.events.receipt(receipt)
    return Response(status_code=204)


@router.post(
    "/{provider}/inbound",
    summary="Inbound text message",
    response_class=Response,
    responses={200: {"content": {"text/xml": {}}}, **_ERRORS},
    openapi_extra=_form("MessageSid", "From", "To", "Body"),
)
async def inbound_message(
    provider: str, request: Request, app: Annotated[Warta, Depends(warta)]
) -> Response:
    channel = _gateway(app, provider)
    message = inbound_from_params(channel.provider, await _signed_params(request, app, channel))
    if app.events is None:
        return _not_wired()
    await app.events.inbound(message)
    # An empty TwiML document: the gateway sends no automatic reply.
    return Response(EMPTY_TWIML, media_type="text/xml")


def _gateway(app: Warta, provider: str) -> HttpSmsChannel:
    channel = app.sms_providers.get(provider)
    if not isinstance(channel, HttpSmsChannel):  # SMPP providers have no webhooks
        raise NotFound()
    return channel


async def _signed_params(request: Request, app: Warta, channel: HttpSmsChannel) -> dict[str, str]:
    async with request.form() as form:
        pairs = list(form.multi_items())
    fields = [(name, value) for name, value in pairs if isinstance(value, str)]
    if len(fields) != len(pairs):
        raise BadRequest("Webhook body must be form-encoded, without files")
    header = request.headers.get(SIGNATURE_HEADER)
    if not header:
        raise AuthError(f"Missing {SIGNATURE_HEADER} header")
    if not verify(channel.auth_token, _signed_url(request, app), fields, header):
        raise AuthError(
            f"{SIGNATURE_HEADER} does not match: check the provider's auth token and "
            "WARTA_PUBLIC_URL"
        )
    return dict(fields)


def _signed_url(request: Request, app: Warta) -> str:
    """The URL the gateway signed: the public one it was given, not what a proxy forwarded."""
    public = app.settings.public_url.rstrip("/")
    if not public:
        return str(request.url)
    query = request.url.query
    return f"{public}{request.url.path}" + (f"?{query}" if query else "")


def _not_wired() -> Response:
    # Refused rather than dropped: a gateway that gets an error may try again later.
    return error_body(
        503, [("ServiceUnavailable", "Provider events are not handled by this process")]
    )
