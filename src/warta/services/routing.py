"""Routing a notification to a citizen: gather what the store knows about them and ask the
pure policy (``warta.domain.routing``); ``services/attempts.py`` turns the decision into
an attempt row.

Used when the API accepts a send, when a worker is about to deliver it (preferences and
consent may have changed since; a withdrawal applies at once), when an attempt fails or
goes unanswered (escalation), and by broadcast fan-out, many citizens at a time.
"""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from warta.deps import Warta
from warta.domain import routing, trust
from warta.domain.channels import ChannelName, is_channel
from warta.domain.regions import ZONES
from warta.services.citizens import routing_preferences
from warta.store.models import Citizen
from warta.store.uow import UnitOfWork

#: How far back sends are counted for caps: a local week is at most 7 days and a bit.
CAP_LOOKBACK = timedelta(days=8)
#: A citizen's zone (WIB, WITA, WIT) as its IANA name.
_IANA: Final[dict[str, str]] = {label: name for label, name in ZONES.items()}

#: A verified contact: its id, its encrypted value and the value's lookup hash.
Contact = tuple[uuid.UUID, bytes, str]


@dataclass
class Known:
    """What routing needs of one citizen, read in one go for a batch."""

    citizen: Citizen
    #: The contact of each channel this agency's messages go to: of the verified, working
    #: contacts it may use, its own first, else the citizen's (``trust.pick_contact``).
    contacts: dict[ChannelName, Contact] = field(default_factory=dict)
    opt_outs: set[str] = field(default_factory=set)
    sms_stopped: bool = False  # the phone replied BERHENTI/STOP to this agency
    #: What the email address unsubscribed from: "" all this agency's, or topic slugs.
    email_stopped: frozenset[str] = frozenset()
    sent: list[datetime] = field(default_factory=list)


def deliverable(app: Warta) -> frozenset[ChannelName]:
    """Channels this Warta can send on: SMS and email always, push and chat once set up."""
    return frozenset(app.channels)


async def gather(
    uow: UnitOfWork,
    citizens: Iterable[Citizen],
    agency_id: uuid.UUID,
    now: datetime,
    routing_now: Iterable[uuid.UUID] = (),
) -> dict[uuid.UUID, Known]:
    """``routing_now``: message ids being decided, left out of the caps' counts."""
    known = {c.id: Known(c) for c in citizens}
    if not known:
        return known
    for citizen_id, contacts in _usable(await uow.citizens.verified(known, agency_id)).items():
        known[citizen_id].contacts = _picked(contacts, agency_id)
    for citizen_id, topics in (await uow.citizens.opt_outs(known, agency_id)).items():
        known[citizen_id].opt_outs = topics
    # Counts matter only under a cap; most citizens set none, and a broadcast to a million
    # should not count what nobody limits.
    capped = [
        citizen_id
        for citizen_id, entry in known.items()
        if entry.citizen.max_per_day is not None or entry.citizen.max_per_week is not None
    ]
    if capped:
        since = now - CAP_LOOKBACK
        counted = await uow.citizens.sent_counts(capped, since, routing_now)
        for citizen_id, times in counted.items():
            known[citizen_id].sent = times
    phones: dict[str, list[Known]] = {}  # a family often shares one phone
    for entry in known.values():
        if "sms" in entry.contacts:
            phones.setdefault(entry.contacts["sms"][2], []).append(entry)
    for _, phone_hash in await uow.sms.opted_out((agency_id, h) for h in phones):
        for entry in phones[phone_hash]:
            entry.sms_stopped = True
    addresses: dict[str, list[Known]] = {}
    for entry in known.values():
        if "email" in entry.contacts:
            addresses.setdefault(entry.contacts["email"][2], []).append(entry)
    stops = await uow.email_opt_outs.stopped_topics(agency_id, addresses)
    for address_hash, topics in stops.items():
        for entry in addresses[address_hash]:
            entry.email_stopped = frozenset(topics)
    return known


def _usable(rows: Iterable[Any]) -> dict[uuid.UUID, list[Any]]:
    """Contact rows (oldest first) by citizen."""
    found: dict[uuid.UUID, list[Any]] = {}
    for row in rows:
        found.setdefault(row.citizen_id, []).append(row)
    return found


def _picked(rows: list[Any], agency_id: uuid.UUID) -> dict[ChannelName, Contact]:
    """Of one citizen's usable contacts, the one of each channel this agency's message goes
    to (``trust.pick_contact``: one it proved itself first, else the citizen's own)."""
    picked: dict[ChannelName, Contact] = {}
    for kind in dict.fromkeys(row.kind for row in rows):
        of_kind = [row for row in rows if row.kind == kind]
        choices = [trust.ContactChoice(r.id, r.scope, n) for n, r in enumerate(of_kind)]
        chosen = trust.pick_contact(choices, agency_id)
        if chosen is not None and is_channel(kind):
            row = of_kind[chosen.created_at_order]
            picked[kind] = (row.id, row.value_enc, row.value_hash)
    return picked


