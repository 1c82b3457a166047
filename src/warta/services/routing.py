"""Routing a notification to a citizen: gather what the store knows about them, ask the
pure policy (``warta.domain.routing``) and turn its decision into an attempt row.

Used when the API accepts a send, when a worker is about to deliver it (preferences and
consent may have changed since; a withdrawal applies at once), when an attempt fails or
goes unanswered (escalation), and by broadcast fan-out, many citizens at a time.
"""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final, Protocol
from zoneinfo import ZoneInfo

from warta.deps import Warta
from warta.domain import routing, sms, statuses
from warta.domain.channels import ChannelName, channel_named, is_channel
from warta.domain.regions import ZONES
from warta.services import content
from warta.services.citizens import routing_preferences
from warta.services.sending import sender_of
from warta.store import broadcast_batches as batches
from warta.store.attempts import RoutedColumns
from warta.store.ids import new_id
from warta.store.models import Agency, Citizen
from warta.store.uow import UnitOfWork

ALTERNATIVES_FIELD = "notification.alternatives"
BROADCAST_FIELD = "broadcast.content"
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
    #: The first verified contact of each channel.
    contacts: dict[ChannelName, Contact] = field(default_factory=dict)
    opt_outs: set[str] = field(default_factory=set)
    sms_stopped: bool = False  # the phone replied BERHENTI/STOP to this agency
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
    for citizen_id, kind, contact_id, value_enc, value_hash in await uow.citizens.verified(known):
        known[citizen_id].contacts.setdefault(kind, (contact_id, value_enc, value_hash))
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
    return known


def known_of_batch(
    rows: Iterable[Any], sent: Iterable[tuple[Any, datetime]], topic: str | None
) -> list[Known]:
    """What routing needs of a broadcast's batch, from ``warta.store.broadcast_batches``: its
    ``batch`` rows (a citizen per contact, in order) and ``sent_between``'s sends."""
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
        blocked_channels=frozenset({"sms"} if known.sms_stopped else ()),
        sent_today=today,
        sent_this_week=week,
        already_tried=tuple(c for c in ask.already_tried if is_channel(c)),
    )
    return _route(prefs, situation, ask.priority, now, ask.expires_at, ask.scheduled_for)


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


@dataclass(frozen=True)
class Message:
    """What every attempt of one message to one citizen shares."""

    agency_id: uuid.UUID
    api_key_id: uuid.UUID | None
    key_type: str
    template_id: uuid.UUID
    template_version: int
    priority: str
    senders: Mapping[ChannelName, str]  # per channel: the agency's SMS sender id, email From
    topic: str | None = None
    reference: str | None = None
    expires_at: datetime | None = None
    broadcast_id: uuid.UUID | None = None

    @classmethod
    def from_row(
        cls,
        row: MessageRow,
        senders: Mapping[ChannelName, str],
        *,
        broadcast_id: uuid.UUID | None = None,
    ) -> Message:
        """The message a stored attempt or broadcast belongs to."""
        return cls(
            agency_id=row.agency_id,
            api_key_id=row.api_key_id,
            key_type=row.key_type,
            template_id=row.template_id,
            template_version=row.template_version,
            priority=row.priority,
            senders=senders,
            topic=row.topic,
            reference=row.reference,
            expires_at=row.expires_at,
            broadcast_id=broadcast_id,
        )


class MessageRow(Protocol):
    """What a stored message says of itself: a notification row, a broadcast."""

    agency_id: uuid.UUID
    api_key_id: uuid.UUID | None
    key_type: str
    template_id: uuid.UUID
    template_version: int
    priority: str
    topic: str | None
    reference: str | None
    expires_at: datetime | None


def senders(app: Warta, agency: Agency) -> dict[ChannelName, str]:
    """Who the agency's attempts come from on each channel Warta can send on."""
    return {channel: sender_of(app, agency, channel) for channel in deliverable(app)}


def attempt(
    app: Warta,
    message: Message,
    known: Known,
    decision: routing.Decision,
    *,
    message_id: uuid.UUID | None,
    contents: content.ChannelContents | None,
    alternatives_enc: bytes | None,
    now: datetime,
    tried: Iterable[str] = (),
) -> dict[str, Any]:
    """A notification row (as a dict for a bulk insert) for one attempt. ``contents`` is
    every channel's rendered content, or None for a broadcast (rows share its content)."""
    row_id = new_id()
    channel, contact = target(known, decision)
    body_content = contents.get(channel) if contents is not None else None
    columns = shared_columns(message, decision, channel, body_content, now, tuple(tried))
    return {
        **columns.as_columns(),
        "id": row_id,
        "recipient_enc": seal_recipient(app, contact),
        "recipient_hash": contact[2] if contact else "",
        "content_enc": (
            content.seal(app.keyring, body_content) if body_content is not None else None
        ),
        "citizen_id": known.citizen.id,
        "message_id": message_id or row_id,
        "alternatives_enc": alternatives_enc,
    }


