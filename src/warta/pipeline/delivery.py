"""The delivery task: claim a batch of notifications, send each, record what happened.

One short transaction claims the batch; each send's outcome is then written as soon as
the send ends, together with whatever else ended meanwhile (``recording.py``), so the
database is never held while a provider thinks and a provider's acceptance is on record
within one group commit. A crash leaves the rows not yet recorded leased; the worker's
restart takes its own leases back at once (``worker.py``), anyone else's wait for the
lease to run out (at-least-once). Only sends started and not yet recorded, at most
``WARTA_DELIVERY_IN_FLIGHT`` per channel, can go out twice. Retries work the same way:
a failed row gets a lease that ends at its retry time.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from warta import metrics
from warta.deps import Warta, lane_of
from warta.domain import chat_replies, statuses
from warta.domain.channels import OutboundMessage, SendResult
from warta.domain.limits import backoff_delay
from warta.errors import ContactGone, DeliveryError, TechnicalFailure
from warta.pipeline import digests
from warta.pipeline.recording import GroupCommit, InFlight
from warta.services import attempts, bounce_mail, content, escalation, unsubscribe
from warta.services.callbacks import owe_callbacks
from warta.services.receipts import agencies_by_id, settle
from warta.store.attempts import AttemptChanges
from warta.store.repositories import ClaimedRow
from warta.store.uow import UnitOfWork

log = logging.getLogger(__name__)


@dataclass
class Outcome:
    notification: ClaimedRow
    changes: AttemptChanges
    retry_at: datetime | None = None
    sent: SendResult | None = None  # what the provider said, when it took the message
    reroute: bool = False  # routing moved this citizen's message to another channel
    gone: bool = False  # the provider said the contact is dead (ContactGone)

    @property
    def final(self) -> bool:
        return self.changes.status in statuses.FINAL


class Delivering:
    """What one process's delivery tasks share: the lease owner they claim as
    (``name#boot``, None outside a worker pool), the in-flight limit per channel, and the
    group commit their outcomes are written through."""

    def __init__(self, app: Warta, owner: str | None = None) -> None:
        self.owner = owner
        limit = app.settings.delivery_in_flight
        self.in_flight = InFlight(limit)
        # Fewer, larger transactions while sends stream in: a group waits up to 50 ms for
        # half the slots' worth (a send keeps its slot meanwhile, so the bound holds).
        self.outcomes: GroupCommit[Outcome] = GroupCommit(
            lambda group: _record(app, group),
            more_coming=lambda: self.in_flight.sending > 0,
            linger=0.05,
            enough=max(1, limit // 2),
        )


async def deliver(
    app: Warta, ids: Sequence[uuid.UUID], delivering: Delivering | None = None
) -> None:
    # Long on purpose: claim, last routing look, send, record, owe callbacks — the steps
    # whose order makes the lease guarantee (docs/architecture.md) read top to bottom.
    via = delivering or Delivering(app)
    now = app.clock()
    lease = now + timedelta(seconds=app.settings.lease_seconds)
    held: list[Outcome] = []
    async with app.uow() as uow:
        await uow.notifications.lock_digest_citizens(ids)
        rows = list(await uow.notifications.claim(ids, now=now, lease_until=lease, owner=via.owner))
        rows += await digests.claim_companions(uow, rows, now, lease, via.owner)
        opted_out = await _stopped(app, uow, rows)
        # Sends to citizens get a last look: consent, quiet hours and caps as they are now.
        to_citizens = [r for r in rows if r.citizen_id is not None and not r.simulate]
        if to_citizens:
            decisions = await escalation.recheck(app, uow, to_citizens, now)
            for row in to_citizens:
                decision = decisions.get(row.id)
                if decision is None or (decision.action == "send" and decision.channel == row.type):
                    continue
                changes = escalation.hold(row, decision, now)
                if decision.action == "send":  # another channel now: a new attempt there
                    rerouted = replace(changes, failure_reason=f"rerouted to {decision.channel}")
                    held.append(Outcome(row, rerouted, reroute=True))
                else:
                    held.append(Outcome(row, changes))
        shared = await attempts.shared_contents(app, uow, rows)
        skip = {o.notification.id for o in held}
        # A stopped number's rows are cancelled one by one below, never carried.
        to_send = [r for r in rows if r.id not in skip and r.id not in opted_out]
        gathered = await digests.plan(app, uow, to_send, shared)
        await uow.commit()
    if not rows:
        return
    skip |= {row.id for d in gathered for row in (d.carrier, *d.members)}
    done = await asyncio.gather(
        via.outcomes.add(held),
        *(
            _send_alone(app, via, row, row.id in opted_out, shared)
            for row in rows
            if row.id not in skip
        ),
        *(_send_digest(app, via, each) for each in gathered),
        return_exceptions=True,  # every send runs to its end, recorded, before a raise
    )
    for result in done:
        if isinstance(result, BaseException):
            raise result


async def _stopped(app: Warta, uow: UnitOfWork, rows: Sequence[ClaimedRow]) -> set[uuid.UUID]:
    """The non-urgent rows to a phone that replied BERHENTI/STOP to the agency (or SEMUA
    to all), or to an address that unsubscribed from its email or the row's topic (but
    for a one-time code: transactional, never something one unsubscribed from)."""
    sendable = [r for r in rows if r.priority != "urgent" and not r.simulate]
    phones = await uow.sms.opted_out(
        (r.agency_id, r.recipient_hash) for r in sendable if r.type == "sms"
    )
    emails = await uow.email_opt_outs.opted_out(
        (r.agency_id, r.recipient_hash, r.topic or "") for r in sendable if r.type == "email"
    )
    return {
        r.id
        for r in sendable
        if (r.type == "sms" and (r.agency_id, r.recipient_hash) in phones)
        or (
            r.type == "email"
            and (r.agency_id, r.recipient_hash, r.topic or "") in emails
            and not _is_code(app, r)
        )
    }


async def _send_alone(
    app: Warta,
    via: Delivering,
    row: ClaimedRow,
    opted_out: bool,
    shared: dict[uuid.UUID, content.ChannelContents],
) -> None:
    # The slot is held until the outcome is written: what bounds resends after a crash.
    async with via.in_flight.slot(row.type):
        with via.in_flight.sending_now():
            outcome = await _attempt(app, row, opted_out, shared)
        if row.digest:  # alone this time: no earlier carrier settles it
            outcome.changes = replace(outcome.changes, digest_of=None)
        await via.outcomes.add([outcome])


async def _send_digest(app: Warta, via: Delivering, each: digests.Digest) -> None:
    async with via.in_flight.slot(each.carrier.type):
        with via.in_flight.sending_now():
            carried = await _attempt(app, each.carrier, message=each.message)
        await via.outcomes.add(_spread(each, carried))


def _spread(each: digests.Digest, carried: Outcome) -> list[Outcome]:
    """The carrier's outcome, and the same for every member: delivered, sending (until
    the carrier's receipt), a retry at the same time, or the same failure."""
    carried.changes = digests.carried(each, carried.changes)
    members = [
        Outcome(member, digests.follow(each, member, carried.changes), retry_at=carried.retry_at)
        for member in each.members
    ]
    return [carried, *members]


