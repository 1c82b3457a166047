"""Send one notification: the handler behind POST /v2/notifications/{sms,email}.

Validate everything first, so bad input changes nothing; then persist the row (status
``created``, committed together with concurrent requests' rows) and hand only its id to
the queue.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from warta.bootstrap import Warta
from warta.domain import recipients, simulated, sms, statuses
from warta.domain.email import render_email
from warta.domain.templates import render
from warta.errors import (
    BadRequest,
    InvalidInput,
    MessageTooLong,
    MissingPersonalisation,
    ValidationFailed,
)
from warta.services import content, lookups
from warta.store.models import NOTIFICATIONS, Agency, Notification, Template

Channel = Literal["sms", "email"]
RECIPIENT_FIELD = {"sms": "phone_number", "email": "email_address"}


@dataclass(frozen=True)
class Caller:
    """Who is calling, as established by the API key."""

    agency: Agency
    key_id: uuid.UUID
    key_type: str


@dataclass(frozen=True)
class SendNotification:
    channel: Channel
    recipient: str
    template_id: uuid.UUID
    personalisation: dict[str, Any] = field(default_factory=dict)
    reference: str | None = None
    priority: str = "normal"


@dataclass(frozen=True)
class Sent:
    notification: Notification
    template: Template
    subject: str | None
    body: str


def normalise_recipient(channel: Channel, raw: str) -> str:
    try:
        if channel == "sms":
            return recipients.normalise_phone(raw)
        return recipients.validate_email(raw)
    except InvalidInput as exc:
        raise ValidationFailed(f"{RECIPIENT_FIELD[channel]} {exc}") from exc


def render_content(template: Template, personalisation: dict[str, Any]) -> tuple[str | None, str]:
    try:
        body = render(template.body, personalisation, channel=template.type)  # type: ignore[arg-type]
        subject = None
        if template.type == "email":
            subject = render(template.subject or "", personalisation, channel="sms")
    except MissingPersonalisation as exc:
        raise BadRequest(str(exc)) from exc
    if template.type == "sms":
        body = sms.sanitise(body)
        try:
            sms.check_length(body)
        except MessageTooLong as exc:
            raise BadRequest(str(exc)) from exc
    return subject, body


async def send(app: Warta, caller: Caller, command: SendNotification) -> Sent:
    template = await _usable_template(app, caller, command)
    recipient, simulate = await _recipient(app, caller, command)
    subject, body = render_content(template, command.personalisation)
    now = app.clock()
    counted = caller.key_type != "test"  # test keys never count against the limit
    if counted:
        await app.quotas.count_message(
            caller.agency.id,
            caller.agency.message_limit,
            now,
            lambda since: _count_created_since(app, caller.agency.id, since),
        )
    row = _new_row(app, caller, command, template, recipient, simulate, (subject, body), now)
    try:
        await app.new_notifications.insert(
            {column.key: getattr(row, column.key) for column in NOTIFICATIONS.columns}
        )
    except Exception:
        if counted:
            app.quotas.uncount_message(caller.agency.id)
        raise
    await app.queue.submit("deliver", [row.id])
    return Sent(row, template, subject, body)


async def _count_created_since(app: Warta, agency_id: uuid.UUID, since: datetime) -> int:
    async with app.uow() as uow:
        return await uow.notifications.count_created_since(agency_id, since)


async def _usable_template(app: Warta, caller: Caller, command: SendNotification) -> Template:
    template = await lookups.template(app, caller.agency.id, command.template_id)
    if template is None:
        raise BadRequest("Template not found")
    if template.archived:
        raise BadRequest(f"Template {template.id} has been deleted")
    if template.type != command.channel:
        raise BadRequest(
            f"{template.type} template is not suitable for {command.channel} notification"
        )
    return template


async def _recipient(
    app: Warta, caller: Caller, command: SendNotification
) -> tuple[str, str | None]:
    """The normalised recipient, and the status to simulate instead of sending (if any)."""
    channel, raw = command.channel, command.recipient
    simulate = simulated.simulated_status(channel, raw, test_key=caller.key_type == "test")
    if simulated.is_simulated(channel, raw):
        return raw.strip(), simulate
    recipient = normalise_recipient(channel, raw)
    if caller.key_type == "team":
        async with app.uow() as uow:
            allowed = await uow.agencies.on_guest_list(
                caller.agency.id, app.keyring.lookup_hashes(recipient)
            )
        if not allowed:
            raise BadRequest("Can’t send to this recipient using a team-only API key")
    return recipient, simulate


def _rendered(channel: Channel, subject: str | None, body: str) -> content.Content:
    if channel == "sms":
        return {"body": body}
    email = render_email(subject or "", body)
    return {"subject": email.subject, "body": body, "text": email.text, "html": email.html}


def _new_row(
    app: Warta,
    caller: Caller,
    command: SendNotification,
    template: Template,
    recipient: str,
    simulate: str | None,
    subject_and_body: tuple[str | None, str],
    now: datetime,
) -> Notification:
    subject, body = subject_and_body
    encrypt = app.keyring.encrypt
    return Notification(
        id=uuid.uuid4(),
        agency_id=caller.agency.id,
        api_key_id=caller.key_id,
        key_type=caller.key_type,
        template_id=template.id,
        template_version=template.version,
        type=command.channel,
        status=statuses.CREATED,
        reference=command.reference,
        recipient_enc=encrypt(recipient, field="notification.recipient"),
        recipient_hash=app.keyring.lookup_hash(recipient),
        content_enc=content.seal(app.keyring, _rendered(command.channel, subject, body)),
        sender=sender_of(app, caller.agency, command.channel),
        simulate=simulate,
        priority=command.priority,
        billable_units=sms.describe(body).fragments if command.channel == "sms" else 0,
        attempts=0,
        # The queue owns it until this passes; then the sweeper re-queues it. With no
        # workers in this process, worker processes' sweepers take it at once.
        lease_until=now
        + timedelta(seconds=app.settings.stuck_after if app.settings.run_workers else 0),
        created_at=now,
        updated_at=now,
    )


def sender_of(app: Warta, agency: Agency, channel: Channel) -> str:
    if channel == "sms":
        return agency.sms_sender or "WARTA"
    return agency.email_from or f"{slug(agency.name)}@{app.settings.email_from_domain}"


def slug(name: str) -> str:
    return "".join(c if c.isalnum() else "." for c in name.lower()).strip(".") or "agency"
