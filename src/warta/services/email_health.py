"""An agency's email health per WIB day, for the console's dashboard: the email it sent,
the hard and soft bounces and complaints about that email, and the rates mailbox providers
judge a sender by (``domain/email_health.py``: the thresholds and why).

A report counts on the day its email was made, as the dashboard counts the email itself,
so each rate is a share of the same messages: a bounce that comes the next morning for
yesterday evening's email raises yesterday's rate. Cheap: one GROUP BY over the reports
kept (``email_feedback``, by agency and day), the sends being counted by the dashboard
already.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from warta.deps import Warta
from warta.domain import email_health
from warta.services.reports import WIB


@dataclass(frozen=True)
class HealthDay:
    day: date  # WIB
    sent: int  # email the dashboard counts as sent that day
    hard: int = 0
    soft: int = 0
    complaints: int = 0

    @property
    def hard_rate(self) -> float:
        return email_health.rate(self.hard, self.sent)

    @property
    def complaint_rate(self) -> float:
        return email_health.rate(self.complaints, self.sent)

    @property
    def warnings(self) -> tuple[email_health.Warning, ...]:
        return email_health.warnings(sent=self.sent, hard=self.hard, complaints=self.complaints)


async def per_day(
    app: Warta, agency_id: uuid.UUID, days: Sequence[date], sent: Sequence[int]
) -> list[HealthDay]:
    """One ``HealthDay`` per day of ``days`` (consecutive, oldest first); ``sent``: the
    email sent on each, as the dashboard counted it."""
    if not days:
        return []
    bounds = [datetime.combine(d, time(), WIB) for d in days]
    bounds.append(datetime.combine(days[-1] + timedelta(days=1), time(), WIB))
    async with app.uow() as uow:
        counted = await uow.email_feedback.daily_counts(agency_id, bounds)
    found: dict[tuple[str, int], int] = {(kind, day): n for kind, day, n in counted}
    return [
        HealthDay(
            day,
            sent[i],
            hard=found.get(("hard", i), 0),
            soft=found.get(("soft", i), 0),
            complaints=found.get(("complaint", i), 0),
        )
        for i, day in enumerate(days)
    ]
