"""The dashboard: sent, delivered and failed per channel and WIB day, for 7 or 30 days,
and the email's bounce and complaint rates per day with their warnings (issue 19).

Charts are inline SVG drawn here on the server (no script, no chart library); each one
has an accessible name and is followed by a table of the same numbers, which is what a
screen reader or a page without styles gets.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated

from babel.numbers import format_decimal
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from warta.api.console.web import AppDep, allowed, page
from warta.api.pages import language_of
from warta.services import email_health, reports
from warta.services.reports import Tally
from warta.services.staff import Member

router = APIRouter()
Viewer = Annotated[Member, Depends(allowed("view"))]

WIDTH, PLOT, TOP, LEFT, RIGHT, BOTTOM = 640, 140, 12, 40, 16, 22
STACK = ("delivered", "failed", "sending")  # bottom to top


@dataclass(frozen=True)
class Segment:
    group: str
    y: float
    height: float
    count: int


@dataclass(frozen=True)
class Bar:
    day: date
    x: float
    width: float
    segments: list[Segment]
    label: str  # the day under the bar; empty where 30 bars would crowd


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: int  # the plot's left edge: the scale's numbers sit before it
    top: int  # the plot's top: where the scale's highest number sits
    baseline: float
    most: int  # the top of the scale
    bars: list[Bar]


def chart(days: list[date], tallies: list[Tally]) -> Chart:
    """Stacked bars, one per day: delivered, then failed, then still sending."""
    most = max([t.sent for t in tallies] + [1])
    slot = (WIDTH - LEFT - RIGHT) / len(days)
    baseline = TOP + PLOT
    bars = []
    for i, (day, tally) in enumerate(zip(days, tallies, strict=True)):
        y, segments = baseline, []
        for group in STACK:
            count = getattr(tally, group)
            if count:
                height = PLOT * count / most
                y -= height
                segments.append(Segment(group, round(y, 2), round(height, 2), count))
        labelled = (len(days) - 1 - i) % 5 == 0 or len(days) <= 7  # counted back from today
        bars.append(
            Bar(
                day,
                round(LEFT + i * slot + slot * 0.15, 2),
                round(slot * 0.7, 2),
                segments,
                f"{day.day}/{day.month}" if labelled else "",
            )
        )
    return Chart(WIDTH, TOP + PLOT + BOTTOM, LEFT, TOP, baseline, most, bars)


@router.get("/")
async def dashboard(request: Request, app: AppDep, me: Viewer, days: int = 7) -> Response:
    report = await reports.dashboard(app, me.agency_id, days)
    charts = {c: chart(report.days, report.by_channel[c]) for c in reports.CHANNELS}
    sent = [t.sent for t in report.by_channel["email"]]
    health = await email_health.per_day(app, me.agency_id, report.days, sent)
    language = language_of(request)
    return page(
        request,
        me,
        "dashboard",
        report=report,
        charts=charts,
        span=days,
        spans=reports.SPANS,
        channels=reports.CHANNELS,
        health=health,
        percent=lambda share: f"{format_decimal(share * 100, '0.00', locale=language)}%",
    )