async def _attempt(
    app: Warta,
    row: ClaimedRow,
    opted_out: bool = False,
    shared: dict[uuid.UUID, content.ChannelContents] | None = None,
    *,
    message: OutboundMessage | None = None,
) -> Outcome:
    """Send one row; ``message``, when given, is sent instead of the row's own (a digest
    the row carries). Long on purpose: each outcome (sent, receipt awaited, contact gone,
    retry, failure) is written out where the exception that causes it is caught."""
    if opted_out:
        cancelled = _finished(app, row, statuses.CANCELLED)
        stopped = (
            unsubscribe.STOPPED
            if row.type == "email"
            else "recipient replied BERHENTI/STOP (to this agency, or SEMUA to all)"
        )
        return Outcome(row, replace(cancelled, failure_reason=stopped))
    try:
        if row.simulate:
            return Outcome(row, _finished(app, row, row.simulate))
        if message is None:
            message = _message(app, row, shared or {})
        result = await app.channels[row.type].send(message)
    except DeliveryError as exc:
        return _failed(app, row, exc)
    except Exception as exc:  # a bug must not strand the row: record it, keep the trace
        log.exception("delivery crashed for notification %s", row.id)
        return _failed(app, row, TechnicalFailure(type(exc).__name__))
    if row.priority == "urgent":  # the audit trail of every send that bypassed a choice
        log.info(
            "urgent %s %s sent for agency %s (quiet hours, caps and opt-outs bypassed)",
            row.type,
            row.id,
            row.agency_id,
        )
    if result.status == statuses.DELIVERED:
        delivered = _finished(app, row, statuses.DELIVERED, result.provider_reference)
        delivered = replace(delivered, provider=result.provider)
        if row.citizen_id is not None and row.type in escalation.READ_CHANNELS:
            # Push and chat report no more than "accepted": unread in the window, the
            # next channel is tried (see escalation.escalate_unanswered).
            escalate_at = app.clock() + escalation.window_for(row.priority)
            delivered = replace(delivered, escalate_at=escalate_at)
        return Outcome(row, delivered)
    # Accepted; a delivery receipt will finish it. No lease: the sweeper must not resend.
    now = app.clock()
    changes = AttemptChanges(
        row.id,
        statuses.SENDING,
        updated_at=now,
        lease_until=None,
        provider_reference=result.provider_reference,
        provider=result.provider,
    )
    if row.citizen_id is not None:  # no receipt in time: the next channel is tried
        changes = replace(changes, escalate_at=now + escalation.window_for(row.priority))
    return Outcome(row, changes, sent=result)


