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

from warta.deps import Warta
from warta.domain import statuses
from warta.domain.channels import ChannelName
from warta.domain.routing import Decision, check_priority, escalation_window
from warta.services import attempts, content, routing
from warta.store.attempts import AttemptChanges
from warta.store.models import Citizen, Notification
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
    return await uow.citizens.of_ids(wanted)


async def _tried(uow: UnitOfWork, message_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
    """Channels each message's attempts used (cancelled attempts did not reach anyone)."""
    wanted = list(set(message_ids))
    found: dict[uuid.UUID, list[str]] = {m: [] for m in wanted}
    if not wanted:
        return found
    for message_id, channel, status in await uow.notifications.attempt_channels(wanted):
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
    shared = await attempts.shared_contents(app, uow, rows)
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
            # Only channels the message has content for: a template with SMS alone, for a
            # citizen who prefers email, stays SMS (else each look rerouted it anew).
            has_content = frozenset(_contents(app, row, shared)) | {row.type}
            ask = routing.Ask(
                topic=row.topic,
                priority=row.priority,
                available=has_content & routing.deliverable(app),
                expires_at=row.expires_at,
                already_tried=earlier,
            )
            decisions[row.id] = routing.decide(known[row.citizen_id], ask, now)
    return decisions


def hold(row: ClaimedRow, decision: Decision, now: datetime) -> AttemptChanges:
    """Changes for an attempt the policy will not send now: deferred or cancelled."""
    explained = routing.routing_json(decision)
    if decision.action in ("defer", "digest"):
        # The digest marker follows the latest decision: a citizen who turned the digest
        # off gets this message on its own once its deferral ends.
        return AttemptChanges(
            row.id,
            statuses.CREATED,
            updated_at=now,
            lease_until=decision.at,
            sent_at=None,
            routing=explained,
            digest=decision.action == "digest",
        )
    return AttemptChanges(
        row.id,
        statuses.CANCELLED,
        updated_at=now,
        lease_until=None,
        completed_at=now,
        sent_at=None,
        routing=explained,
        failure_reason="; ".join(decision.reasons)[:255] or "cancelled by routing",
    )


async def next_attempts(
    app: Warta, uow: UnitOfWork, ended: Iterable[uuid.UUID], now: datetime
) -> list[dict[str, Any]]:
    """New attempts for messages whose attempt ``ended`` (failed, unanswered or was
    rerouted), on the next usable channel; none once an attempt was delivered or no
    channel is left. Inserted into the unit of work; returns the rows. Long on purpose:
    one read per kind of fact for the whole set, then one decision per message."""
    ended_ids = list(set(ended))
    if not ended_ids:
        return []
    rows = await uow.notifications.of_ids(ended_ids)
    rows = [r for r in rows if r.citizen_id is not None and r.message_id is not None]
    if not rows:
        return []
    message_ids = [r.message_id for r in rows if r.message_id is not None]
    done = await _delivered(uow, message_ids)
    tried = await _tried(uow, message_ids)
    citizens = {c.id: c for c in await _citizens(uow, (r.citizen_id for r in rows if r.citizen_id))}
    shared = await attempts.shared_contents(app, uow, rows)
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
        message = attempts.Message.from_row(row, senders, broadcast_id=row.broadcast_id)
        made.append(
            attempts.attempt(
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
    await attempts.insert_attempts(uow, made)
    return made


def _contents(
    app: Warta, row: Notification | ClaimedRow, shared: dict[uuid.UUID, content.ChannelContents]
) -> content.ChannelContents:
    if row.broadcast_id is not None:
        return shared.get(row.broadcast_id, {})
    if row.alternatives_enc is None:
        return {}
    return content.unseal_channels(
        app.keyring, row.alternatives_enc, field=attempts.ALTERNATIVES_FIELD
    )


async def _senders(app: Warta, uow: UnitOfWork, row: Notification) -> dict[ChannelName, str]:
    """Who each channel's attempt comes from: the agency's SMS sender id and From."""
    agency = await uow.agencies.get(row.agency_id)
    if agency is None:
        return {}
    return attempts.senders(app, agency)


async def _delivered(uow: UnitOfWork, message_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    """Messages that reached the citizen: delivered by SMS or email, or read."""
    return await uow.notifications.reached(message_ids, read_channels=READ_CHANNELS)


def window_for(priority: str) -> timedelta:
    return escalation_window(check_priority(priority), None)


async def escalate_unanswered(app: Warta, now: datetime) -> list[uuid.UUID]:
    """Attempts still not delivered (push and chat: not read) when their window ran out:
    try the next channel.
    Returns the new attempts' ids (due now)."""
    async with app.uow() as uow:
        ids = await uow.notifications.take_unanswered(now, read_channels=READ_CHANNELS, limit=1000)
        if not ids:
            return []
        made = await next_attempts(app, uow, ids, now)
        await uow.commit()
    return [r["id"] for r in made if r["status"] == statuses.CREATED and r["lease_until"] <= now]
