"""Templates as an agency's systems read them through the Notify API: one, one of its
versions, all of a type, and one previewed with personalisation."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from warta.deps import Warta
from warta.domain.email import render_email
from warta.errors import NotFound
from warta.services import content
from warta.services.sending import MULTI, render_all, render_content
from warta.store.models import Template, TemplateVersion


async def get(app: Warta, agency_id: uuid.UUID, template_id: uuid.UUID) -> Template:
    async with app.uow() as uow:
        template = await uow.templates.get(agency_id, template_id)
    if template is None:
        raise NotFound()
    return template


async def version(
    app: Warta, agency_id: uuid.UUID, template_id: uuid.UUID, number: int
) -> tuple[Template, TemplateVersion]:
    async with app.uow() as uow:
        found = await uow.templates.version(agency_id, template_id, number)
    if found is None:
        raise NotFound()
    return found


async def of_type(app: Warta, agency_id: uuid.UUID, kind: str | None) -> Sequence[Template]:
    """The agency's templates (every type when ``kind`` is None), by name."""
    async with app.uow() as uow:
        return await uow.templates.for_agency(agency_id, kind)


@dataclass(frozen=True)
class Preview:
    template: Template
    body: str | None
    subject: str | None
    html: str | None
    #: A multi-channel template's every channel; ``body`` and the rest show the first.
    channels: content.ChannelContents | None = None


async def preview(
    app: Warta, agency_id: uuid.UUID, template_id: uuid.UUID, personalisation: dict[str, Any]
) -> Preview:
    template = await get(app, agency_id, template_id)
    if template.type == MULTI:
        rendered = render_all(template, personalisation)
        first = rendered.get("email") or rendered["sms"]
        return Preview(
            template, first["body"], first.get("subject"), first.get("html"), channels=rendered
        )
    subject, text = render_content(template, personalisation)
    html = render_email(subject or "", text).html if template.type == "email" else None
    return Preview(template, text, subject, html)
