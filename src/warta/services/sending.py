"""Send one notification: the handler behind POST /v2/notifications/{sms,email}.

Validate everything first, so bad input changes nothing; then persist the row (status
``created``, committed together with concurrent requests' rows) and hand only its id to
the queue.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from warta import metrics
from warta.deps import Warta, lane_of
from warta.domain import notification_qa, recipients, scheduling, simulated, sms, statuses
from warta.domain import personalisation as personalisation_rules
from warta.domain.channels import ChannelName, channel_named
from warta.domain.email import SubjectTooLong, check_subject, render_email
from warta.domain.templates import TemplateKind, render
from warta.errors import (
    BadRequest,
    InvalidInput,
    MessageTooLong,
    MissingPersonalisation,
    ValidationFailed,
)
from warta.services import content, lookups
from warta.store.ids import new_id
from warta.store.models import NOTIFICATIONS, Agency, Template
from warta.store.uow import UnitOfWork

#: A template with a body per channel, for sends to citizens (POST /v2/notifications).
MULTI = "multi"
RECIPIENT_FIELD = {"sms": "phone_number", "email": "email_address", "chat": "value"}


@dataclass(frozen=True)
class Caller:
    """Who is calling, as established by the API key."""

    agency: Agency
    key_id: uuid.UUID | None  # None: the CLI, acting for the agency without a key
    key_type: str


@dataclass(frozen=True)
class SendNotification:
    channel: ChannelName  # sms or email; chat for a WhatsApp number's verification code
    recipient: str
    template_id: uuid.UUID
    personalisation: dict[str, Any] = field(default_factory=dict)
    reference: str | None = None
    priority: str = "normal"


@dataclass(frozen=True, slots=True)
class NewNotification:
    """A notification as a send creates it (status ``created``): what the API shows back,
    and the values its row is inserted with. A plain record, not the ORM's
    ``Notification``: SQLAlchemy's instrumented constructor cost a tenth of the accept
    path's CPU for a row that is only ever inserted."""

    id: uuid.UUID
    agency_id: uuid.UUID
    api_key_id: uuid.UUID | None
    key_type: str
    template_id: uuid.UUID
    template_version: int
    type: str
    status: str
    reference: str | None
    recipient_enc: bytes
    recipient_hash: str
    content_enc: bytes
    sender: str
    simulate: str | None
    priority: str
    billable_units: int
    attempts: int
    lease_until: datetime
    lease_owner: str | None
    created_at: datetime
    updated_at: datetime
    digest: bool

    def values(self) -> dict[str, Any]:
        """Every column of ``notifications``: these fields, NULL for the others."""
        return _NULLS | {name: getattr(self, name) for name in _FIELDS}


_FIELDS = tuple(f.name for f in dataclasses.fields(NewNotification))
_NULLS: dict[str, Any] = {column.key: None for column in NOTIFICATIONS.columns}


@dataclass(frozen=True)
class Sent:
    notification: NewNotification
    template: Template
    subject: str | None
    body: str


def normalise_recipient(channel: str, raw: str) -> str:
    try:
        if channel == "sms":
            return recipients.normalise_phone(raw)
        if channel == "chat":  # a WhatsApp number: "whatsapp:0812..." -> "whatsapp:+62812..."
            number = raw.strip().removeprefix("whatsapp:")
            if number == raw.strip():
                raise InvalidInput("must be whatsapp:<phone number> (Telegram links via the bot)")
            return "whatsapp:" + recipients.normalise_phone(number)
        return recipients.validate_email(raw)
    except InvalidInput as exc:
        raise ValidationFailed(exc.msgid, field=RECIPIENT_FIELD[channel], **exc.values) from exc


def render_content(template: Template, personalisation: dict[str, Any]) -> tuple[str | None, str]:
    """A single-channel template's content (a ``multi`` one has ``render_all``)."""
    check_personalisation(personalisation)
    channel = channel_named(template.type)
    return render_channel(channel, template.subject, template.body, personalisation)


def check_personalisation(personalisation: dict[str, Any]) -> None:
    """Values Warta can write into a message, 2 MB at most (``domain/personalisation``)."""
    try:
        personalisation_rules.check(personalisation)
    except InvalidInput as exc:
        raise ValidationFailed(exc.msgid, field=exc.field, **exc.values) from exc


def check_times(
    now: datetime, scheduled_for: datetime | None = None, expires_at: datetime | None = None
) -> None:
    """``scheduled_for`` from now to 96 hours ahead, ``expires_at`` within a year, both
    with a zone (``domain/scheduling``): a 400 otherwise, before anything is stored."""
    try:
        scheduling.check_scheduled_for(scheduled_for, now)
        scheduling.check_expires_at(expires_at, now)
    except InvalidInput as exc:
        raise ValidationFailed(exc.msgid, field=exc.field, **exc.values) from exc


