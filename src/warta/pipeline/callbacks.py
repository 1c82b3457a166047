"""Callbacks to agencies, signed, retried, never only logged: delivery receipts and
changes to the agency's cases to its callback URL, and texts citizens sent to its inbound
callback URL.

Bodies have Notify's callback fields. Besides Notify's ``Authorization: Bearer <token>``,
each request carries ``X-Warta-Signature: t=<unix time>,v1=<hex>``, where ``v1`` is
HMAC-SHA256 of ``"<t>.<body>"`` keyed with the same token, so the agency can check the
body was not altered and is recent.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import uuid
from collections.abc import Sequence
from datetime import timedelta

import httpx

from warta.deps import Warta
from warta.domain.cases import format_tracking_id
from warta.domain.limits import backoff_delay
from warta.domain.timefmt import notify_time
from warta.services import notification_status
from warta.store.models import Callback, Case, CaseEvent, Notification, ReceivedText
from warta.store.uow import UnitOfWork

log = logging.getLogger(__name__)

RETRY_STATUS = {429, 500, 502, 503, 504}


def signature(token: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(token.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def payload(app: Warta, row: Notification, clear: notification_status.InClear) -> dict[str, object]:
    """Notify's callback body. ``to`` as ``GET /v2/notifications/{id}`` shows it: a message
    to a citizen has its recipient masked unless the agency added that contact (``clear``:
    ``notification_status.in_clear``), since the callback goes to the agency too."""
    return {
        "id": str(row.id),
        "reference": row.reference,
        "to": notification_status.recipient(app, row, clear) or "",
        "status": row.status,
        "created_at": notify_time(row.created_at),
        "completed_at": notify_time(row.completed_at),
        "sent_at": notify_time(row.sent_at),
        "notification_type": row.type,
        "template_id": str(row.template_id),
        "template_version": row.template_version,
    }


def inbound_payload(app: Warta, row: ReceivedText) -> dict[str, object]:
    return {
        "id": str(row.id),
        "source_number": app.keyring.decrypt(row.user_number_enc, field="received.user_number"),
        "destination_number": row.notify_number,
        "message": app.keyring.decrypt(row.content_enc, field="received.content"),
        "date_received": notify_time(row.created_at),
    }


def case_payload(app: Warta, event: CaseEvent, case: Case, service_code: str) -> dict[str, object]:
    """A change to one of the agency's cases (docs/case-api.md). No personal data and no
    internal note: the agency reads those with ``GET /v2/cases/{id}``. ``status`` is what
    the change made the case, or for a change that kept it (a note, an update), the
    case's status now."""
    public = (
        app.keyring.decrypt(event.public_message_enc, field="case.public_message")
        if event.public_message_enc
        else None
    )
    return {
        "type": "case",
        "id": str(case.id),
        "tracking_id": format_tracking_id(case.tracking_id),
        "event_id": str(event.id),
        "event": event.kind,
        "status": event.to_status or case.status,
        "previous_status": event.from_status,
        "public_message": public,
        "service_code": service_code,
        "updated_at": notify_time(event.at),
    }


async def send_callbacks(app: Warta, ids: Sequence[uuid.UUID]) -> None:
    await asyncio.gather(*(_send_one(app, callback_id) for callback_id in ids))


async def _send_one(app: Warta, callback_id: uuid.UUID) -> None:
    async with app.uow() as uow:
        # Leased before the request, so a sweep during it does not send it twice.
        now = app.clock()
        lease = now + timedelta(seconds=app.settings.callback_timeout * 3)
        callback = await uow.callbacks.claim(callback_id, now=now, lease_until=lease)
        if callback is None:
            return
        target = await _target(app, uow, callback)
        if target is None:
            callback.status = "failed"
            callback.last_error = "agency has no callback URL"
            await uow.commit()
            return
        await uow.commit()
        error = await _post(app, *target)
        _settle(app, callback, error)
        uow.callbacks.add(callback)
        await uow.commit()


async def _target(
    app: Warta, uow: UnitOfWork, callback: Callback
) -> tuple[str, bytes | None, dict[str, object]] | None:
    """Where this callback goes, the encrypted token, and the body; None if nowhere."""
    subject = await uow.callbacks.subject(callback)
    agency_id = callback.agency_id or (subject.agency_id if subject else None)
    agency = await uow.agencies.get(agency_id) if agency_id else None
    if isinstance(subject, CaseEvent):
        # To the agency that owned the case when it changed (for a forward, the taker),
        # or the one the row names (the giver of a forward).
        case = await uow.cases.get(subject.case_id)
        service = await uow.cases.service(case.service_id) if case else None
        if case is None or service is None or agency is None or not agency.callback_url:
            return None
        content = case_payload(app, subject, case, service.code)
        return agency.callback_url, agency.callback_token_enc, content
    if isinstance(subject, ReceivedText):
        if agency is None or not agency.inbound_callback_url:
            return None
        return (
            agency.inbound_callback_url,
            agency.inbound_callback_token_enc,
            inbound_payload(app, subject),
        )
    if subject is None or agency is None or not agency.callback_url:
        return None
    clear = await notification_status.in_clear(uow, agency.id, [subject])
    return agency.callback_url, agency.callback_token_enc, payload(app, subject, clear)


async def _post(
    app: Warta, url: str, token_enc: bytes | None, content: dict[str, object]
) -> str | None:
    """None when the agency took it; otherwise why, prefixed 'retry:' when worth retrying."""
    token = ""
    if token_enc:
        token = app.keyring.decrypt(token_enc, field="agency.callback_token")
    body = json.dumps(content).encode()
    timestamp = int(app.clock().timestamp())
    headers = {
        "Content-Type": "application/json",
        "Authorization": f"Bearer {token}",
        "X-Warta-Signature": signature(token, timestamp, body),
    }
    try:
        response = await app.http.post(url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        return f"retry: {type(exc).__name__}"
    if response.status_code < 300:
        return None
    prefix = "retry: " if response.status_code in RETRY_STATUS else ""
    return f"{prefix}HTTP {response.status_code}"


def _settle(app: Warta, callback: Callback, error: str | None) -> None:
    if error is None:
        callback.status, callback.last_error = "sent", None
        return
    callback.last_error = error[:255]
    retryable = error.startswith("retry:")
    if retryable and callback.attempts < app.settings.callback_max_attempts:
        delay = backoff_delay(
            callback.attempts, base=app.settings.callback_base_delay, cap=3600, jitter=app.random()
        )
        callback.next_attempt_at = app.clock() + timedelta(seconds=delay)
        return
    callback.status = "failed"
    log.warning("callback %s given up after %s attempts: %s", callback.id, callback.attempts, error)