def _message(
    app: Warta, row: ClaimedRow, shared: dict[uuid.UUID, content.ChannelContents]
) -> OutboundMessage:
    if row.content_enc is not None:
        sealed = content.unseal(app.keyring, row.content_enc)
    else:  # a broadcast's row: the content is the broadcast's, per channel
        sealed = shared[row.broadcast_id][row.type]
    return OutboundMessage(
        notification_id=str(row.id),
        attempt=row.attempts,
        channel=row.type,
        to=app.keyring.decrypt(row.recipient_enc, field="notification.recipient"),
        sender=row.sender or "",
        body=sealed.get("text") or sealed["body"] or "",  # email: the rendered text part
        subject=sealed.get("subject"),
        html=sealed.get("html"),
        url=_inbox_url(app, row) if row.type in escalation.READ_CHANNELS else None,
        urgent=row.priority == "urgent",
        ttl=_ttl(app, row),
        # In a chat, a message comes with its questions: ask about it, stop, a person.
        options=chat_replies.with_a_message("id") if row.type == "chat" else (),
        headers=_list_unsubscribe(app, row, sealed),
        return_path=bounce_mail.return_path(app, row.id) if row.type == "email" else None,
    )


def _is_code(app: Warta, row: ClaimedRow) -> bool:
    """A one-time code an agency sent to verify a contact (``sending``'s ``secret``)."""
    return row.content_enc is not None and "secret" in content.unseal(app.keyring, row.content_enc)


def _list_unsubscribe(
    app: Warta, row: ClaimedRow, sealed: content.Content
) -> tuple[tuple[str, str], ...]:
    """Non-urgent email offers one-click unsubscribe (RFC 8058); urgent email and one-time
    codes (transactional) do not."""
    if row.type != "email" or row.priority == "urgent" or "secret" in sealed:
        return ()
    if len(row.recipient_hash) != 64:  # a keyed hash, as every sent row has
        return ()
    stop = unsubscribe.Unsubscribe(row.agency_id, row.recipient_hash, row.topic or "")
    return unsubscribe.headers(app, stop, row.id)


def _inbox_url(app: Warta, row: ClaimedRow) -> str | None:
    if row.message_id is None:
        return None
    settings = app.settings
    base = settings.public_url.rstrip("/") or f"http://{settings.host}:{settings.port}"
    return f"{base}/portal/inbox/{row.message_id}"


def _ttl(app: Warta, row: ClaimedRow) -> int:
    """How long a push service may hold it for an offline phone: until it expires, else a
    day (after that the inbox and escalation have it)."""
    if row.expires_at is None:
        return 86_400
    return max(0, min(86_400, int((row.expires_at - app.clock()).total_seconds())))


