"""GET /v2/template/{id}[/version/{v}], GET /v2/templates, POST /v2/template/{id}/preview."""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query

from warta.api.auth import authenticate, warta
from warta.api.responses import JsonResponse
from warta.api.schemas import Preview, TemplateList, TemplateOut, TemplatePreviewOut
from warta.deps import Warta
from warta.domain.timefmt import notify_time
from warta.errors import ValidationFailed
from warta.services import template_reads
from warta.services.sending import MULTI, Caller
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
    template = await template_reads.get(app, caller.agency.id, _uuid(template_id))
    return JsonResponse(present(template))


#: Versions are stored as 32-bit integers (PostgreSQL's INTEGER); a larger number cannot
#: name one, and would fail in the database rather than as bad input.
MAX_VERSION = 2**31 - 1


@router.get(
    "/template/{template_id}/version/{version}",
    response_model=TemplateOut,
    summary="Get a template by ID and version",
)
async def get_template_version(
    template_id: str,
    version: Annotated[int, Path(ge=1, le=MAX_VERSION)],
    app: AppDep,
    caller: CallerDep,
) -> JsonResponse:
    found = await template_reads.version(app, caller.agency.id, _uuid(template_id), version)
    return JsonResponse(present(*found))


@router.get("/templates", response_model=TemplateList, summary="Get all templates")
async def list_templates(
    app: AppDep,
    caller: CallerDep,
    type: Annotated[str | None, Query(pattern="^(sms|email|letter|multi)$")] = None,
) -> JsonResponse:
    templates = await template_reads.of_type(app, caller.agency.id, type)
    return JsonResponse({"templates": [present(t) for t in templates]})


@router.post(
    "/template/{template_id}/preview",
    response_model=TemplatePreviewOut,
    summary="Generate a preview template",
)
async def preview_template(
    template_id: str, body: Preview, app: AppDep, caller: CallerDep
) -> JsonResponse:
    wanted = _uuid(template_id)
    shown = await template_reads.preview(app, caller.agency.id, wanted, body.personalisation or {})
    template = shown.template
    preview: dict[str, Any] = {
        "id": str(template.id),
        "type": template.type,
        "version": template.version,
        "body": shown.body,
        "subject": shown.subject,
        "html": shown.html,
        "postage": None,
    }
    if shown.channels is not None:
        preview["channels"] = shown.channels
    return JsonResponse(preview)
