"""The delivery task: claim a batch of notifications, send each, record what happened.

Two short transactions per batch (claim, then outcomes) and the sends in between, so the
database is never held while a provider thinks. A crash between the two leaves the rows
leased; when the lease runs out the sweeper hands them to another worker (at-least-once).
Retries work the same way: a failed row gets a lease that ends at its retry time.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from warta.bootstrap import Warta
from warta.channels.base import OutboundMessage
from warta.domain import statuses
from warta.domain.limits import backoff_delay
from warta.errors import DeliveryError, TechnicalFailure
from warta.services import content
from warta.store.models import Callback
from warta.store.repositories import ClaimedRow

log = logging.getLogger(__name__)


@dataclass
class Outcome:
    notification: ClaimedRow
    changes: dict[str, Any]
    retry_at: datetime | None = None
    final: bool = field(init=False)

    def __post_init__(self) -> None:
        self.final = self.changes["status"] in statuses.FINAL


async def deliver(app: Warta, ids: Sequence[uuid.UUID]) -> None:
    now = app.clock()
    lease = now + timedelta(seconds=app.settings.lease_seconds)
    async with app.uow() as uow:
        rows = await uow.notifications.claim(ids, now=now, lease_until=lease)
        await uow.commit()
    if not rows:
        return
    outcomes = await asyncio.gather(*(_attempt(app, row) for row in rows))
    await _record(app, outcomes)


async def _attempt(app: Warta, row: ClaimedRow) -> Outcome:
    try:
        if row.simulate:
            return _finished(app, row, row.simulate)
        message = _message(app, row)
        result = await app.channels[row.type].send(message)
    except DeliveryError as exc:
        return _failed(app, row, exc)
    except Exception as exc:  # a bug must not strand the row: record it, keep the trace
        log.exception("delivery crashed for notification %s", row.id)
        return _failed(app, row, TechnicalFailure(type(exc).__name__))
    if result.status == statuses.DELIVERED:
        return _finished(app, row, statuses.DELIVERED, result.provider_reference)
    # Accepted; a delivery receipt will finish it. No lease: the sweeper must not resend.
    changes = {
        "id": row.id,
        "status": statuses.SENDING,
        "lease_until": None,
        "provider_reference": result.provider_reference,
        "updated_at": app.clock(),
    }
    return Outcome(row, changes)


def _message(app: Warta, row: ClaimedRow) -> OutboundMessage:
    sealed = content.unseal(app.keyring, row.content_enc)
    return OutboundMessage(
        notification_id=str(row.id),
        attempt=row.attempts,
        channel=row.type,
        to=app.keyring.decrypt(row.recipient_enc, field="notification.recipient"),
        sender=row.sender or "",
        body=sealed.get("text") or sealed["body"] or "",  # email: the rendered text part
        subject=sealed.get("subject"),
        html=sealed.get("html"),
    )


def _finished(app: Warta, row: ClaimedRow, status: str, reference: str | None = None) -> Outcome:
    now = app.clock()
    changes = {
        "id": row.id,
        "status": status,
        "lease_until": None,
        "completed_at": now,
        "updated_at": now,
        "provider_reference": reference,
    }
    return Outcome(row, changes)


def _failed(app: Warta, row: ClaimedRow, exc: DeliveryError) -> Outcome:
    reason = str(exc)[:255] or type(exc).__name__
    log.info(
        "notification %s attempt %s failed: %s (%s)",
        row.id,
        row.attempts,
        type(exc).__name__,
        reason,
    )
    if exc.retry and row.attempts < app.settings.retry_max_attempts:
        now = app.clock()
        delay = backoff_delay(
            row.attempts,
            base=app.settings.retry_base_delay,
            cap=app.settings.retry_max_delay,
            jitter=app.random(),
        )
        retry_at = now + timedelta(seconds=delay)
        changes = {
            "id": row.id,
            "status": statuses.SENDING,
            "lease_until": retry_at,
            "failure_reason": reason,
            "updated_at": now,
        }
        return Outcome(row, changes, retry_at=retry_at)
    outcome = _finished(app, row, exc.final_status)
    outcome.changes["failure_reason"] = reason
    return outcome


async def _record(app: Warta, outcomes: Sequence[Outcome]) -> None:
    callbacks: list[Callback] = []
    async with app.uow() as uow:
        await uow.notifications.save_outcomes([o.changes for o in outcomes])
        finals = [o for o in outcomes if o.final]
        if finals:
            agencies = {o.notification.agency_id for o in finals}
            with_callback = {a for a in agencies if await _has_callback(uow, a)}
            now = app.clock()
            callbacks = [
                Callback(
                    id=uuid.uuid4(),
                    notification_id=o.notification.id,
                    status="pending",
                    attempts=0,
                    next_attempt_at=now,
                    created_at=now,
                )
                for o in finals
                if o.notification.agency_id in with_callback
            ]
            uow.callbacks.add(*callbacks)
        await uow.commit()
    if callbacks:
        await app.queue.submit("callback", [c.id for c in callbacks])


async def _has_callback(uow: Any, agency_id: uuid.UUID) -> bool:
    agency = await uow.agencies.get(agency_id)
    return agency is not None and bool(agency.callback_url)
