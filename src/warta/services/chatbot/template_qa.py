"""The Q&A an agency writes on a template, which the chatbot answers questions about a
message from (docs/chatbot.md): what it is about, what to do, the deadline, where, who
to contact, and free question-answer pairs; placeholders are filled per message."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping

from warta.deps import Warta
from warta.domain import notification_qa
from warta.errors import BadRequest, InvalidInput, NotFound


async def qa_of(app: Warta, agency_id: uuid.UUID, template_id: uuid.UUID) -> dict[str, object]:
    async with app.uow() as uow:
        template = await uow.templates.get(agency_id, template_id)
    if template is None:
        raise NotFound("Template not found")
    return dict(json.loads(template.qa_json)) if template.qa_json else {}


async def set_qa(
    app: Warta, agency_id: uuid.UUID, template_id: uuid.UUID, qa: Mapping[str, object]
) -> dict[str, object]:
    """Replace the template's Q&A (an empty one removes it). Messages already sent keep
    the Q&A they were sent with."""
    try:
        checked = notification_qa.check(qa)
    except InvalidInput as exc:
        raise BadRequest(exc.msgid, field=exc.field, **exc.values) from exc
    async with app.uow() as uow:
        template = await uow.templates.get(agency_id, template_id)
        if template is None:
            raise NotFound("Template not found")
        template.qa_json = json.dumps(checked, ensure_ascii=False) if checked else None
        await uow.commit()
    await app.caches.templates.drop(template_id)
    return checked
