"""The routing policy: which channel, and when, for one notification to one citizen.

Pure: everything it needs is passed in, the clock included, so a table of cases and
hypothesis properties pin it down (tests/unit/test_routing.py).

* Channel: the first of the citizen's ordered channels that has a verified contact, a
  body in the template and a working channel in Warta, that the citizen has not blocked
  (an SMS BERHENTI) and that this message has not tried yet. SMS comes last for everyone
  who has a verified phone, even if they did not list it: it reaches every phone.
* Consent: a withdrawal for the agency or for the topic cancels the message.
* Quiet hours (local time, default 21:00-06:00) defer ``normal`` and ``low`` to their end.
* Caps: a ``normal``/``low`` message over the citizen's daily or weekly cap waits for the
  next local day or week (and quiet hours apply to that moment too).
* Digest: ``low`` messages for a citizen who chose a digest wait for the daily digest time
  (and go out at once during the hour after it).
* ``urgent`` (emergencies: disasters, outbreaks) ignores quiet hours, caps, digests and
  withdrawals of consent, as UU PDP allows processing to protect vital interests (art.
  20(2)(d)); it still needs a verified contact. Every urgent send is audited by the caller.
* Expiry: a message that could not be sent before ``expires_at`` is cancelled, never
  sent late.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

ChannelKind = Literal["sms", "email", "push", "chat"]
Priority = Literal["urgent", "normal", "low"]
Action = Literal["send", "defer", "digest", "cancel"]

#: How long an attempt may go undelivered (or unread) before the next channel is tried.
ESCALATION_WINDOWS: dict[Priority, timedelta] = {
    "urgent": timedelta(minutes=5),
    "normal": timedelta(minutes=30),
    "low": timedelta(minutes=30),
}
DIGEST_HOUR = timedelta(hours=1)
_NOUNS = {"sms": "phone", "email": "address", "push": "app", "chat": "chat"}


@dataclass(frozen=True)
class QuietHours:
    start: time = time(21, 0)
    end: time = time(6, 0)

    def contains(self, moment: time) -> bool:
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end  # wraps midnight

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


@dataclass(frozen=True)
class Preferences:
    channel_order: tuple[ChannelKind, ...] = ("sms",)
    quiet_hours: QuietHours | None = QuietHours()
    max_per_day: int | None = None
    max_per_week: int | None = None
    digest: bool = False
    digest_at: time = time(18, 0)
    zone: str = "Asia/Jakarta"


@dataclass(frozen=True)
class Situation:
    """What the store knows now about this citizen, for this agency and topic."""

    verified: frozenset[ChannelKind]
    available: frozenset[ChannelKind]
    opted_out_agency: bool = False
    opted_out_topic: bool = False
    blocked_channels: frozenset[ChannelKind] = frozenset()
    sent_today: int = 0
    sent_this_week: int = 0
    already_tried: tuple[ChannelKind, ...] = ()


@dataclass(frozen=True)
class Decision:
    action: Action
    channel: ChannelKind | None
    at: datetime
    fallbacks: tuple[ChannelKind, ...]
    reasons: tuple[str, ...]


def escalation_window(priority: Priority, template_window: timedelta | None) -> timedelta:
    return template_window if template_window is not None else ESCALATION_WINDOWS[priority]


def channels(
    prefs: Preferences, situation: Situation, *, urgent: bool
) -> tuple[list[ChannelKind], list[str]]:
    """The usable channels in order, and why each other one was passed over."""
    order = list(prefs.channel_order)
    if "sms" not in order:
        order.append("sms")  # the last resort for everyone with a phone
    usable: list[ChannelKind] = []
    reasons: list[str] = []
    for channel in order:
        if channel in situation.already_tried:
            reasons.append(f"{channel}: tried already")
        elif channel not in situation.available:
            reasons.append(f"{channel}: not available for this template")
        elif channel not in situation.verified:
            reasons.append(f"{channel}: no verified {_NOUNS[channel]}")
        elif channel in situation.blocked_channels and not urgent:
            reasons.append(f"{channel}: the citizen opted out of this channel")
        else:
            usable.append(channel)
    return usable, reasons


def route(
    prefs: Preferences,
    situation: Situation,
    *,
    priority: Priority,
    now: datetime,
    expires_at: datetime | None = None,
    scheduled_for: datetime | None = None,
) -> Decision:
    urgent = priority == "urgent"
    reasons: list[str] = []

    def cancel(why: str) -> Decision:
        return Decision("cancel", None, now, (), (*reasons, why))

    if expires_at is not None and now >= expires_at:
        return cancel("expired before it could be sent")
    if not urgent and situation.opted_out_agency:
        return cancel("the citizen withdrew consent for this agency")
    if not urgent and situation.opted_out_topic:
        return cancel("the citizen withdrew consent for this topic")
    usable, passed_over = channels(prefs, situation, urgent=urgent)
    reasons += passed_over
    if not usable:
        return cancel("no channel left to reach the citizen")
    channel, fallbacks = usable[0], tuple(usable[1:])
    reasons.append(f"{channel}: first usable channel in the citizen's order")
    at = max(now, scheduled_for) if scheduled_for is not None else now
    if scheduled_for is not None and scheduled_for > now:
        reasons.append("scheduled by the agency")
    digest = False
    if urgent:
        reasons.append("urgent: quiet hours and limits do not apply")
    else:
        at, digest, timing = _when(prefs, situation, priority, now, at)
        reasons += timing
    if expires_at is not None and at >= expires_at:
        return cancel("expires before it could be sent")
    action: Action = "send" if at <= now else ("digest" if digest else "defer")
    return Decision(action, channel, at, fallbacks, tuple(reasons))


def _when(
    prefs: Preferences, situation: Situation, priority: Priority, now: datetime, at: datetime
) -> tuple[datetime, bool, list[str]]:
    """The earliest moment from ``at`` that quiet hours, caps and digests allow."""
    tz = ZoneInfo(prefs.zone)
    zone = _zone_name(prefs.zone)
    reasons: list[str] = []
    digest = priority == "low" and prefs.digest
    if digest:
        at = _next_digest(at, prefs.digest_at, tz)
        reasons.append(f"low priority: waits for the daily digest, {prefs.digest_at:%H:%M} {zone}")
    today, this_week = _local_day(now, tz), _week(_local_day(now, tz))
    for _ in range(8):  # each step moves later; a few steps always settle
        local = at.astimezone(tz)
        day = local.date()
        sent_day = situation.sent_today if day == today else 0
        sent_week = situation.sent_this_week if _week(day) == this_week else 0
        if prefs.max_per_day is not None and sent_day >= prefs.max_per_day:
            at = _midnight(day + timedelta(days=1), tz)
            reasons.append(f"daily limit {prefs.max_per_day} reached: waits for the next day")
            continue
        if prefs.max_per_week is not None and sent_week >= prefs.max_per_week:
            monday = day + timedelta(days=7 - day.weekday())
            at = _midnight(monday, tz)
            reasons.append(f"weekly limit {prefs.max_per_week} reached: waits for Monday")
            continue
        quiet = prefs.quiet_hours
        if quiet is not None and quiet.contains(local.time()):
            at = _next_time_of_day(at, quiet.end, tz)
            reasons.append(f"quiet hours {quiet} {zone}: waits until {quiet.end:%H:%M}")
            continue
        break
    return at, digest, reasons


def _next_digest(moment: datetime, digest_at: time, tz: ZoneInfo) -> datetime:
    """The digest's time, or ``moment`` itself within the hour the digest goes out: a
    message deferred to 18:00 and picked up at 18:00:03 is on time, not a day late."""
    local = moment.astimezone(tz)
    start = datetime.combine(local.date(), digest_at, tz)
    if start <= local < start + DIGEST_HOUR:
        return moment
    return _next_time_of_day(moment, digest_at, tz)


def _zone_name(zone: str) -> str:
    return {"Asia/Jakarta": "WIB", "Asia/Makassar": "WITA", "Asia/Jayapura": "WIT"}.get(zone, zone)


def _local_day(moment: datetime, tz: ZoneInfo) -> date:
    return moment.astimezone(tz).date()


def _week(day: date) -> tuple[int, int]:
    iso = day.isocalendar()
    return iso[0], iso[1]


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tz).astimezone(UTC)


def _next_time_of_day(moment: datetime, wanted: time, tz: ZoneInfo) -> datetime:
    """The first local ``wanted`` o'clock at or after ``moment`` (as UTC)."""
    local = moment.astimezone(tz)
    candidate = datetime.combine(local.date(), wanted, tz)
    if candidate < local:
        candidate += timedelta(days=1)
    return candidate.astimezone(UTC)