def render_channel(
    channel: ChannelName, subject: str | None, body: str, personalisation: dict[str, Any]
) -> tuple[str | None, str]:
    try:
        text = render(body, personalisation, channel=channel)
        rendered_subject = None
        if channel == "email":
            rendered_subject = render(subject or "", personalisation, channel="sms")
            check_subject(rendered_subject)  # refused now, not by the relay later
    except (MissingPersonalisation, SubjectTooLong) as exc:
        raise BadRequest(exc.msgid, field=exc.field, **exc.values) from exc
    if channel == "sms":
        text = sms.sanitise(text)
        try:
            sms.check_length(text)
        except MessageTooLong as exc:
            raise BadRequest(exc.msgid, field=exc.field, **exc.values) from exc
    return rendered_subject, text


def channel_parts(template: Template) -> dict[ChannelName, tuple[str | None, str]]:
    """Each channel a template can send on, as (subject, body) to render."""
    if template.type != MULTI:
        return {channel_named(template.type): (template.subject, template.body)}
    parts: dict[ChannelName, tuple[str | None, str]] = {}
    if template.body:
        parts["email"] = (template.subject, template.body)
    for channel, body in json.loads(template.channel_bodies or "{}").items():
        parts[channel] = (None, body)
    return parts


def render_all(template: Template, personalisation: dict[str, Any]) -> content.ChannelContents:
    """Every channel's content, rendered now: a missing field is a 400 whichever channel
    needs it, not a failure later on the channel escalation reaches."""
    check_personalisation(personalisation)
    rendered: content.ChannelContents = {}
    qa = notification_qa.render(template.qa_json, personalisation)
    for channel, (subject, body) in channel_parts(template).items():
        rendered_subject, text = render_channel(channel, subject, body, personalisation)
        rendered[channel] = rendered_content(channel, rendered_subject, text, qa)
    return rendered


def with_app_channels(rendered: content.ChannelContents) -> content.ChannelContents:
    """Add push and chat content to a citizen message's rendered channels.

    A template has no body of its own for them: agencies write SMS and email, and a
    second copy per app channel would drift. Push shows a title and a short text, so it
    takes the email subject and the SMS text (the email text when there is no SMS body);
    chat has room, so it takes the email text (the SMS text without one).
    """
    email, text = rendered.get("email"), rendered.get("sms")
    short = (text or {}).get("body") or (email or {}).get("text") or ""
    long = (email or {}).get("text") or (text or {}).get("body") or ""
    subject = (email or {}).get("subject")
    qa = (email or {}).get("qa") or (text or {}).get("qa")
    extra: content.Content = {"qa": qa} if qa else {}
    derived: content.ChannelContents = {}
    if short:
        derived["push"] = {"subject": subject, "body": short} if subject else {"body": short}
        chat: content.Content = {"subject": subject, "body": long} if subject else {"body": long}
        derived["chat"] = chat | extra
    return derived | rendered


async def send(app: Warta, caller: Caller, command: SendNotification) -> Sent:
    template = await _usable_template(app, caller, command)
    return await send_with_template(app, caller, command, template)


async def send_with_template(
    app: Warta,
    caller: Caller,
    command: SendNotification,
    template: Template,
    *,
    secret: bool = False,
) -> Sent:
    """Send with a template already checked (or one of Warta's own, like one-time codes).

    ``secret``: the text is for the recipient only (a one-time code); the API shows the
    agency that it was sent, never what it said.
    """
    recipient, simulate = await recipient_of(app, caller, command)
    subject, body = render_content(template, command.personalisation)
    now = app.clock()
    counted = await count_toward_limit(app, caller, now)
    row = new_row(app, caller, command, template, recipient, simulate, (subject, body), now)
    qa = notification_qa.render(template.qa_json, command.personalisation)
    if qa:
        sealed = content.seal(app.keyring, rendered_content(command.channel, subject, body, qa))
        row = dataclasses.replace(row, content_enc=sealed)
    if secret:
        shown = rendered_content(command.channel, subject, body) | {"secret": "1"}
        row = dataclasses.replace(row, content_enc=content.seal(app.keyring, shown))
    try:
        await app.new_notifications.insert(row.values())
    except Exception:
        if counted:
            await app.quotas.uncount_message(caller.agency.id)
        raise
    metrics.accepted(command.channel)
    await app.queue.submit("deliver", [row.id], lane=lane_of(row.type, row.priority))
    return Sent(row, template, subject, body)


async def count_toward_limit(app: Warta, caller: Caller, now: datetime, n: int = 1) -> bool:
    """Count ``n`` messages toward the agency's daily limit (a 429 when over it); test
    keys never count. Returns whether they were counted, to give back on failure."""
    if caller.key_type == "test":
        return False

    async def created_since(since: datetime) -> int:
        async with app.uow() as uow:
            return await uow.notifications.count_created_since(caller.agency.id, since)

    await app.quotas.count_message(
        caller.agency.id, caller.agency.message_limit, now, created_since, n=n
    )
    return True


