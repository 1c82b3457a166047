"""An attempt row: what one message to one citizen becomes once routing has decided,
one row per attempt (a send, an escalation, a broadcast's citizen, a digest's member).

The message's own columns are made once per decision (``shared_columns``): a broadcast
routes a million citizens in a handful of ways, and pays for each way once.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from warta.deps import Warta
from warta.domain import routing, sms, statuses
from warta.domain.channels import ChannelName, channel_named
from warta.services import content
from warta.services.routing import Contact, Known, deliverable, routing_json
from warta.services.sending import sender_of
from warta.store import broadcast_batches as batches
from warta.store.attempts import RoutedColumns
from warta.store.ids import new_id
from warta.store.models import Agency
from warta.store.uow import UnitOfWork

ALTERNATIVES_FIELD = "notification.alternatives"
BROADCAST_FIELD = "broadcast.content"


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
