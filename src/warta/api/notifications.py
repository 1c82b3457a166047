"""POST /v2/notifications/{sms,email}, GET /v2/notifications[/{id}]."""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request

from warta.api.auth import authenticate, warta
from warta.api.responses import JsonResponse
from warta.api.schemas import (
    Bulk,
    NotificationOut,
    NotificationPage,
    SendEmail,
    SendSms,
    SentNotification,
)
from warta.api.schemas import SendToCitizen as SendToCitizenBody
from warta.api.urls import base_url
from warta.deps import Warta
from warta.domain import statuses
from warta.domain.timefmt import notify_time
from warta.errors import BadRequest, ValidationFailed
from warta.services import bulk, citizen_sending, notification_status
from warta.services.sending import Caller, SendNotification, Sent, send
from warta.store.models import Notification

router = APIRouter(prefix="/v2/notifications", tags=["Notifications (Notify v2)"])
PAGE_SIZE = 250

AppDep = Annotated[Warta, Depends(warta)]
CallerDep = Annotated[Caller, Depends(authenticate)]


async def _check_rate(app: Warta, caller: Caller) -> None:
    await app.quotas.check_rate(caller.agency.id, caller.key_type, caller.agency.rate_limit)


def _template_ref(base: str, template_id: uuid.UUID, version: int) -> dict[str, Any]:
    return {
        "id": str(template_id),
        "version": version,
        "uri": f"{base}/v2/template/{template_id}/version/{version}",
    }


def _sent(base: str, sent: Sent) -> dict[str, Any]:
    row = sent.notification
    shown: dict[str, Any] = {"body": sent.body}
    if row.type == "sms":
        shown["from_number"] = row.sender
    else:
        shown.update(subject=sent.subject, from_email=row.sender, one_click_unsubscribe_url=None)
    return {
        "id": str(row.id),
        "reference": row.reference,
        "content": shown,
        "uri": f"{base}/v2/notifications/{row.id}",
        "template": _template_ref(base, row.template_id, row.template_version),
        "scheduled_for": None,
    }


async def _send(
    request: Request,
    caller: Caller,
    command: SendNotification,
    sender_field: str,
    sender_id: uuid.UUID | None,
) -> JsonResponse:
    # Not a dependency, as elsewhere: the two busiest routes skip solving one per request.
    app: Warta = request.app.state.warta
    await _check_rate(app, caller)
    if sender_id is not None:  # Warta has one sender per agency; Notify's words for a miss
        raise BadRequest(
            f"{sender_field} {sender_id} does not exist in database for "
            f"service id {caller.agency.id}"
        )
    return JsonResponse(_sent(base_url(request, app), await send(app, caller, command)), 201)


@router.post(
    "/sms", status_code=201, response_model=SentNotification, summary="Send a text message"
)
async def send_sms(body: SendSms, request: Request, caller: CallerDep) -> JsonResponse:
    command = SendNotification(
        "sms",
        body.phone_number,
        body.template_id,
        body.personalisation or {},
        body.reference,
        body.priority,
    )
    return await _send(request, caller, command, "sms_sender_id", body.sms_sender_id)


@router.post("/email", status_code=201, response_model=SentNotification, summary="Send an email")
async def send_email(body: SendEmail, request: Request, caller: CallerDep) -> JsonResponse:
    command = SendNotification(
        "email",
        body.email_address,
        body.template_id,
        body.personalisation or {},
        body.reference,
        body.priority,
    )
    return await _send(request, caller, command, "email_reply_to_id", body.email_reply_to_id)


@router.post("", status_code=201, summary="Send to a citizen (Warta extension)")
async def send_to_citizen(
    body: SendToCitizenBody, request: Request, app: AppDep, caller: CallerDep
) -> JsonResponse:
    await _check_rate(app, caller)
    sent = await citizen_sending.send_to_citizen(
        app,
        caller,
        citizen_sending.SendToCitizen(
            template_id=body.template_id,
            citizen_id=body.citizen_id,
            nik=body.nik,
            personalisation=body.personalisation or {},
            priority=body.priority,
            topic=body.topic,
            reference=body.reference,
            scheduled_for=body.scheduled_for,
            expires_at=body.expires_at,
            all_channels=body.all_channels,
        ),
    )
    row, decision = sent.row, sent.decision
    base = base_url(request, app)
    return JsonResponse(
        {
            "id": str(row["id"]),
            "reference": row["reference"],
            "citizen_id": str(row["citizen_id"]),
            "channel": decision.channel,
            "status": row["status"],
            "content": sent.contents.get(decision.channel or "", {}),
            "routing": json.loads(row["routing"]),
            "uri": f"{base}/v2/notifications/{row['id']}",
            "template": _template_ref(base, row["template_id"], row["template_version"]),
            "scheduled_for": notify_time(decision.at) if decision.action != "send" else None,
        },
        status_code=201,
    )


@router.post("/bulk", status_code=201, summary="Send one template to many recipients (GC Notify)")
async def send_bulk(body: Bulk, request: Request, app: AppDep, caller: CallerDep) -> JsonResponse:
    await _check_rate(app, caller)
    if (body.rows is None) == (body.csv is None):
        raise ValidationFailed("Give exactly one of rows and csv")
    if body.reply_to_id is not None:
        raise BadRequest(f"reply_to_id {body.reply_to_id} does not exist in database")
    rows = body.rows if body.rows is not None else await bulk.rows_from_csv(app, body.csv or "")
    job = await bulk.create(
        app,
        caller,
        bulk.NewJob(body.name, body.template_id, rows, body.reference, body.scheduled_for),
    )
    return JsonResponse({"data": _job(bulk.JobProgress(job, {}))}, status_code=201)


