"""Working a case: the agency's updates, forwarding, duplicates, assignment, and the
citizen's answers. Who may move a case where is ``domain.cases.MOVES``; each change is one
unit of work (``recording``) and, once committed, its webhook is queued and the citizen
told (``telling``).
"""

from __future__ import annotations

import uuid

from warta.deps import Warta
from warta.domain import cases as rules
from warta.domain.channels import ChannelName
from warta.domain.templates import render
from warta.errors import AuthError, BadRequest, InvalidInput, NotFound
from warta.services.cases import reads, recording, telling
from warta.services.cases.recording import Recorded, check_message
from warta.services.cases.types import Actor, CaseView
from warta.services.sending import channel_parts
from warta.store.models import Case
from warta.store.uow import UnitOfWork

#: Statuses with their own command: they need a target agency or case.
_OWN_COMMAND = {"forwarded": "forward", "duplicate": "mark_duplicate"}


async def update(
    app: Warta,
    actor: Actor,
    case_id: uuid.UUID,
    *,
    status: str | None = None,
    public_message: str | None = None,
    internal_note: str | None = None,
    reason: str | None = None,
    update_id: str | None = None,
) -> CaseView:
    """The agency changes the status, posts a public update, or adds an internal note (or
    several at once). A rejection needs a reason, which the citizen is told. The same
    ``update_id`` again changes nothing (a retried request, Open311's update ids)."""
    public_message = check_message(public_message, "public_message")
    internal_note = check_message(internal_note, "internal_note")
    reason = check_message(reason, "reason")
    if status in _OWN_COMMAND:
        raise BadRequest(
            "status %(status)s: use %(command)s", status=status, command=_OWN_COMMAND[status]
        )
    public_message = told_message(status, public_message, reason)
    if status is None and public_message is None and internal_note is None:
        raise BadRequest("nothing to do: give a status, a public_message or an internal_note")
    done = Recorded()
    async with app.uow() as uow:
        case = await _agency_case(uow, actor, case_id)
        if update_id is not None and await uow.cases.event_by_update_id(case.id, update_id):
            return await reads.case_view(app, case.id, agency_view=True)
        now = app.clock()
        changed = status is not None and status != case.status
        if changed:
            _check(case.status, str(status), "agency")
        if changed or public_message is not None:
            await recording.record(
                app, uow, case, actor, "status" if changed else "update", done,
                to_status=status if changed else None, public_message=public_message,
                update_id=update_id, tell=True, now=now,
            )  # fmt: skip
        if internal_note is not None:
            await recording.record(
                app, uow, case, actor, "note", done, internal_note=internal_note,
                update_id=None if done.events else update_id, now=now,
            )  # fmt: skip
        if not done.events:
            raise BadRequest("the case is already %(status)s", status=case.status)
        await uow.commit()
    await telling.after_commit(app, done)
    return await reads.case_view(app, case_id, agency_view=True)


def told_message(status: str | None, public_message: str | None, reason: str | None) -> str | None:
    """What the citizen is told with a change: a rejection's reason first (required)."""
    if status != "rejected":
        return public_message
    if reason is None:
        raise BadRequest("a rejection needs a reason the citizen is told", field="reason")
    return reason if public_message is None else f"{reason}\n\n{public_message}"


async def forward(
    app: Warta,
    actor: Actor,
    case_id: uuid.UUID,
    to_agency_id: uuid.UUID,
    public_message: str | None = None,
) -> CaseView:
    """Hand the case to the agency that owns the matter; it owns the case from now on
    (and sees it, its citizen and its history; the first agency no longer does)."""
    public_message = check_message(public_message, "public_message")
    done = Recorded()
    async with app.uow() as uow:
        case = await _agency_case(uow, actor, case_id)
        if to_agency_id == case.agency_id:
            raise BadRequest("the case already belongs to this agency")
        target = await uow.agencies.get(to_agency_id)
        if target is None:
            raise BadRequest("agency %(id)s not found", id=str(to_agency_id))
        _check(case.status, "forwarded", "agency")
        now = app.clock()
        giver = case.agency_id
        case.agency_id = target.id
        case.assigned_to = None
        if case.citizen_id is not None:
            await uow.citizens.link(target.id, case.citizen_id, now)
        event = await recording.record(
            app,
            uow,
            case,
            actor,
            "forward",
            done,
            to_status="forwarded",
            public_message=public_message,
            tell=True,
            now=now,
        )
        # The taker hears of it as of any change; the giver too, whose system (or
        # whose other staff) would otherwise not know the case has left.
        await recording.owe_webhook(uow, case, event, giver, done, now)
        await uow.commit()
    await telling.after_commit(app, done)
    return await reads.case_view(app, case_id, agency_view=True, agency_id=to_agency_id)