async def _usable_template(app: Warta, caller: Caller, command: SendNotification) -> Template:
    template = await lookups.template(app, caller.agency.id, command.template_id)
    if template is None:
        raise BadRequest("Template not found")
    if template.archived:
        raise BadRequest("Template %(template_id)s has been deleted", template_id=template.id)
    if template.type == MULTI:
        raise BadRequest("multi-channel templates are sent to citizens: POST /v2/notifications")
    if template.type != command.channel:
        raise BadRequest(
            "%(kind)s template is not suitable for %(channel)s notification",
            kind=template.type,
            channel=command.channel,
        )
    return template


async def recipient_of(
    app: Warta, caller: Caller, command: SendNotification
) -> tuple[str, str | None]:
    """The normalised recipient, and the status to simulate instead of sending (if any)."""
    channel, raw = command.channel, command.recipient
    simulate = simulated.simulated_status(channel, raw, test_key=caller.key_type == "test")
    if simulated.is_simulated(channel, raw):
        return raw.strip(), simulate
    recipient = normalise_recipient(channel, raw)
    await check_team_recipient(app, caller, recipient)
    return recipient, simulate


async def check_team_recipient(app: Warta, caller: Caller, recipient: str) -> None:
    """A team key sends only to the agency's guest list; raises otherwise."""
    if caller.key_type != "team":
        return
    async with app.uow() as uow:
        allowed = await on_guest_list(app, uow, caller.agency.id, recipient)
    if not allowed:
        raise team_key_refused()


async def on_guest_list(app: Warta, uow: UnitOfWork, agency_id: uuid.UUID, recipient: str) -> bool:
    """Whether a normalised phone number or email address is on the agency's guest list
    (under any key, so a key rotation under way changes nothing)."""
    return await uow.agencies.on_guest_list(agency_id, app.keyring.lookup_hashes(recipient))


def team_key_refused() -> BadRequest:
    """Notify's answer to a team key sending beyond the guest list (or where no guest
    list can apply, as a broadcast to a segment)."""
    return BadRequest("Can’t send to this recipient using a team-only API key")


def rendered_content(
    channel: str, subject: str | None, body: str, qa: str | None = None
) -> content.Content:
    """What is sealed and sent; ``qa``: the template's Q&A filled for this message, for
    the chatbot to answer questions about it (``domain.notification_qa``)."""
    extra: content.Content = {"qa": qa} if qa else {}
    if channel in ("sms", "chat", "push"):
        return ({"body": body, "subject": subject} if subject else {"body": body}) | extra
    email = render_email(subject or "", body)
    made: content.Content = {"subject": email.subject, "body": body, "text": email.text}
    return made | {"html": email.html} | extra


def new_row(
    app: Warta,
    caller: Caller,
    command: SendNotification,
    template: Template,
    recipient: str,
    simulate: str | None,
    subject_and_body: tuple[str | None, str],
    now: datetime,
) -> NewNotification:
    subject, body = subject_and_body
    encrypt = app.keyring.encrypt
    return NewNotification(
        id=new_id(),
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
        content_enc=content.seal(app.keyring, rendered_content(command.channel, subject, body)),
        sender=sender_of(app, caller.agency, command.channel),
        simulate=simulate,
        priority=command.priority,
        billable_units=sms.fragment_count(body) if command.channel == "sms" else 0,
        attempts=0,
        # The queue owns it until this passes; then the sweeper re-queues it. With no
        # workers in this process, worker processes' sweepers take it at once.
        lease_until=now
        + timedelta(seconds=app.settings.stuck_after if app.settings.run_workers else 0),
        lease_owner=app.queue.owner,
        created_at=now,
        updated_at=now,
        digest=False,  # sent to an address: no citizen, no digest
    )


#: The platform's own SMS sender id: for agencies without one, and for what no single
#: agency sends (a citizen's digest gathering several agencies' messages).
PLATFORM_SMS_SENDER = "WARTA"


def sender_of(app: Warta, agency: Agency, channel: str) -> str:
    if channel == "sms":
        return agency.sms_sender or PLATFORM_SMS_SENDER
    if channel in ("push", "chat"):  # shown as the title when a message has no subject
        return agency.name
    return agency.email_from or f"{slug(agency.name)}@{app.settings.email_from_domain}"


def platform_sender(app: Warta, channel: TemplateKind) -> str:
    """Warta's own sender on ``channel``, for a message no single agency sends."""
    if channel == "sms":
        return PLATFORM_SMS_SENDER
    return f"warta@{app.settings.email_from_domain}"


def slug(name: str) -> str:
    return "".join(c if c.isalnum() else "." for c in name.lower()).strip(".") or "agency"