@router.get("/bulk/{job_id}", summary="A bulk send and its progress")
async def get_bulk(job_id: uuid.UUID, app: AppDep, caller: CallerDep) -> JsonResponse:
    return JsonResponse({"data": _job(await bulk.progress(app, caller, job_id))})


def _job(progress: bulk.JobProgress) -> dict[str, Any]:
    job = progress.job
    return {
        "id": str(job.id),
        "original_file_name": job.name,
        "job_status": job.status,
        "notification_count": job.total,
        "template": str(job.template_id),
        "template_version": job.template_version,
        "service": str(job.agency_id),
        "scheduled_for": notify_time(job.scheduled_for),
        "created_at": notify_time(job.created_at),
        "statistics": [{"status": s, "count": n} for s, n in sorted(progress.counts.items())],
    }


@router.post("/letter", status_code=400, include_in_schema=False)
async def send_letter(caller: CallerDep) -> None:
    raise BadRequest("Cannot send letters: Warta sends SMS, email, push and chat")


def present(base: str, shown: notification_status.Shown) -> dict[str, Any]:
    """Notify's notification body; a send to a citizen adds Warta's routing fields. Its
    recipient is masked unless this agency added that contact (``notification_status``)."""
    row, recipient = shown.row, shown.recipient
    return {
        "id": str(row.id),
        "reference": row.reference,
        "email_address": recipient if row.type == "email" else None,
        "phone_number": recipient if row.type == "sms" else None,
        "line_1": None,
        "line_2": None,
        "line_3": None,
        "line_4": None,
        "line_5": None,
        "line_6": None,
        "postcode": None,
        "postage": None,
        "type": row.type,
        "status": row.status,
        "template": _template_ref(base, row.template_id, row.template_version),
        "body": shown.body,
        "subject": shown.subject,
        "created_at": notify_time(row.created_at),
        "created_by_name": None,
        "sent_at": notify_time(row.sent_at),
        "completed_at": notify_time(row.completed_at),
        "scheduled_for": None,
        "estimated_delivery": None,
        "billable_units": row.billable_units,
        "cost_in_pounds": 0.0,
        "is_cost_data_ready": row.status in statuses.FINAL,
        "cost_details": {"billable_sms_fragments": row.billable_units} if row.type == "sms" else {},
        **_citizen_fields(row),
    }


def _citizen_fields(row: Notification) -> dict[str, Any]:
    if row.citizen_id is None:
        return {}
    return {
        "citizen_id": str(row.citizen_id),
        "message_id": str(row.message_id),
        "broadcast_id": str(row.broadcast_id) if row.broadcast_id else None,
        "channel": row.type,
        "priority": row.priority,
        "topic": row.topic,
        "expires_at": notify_time(row.expires_at),
        "failure_reason": row.failure_reason,
        "routing": json.loads(row.routing) if row.routing else None,
    }


def _uuid(name: str, value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError as exc:
        raise ValidationFailed(f"{name} is not a valid UUID") from exc


@router.get(
    "/{notification_id}", response_model=NotificationOut, summary="Get the status of one message"
)
async def get_notification(
    notification_id: str, request: Request, app: AppDep, caller: CallerDep
) -> JsonResponse:
    wanted = _uuid("notification_id", notification_id)
    found = await notification_status.one(app, caller, wanted)
    shown = present(base_url(request, app), found.shown)
    if found.shown.row.message_id is not None:
        shown["attempts"] = [_attempt(a) for a in found.attempts]
    return JsonResponse(shown)


def _attempt(row: Notification) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "channel": row.type,
        "status": row.status,
        "created_at": notify_time(row.created_at),
        "sent_at": notify_time(row.sent_at),
        "completed_at": notify_time(row.completed_at),
        "failure_reason": row.failure_reason,
        "routing": json.loads(row.routing) if row.routing else None,
    }


@router.get("", response_model=NotificationPage, summary="Get the status of multiple messages")
async def list_notifications(
    request: Request,
    app: AppDep,
    caller: CallerDep,
    template_type: Annotated[str | None, Query(pattern="^(sms|email|letter)$")] = None,
    status: Annotated[list[str] | None, Query()] = None,
    reference: str | None = None,
    older_than: str | None = None,
    include_jobs: bool | None = None,
) -> JsonResponse:
    for value in status or []:
        if value not in statuses.FILTERS:
            raise ValidationFailed(
                f"status {value} is not one of [{', '.join(sorted(statuses.FILTERS))}]"
            )
    base = base_url(request, app)
    rows = await notification_status.page(
        app,
        caller,
        template_type=template_type,
        statuses=status or [],
        reference=reference,
        older_than=_uuid("older_than", older_than) if older_than else None,
        limit=PAGE_SIZE,
    )
    # As Notify: ``next`` whenever this page has rows, with ``older_than`` first, because
    # Notify's clients take the first UUID they find in that link.
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "older_than"]
    path = f"{base}{request.url.path}?"
    links = {
        "current": path + urlencode(([("older_than", older_than)] if older_than else []) + query)
    }
    if rows:
        links["next"] = path + urlencode([("older_than", str(rows[-1].row.id)), *query])
    return JsonResponse({"notifications": [present(base, r) for r in rows], "links": links})
