"""Telling the citizen of each step of their case, and the agency's supervisors of a
missed deadline.

A change that the citizen should hear of is written with ``tell`` set (``recording``);
once it commits, the message is sent through the ordinary send paths: to a registered
citizen by their own preferences and channels (``send_to_citizen``: SMS for those without
a smartphone), to an anonymous reporter at the contact they gave. The event is marked
told only after that send is stored, so a crash in between leaves it owed and the
sweeper (``tell_owed``) sends it a minute later: at least once, never lost.

The text is one of the agency's own templates (a ``multi`` template: email and SMS, push
and chat reuse them), one per status and language, made from ``domain.cases``' defaults
the first time it is needed and edited in the console like any other.
"""

from __future__ import annotations

import json
import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

from warta.deps import Warta
from warta.domain import cases as rules
from warta.domain.channels import channel_named
from warta.errors import StoreUnavailable, WartaError
from warta.services import admin, lookups
from warta.services.cases.recording import Recorded
from warta.services.citizen_sending import SendToCitizen, send_to_citizen
from warta.services.sending import (
    MULTI,
    Caller,
    SendNotification,
    channel_parts,
    send,
    send_with_template,
)
from warta.store.models import Case, CaseEvent, CaseMessage, CaseService, Template
from warta.store.uow import UnitOfWork

log = logging.getLogger(__name__)

#: An event this old and still untold was dropped by a crash: the sweeper sends it.
OWED_AFTER = timedelta(seconds=60)


async def after_commit(app: Warta, done: Recorded) -> None:
    """What a committed change owes: its webhooks queued, the citizen told."""
    if done.callbacks:
        await app.queue.submit("callback", done.callbacks)
    for event_id in done.told:
        await tell(app, event_id)


async def tell_owed(app: Warta, now: datetime) -> int:
    async with app.uow() as uow:
        owed = await uow.cases.untold(now - OWED_AFTER)
    for event_id in owed:
        await tell(app, event_id)
    return len(owed)


async def tell(app: Warta, event_id: uuid.UUID) -> None:
    try:
        await _tell(app, event_id)
    except StoreUnavailable:
        raise  # still owed: the sweeper tries again
    except WartaError as exc:
        # Nothing to send it by (no usable contact, opted out, the agency's limit): the
        # citizen still sees it in the portal and on the tracking page.
        log.warning("case event %s not told: %s", event_id, type(exc).__name__)
        await _mark(app, event_id)


async def _tell(app: Warta, event_id: uuid.UUID) -> None:
    async with app.uow() as uow:
        event = await uow.cases.event(event_id)
        if event is None or not event.tell or event.told_at is not None:
            return
        if event.kind == "breach":
            await uow.commit()
            await tell_supervisors(app, event.case_id)
            await _mark(app, event_id)
            return
        case = await uow.cases.get(event.case_id)
        agency = await uow.agencies.get(event.agency_id)
        if case is None or agency is None:
            return
        service = await uow.cases.service(case.service_id)
        assert service is not None  # a case's service is never deleted
        language = case.language
        if case.citizen_id is not None:
            citizen = await uow.citizens.get(case.citizen_id)
            language = citizen.language if citizen is not None else language
        template_id = await message_template(
            app, uow, agency.id, service, event.to_status or rules.UPDATE, language
        )
        await uow.commit()
        personalisation = _personalisation(app, case, service, event, language)
        reporter = _reporter_contact(app, case)
    caller = Caller(agency=agency, key_id=None, key_type=case.key_type)
    if case.citizen_id is not None:
        await send_to_citizen(
            app,
            caller,
            SendToCitizen(
                template_id=template_id,
                citizen_id=case.citizen_id,
                personalisation=personalisation,
                reference=case.tracking_id,
            ),
        )
    elif reporter is not None:
        await _send_to_reporter(app, caller, reporter, template_id, personalisation, case)
    await _mark(app, event_id)


async def _send_to_reporter(
    app: Warta,
    caller: Caller,
    reporter: tuple[str, str],
    template_id: uuid.UUID,
    personalisation: dict[str, Any],
    case: Case,
) -> None:
    """To the one address an anonymous reporter gave: the template's part for it."""
    channel, address = reporter
    template = await lookups.template(app, caller.agency.id, template_id)
    parts = channel_parts(template) if template is not None else {}
    if template is None or channel not in parts:
        return
    command = SendNotification(
        channel=channel_named(channel),
        recipient=address,
        template_id=template_id,
        personalisation=personalisation,
        reference=case.tracking_id,
    )
    await send_with_template(
        app, caller, command, _one_channel(template, channel, parts[channel_named(channel)])
    )


