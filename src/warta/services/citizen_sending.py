"""Send to a citizen, not an address: the handler behind POST /v2/notifications.

The template's every channel is rendered at once (a missing field is a 400 now, not a
failure on the channel escalation reaches later); the routing policy picks the channel
from the citizen's preferences, verified contacts, consent, quiet hours and caps; the
first attempt is stored with the decision and its reasons, due now or when the policy
said. The other channels' content is kept sealed beside it for escalation.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Final, get_args

from warta.deps import Warta
from warta.domain import citizens as rules
from warta.domain import routing as policy
from warta.domain.templates import TemplateKind
from warta.errors import BadRequest, InvalidInput, NotFound, ValidationFailed
from warta.services import content, lookups, routing
from warta.services.sending import (
    MULTI,
    Caller,
    count_toward_limit,
    render_all,
    with_app_channels,
)
from warta.store.models import Citizen, Template
from warta.store.uow import UnitOfWork

#: Template types a citizen can be sent (push and chat reuse their bodies), and ``multi``.
TEMPLATE_TYPES: Final = frozenset(get_args(TemplateKind))


@dataclass(frozen=True)
class SendToCitizen:
    template_id: uuid.UUID
    citizen_id: uuid.UUID | None = None
    nik: str | None = None
    personalisation: dict[str, Any] = field(default_factory=dict)
    priority: str = "normal"
    topic: str | None = None
    reference: str | None = None
    scheduled_for: datetime | None = None
    expires_at: datetime | None = None
    #: Every usable channel at once instead of one with escalation (emergencies).
    all_channels: bool = False


@dataclass(frozen=True)
class CitizenSent:
    row: dict[str, Any]
    decision: policy.Decision
    contents: content.ChannelContents


async def send_to_citizen(app: Warta, caller: Caller, command: SendToCitizen) -> CitizenSent:
    # Long on purpose: check, render, route and persist in one unit of work, in the order
    # Notify's single send does them, so the checks before the write are all visible.
    now = app.clock()
    _check_times(command, now)
    template = await usable_template(app, caller, command.template_id)
    contents = with_app_channels(render_all(template, command.personalisation))
    available = frozenset(contents) & routing.deliverable(app)
    message = routing.Message(
        agency_id=caller.agency.id,
        api_key_id=caller.key_id,
        key_type=caller.key_type,
        template_id=template.id,
        template_version=template.version,
        priority=command.priority,
        senders=routing.senders(app, caller.agency),
        topic=command.topic,
        reference=command.reference,
        expires_at=command.expires_at,
    )
    ask = routing.Ask(
        topic=command.topic,
        priority=command.priority,
        available=available,
        expires_at=command.expires_at,
        scheduled_for=command.scheduled_for,
    )
    async with app.uow() as uow:
        citizen = await _citizen(app, uow, caller, command)
        if command.topic and await uow.citizens.topic(caller.agency.id, command.topic) is None:
            raise BadRequest("Topic %(slug)s not found", slug=repr(command.topic))
        known = (await routing.gather(uow, [citizen], caller.agency.id, now))[citizen.id]
        decision = routing.decide(known, ask, now)
        alternatives = content.seal_channels(
            app.keyring, contents, field=routing.ALTERNATIVES_FIELD
        )
        row = routing.attempt(
            app,
            message,
            known,
            decision,
            message_id=None,
            contents=contents,
            alternatives_enc=alternatives,
            now=now,
        )
        rows = [row]
        if command.all_channels and decision.channel is not None:
            # Emergencies: every usable channel at once, as attempts of one message.
            for channel in decision.fallbacks:
                rows.append(
                    routing.attempt(
                        app,
                        message,
                        known,
                        replace(decision, channel=channel, fallbacks=()),
                        message_id=row["id"],
                        contents=contents,
                        alternatives_enc=alternatives,
                        now=now,
                        tried=[decision.channel],
                    )
                )
        counted = await count_toward_limit(app, caller, now)  # as Notify's sends do
        try:
            await routing.insert_attempts(uow, rows)
            await uow.commit()
        except Exception:
            if counted:
                app.quotas.uncount_message(caller.agency.id)
            raise
    if decision.action == "send":
        await app.queue.submit("deliver", [r["id"] for r in rows])
    return CitizenSent(row, decision, contents)


def _check_times(command: SendToCitizen, now: datetime) -> None:
    for name in ("scheduled_for", "expires_at"):
        value = getattr(command, name)
        if value is not None and value.tzinfo is None:
            raise ValidationFailed(
                "%(name)s needs a time zone, like 2026-12-01T08:00:00+07:00", name=name
            )
    if command.expires_at is not None and command.expires_at <= now:
        raise BadRequest("expires_at is in the past: nothing would be sent")
    if (
        command.expires_at is not None
        and command.scheduled_for is not None
        and command.scheduled_for >= command.expires_at
    ):
        raise BadRequest("scheduled_for is not before expires_at: nothing would be sent")
    if (command.citizen_id is None) == (command.nik is None):
        raise ValidationFailed("Give exactly one of citizen_id and nik")


async def usable_template(app: Warta, caller: Caller, template_id: uuid.UUID) -> Template:
    template = await lookups.template(app, caller.agency.id, template_id)
    if template is None or template.archived:
        raise BadRequest("Template not found")
    if template.type != MULTI and template.type not in TEMPLATE_TYPES:
        raise BadRequest("%(kind)s templates cannot be sent to citizens", kind=template.type)
    return template


async def _citizen(app: Warta, uow: UnitOfWork, caller: Caller, command: SendToCitizen) -> Citizen:
    citizen: Citizen | None
    if command.citizen_id is not None:
        citizen = await uow.citizens.visible(caller.agency.id, command.citizen_id)
    else:
        try:
            nik = rules.normalise_nik(command.nik or "")
        except InvalidInput as exc:
            raise ValidationFailed(exc.msgid, field=exc.field, **exc.values) from exc
        citizen = await uow.citizens.by_nik_hash(app.keyring.lookup_hash(nik))
        if citizen is not None:
            citizen = await uow.citizens.visible(caller.agency.id, citizen.id)
    if citizen is None:
        raise NotFound("Citizen not found")
    return citizen
