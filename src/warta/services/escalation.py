"""Citizen notifications in the pipeline: the last look before sending, and escalation.

Before a worker sends an attempt to a citizen it asks the routing policy again with what
the store knows now: a withdrawal of consent, a quiet period that began while the row
waited, a cap reached by other messages or a channel the citizen no longer wants all
apply at once. After an attempt fails for good, or goes unanswered past its escalation
window, the next usable channel gets a new attempt (a new row with the same
``message_id``), until one is delivered or none is left.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update

from warta.bootstrap import Warta
from warta.domain import statuses
from warta.domain.routing import Decision, escalation_window
from warta.services import content, routing
from warta.services.sending import sender_of
from warta.store.models import NOTIFICATIONS, Citizen, Notification
from warta.store.repositories import ClaimedRow
from warta.store.uow import UnitOfWork

log = logging.getLogger(__name__)

FAILED = frozenset(
    {statuses.PERMANENT_FAILURE, statuses.TEMPORARY_FAILURE, statuses.TECHNICAL_FAILURE}
)
#: Channels whose "delivered" is not enough: the citizen must read (the inbox, a push
#: tap, a WhatsApp read receipt) within the escalation window, or the next channel goes.
READ_CHANNELS = frozenset({"push", "chat"})


async def _citizens(uow: UnitOfWork, ids: Iterable[uuid.UUID]) -> list[Citizen]:
    wanted = list(set(ids))
    if not wanted:
        return []
    return list((await uow.session.scalars(select(Citizen).where(Citizen.id.in_(wanted)))).all())


async def _tried(uow: UnitOfWork, message_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
    """Channels each message's attempts used (cancelled attempts did not reach anyone)."""
    wanted = list(set(message_ids))
    found: dict[uuid.UUID, list[str]] = {m: [] for m in wanted}
    if not wanted:
        return found
    query = (
        select(Notification.message_id, Notification.type, Notification.status)
        .where(Notification.message_id.in_(wanted))
        .order_by(Notification.created_at)
    )
    for message_id, channel, status in await uow.session.execute(query):
        if message_id is None:
            continue
        if status != statuses.CANCELLED and channel not in found[message_id]:
            found[message_id].append(channel)
    return found


async def recheck(
    app: Warta, uow: UnitOfWork, rows: Sequence[ClaimedRow], now: datetime
) -> dict[uuid.UUID, Decision]:
    """What the policy says now for each claimed citizen attempt."""
    by_agency: dict[uuid.UUID, list[ClaimedRow]] = {}
    for row in rows:
        by_agency.setdefault(row.agency_id, []).append(row)
    citizens = {c.id: c for c in await _citizens(uow, (r.citizen_id for r in rows))}
    tried = await _tried(uow, (r.message_id for r in rows))
    decisions: dict[uuid.UUID, Decision] = {}
    for agency_id, group in by_agency.items():
        known = await routing.gather(
            uow,
            [citizens[r.citizen_id] for r in group if r.citizen_id in citizens],
            agency_id,
            now,
            routing_now=[r.message_id for r in group],
        )
        for row in group:
            if row.citizen_id not in known:
                continue
            # Channels tried before this attempt; this attempt's own channel is fair game.
            earlier = tuple(c for c in tried.get(row.message_id, []) if c != row.type)
            ask = routing.Ask(
                topic=row.topic,
                priority=row.priority,
                available=routing.deliverable(app),
                expires_at=row.expires_at,
                already_tried=earlier,
            )
            decisions[row.id] = routing.decide(known[row.citizen_id], ask, now)
    return decisions


def hold(row: ClaimedRow, decision: Decision, now: datetime) -> dict[str, Any]:
    """Changes for an attempt the policy will not send now: deferred or cancelled."""
    changes: dict[str, Any] = {
        "id": row.id,
        "sent_at": None,
        "updated_at": now,
        "routing": routing.routing_json(decision),
    }
    if decision.action in ("defer", "digest"):
        # The digest marker follows the latest decision: a citizen who turned the digest
        # off gets this message on its own once its deferral ends.
        changes.update(
            status=statuses.CREATED,
            lease_until=decision.at,
            digest=decision.action == "digest",
        )
    else:
        changes.update(
            status=statuses.CANCELLED,
            lease_until=None,
            completed_at=now,
            failure_reason="; ".join(decision.reasons)[:255] or "cancelled by routing",
        )
    return changes