def known_of_batch(
    rows: Iterable[Any], sent: Iterable[tuple[Any, datetime]], topic: str | None
) -> list[Known]:
    """What routing needs of a broadcast's batch, from ``warta.store.broadcast_batches``: its
    ``batch`` rows (a citizen per contact, the broadcasting agency's own contacts before
    the citizen's, as ``trust.pick_contact`` chooses) and ``sent_between``'s sends."""
    known: dict[Any, Known] = {}
    for row in rows:
        entry = known.get(row.id)
        if entry is None:
            entry = known[row.id] = Known(row)
            if row.opted_out:
                entry.opt_outs.add("")
            if row.opted_out_topic:
                entry.opt_outs.add(topic or "")
        if row.kind is not None and row.kind not in entry.contacts:
            entry.contacts[row.kind] = (row.contact_id, row.value_enc, row.value_hash)
            if row.kind == "sms":
                entry.sms_stopped = bool(row.stopped)
            elif row.kind == "email" and row.stopped:  # from the agency, or this topic
                entry.email_stopped = frozenset({topic or ""})
    for citizen_id, sent_at in sent:
        if citizen_id in known:
            known[citizen_id].sent.append(sent_at)
    return list(known.values())


def _counts(sent: list[datetime], zone: str, now: datetime) -> tuple[int, int]:
    """Non-urgent messages sent in the citizen's local day and local (ISO) week."""
    if not sent:
        return 0, 0
    tz = ZoneInfo(zone)
    today = now.astimezone(tz).date()
    days = [t.astimezone(tz).date() for t in sent]
    week = today.isocalendar()[:2]
    return (
        sum(1 for d in days if d == today),
        sum(1 for d in days if d.isocalendar()[:2] == week),
    )


@dataclass(frozen=True)
class Ask:
    """One message's side of a routing question, in the store's words (a priority and
    channels as rows and sealed contents spell them); ``decide`` checks them."""

    topic: str | None
    priority: str
    available: frozenset[str]
    expires_at: datetime | None = None
    scheduled_for: datetime | None = None
    already_tried: tuple[str, ...] = ()


def decide(known: Known, ask: Ask, now: datetime) -> routing.Decision:
    prefs = routing_preferences(known.citizen)
    today, week = _counts(known.sent, prefs.zone, now)
    situation = routing.Situation(
        verified=frozenset(known.contacts),
        available=frozenset(c for c in ask.available if is_channel(c)),
        opted_out_agency="" in known.opt_outs,
        opted_out_topic=bool(ask.topic) and ask.topic in known.opt_outs,
        blocked_channels=_blocked(known, ask.topic),
        sent_today=today,
        sent_this_week=week,
        already_tried=tuple(c for c in ask.already_tried if is_channel(c)),
    )
    return _route(prefs, situation, ask.priority, now, ask.expires_at, ask.scheduled_for)


def _blocked(known: Known, topic: str | None) -> frozenset[ChannelName]:
    """Channels opted out of: SMS by BERHENTI, email by its unsubscribe link (for the
    whole agency, or for this message's topic)."""
    blocked: set[ChannelName] = {"sms"} if known.sms_stopped else set()
    if "" in known.email_stopped or (topic and topic in known.email_stopped):
        blocked.add("email")
    return frozenset(blocked)


def decide_all(entries: Iterable[Known], ask: Ask, now: datetime) -> list[routing.Decision]:
    """``decide`` for many citizens at one moment. Most of a broadcast's citizens ask the
    same question (preferences, channels, consent, past sends), so each is answered once."""
    answers: dict[tuple[Any, ...], routing.Decision] = {}
    decisions = []
    for known in entries:
        c = known.citizen
        question = (
            c.channel_order,
            c.quiet_start,
            c.quiet_end,
            c.max_per_day,
            c.max_per_week,
            c.digest,
            c.digest_at,
            c.zone,
            frozenset(known.contacts),
            frozenset(known.opt_outs),
            known.sms_stopped,
            known.email_stopped,
            tuple(known.sent),
        )
        decision = answers.get(question)
        if decision is None:
            decision = answers[question] = decide(known, ask, now)
        decisions.append(decision)
    return decisions


# The policy is pure and its inputs hashable, so equal questions share one answer: in a
# fan-out most citizens ask the same question at the same moment.
@functools.lru_cache(maxsize=4096)
def _route(
    prefs: routing.Preferences,
    situation: routing.Situation,
    priority: str,
    now: datetime,
    expires_at: datetime | None,
    scheduled_for: datetime | None,
) -> routing.Decision:
    return routing.route(
        prefs,
        situation,
        priority=routing.check_priority(priority),
        now=now,
        expires_at=expires_at,
        scheduled_for=scheduled_for,
    )


def routing_json(decision: routing.Decision, tried: Iterable[str] = ()) -> str:
    return _routing_json(decision, tuple(tried))


@functools.lru_cache(maxsize=4096)
def _routing_json(decision: routing.Decision, tried: tuple[str, ...]) -> str:
    return json.dumps(
        {
            "action": decision.action,
            "channel": decision.channel,
            "at": decision.at.isoformat(),
            "fallbacks": list(decision.fallbacks),
            "tried": list(tried),
            "reasons": list(decision.reasons),
        },
        ensure_ascii=False,
    )
