"""FAQ: the questions and answers the chatbot answers citizens from (``faq`` intent).

Everyone in the agency reads them; editors and admins (``edit_templates``) add, change
and delete them. Another agency's entry is a 404.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from warta.api.console.web import AppDep, allowed, page
from warta.deps import Warta
from warta.errors import ApiError
from warta.services.chatbot import faq
from warta.services.staff import Member

router = APIRouter()
Viewer = Annotated[Member, Depends(allowed("view"))]
Editor = Annotated[Member, Depends(allowed("edit_templates"))]
Text = Annotated[str, Form()]


async def _faq_page(
    request: Request, app: Warta, me: Member, status: int = 200, **values: object
) -> Response:
    found = await faq.entries(app, me.agency_id)
    return page(
        request, me, "faq", status, entries=found, max_question=faq.MAX_QUESTION,
        max_answer=faq.MAX_ANSWER, **values,
    )  # fmt: skip


@router.get("/faq")
async def listing(request: Request, app: AppDep, me: Viewer, done: str = "") -> Response:
    return await _faq_page(request, app, me, done=done)


async def _save(
    request: Request, app: Warta, me: Member, question: str, answer: str, entry: uuid.UUID | None
) -> Response:
    question, answer = question.replace("\r\n", "\n"), answer.replace("\r\n", "\n")
    try:
        await faq.save(app, me.agency_id, question, answer, entry)
    except ApiError as exc:
        if exc.status_code == 404:
            raise
        typed = {"id": entry, "question": question, "answer": answer}
        return await _faq_page(request, app, me, exc.status_code, error=exc, form=typed)
    return RedirectResponse("/console/faq?done=saved", status_code=303)


@router.post("/faq")
async def add(
    request: Request, app: AppDep, me: Editor, question: Text = "", answer: Text = ""
) -> Response:
    return await _save(request, app, me, question, answer, None)


@router.post("/faq/{entry_id}")
async def change(
    request: Request,
    app: AppDep,
    me: Editor,
    entry_id: uuid.UUID,
    question: Text = "",
    answer: Text = "",
) -> Response:
    return await _save(request, app, me, question, answer, entry_id)


@router.post("/faq/{entry_id}/delete")
async def delete(request: Request, app: AppDep, me: Editor, entry_id: uuid.UUID) -> Response:
    await faq.remove(app, me.agency_id, entry_id)
    return RedirectResponse("/console/faq?done=deleted", status_code=303)