def _finished(
    app: Warta, row: ClaimedRow, status: str, reference: str | None = None
) -> AttemptChanges:
    now = app.clock()
    return AttemptChanges(
        row.id,
        status,
        updated_at=now,
        lease_until=None,
        completed_at=now,
        provider_reference=reference,
    )


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
        changes = AttemptChanges(
            row.id,
            statuses.SENDING,
            updated_at=now,
            lease_until=retry_at,
            failure_reason=reason,
        )
        return Outcome(row, changes, retry_at=retry_at)
    failed = replace(_finished(app, row, exc.final_status), failure_reason=reason)
    gone = isinstance(exc, ContactGone) and row.citizen_id is not None
    return Outcome(row, failed, gone=gone)


async def _record(app: Warta, outcomes: Sequence[Outcome]) -> None:
    callback_ids: list[uuid.UUID] = []
    due: list[dict[str, Any]] = []
    async with app.uow() as uow:
        # Parts awaiting receipts, first: a receipt's transaction (another process's, on
        # PostgreSQL) also writes parts before it locks notifications, and the same order
        # in both is what keeps the two from deadlocking.
        parts = _parts(app, outcomes)
        if parts:
            await uow.sms.link_parts(parts)
        # Recorded, a row is no worker's any more: a retry waits for its time, a receipt
        # for the provider, and no restart takes them back early.
        await uow.notifications.save_outcomes(
            [{**o.changes.as_columns(), "lease_owner": None} for o in outcomes]
        )
        finals = [o.notification for o in outcomes if o.final and not o.reroute]
        if finals:
            agencies = await agencies_by_id(uow, (n.agency_id for n in finals))
            callbacks = owe_callbacks(app, agencies, finals)
            uow.callbacks.add(*callbacks)
            callback_ids = [c.id for c in callbacks]
        if parts:  # any receipt that came first settles its notification now
            callback_ids += await settle(app, uow, {p["notification_id"] for p in parts})
        gone = [
            (o.notification.citizen_id, o.notification.type, o.notification.recipient_hash)
            for o in outcomes
            if o.gone and o.notification.citizen_id is not None
        ]
        if gone:  # routing stops choosing them; escalation below moves to the next channel
            await uow.citizens.mark_gone(gone, app.clock())
        ended = [
            o.notification.id
            for o in outcomes
            if o.notification.citizen_id is not None
            and (o.reroute or o.changes.status in escalation.FAILED)
        ]
        if ended:
            now = app.clock()
            made = await escalation.next_attempts(app, uow, ended, now)
            due = [r for r in made if r["lease_until"] is not None and r["lease_until"] <= now]
        await uow.commit()
    _count(outcomes)
    if callback_ids:
        await app.queue.submit("callback", callback_ids)
    for row in due:  # a citizen's message on its next channel, in that channel's lane
        await app.queue.submit("deliver", [row["id"]], lane=lane_of(row["type"], row["priority"]))


def _count(outcomes: Sequence[Outcome]) -> None:
    """Sends and failures, once on record (held and rerouted rows were not tried; a test
    key's simulated rows reached no provider)."""
    for o in outcomes:
        row, changes = o.notification, o.changes
        if o.reroute or row.simulate:
            continue
        provider = changes.provider if isinstance(changes.provider, str) else None
        if o.sent is not None or changes.status == statuses.DELIVERED:
            metrics.sent(row.type, provider)
        elif o.retry_at is not None:
            metrics.failed(row.type, provider, final=False)
        elif changes.status in escalation.FAILED:
            metrics.failed(row.type, provider, final=True)


def _parts(app: Warta, outcomes: Sequence[Outcome]) -> list[dict[str, Any]]:
    now = app.clock()
    return [
        {
            "provider": o.sent.provider,
            "reference": reference,
            "notification_id": o.notification.id,
            "part": number,
            "status": statuses.SENDING,
            "sent_at": now,
        }
        for o in outcomes
        if o.sent is not None and o.sent.provider is not None
        for number, reference in enumerate(o.sent.parts, start=1)
    ]
