"""Delivery receipts to the agency's callback URL, signed, retried, never only logged.

The body has Notify's callback fields. Besides Notify's ``Authorization: Bearer <token>``,
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

from warta.bootstrap import Warta
from warta.domain.limits import backoff_delay
from warta.domain.timefmt import notify_time
from warta.store.models import Agency, Callback, Notification

log = logging.getLogger(__name__)

RETRY_STATUS = {429, 500, 502, 503, 504}


def signature(token: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(token.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def payload(app: Warta, row: Notification) -> dict[str, object]:
    return {
        "id": str(row.id),
        "reference": row.reference,
        "to": app.keyring.decrypt(row.recipient_enc, field="notification.recipient"),
        "status": row.status,
        "created_at": notify_time(row.created_at),
        "completed_at": notify_time(row.completed_at),
        "sent_at": notify_time(row.sent_at),
        "notification_type": row.type,
        "template_id": str(row.template_id),
        "template_version": row.template_version,
    }


async def send_callbacks(app: Warta, ids: Sequence[uuid.UUID]) -> None:
    await asyncio.gather(*(_send_one(app, callback_id) for callback_id in ids))


async def _send_one(app: Warta, callback_id: uuid.UUID) -> None:
    async with app.uow() as uow:
        callback = await uow.callbacks.get(callback_id)
        if callback is None or callback.status != "pending":
            return
        notification = await uow.session.get(Notification, callback.notification_id)
        agency = await uow.session.get(Agency, notification.agency_id) if notification else None
        if notification is None or agency is None or not agency.callback_url:
            callback.status = "failed"
            callback.last_error = "agency has no callback URL"
            await uow.commit()
            return
        # Lease the row so a sweep during the request does not send it twice.
        callback.next_attempt_at = app.clock() + timedelta(
            seconds=app.settings.callback_timeout * 3
        )
        callback.attempts += 1
        await uow.commit()
        error = await _post(app, agency, notification)
        _settle(app, callback, error)
        uow.session.add(callback)
        await uow.commit()


async def _post(app: Warta, agency: Agency, notification: Notification) -> str | None:
    """None when the agency took it; otherwise why, prefixed 'retry:' when worth retrying."""
    token = ""
    if agency.callback_token_enc:
        token = app.keyring.decrypt(agency.callback_token_enc, field="agency.callback_token")
    body = json.dumps(payload(app, notification)).encode()
    timestamp = int(app.clock().timestamp())
    headers = {
        "Content-Type": "application/json",
        "Authorization": f"Bearer {token}",
        "X-Warta-Signature": signature(token, timestamp, body),
    }
    try:
        response = await app.http.post(str(agency.callback_url), content=body, headers=headers)
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
