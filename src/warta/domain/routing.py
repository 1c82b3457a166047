"""The routing policy: which channel, and when, for one notification to one citizen.

Pure: everything it needs is passed in, the clock included, so a table of cases and
hypothesis properties pin it down (tests/unit/test_routing.py). It is asked when the API
accepts a send, again just before a worker sends it (so a withdrawal or a new preference
applies at once), and for each escalation. A deferred message is asked again when it is
due, with the counts of that moment: ``route`` plans only from what it is told now.

* Channel: the first of the citizen's ordered channels with a verified contact, a body in
  the template that Warta can deliver (``available``), no opt-out of that channel and no
  earlier attempt of this message. SMS comes last for everyone with a verified phone even
  if they did not list it: it reaches every phone, and an email that bounces should not
  leave a citizen uninformed. The usable channels after the chosen one are the fallbacks
  escalation walks through.
* Time: the agency's ``scheduled_for`` is the earliest moment. From there a ``normal`` or
  ``low`` message waits out the citizen's caps (the next local midnight for the daily cap,
  the next local Monday 00:00 for the weekly one), quiet hours (to their end) and, for
  ``low`` with a digest chosen, the digest time; each in the citizen's own zone, applied
  until none holds, so the answer never lands in quiet hours or over a cap.
* Digest: the daily digest goes out at ``digest_at`` local time, or at the end of quiet
  hours when ``digest_at`` falls inside them (22:00 with quiet hours 21:00-06:00 is a
  06:00 digest: otherwise it would be pushed to the morning, and at the morning recheck to
  the next 22:00, for ever). During the hour after the digest time a low message goes at
  once: a message deferred to 18:00 and picked up at 18:00:03 is on time, not a day late.
* Expiry: a message that cannot go before ``expires_at`` is cancelled, never sent late.
* ``urgent`` (emergencies: floods, earthquakes, outbreaks) is never held back by quiet
  hours, caps or the digest, and goes through a withdrawal of consent for the *agency*
  and an opt-out of a *channel*, as an SMS BERHENTI reply promises ("kecuali pesan
  darurat") and UU PDP art. 20(2)(d) allows (vital interests). It does not go through a
  withdrawal of consent for the *topic*: that is a citizen refusing exactly this kind of
  message, a narrower and more deliberate choice than leaving an agency. Urgent still
  needs a verified contact, honours the agency's own ``scheduled_for`` and its expiry,
  and every urgent send is audited by the caller.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Final, Literal, TypeGuard, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from warta.domain.channels import ChannelName
from warta.domain.regions import ZONES
from warta.errors import InvalidInput

Priority = Literal["urgent", "normal", "low"]
Action = Literal["send", "defer", "digest", "cancel"]

#: How long an attempt may go undelivered (or unread) before the next channel is tried.
ESCALATION_WINDOWS: Final[dict[Priority, timedelta]] = {
    "urgent": timedelta(minutes=5),
    "normal": timedelta(minutes=30),
    "low": timedelta(minutes=30),
}
#: How long after the digest time a low message still goes with that day's digest.
DIGEST_HOUR: Final = timedelta(hours=1)
#: The channel every citizen with a verified phone can be reached on.
LAST_RESORT: Final[ChannelName] = "sms"

_PRIORITIES: Final = get_args(Priority)
_CONTACT_NOUNS: Final[dict[ChannelName, str]] = {
    "sms": "phone number",
    "email": "address",
    "push": "app",
    "chat": "chat account",
}
_ZONE_LABELS: Final[dict[str, str]] = {name: label for label, name in ZONES.items()}
#: A bound on the rule steps of ``_earliest``; a handful always settle it (see there).
_MAX_STEPS: Final = 16


@dataclass(frozen=True)
class QuietHours:
    """Local hours without non-urgent messages; ``start`` is in, ``end`` is out.

    They may wrap midnight (21:00-06:00, the default); ``start == end`` means none.
    """

    start: time = time(21, 0)
    end: time = time(6, 0)

    def contains(self, moment: time) -> bool:
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


@dataclass(frozen=True)
class Preferences:
    """The citizen's choices. Caps count non-urgent messages; ``zone`` is an IANA name."""

    channel_order: tuple[ChannelName, ...] = ("sms",)
    quiet_hours: QuietHours | None = QuietHours()
    max_per_day: int | None = None
    max_per_week: int | None = None  # per local ISO week, from Monday
    digest: bool = False  # low priority waits for one daily time
    digest_at: time = time(18, 0)
    zone: str = "Asia/Jakarta"

    def __post_init__(self) -> None:
        # A cap of 0 would defer every message day after day, never deciding anything.
        for name, cap in (("max_per_day", self.max_per_day), ("max_per_week", self.max_per_week)):
            if cap is not None and cap < 1:
                raise InvalidInput("%(name)s must be at least 1, or None for no limit", name=name)
        try:
            ZoneInfo(self.zone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise InvalidInput(
                "zone %(zone)s is not an IANA time zone", zone=repr(self.zone)
            ) from exc


@dataclass(frozen=True)
class Situation:
    """What the store knows now about this citizen, for this agency and topic.

    ``blocked_channels`` are the citizen's opt-outs of one channel (an SMS BERHENTI);
    a contact that cannot be reached belongs out of ``verified`` instead, since urgent
    messages go through an opt-out but cannot go through a dead contact.
    """

    verified: frozenset[ChannelName]
    available: frozenset[ChannelName]  # a body in the template and a working channel
    opted_out_agency: bool = False
    opted_out_topic: bool = False
    blocked_channels: frozenset[ChannelName] = frozenset()
    sent_today: int = 0  # non-urgent messages sent in the citizen's local day
    sent_this_week: int = 0  # ... and local ISO week
    already_tried: tuple[ChannelName, ...] = ()  # channels of earlier attempts


@dataclass(frozen=True)
class Decision:
    """``at`` is UTC: now for ``send`` and ``cancel``, later for ``defer`` and ``digest``.
    ``reasons`` are short English lines for the API's ``routing`` field."""

    action: Action
    channel: ChannelName | None  # None only for cancel
    at: datetime
    fallbacks: tuple[ChannelName, ...]
    reasons: tuple[str, ...]


def escalation_window(priority: Priority, template_window: timedelta | None) -> timedelta:
    """How long to wait for a delivery before trying the next channel: the template's
    window if it sets one, else 5 minutes for urgent and 30 for the rest."""
    check_priority(priority)
    if template_window is None:
        return ESCALATION_WINDOWS[priority]
    if template_window <= timedelta(0):
        raise InvalidInput("an escalation window must be longer than zero")
    return template_window


def usable_channels(
    prefs: Preferences, situation: Situation, *, priority: Priority = "normal"
) -> tuple[ChannelName, ...]:
    """Every channel this message may still use, best first (none if consent forbids)."""
    check_priority(priority)
    if _consent_refusal(situation, urgent=priority == "urgent"):
        return ()
    return tuple(_channels(prefs, situation, urgent=priority == "urgent")[0])


def next_channel(
    prefs: Preferences, situation: Situation, *, priority: Priority = "normal"
) -> ChannelName | None:
    """The channel escalation tries next (``already_tried`` holds the earlier attempts),
    or None when none is left. When to send it is ``route``'s answer."""
    usable = usable_channels(prefs, situation, priority=priority)
    return usable[0] if usable else None


def route(
    prefs: Preferences,
    situation: Situation,
    *,
    priority: Priority,
    now: datetime,
    expires_at: datetime | None = None,
    scheduled_for: datetime | None = None,
) -> Decision:
    """Send now, defer, wait for the digest or cancel, on which channel, and why.

    Long on purpose: the rules apply in the order the module docstring states them, and
    the reasons a decision carries are collected along the way."""
    check_priority(priority)
    now = _utc(now, "now")
    expires_at = _utc(expires_at, "expires_at") if expires_at is not None else None
    scheduled_for = _utc(scheduled_for, "scheduled_for") if scheduled_for is not None else None
    urgent = priority == "urgent"
    tz, label = ZoneInfo(prefs.zone), _ZONE_LABELS.get(prefs.zone, prefs.zone)
    reasons: list[str] = []

    def cancel(why: str) -> Decision:
        return Decision("cancel", None, now, (), (*reasons, why))

    if expires_at is not None and now >= expires_at:
        return cancel(f"expired at {_local(expires_at, tz, label)}, before it could be sent")
    refusal = _consent_refusal(situation, urgent=urgent)
    if refusal:
        return cancel(refusal)
    if urgent and situation.opted_out_agency:
        reasons.append("urgent: goes through the withdrawal of consent for this agency")
    usable, passed_over = _channels(prefs, situation, urgent=urgent)
    reasons += passed_over
    if not usable:
        return cancel("no usable channel left to reach the citizen")
    channel = usable[0]
    if channel in prefs.channel_order:
        reasons.append(f"{channel}: first usable channel in the citizen's order")
    else:
        reasons.append(f"{channel}: the last resort, not in the citizen's order")
    at = now
    if scheduled_for is not None and scheduled_for > now:
        at = scheduled_for
        reasons.append(f"scheduled by the agency for {_local(at, tz, label)}")
    digest = False
    if urgent:
        reasons.append("urgent: quiet hours, limits and the digest do not apply")
    else:
        digest = priority == "low" and prefs.digest
        at = _earliest(prefs, situation, digest=digest, now=now, at=at, reasons=reasons)
    if expires_at is not None and at >= expires_at:
        return cancel(
            f"expires at {_local(expires_at, tz, label)}, before it could be sent "
            f"at {_local(at, tz, label)}"
        )
    action: Action = "send" if at == now else ("digest" if digest else "defer")
    return Decision(action, channel, at, tuple(usable[1:]), tuple(reasons))


def _is_priority(value: str) -> TypeGuard[Priority]:
    return value in _PRIORITIES


def check_priority(priority: str) -> Priority:
    """``priority`` as a ``Priority``; ``InvalidInput`` for anything but the three."""
    if not _is_priority(priority):
        raise InvalidInput(
            "priority %(priority)s must be urgent, normal or low", priority=repr(priority)
        )
    return priority


def _utc(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InvalidInput("%(name)s must carry a time zone", name=name)
    return moment.astimezone(UTC)


def _consent_refusal(situation: Situation, *, urgent: bool) -> str | None:
    if situation.opted_out_agency and not urgent:
        return "the citizen withdrew consent for this agency"
    if situation.opted_out_topic:
        suffix = " (urgent messages too)" if urgent else ""
        return "the citizen withdrew consent for this topic" + suffix
    return None


def _channels(
    prefs: Preferences, situation: Situation, *, urgent: bool
) -> tuple[list[ChannelName], list[str]]:
    """The usable channels in order, and why each other one was passed over."""
    order = list(dict.fromkeys(prefs.channel_order))
    if LAST_RESORT not in order:
        order.append(LAST_RESORT)
    usable: list[ChannelName] = []
    reasons: list[str] = []
    for channel in order:
        if channel in situation.already_tried:
            reasons.append(f"{channel}: tried already")
        elif channel not in situation.available:
            reasons.append(f"{channel}: not available for this template")
        elif channel not in situation.verified:
            reasons.append(f"{channel}: no verified {_CONTACT_NOUNS[channel]}")
        elif channel in situation.blocked_channels and not urgent:
            reasons.append(f"{channel}: the citizen opted out of this channel")
        else:
            if channel in situation.blocked_channels:
                reasons.append(f"{channel}: opted out, but urgent messages still go")
            usable.append(channel)
    return usable, reasons


def _earliest(
    prefs: Preferences,
    situation: Situation,
    *,
    digest: bool,
    now: datetime,
    at: datetime,
    reasons: list[str],
) -> datetime:
    """The first moment from ``at`` that caps, quiet hours and the digest all allow.

    Each rule only moves the time later, so applying them until none moves it settles:
    the daily cap holds at most on the first day (a later day starts at 0), the weekly
    cap in the first week, and quiet hours and the digest time never contradict each
    other since the digest moves out of quiet hours.
    """
    tz = ZoneInfo(prefs.zone)
    label = _ZONE_LABELS.get(prefs.zone, prefs.zone)
    quiet = prefs.quiet_hours if prefs.quiet_hours and not _empty(prefs.quiet_hours) else None
    slot = _digest_slot(prefs.digest_at, quiet)
    today = now.astimezone(tz).date()
    waited_for_digest = False
    for _ in range(_MAX_STEPS):
        local = at.astimezone(tz)
        day = local.date()
        sent_day = situation.sent_today if day == today else 0
        sent_week = situation.sent_this_week if _week(day) == _week(today) else 0
        if prefs.max_per_day is not None and sent_day >= prefs.max_per_day:
            at = _at_local(day + timedelta(days=1), time(0), tz)
            why = f"daily limit {prefs.max_per_day} reached"
        elif prefs.max_per_week is not None and sent_week >= prefs.max_per_week:
            at = _at_local(day + timedelta(days=7 - day.weekday()), time(0), tz)
            why = f"weekly limit {prefs.max_per_week} reached"
        elif quiet is not None and quiet.contains(local.time()):
            at = _next_local(at, quiet.end, tz)
            why = f"quiet hours {quiet} {label}"
        elif digest and not _in_digest_hour(local, slot):
            at, waited_for_digest = _next_local(at, slot, tz), True
            why = f"low priority: waits for the daily digest at {slot:%H:%M} {label}"
            if slot != prefs.digest_at:
                why += f" ({prefs.digest_at:%H:%M} is in quiet hours)"
        else:
            if digest and not waited_for_digest:
                reasons.append(f"low priority: goes with the daily digest, {slot:%H:%M} {label}")
            return at
        reasons.append(f"{why}: deferred to {_local(at, tz, label)}")
    raise RuntimeError("routing did not settle")  # pragma: no cover - see the docstring


def _empty(quiet: QuietHours) -> bool:
    return quiet.start == quiet.end


def _digest_slot(digest_at: time, quiet: QuietHours | None) -> time:
    """The local time the digest really goes: ``digest_at``, or the end of quiet hours
    when ``digest_at`` falls in them."""
    if quiet is not None and quiet.contains(digest_at):
        return quiet.end
    return digest_at


def _in_digest_hour(local: datetime, slot: time) -> bool:
    """Whether ``local`` is within the hour after the latest digest time (which may be
    yesterday's: a 23:30 digest is still going at 00:10)."""
    naive = local.replace(tzinfo=None)
    start = datetime.combine(naive.date(), slot)
    if start > naive:
        start -= timedelta(days=1)
    return naive - start < DIGEST_HOUR


def _week(day: date) -> tuple[int, int]:
    iso = day.isocalendar()
    return iso.year, iso.week


def _at_local(day: date, wall: time, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, wall, tz).astimezone(UTC)


def _next_local(moment: datetime, wall: time, tz: ZoneInfo) -> datetime:
    """The first local ``wall`` o'clock at or after ``moment``, as UTC. Compared in UTC:
    aware datetimes sharing a tzinfo compare by wall clock, wrong across a DST change."""
    local = moment.astimezone(tz)
    candidate = _at_local(local.date(), wall, tz)
    if candidate < moment:
        candidate = _at_local(local.date() + timedelta(days=1), wall, tz)
    return candidate


def _local(moment: datetime, tz: ZoneInfo, label: str) -> str:
    return f"{moment.astimezone(tz):%Y-%m-%d %H:%M} {label}"
