"""Writing a change to a case: its event, the next deadline, and the webhook it owes.

Every path that changes a case (filing, the agency's updates, the citizen's answer, the
timers) records it here, in the caller's unit of work, so the timeline, the deadline and
the agency's webhook can never disagree after a crash.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from warta.deps import Warta
from warta.domain import cases as rules
from warta.domain import workdays
from warta.domain.regions import Zone, parse_region, zone_of
from warta.errors import BadRequest, InvalidInput
from warta.services.cases.types import Actor
from warta.store.ids import new_id
from warta.store.models import Callback, Case, CaseEvent
from warta.store.uow import UnitOfWork


@dataclass
class Recorded:
    """What a unit of work wrote, to act on once it commits."""

    events: list[uuid.UUID] = field(default_factory=list)
    callbacks: list[uuid.UUID] = field(default_factory=list)
    told: list[uuid.UUID] = field(default_factory=list)  # events the citizen is owed


async def record(
    app: Warta,
    uow: UnitOfWork,
    case: Case,
    actor: Actor,
    kind: str,
    done: Recorded,
    *,
    to_status: str | None = None,
    public_message: str | None = None,
    internal_note: str | None = None,
    update_id: str | None = None,
    tell: bool = False,
    now: datetime,
) -> CaseEvent:
    """Add one event to ``case`` (moving it to ``to_status`` if given, with a new step
    deadline) and owe the owning agency its webhook."""
    from_status = case.status
    if to_status is not None and to_status != case.status:
        case.status = to_status
        await restart_step(app, uow, case, now)
        if to_status == "resolved":
            case.resolved_at = now
        elif to_status != "closed":
            case.resolved_at = None  # reopened, back in progress, rejected, a duplicate
    elif kind == "update" and rules.STEP_OF.get(case.status) == "follow_up":
        # A public follow-up is what the agency owes: it restarts the follow-up clock.
        await restart_step(app, uow, case, now)
    case.updated_at = now
    event = CaseEvent(
        id=new_id(),  # time-ordered: events of one instant keep the order they were made
        case_id=case.id,
        agency_id=case.agency_id,
        at=now,
        kind=kind,
        from_status=from_status if to_status is not None and kind != "filed" else None,
        to_status=to_status,
        public_message_enc=seal(app, public_message, "case.public_message"),
        internal_note_enc=seal(app, internal_note, "case.internal_note"),
        actor_kind=actor.kind,
        actor_id=actor.id,
        update_id=update_id,
        tell=tell,
        told_at=None,
    )
    uow.cases.add(event)
    done.events.append(event.id)
    if tell:
        done.told.append(event.id)
    await owe_webhook(uow, case, event, case.agency_id, done, now)
    return event


async def owe_webhook(
    uow: UnitOfWork,
    case: Case,
    event: CaseEvent,
    agency_id: uuid.UUID,
    done: Recorded,
    now: datetime,
) -> None:
    """A signed webhook of the event to the agency, if it has a callback URL (never for a
    test-key case: no real system is listening for those)."""
    agency = await uow.agencies.get(agency_id)
    if agency is None or not agency.callback_url or case.key_type == "test":
        return
    callback = Callback(
        id=uuid.uuid4(),
        case_event_id=event.id,
        agency_id=None if agency_id == event.agency_id else agency_id,
        status="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    uow.callbacks.add(callback)
    done.callbacks.append(callback.id)


async def restart_step(app: Warta, uow: UnitOfWork, case: Case, now: datetime) -> None:
    """Start the timer of the case's status (none for a final one), in working days."""
    case.step_started_at = now
    case.breached_at = None
    step = rules.STEP_OF.get(case.status)
    if step is None:
        case.due_at = None
        return
    days = {
        "verify": app.settings.case_verify_days,
        "follow_up": app.settings.case_follow_up_days,
        "citizen_answer": app.settings.case_close_days,
        "reopen_window": app.settings.case_close_days,
    }[step]
    days_off = await uow.cases.days_off(case.agency_id)
    case.due_at = workdays.deadline(now, days, zone_for(case.region_code), days_off)


def zone_for(region_code: str | None) -> Zone:
    """The case's own zone: its deadline ends at midnight where it happened."""
    if not region_code:
        return "WIB"
    try:
        return zone_of(parse_region(region_code))
    except InvalidInput:
        return "WIB"


def seal(app: Warta, text: str | None, name: str) -> bytes | None:
    return app.keyring.encrypt(text, field=name) if text else None


def check_message(text: str | None, name: str) -> str | None:
    """A public message or note: trimmed, None when empty, refused when too long or when
    it holds a NUL (which PostgreSQL cannot store and no person types)."""
    if text is None or not text.strip():
        return None
    if len(text) > rules.MAX_MESSAGE:
        raise BadRequest("at most %(max)s characters", field=name, max=rules.MAX_MESSAGE)
    if "\x00" in text:
        raise BadRequest("cannot contain a NUL character", field=name)
    return text.strip()
