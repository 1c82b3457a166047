"""The case timers, run by the sweeper: a missed agency deadline is flagged (shown in the
console, the agency's supervisors emailed), and a case whose citizen did not answer within
the window closes by itself (and the citizen is told).

Deadlines are ends of working days (``domain.workdays``), so the sweeper's 15 seconds are
all the precision they need.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from warta.deps import Warta
from warta.domain import cases as rules
from warta.services.cases import recording, telling
from warta.services.cases.types import SYSTEM


async def run_timers(app: Warta, now: datetime) -> int:
    """Act on every case whose step has ended; returns how many."""
    async with app.uow() as uow:
        due = await uow.cases.due(now)
    for case_id in due:
        await _act(app, case_id, now)
    return len(due)


async def _act(app: Warta, case_id: uuid.UUID, now: datetime) -> None:
    done = recording.Recorded()
    async with app.uow() as uow:
        case = await uow.cases.get(case_id, for_update=True)
        if case is None or case.due_at is None or case.due_at > now:
            return  # changed since it was found
        step = rules.STEP_OF.get(case.status)
        if step in rules.AGENCY_STEPS:
            if case.breached_at is not None:
                return
            case.breached_at = now
            case.within_deadline = False
            # ``tell`` on a breach tells the supervisors (``telling``), as crash-safely
            # as a citizen is told.
            await recording.record(app, uow, case, SYSTEM, "breach", done, tell=True, now=now)
        elif step is not None:
            await recording.record(
                app, uow, case, SYSTEM, "status", done, to_status="closed", tell=True, now=now
            )
        await uow.commit()
    await telling.after_commit(app, done)