async def mark_duplicate(
    app: Warta,
    actor: Actor,
    case_id: uuid.UUID,
    of_tracking_id: str,
    public_message: str | None = None,
) -> CaseView:
    """Close this case as a duplicate of another of the agency's cases: its citizen is told
    the tracking id to follow instead."""
    public_message = check_message(public_message, "public_message")
    of = rules.normalise_tracking_id(of_tracking_id)
    done = Recorded()
    async with app.uow() as uow:
        case = await _agency_case(uow, actor, case_id)
        original = await uow.cases.by_tracking_id(of)
        if original is None or original.agency_id != case.agency_id or original.id == case.id:
            raise BadRequest("duplicate_of: no other case %(id)s of this agency", id=of)
        if original.status in rules.TERMINAL:
            raise BadRequest("duplicate_of: case %(id)s is already %(s)s", id=of, s=original.status)
        _check(case.status, "duplicate", "agency")
        case.duplicate_of = original.id
        pointer = rules.format_tracking_id(of)
        message = pointer if public_message is None else f"{pointer}: {public_message}"
        await recording.record(
            app,
            uow,
            case,
            actor,
            "duplicate",
            done,
            to_status="duplicate",
            public_message=message,
            tell=True,
            now=app.clock(),
        )
        await uow.commit()
    await telling.after_commit(app, done)
    return await reads.case_view(app, case_id, agency_view=True)


async def assign(
    app: Warta, actor: Actor, case_id: uuid.UUID, staff_id: uuid.UUID | None
) -> CaseView:
    done = Recorded()
    async with app.uow() as uow:
        case = await _agency_case(uow, actor, case_id)
        if staff_id is not None:
            member = await uow.staff.get(staff_id)
            if member is None or member.agency_id != case.agency_id:
                raise BadRequest("assign_to: no such member of this agency's staff")
        case.assigned_to = staff_id
        await recording.record(app, uow, case, actor, "assign", done, now=app.clock())
        await uow.commit()
    await telling.after_commit(app, done)
    return await reads.case_view(app, case_id, agency_view=True)


async def citizen_reply(
    app: Warta,
    actor: Actor,
    case_id: uuid.UUID,
    message: str,
    *,
    update_id: str | None = None,
    reopen: bool = True,
) -> CaseView:
    """The citizen (or the anonymous reporter, through the app they filed with) answers:
    a case waiting for them goes back to the agency, a resolved one within its window is
    reopened (unless ``reopen`` is false: a reporter saying it is fixed); otherwise their
    message is added to the case. The same ``update_id`` again changes nothing."""
    text = check_message(message, "message")
    if text is None:
        raise BadRequest("cannot be empty", field="message")
    done = Recorded()
    async with app.uow() as uow:
        case = await uow.cases.get(case_id, for_update=True)
        if case is None or not _is_reporter(case, actor):
            raise NotFound("Case not found")
        if update_id is not None and await uow.cases.event_by_update_id(case.id, update_id):
            return await reads.case_view(app, case.id, agency_view=False)
        if case.status in rules.TERMINAL:
            raise BadRequest("the case is %(status)s: file a new one", status=case.status)
        moves = {"waiting_for_citizen": "in_progress", "resolved": "reopened" if reopen else None}
        target = moves.get(case.status)
        await recording.record(
            app, uow, case, actor, "reply", done,
            to_status=target if target and rules.can_move(case.status, target, "citizen")
            else None,
            public_message=text, update_id=update_id, now=app.clock(),
        )  # fmt: skip
        await uow.commit()
    await telling.after_commit(app, done)
    return await reads.case_view(app, case_id, agency_view=False)


async def preview(
    app: Warta,
    actor: Actor,
    case_id: uuid.UUID,
    status: str | None,
    public_message: str | None,
    language: str | None = None,
    *,
    reason: str | None = None,
) -> str:
    """The SMS text (else the email body) the citizen would get for this change, as the
    console shows it before the change is made."""
    public_message = told_message(status, check_message(public_message, "public_message"),
                                  check_message(reason, "reason"))  # fmt: skip
    async with app.uow() as uow:
        case = await _agency_case(uow, actor, case_id, lock=False)
        service = await uow.cases.service(case.service_id)
        assert service is not None
        if language is None:
            citizen = await uow.citizens.get(case.citizen_id) if case.citizen_id else None
            language = citizen.language if citizen is not None else case.language
        template_id = await telling.message_template(
            app, uow, case.agency_id, service, status or rules.UPDATE, language
        )
        await uow.commit()
        template = await uow.templates.get(case.agency_id, template_id)
    assert template is not None
    values = telling.preview_values(app, case, service, status, public_message, language)
    parts = channel_parts(template)
    channel: ChannelName = "sms" if "sms" in parts else "email"
    return render(parts[channel][1], values, channel=channel)


async def _agency_case(
    uow: UnitOfWork, actor: Actor, case_id: uuid.UUID, *, lock: bool = True
) -> Case:
    """The case, if the acting agency owns it; 404 otherwise (another agency's case is not
    there for it), and test keys reach only test cases."""
    if not actor.for_agency or actor.agency_id is None:
        raise AuthError("only the agency that owns a case may change it")
    case = await uow.cases.get(case_id, for_update=lock)
    if case is None or case.agency_id != actor.agency_id:
        raise NotFound("Case not found")
    if actor.kind == "agency" and (actor.key_type == "test") != (case.key_type == "test"):
        raise NotFound("Case not found")
    return case


def _is_reporter(case: Case, actor: Actor) -> bool:
    if actor.kind == "citizen":
        return case.citizen_id is not None and case.citizen_id == actor.id
    if actor.kind == "open311":
        return case.open311_key_id is not None and case.open311_key_id == actor.id
    return False


def _check(current: str, target: str, by: rules.Mover) -> None:
    try:
        rules.check_move(current, target, by)
    except InvalidInput as exc:
        raise BadRequest(exc.msgid, field=exc.field, **exc.values) from exc