async def next_attempts(
    app: Warta, uow: UnitOfWork, ended: Iterable[uuid.UUID], now: datetime
) -> list[dict[str, Any]]:
    """New attempts for messages whose attempt ``ended`` (failed, unanswered or was
    rerouted), on the next usable channel; none once an attempt was delivered or no
    channel is left. Inserted into the unit of work; returns the rows."""
    ended_ids = list(set(ended))
    if not ended_ids:
        return []
    rows = (
        await uow.session.scalars(select(Notification).where(Notification.id.in_(ended_ids)))
    ).all()
    rows = [r for r in rows if r.citizen_id is not None and r.message_id is not None]
    if not rows:
        return []
    message_ids = [r.message_id for r in rows if r.message_id is not None]
    done = await _delivered(uow, message_ids)
    tried = await _tried(uow, message_ids)
    citizens = {c.id: c for c in await _citizens(uow, (r.citizen_id for r in rows if r.citizen_id))}
    shared = await routing.shared_contents(app, uow, rows)
    made: list[dict[str, Any]] = []
    for row in rows:
        if row.message_id is None or row.message_id in done or row.citizen_id not in citizens:
            continue
        gathered = await routing.gather(
            uow, [citizens[row.citizen_id]], row.agency_id, now, routing_now=[row.message_id]
        )
        known = gathered[row.citizen_id]
        contents = _contents(app, row, shared)
        ask = routing.Ask(
            topic=row.topic,
            priority=row.priority,
            available=frozenset(contents) & routing.deliverable(app),
            expires_at=row.expires_at,
            already_tried=tuple(tried.get(row.message_id, [])),
        )
        decision = routing.decide(known, ask, now)
        if decision.action == "cancel":
            log.info("message %s: no channel left to escalate to", row.message_id)
            continue
        senders = await _senders(app, uow, row)
        message = routing.Message(
            agency_id=row.agency_id,
            api_key_id=row.api_key_id,
            key_type=row.key_type,
            template_id=row.template_id,
            template_version=row.template_version,
            priority=row.priority,
            senders=senders,
            topic=row.topic,
            reference=row.reference,
            expires_at=row.expires_at,
            broadcast_id=row.broadcast_id,
        )
        made.append(
            routing.attempt(
                app,
                message,
                known,
                decision,
                message_id=row.message_id,
                contents=contents if row.broadcast_id is None else None,
                alternatives_enc=row.alternatives_enc,
                now=now,
                tried=tried.get(row.message_id, []),
            )
        )
        if row.digest and decision.action == "send":
            # A digest member that failed goes on with its fellow members: their next
            # attempts are due together and go as one digest on the next channel too,
            # rather than the citizen getting each one separately after all.
            made[-1]["digest"] = True
        log.info("message %s escalated from %s to %s", row.message_id, row.type, decision.channel)
    await routing.insert_attempts(uow, made)
    return made


def _contents(
    app: Warta, row: Notification, shared: dict[uuid.UUID, content.ChannelContents]
) -> content.ChannelContents:
    if row.broadcast_id is not None:
        return shared.get(row.broadcast_id, {})
    if row.alternatives_enc is None:
        return {}
    return content.unseal_channels(
        app.keyring, row.alternatives_enc, field=routing.ALTERNATIVES_FIELD
    )


async def _senders(app: Warta, uow: UnitOfWork, row: Notification) -> dict[str, str]:
    """Who each channel's attempt comes from: the agency's SMS sender id and From."""
    agency = await uow.agencies.get(row.agency_id)
    if agency is None:
        return {}
    return {channel: sender_of(app, agency, channel) for channel in routing.deliverable(app)}


async def _delivered(uow: UnitOfWork, message_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    """Messages that reached the citizen: delivered by SMS or email, or read."""
    query = select(Notification.message_id).where(
        Notification.message_id.in_(list(message_ids)),
        or_(
            and_(
                Notification.status == statuses.DELIVERED,
                Notification.type.not_in(READ_CHANNELS),
            ),
            Notification.read_at.is_not(None),
        ),
    )
    return {m for m in (await uow.session.scalars(query)).all() if m is not None}


def window_for(priority: str) -> timedelta:
    return escalation_window(priority, None)  # type: ignore[arg-type]


async def escalate_unanswered(app: Warta, now: datetime) -> list[uuid.UUID]:
    """Attempts still not delivered (push and chat: not read) when their window ran out:
    try the next channel.
    Returns the new attempts' ids (due now)."""
    async with app.uow() as uow:
        ids = list(
            (
                await uow.session.scalars(
                    select(Notification.id)
                    .where(
                        Notification.escalate_at.is_not(None),
                        Notification.escalate_at <= now,
                        Notification.read_at.is_(None),
                        or_(
                            Notification.status == statuses.SENDING,
                            and_(
                                Notification.status == statuses.DELIVERED,
                                Notification.type.in_(READ_CHANNELS),
                            ),
                        ),
                    )
                    .limit(1000)
                    .with_for_update(skip_locked=True)
                )
            ).all()
        )
        if not ids:
            return []
        await uow.session.execute(
            update(NOTIFICATIONS).where(NOTIFICATIONS.c.id.in_(ids)).values(escalate_at=None)
        )
        made = await next_attempts(app, uow, ids, now)
        await uow.commit()
    return [r["id"] for r in made if r["status"] == statuses.CREATED and r["lease_until"] <= now]
