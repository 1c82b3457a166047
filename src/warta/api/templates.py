"""GET /v2/template/{id}[/version/{v}], GET /v2/templates, POST /v2/template/{id}/preview."""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from warta.api.auth import authenticate, warta
from warta.api.responses import JsonResponse
from warta.api.schemas import Preview, TemplateList, TemplateOut, TemplatePreviewOut
from warta.bootstrap import Warta
from warta.domain.email import render_email
from warta.domain.timefmt import notify_time
from warta.errors import NotFound, ValidationFailed
from warta.services.sending import MULTI, Caller, render_all, render_content
from warta.store.models import Template, TemplateVersion

router = APIRouter(prefix="/v2", tags=["Templates (Notify v2)"])
AppDep = Annotated[Warta, Depends(warta)]
CallerDep = Annotated[Caller, Depends(authenticate)]


def _uuid(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError as exc:
        raise ValidationFailed("template_id is not a valid UUID") from exc


def present(template: Template, version: TemplateVersion | None = None) -> dict[str, Any]:
    source = version or template
    return {
        "id": str(template.id),
        "name": source.name,
        "type": template.type,
        "created_at": notify_time(template.created_at),
        "updated_at": notify_time(version.created_at if version else template.updated_at),
        "created_by": "warta",
        "version": version.version if version else template.version,
        "body": source.body,
        "subject": source.subject,
        "letter_contact_block": None,
        "postage": None,
        **_channels(source, template.type),
    }


def _channels(source: Template | TemplateVersion, kind: str) -> dict[str, Any]:
    """Warta extension: a multi-channel template shows each channel's part."""
    if kind != MULTI:
        return {}
    sms_body = json.loads(source.channel_bodies or "{}").get("sms")
    parts: dict[str, Any] = {}
    if source.body:
        parts["email"] = {"subject": source.subject, "body": source.body}
    if sms_body:
        parts["sms"] = {"body": sms_body}
    return {"channels": parts}


@router.get("/template/{template_id}", response_model=TemplateOut, summary="Get a template by ID")
async def get_template(template_id: str, app: AppDep, caller: CallerDep) -> JsonResponse:
    async with app.uow() as uow:
        template = await uow.templates.get(caller.agency.id, _uuid(template_id))
    if template is None:
        raise NotFound()
    return JsonResponse(present(template))


@router.get(
    "/template/{template_id}/version/{version}",
    response_model=TemplateOut,
    summary="Get a template by ID and version",
)
async def get_template_version(
    template_id: str, version: int, app: AppDep, caller: CallerDep
) -> JsonResponse:
    async with app.uow() as uow:
        found = await uow.templates.version(caller.agency.id, _uuid(template_id), version)
    if found is None:
        raise NotFound()
    return JsonResponse(present(*found))


@router.get("/templates", response_model=TemplateList, summary="Get all templates")
async def list_templates(
    app: AppDep,
    caller: CallerDep,
    type: Annotated[str | None, Query(pattern="^(sms|email|letter|multi)$")] = None,
) -> JsonResponse:
    async with app.uow() as uow:
        templates = await uow.templates.for_agency(caller.agency.id, type)
    return JsonResponse({"templates": [present(t) for t in templates]})


@router.post(
    "/template/{template_id}/preview",
    response_model=TemplatePreviewOut,
    summary="Generate a preview template",
)
async def preview_template(
    template_id: str, body: Preview, app: AppDep, caller: CallerDep
) -> JsonResponse:
    async with app.uow() as uow:
        template = await uow.templates.get(caller.agency.id, _uuid(template_id))
    if template is None:
        raise NotFound()
    if template.type == MULTI:
        rendered = render_all(template, body.personalisation or {})
        first = rendered.get("email") or rendered["sms"]
        return JsonResponse(
            {
                "id": str(template.id),
                "type": template.type,
                "version": template.version,
                "body": first["body"],
                "subject": first.get("subject"),
                "html": first.get("html"),
                "postage": None,
                "channels": rendered,
            }
        )
    subject, text = render_content(template, body.personalisation or {})
    html = render_email(subject or "", text).html if template.type == "email" else None
    return JsonResponse(
        {
            "id": str(template.id),
            "type": template.type,
            "version": template.version,
            "body": text,
            "subject": subject,
            "html": html,
            "postage": None,
        }
    )
