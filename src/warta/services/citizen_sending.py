"""Send to a citizen, not an address: the handler behind POST /v2/notifications.

The template's every channel is rendered at once (a missing field is a 400 now, not a
failure on the channel escalation reaches later); the routing policy picks the channel
from the citizen's preferences, verified contacts, consent, quiet hours and caps; the
first attempt is stored with the decision and its reasons, due now or when the policy
said. The other channels' content is kept sealed beside it for escalation.

The citizen is found as the registry finds them for the key: a test key's sends reach its
agency's sandbox citizens only, and no other key's ever reach one (``trust.md``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Final, get_args

from warta.deps import Warta, lane_of
from warta.domain import citizens as rules
from warta.domain import routing as policy
from warta.domain.channels import ChannelName
from warta.domain.templates import TemplateKind
from warta.errors import BadRequest, InvalidInput, NotFound, ValidationFailed
from warta.services import attempts, content, lookups, routing
from warta.services.citizens import registry
from warta.services.sending import (
    MULTI,
    Caller,
    check_times,
    count_toward_limit,
    on_guest_list,
    render_all,
    team_key_refused,
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
    message = attempts.Message(
        agency_id=caller.agency.id,
        api_key_id=caller.key_id,
        key_type=caller.key_type,
        template_id=template.id,
        template_version=template.version,
        priority=command.priority,
        senders=attempts.senders(app, caller.agency),
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
        if caller.key_type == "team":
            decision = await _only_guest_list(app, uow, caller, known, decision, command)
            contents = {c: body for c, body in contents.items() if c in _channels_of(decision)}
        alternatives = content.seal_channels(
            app.keyring, contents, field=attempts.ALTERNATIVES_FIELD
        )
        row = attempts.attempt(
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
                    attempts.attempt(
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
            await attempts.insert_attempts(uow, rows)
            await uow.commit()
        except Exception:
            if counted:
                await app.quotas.uncount_message(caller.agency.id)
            raise
    if decision.action == "send":
        for r in rows:  # one, or one per channel for an emergency
            await app.queue.submit("deliver", [r["id"]], lane=lane_of(r["type"], r["priority"]))
    return CitizenSent(row, decision, contents)


def _check_times(command: SendToCitizen, now: datetime) -> None:
    check_times(now, command.scheduled_for, command.expires_at)
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


async def _only_guest_list(
    app: Warta,
    uow: UnitOfWork,
    caller: Caller,
    known: routing.Known,
    decision: policy.Decision,
    command: SendToCitizen,
) -> policy.Decision:
    """A team key reaches only the guest list: every contact the decision sends to must
    be on it, or nothing is sent or stored; and the message does not escalate (another
    channel's contact may not be on it), so the decision keeps no fallbacks but those
    ``all_channels`` sends to now.

    The guest list holds phone numbers and email addresses: push and chat never qualify.
    """
    if not command.all_channels:
        decision = replace(decision, fallbacks=())
    for channel in _channels_of(decision):
        contact = known.contacts.get(channel)
        if channel not in ("sms", "email") or contact is None:
            raise team_key_refused()
        value = app.keyring.decrypt(contact[1], field="contact.value")
        if not await on_guest_list(app, uow, caller.agency.id, value):
            raise team_key_refused()
    if decision.channel is None:  # nobody would be reached: nothing to try a team key on
        raise team_key_refused()
    return decision


def _channels_of(decision: policy.Decision) -> list[ChannelName]:
    """The channels a decision's attempts go on now: its channel and its fallbacks."""
    return [c for c in (decision.channel, *decision.fallbacks) if c is not None]


async def usable_template(app: Warta, caller: Caller, template_id: uuid.UUID) -> Template:
    template = await lookups.template(app, caller.agency.id, template_id)
    if template is None or template.archived:
        raise BadRequest("Template not found")
    if template.type != MULTI and template.type not in TEMPLATE_TYPES:
        raise BadRequest("%(kind)s templates cannot be sent to citizens", kind=template.type)
    return template


async def _citizen(app: Warta, uow: UnitOfWork, caller: Caller, command: SendToCitizen) -> Citizen:
    """The citizen to send to, found as the registry finds them for this key: a test key
    in its agency's sandbox only (by id, or by the sandbox's NIK key), any other key among
    real citizens only; one this agency has no link to, or of the other registry, is not
    found (404), so a test key neither reaches nor detects a real citizen."""
    if command.citizen_id is not None:
        return await registry.visible(uow, caller, command.citizen_id)
    try:
        nik = rules.normalise_nik(command.nik or "")
    except InvalidInput as exc:
        raise ValidationFailed(exc.msgid, field=exc.field, **exc.values) from exc
    found = await uow.citizens.by_nik_hash(registry.nik_hash(app, caller, nik))
    if found is None:
        raise NotFound("Citizen not found")
    return await registry.visible(uow, caller, found.id)
