"""What a bounce or a complaint does (issue 19; docs/email.md "Bounces and complaints").

The bounce listener reads each report into a ``Feedback`` (``domain/bounces.py``) and calls
``record``; one transaction keeps the report and acts on it:

- **hard bounce**: the email, ``delivered`` since the relay took it, becomes
  ``permanent-failure`` with the bounce's reason, and so does every notification the same
  email carried (a digest); each agency gets its callback again with the new status; the
  citizen's address is marked gone, as a dead push subscription is
  (``uow.citizens.mark_gone``), so routing stops choosing it; and the message goes on to
  its next channel now, as after any failed attempt (``escalation.next_attempts``).
- **soft bounce**: kept; once the address soft-bounced ``SOFT_BOUNCE_REPEATS`` different
  emails within ``SOFT_BOUNCE_WINDOW`` (``domain/email_health.py`` says why), those
  emails become ``temporary-failure``, with callbacks and escalation as above.
- **complaint**: the address is opted out of the agency's non-urgent email
  (``uow.email_opt_outs``, source ``complaint``); the status stays: it did arrive.
- **unmatched** (no notification, or no email of that id): counted and dropped.

A report about a notification already failed, cancelled or not yet sent changes no status.
The same report twice changes nothing the second time (one row per notification and kind).
Nothing here is logged but ids, kinds and status codes.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from warta import metrics
from warta.deps import Warta, lane_of
from warta.domain import email_health, statuses
from warta.domain.bounces import Feedback
from warta.services import escalation
from warta.services.callbacks import owe_callbacks
from warta.services.receipts import agencies_by_id
from warta.store.repositories.email_feedback import EmailRow
from warta.store.uow import UnitOfWork

log = logging.getLogger(__name__)

#: ``matched``: kept and acted on; ``repeated``: already kept, nothing done;
#: ``unmatched``: no email notification has that id (counted and dropped).
Recorded = Literal["matched", "repeated", "unmatched"]


@dataclass
class _Effects:
    """What the transaction owes once committed: callbacks, and the next attempts due."""

    callbacks: list[uuid.UUID] = field(default_factory=list)
    due: list[dict[str, Any]] = field(default_factory=list)


async def record(app: Warta, feedback: Feedback) -> Recorded:
    """Keep one report and do what it says (see the module's docstring)."""
    now = app.clock()
    async with app.uow() as uow:
        rows = await uow.email_feedback.lock_email(feedback.notification_id)
        if not rows:
            uow.email_feedback.keep_unmatched(feedback.kind, feedback.status, now)
            await uow.commit()
            metrics.email_feedback_unmatched()
            log.info("a %s report matched no email: counted and dropped", feedback.kind)
            return "unmatched"
        new = await uow.email_feedback.keep(feedback, rows, now)
        fresh = [r for r in rows if r.id in new]
        effects = await _act(app, uow, feedback, fresh) if fresh else _Effects()
        await uow.commit()
    if not fresh:
        return "repeated"
    _count(feedback, len(fresh))
    await _submit(app, effects)
    return "matched"


def _count(feedback: Feedback, notifications: int) -> None:
    if feedback.kind == "complaint":
        metrics.email_complaint()
    else:
        metrics.email_bounce(feedback.kind)
    log.info(
        "%s report %s for email %s: %d notification(s)",
        feedback.kind,
        feedback.status or "-",
        feedback.notification_id,
        notifications,
    )


async def _act(
    app: Warta, uow: UnitOfWork, feedback: Feedback, rows: Sequence[EmailRow]
) -> _Effects:
    act = {"hard": _hard, "soft": _soft, "complaint": _complaint}[feedback.kind]
    return await act(app, uow, feedback, rows)


async def _hard(
    app: Warta, uow: UnitOfWork, feedback: Feedback, rows: Sequence[EmailRow]
) -> _Effects:
    now = app.clock()
    changed = await uow.email_feedback.fail_delivered(
        (r.id for r in rows),
        status=statuses.PERMANENT_FAILURE,
        reason=failure_reason(feedback),
        now=now,
    )
    gone = [(r.citizen_id, "email", r.recipient_hash) for r in rows if r.citizen_id]
    if gone:  # routing stops choosing it; escalation (``_changed``) moves to the next channel
        await uow.citizens.mark_gone(gone, now)
    return await _changed(app, uow, rows, changed)


async def _soft(
    app: Warta, uow: UnitOfWork, feedback: Feedback, rows: Sequence[EmailRow]
) -> _Effects:
    """The address's soft-bounced emails fail once there are enough of them."""
    now = app.clock()
    address = rows[0].recipient_hash  # a digest's notifications share their address
    if not address:  # erased: no address left to count against
        return _Effects()
    since = now - email_health.SOFT_BOUNCE_WINDOW
    bounced = await uow.email_feedback.soft_bounces_of(address, since)
    if not email_health.soft_bounces_fail((at for at, _ in bounced.values()), now):
        return _Effects()
    changed = await uow.email_feedback.fail_delivered(
        [n for _, carried in bounced.values() for n in carried],
        status=statuses.TEMPORARY_FAILURE,
        reason=failure_reason(feedback, repeated=len(bounced)),
        now=now,
    )
    return await _changed(app, uow, await uow.notifications.of_ids(changed), changed)


async def _complaint(
    app: Warta, uow: UnitOfWork, feedback: Feedback, rows: Sequence[EmailRow]
) -> _Effects:
    """Opt the address out of the non-urgent email of each agency the email was from."""
    now = app.clock()
    for agency_id, address in {(r.agency_id, r.recipient_hash) for r in rows}:
        if address:
            await uow.email_opt_outs.opt_out(agency_id, address, "", now, "complaint")
    return _Effects()


async def _changed(
    app: Warta, uow: UnitOfWork, rows: Sequence[Any], changed: set[uuid.UUID]
) -> _Effects:
    """Callbacks owed for the notifications whose status changed, and each citizen's
    message on its next channel (a new attempt, due now)."""
    finished = [r for r in rows if r.id in changed]
    if not finished:
        return _Effects()
    now = app.clock()
    agencies = await agencies_by_id(uow, (r.agency_id for r in finished))
    callbacks = owe_callbacks(app, agencies, finished)
    uow.callbacks.add(*callbacks)
    ended = [r.id for r in finished if r.citizen_id is not None]
    made = await escalation.next_attempts(app, uow, ended, now)
    due = [r for r in made if r["lease_until"] is not None and r["lease_until"] <= now]
    return _Effects([c.id for c in callbacks], due)


async def _submit(app: Warta, effects: _Effects) -> None:
    if effects.callbacks:
        await app.queue.submit("callback", effects.callbacks)
    for row in effects.due:  # a citizen's message on its next channel, in that lane
        await app.queue.submit("deliver", [row["id"]], lane=lane_of(row["type"], row["priority"]))


def failure_reason(feedback: Feedback, repeated: int = 0) -> str:
    """What the agency reads as the failure: the status code and the redacted diagnostic.

    >>> from warta.domain.bounces import Feedback
    >>> failure_reason(Feedback("hard", None, "5.1.1", "550 5.1.1 <address>: User unknown"))
    'bounced: 550 5.1.1 <address>: User unknown'
    >>> failure_reason(Feedback("hard", None, "5.2.1", "mailbox disabled"))
    'bounced: 5.2.1 mailbox disabled'
    >>> failure_reason(Feedback("soft", None, "4.2.2", "mailbox full"), repeated=3)
    'soft-bounced 3 emails to this address in 3 days; last: 4.2.2 mailbox full'
    """
    said = feedback.reason
    if feedback.status not in said:
        said = f"{feedback.status} {said}".strip()
    if repeated:
        days = email_health.SOFT_BOUNCE_WINDOW.days
        said = f"soft-bounced {repeated} emails to this address in {days} days; last: {said}"
    else:
        said = f"bounced: {said}"
    return said[:255]