async def _mark(app: Warta, event_id: uuid.UUID) -> None:
    async with app.uow() as uow:
        await uow.cases.mark_told(event_id, app.clock())
        await uow.commit()


async def tell_supervisors(app: Warta, case_id: uuid.UUID) -> None:
    """Email the owning agency's admins that a case missed its deadline."""
    async with app.uow() as uow:
        case = await uow.cases.get(case_id)
        if case is None or case.key_type == "test":
            return
        agency = await uow.agencies.get(case.agency_id)
        service = await uow.cases.service(case.service_id)
        if agency is None or service is None:
            return
        template_id = await message_template(app, uow, agency.id, service, rules.BREACH, "id")
        await uow.commit()
        supervisors = [
            app.keyring.decrypt(s.email_enc, field="staff.email")
            for s in await uow.staff.of_agency(agency.id)
            if s.role == "admin"
        ]
    values = {
        "tracking_id": rules.format_tracking_id(case.tracking_id),
        "service": service.name,
        "status": rules.STATUS_LABELS["id"][case.status],
        "due_date": case.due_at.strftime("%Y-%m-%d %H:%M UTC") if case.due_at else "",
        "case_url": f"{_base_url(app)}/console/cases/{case.id}",
    }
    caller = Caller(agency=agency, key_id=None, key_type="normal")
    for address in supervisors:
        try:
            await send(app, caller, SendNotification("email", address, template_id, values))
        except StoreUnavailable:
            raise
        except WartaError as exc:
            log.warning("breach of case %s not sent to a supervisor: %s", case.id, exc)


async def message_template(
    app: Warta, uow: UnitOfWork, agency_id: uuid.UUID, service: CaseService, key: str, language: str
) -> uuid.UUID:
    """The agency's template for this service's ``key`` (a status, ``update`` or ``breach``)
    in ``language``: the service's own, else the agency's, made from the default if none."""
    for service_key in (str(service.id), ""):
        found = await uow.cases.message_template(agency_id, service_key, key, language)
        if found is not None:
            return found
    default = rules.default_message(key, language)
    breach = key == rules.BREACH
    template = admin.new_template(
        app,
        agency_id,
        kind="email" if breach else MULTI,
        name=default.name,
        subject=default.subject,
        body=default.email,
        sms_body=None if breach else default.sms,
    )
    await admin.store_template(uow, template)
    uow.cases.add(
        CaseMessage(
            id=uuid.uuid4(),
            agency_id=agency_id,
            service_key="",
            status=key,
            language=language,
            template_id=template.id,
        )
    )
    return template.id


def preview_values(
    app: Warta,
    case: Case,
    service: CaseService,
    status: str | None,
    message: str | None,
    language: str,
) -> dict[str, Any]:
    """The personalisation a message about ``status`` with ``message`` would get."""
    key = status or case.status
    words = "en" if language == "en" else "id"
    return {
        "tracking_id": rules.format_tracking_id(case.tracking_id),
        "service": service.name,
        "status": rules.STATUS_LABELS[words].get(key, key),
        "message": message or "",
        "next_step": rules.NEXT_STEP[words].get(key, ""),
        "track_url": f"{_base_url(app)}/cases/{case.tracking_id}",
    }


def _personalisation(
    app: Warta, case: Case, service: CaseService, event: CaseEvent, language: str
) -> dict[str, Any]:
    message = (
        app.keyring.decrypt(event.public_message_enc, field="case.public_message")
        if event.public_message_enc
        else None
    )
    return preview_values(app, case, service, event.to_status, message, language)


def _one_channel(template: Template, channel: str, part: tuple[str | None, str]) -> Template:
    """The ``multi`` template as a single-channel one, for a reporter's one address."""
    subject, body = part
    return Template(
        id=template.id,
        agency_id=template.agency_id,
        name=template.name,
        type=channel,
        subject=subject,
        body=body,
        version=template.version,
        archived=False,
    )


def _reporter_contact(app: Warta, case: Case) -> tuple[str, str] | None:
    if not case.reporter_enc:
        return None
    reporter = json.loads(app.keyring.decrypt(case.reporter_enc, field="case.reporter"))
    if reporter.get("phone"):
        return "sms", reporter["phone"]  # SMS first: it reaches every phone
    if reporter.get("email"):
        return "email", reporter["email"]
    return None


def _base_url(app: Warta) -> str:
    return app.settings.public_url.rstrip("/") or f"http://{app.settings.host}:{app.settings.port}"