def target(known: Known, decision: routing.Decision) -> tuple[ChannelName, Contact | None]:
    """The channel an attempt is on and the contact it goes to (none when cancelled)."""
    channel = decision.channel or _first_choice(known)
    return channel, known.contacts.get(channel) if decision.action != "cancel" else None


def seal_recipient(app: Warta, contact: Contact | None) -> bytes:
    """The contact's value, sealed again for the notification row (another field)."""
    value = app.keyring.decrypt_bytes(contact[1], field="contact.value") if contact else b""
    return app.keyring.encrypt_bytes(value, field="notification.recipient")


def shared_columns(
    message: Message,
    decision: routing.Decision,
    channel: ChannelName,
    body_content: content.Content | None,
    now: datetime,
    tried: tuple[str, ...] = (),
) -> RoutedColumns:
    """The columns of an attempt that follow from the message and the decision alone,
    the same for every citizen a broadcast routes the same way."""
    cancelled = decision.action == "cancel"
    body = (body_content or {}).get("body") or ""
    return RoutedColumns(
        agency_id=message.agency_id,
        api_key_id=message.api_key_id,
        key_type=message.key_type,
        template_id=message.template_id,
        template_version=message.template_version,
        type=channel,
        status=statuses.CANCELLED if cancelled else statuses.CREATED,
        reference=message.reference,
        sender=message.senders.get(channel),
        # Test keys send nothing: the attempt is marked delivered without a provider.
        simulate=statuses.DELIVERED if message.key_type == "test" else None,
        priority=message.priority,
        billable_units=sms.describe(body).fragments if channel == "sms" and body else 0,
        lease_until=decision.at if not cancelled else None,
        failure_reason="; ".join(decision.reasons)[:255] if cancelled else None,
        created_at=now,
        completed_at=now if cancelled else None,
        updated_at=now,
        broadcast_id=message.broadcast_id,
        topic=message.topic,
        expires_at=message.expires_at,
        routing=routing_json(decision, tried),
        digest=decision.action == "digest",
    )


def broadcast_rows(
    app: Warta,
    writer: batches.Rows,
    message: Message,
    entries: Iterable[Known],
    decisions: Iterable[routing.Decision],
    now: datetime,
) -> tuple[list[tuple[Any, ...]], list[uuid.UUID]]:
    """A broadcast batch's notification rows, as ``attempt`` would make them but ready for
    ``writer.write`` (the shared columns made once per decision), and the ids due now."""
    shared: dict[tuple[routing.Decision, ChannelName], tuple[tuple[Any, ...], bool]] = {}
    rows, due = [], []
    for known, decision in zip(entries, decisions, strict=True):
        channel, contact = target(known, decision)
        common = shared.get((decision, channel))
        if common is None:
            columns = shared_columns(message, decision, channel, None, now)
            at = columns.lease_until
            common = shared[decision, channel] = (
                writer.shared(columns.as_columns()),
                at is not None and at <= now,
            )
        row_id = new_id()
        recipient_hash = contact[2] if contact else ""
        own = writer.own(row_id, known.citizen.id, seal_recipient(app, contact), recipient_hash)
        rows.append(own + common[0])
        if common[1]:
            due.append(row_id)
    return rows, due


def _first_choice(known: Known) -> ChannelName:
    return channel_named(known.citizen.channel_order.split(",")[0])


async def insert_attempts(uow: UnitOfWork, rows: list[dict[str, Any]]) -> None:
    await uow.notifications.insert_many(rows)


async def shared_contents(
    app: Warta, uow: UnitOfWork, rows: Iterable[Any]
) -> dict[uuid.UUID, content.ChannelContents]:
    """The shared content of every broadcast these rows belong to, unsealed once each."""
    wanted = {r.broadcast_id for r in rows if r.content_enc is None and r.broadcast_id}
    found: dict[uuid.UUID, content.ChannelContents] = {}
    for broadcast_id, sealed in (await uow.broadcasts.contents(wanted)).items():
        found[broadcast_id] = content.unseal_channels(app.keyring, sealed, field=BROADCAST_FIELD)
    return found
