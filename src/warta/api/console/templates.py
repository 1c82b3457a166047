"""Templates: the list, the editor with a preview per channel, versions and their diff.

The editor works without JavaScript: its "Preview" button posts the form and the page
comes back with the preview. ``console.js`` posts the same form to ``/templates/preview``
as people type and swaps in the returned fragment.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from warta.api.console.web import AppDep, allowed, page
from warta.errors import ApiError, NotFound, WartaError
from warta.services import template_editing
from warta.services.chatbot import template_qa
from warta.services.staff import Member
from warta.services.template_editing import Draft

router = APIRouter()
Viewer = Annotated[Member, Depends(allowed("view"))]
Editor = Annotated[Member, Depends(allowed("edit_templates"))]
KINDS = ("email", "sms", "multi")


def _draft(
    kind: Annotated[str, Form()] = "sms",
    name: Annotated[str, Form()] = "",
    subject: Annotated[str, Form()] = "",
    body: Annotated[str, Form()] = "",
    sms_body: Annotated[str, Form()] = "",
) -> Draft:
    # Browsers send textarea line ends as CRLF; store what the person typed.
    def text(value: str) -> str:
        return value.replace("\r\n", "\n")

    return Draft(kind, name, subject, text(body), text(sms_body))


DraftForm = Annotated[Draft, Depends(_draft)]
Action = Annotated[str, Form()]
#: The chatbot's questions about a message from the template (docs/chatbot.md), then up
#: to ``QA_PAIRS`` free question-answer pairs: form fields ``qa_<name>``, ``qa_q<n>``,
#: ``qa_a<n>``.
QA_FIELDS = ("about", "todo", "deadline", "where", "contact")
QA_PAIRS = 5


async def _qa_form(request: Request) -> dict[str, object]:
    form = await request.form()

    def field(name: str) -> str:
        return str(form.get(f"qa_{name}", "")).replace("\r\n", "\n").strip()

    qa: dict[str, object] = {name: field(name) for name in QA_FIELDS if field(name)}
    pairs = [[field(f"q{n}"), field(f"a{n}")] for n in range(1, QA_PAIRS + 1)]
    qa["pairs"] = [pair for pair in pairs if pair[0] or pair[1]]
    return qa


QaForm = Annotated[dict[str, object], Depends(_qa_form)]


@router.get("/templates")
async def listing(request: Request, app: AppDep, me: Viewer) -> Response:
    found = await template_editing.templates(app, me.agency_id)
    return page(request, me, "templates", templates=found)


async def _editor(
    request: Request,
    app: AppDep,
    me: Member,
    draft: Draft,
    template_id: uuid.UUID | None = None,
    status: int = 200,
    error: str | WartaError = "",
    qa: dict[str, object] | None = None,
) -> Response:
    shown = await template_editing.preview(app, me.agency_id, draft)
    if qa is None:
        qa = await template_qa.qa_of(app, me.agency_id, template_id) if template_id else {}
    return page(
        request, me, "template_edit", status,
        draft=draft, template_id=template_id, kinds=KINDS, preview=shown, error=error,
        qa=qa, qa_fields=QA_FIELDS, qa_pairs=QA_PAIRS,
    )  # fmt: skip


@router.get("/templates/new")
async def new(request: Request, app: AppDep, me: Editor, kind: str = "sms") -> Response:
    return await _editor(request, app, me, Draft(kind if kind in KINDS else "sms", ""))


@router.post("/templates/new")
async def create(
    request: Request,
    app: AppDep,
    me: Editor,
    draft: DraftForm,
    qa: QaForm,
    action: Action = "save",
) -> Response:
    if action == "preview":
        return await _editor(request, app, me, draft, qa=qa)
    try:
        template = await template_editing.create(app, me.agency_id, draft)
    except ApiError as exc:
        return await _editor(request, app, me, draft, status=exc.status_code, error=exc, qa=qa)
    try:
        await template_qa.set_qa(app, me.agency_id, template.id, qa)
    except ApiError as exc:  # the template is made: its Q&A is corrected on its edit page
        return await _editor(request, app, me, draft, template.id, exc.status_code, exc, qa)
    return RedirectResponse(f"/console/templates/{template.id}?done=saved", status_code=303)


@router.post("/templates/preview")
async def preview(request: Request, app: AppDep, me: Editor, draft: DraftForm) -> Response:
    """The preview panel alone, for console.js."""
    shown = await template_editing.preview(app, me.agency_id, draft)
    return page(request, me, "template_preview", preview=shown, draft=draft)


@router.get("/templates/{template_id}")
async def view(
    request: Request, app: AppDep, me: Viewer, template_id: uuid.UUID, done: str = ""
) -> Response:
    template, versions = await template_editing.history(app, me.agency_id, template_id)
    draft = Draft.of(template.type, template)
    shown = await template_editing.preview(app, me.agency_id, draft)
    return page(
        request, me, "template", template=template, versions=versions, draft=draft,
        preview=shown, done=done,
    )  # fmt: skip


@router.get("/templates/{template_id}/edit")
async def edit(request: Request, app: AppDep, me: Editor, template_id: uuid.UUID) -> Response:
    template, _versions = await template_editing.history(app, me.agency_id, template_id)
    return await _editor(request, app, me, Draft.of(template.type, template), template.id)


@router.post("/templates/{template_id}/edit")
async def update(
    request: Request,
    app: AppDep,
    me: Editor,
    template_id: uuid.UUID,
    draft: DraftForm,
    qa: QaForm,
    action: Action = "save",
) -> Response:
    template, _versions = await template_editing.history(app, me.agency_id, template_id)
    draft = draft.for_kind(template.type)
    if action == "preview":
        return await _editor(request, app, me, draft, template_id, qa=qa)
    before = await template_qa.qa_of(app, me.agency_id, template_id)
    try:
        qa_saved = await template_qa.set_qa(app, me.agency_id, template_id, qa)
        try:
            saved = await template_editing.update(app, me.agency_id, template_id, draft)
        except ApiError:
            await template_qa.set_qa(app, me.agency_id, template_id, before)  # all or nothing
            raise
    except ApiError as exc:
        return await _editor(
            request, app, me, draft, template_id, status=exc.status_code, error=exc, qa=qa
        )
    done = "saved" if saved or qa_saved != before else "unchanged"
    return RedirectResponse(f"/console/templates/{template_id}?done={done}", status_code=303)


@router.get("/templates/{template_id}/diff")
async def diff(
    request: Request,
    app: AppDep,
    me: Viewer,
    template_id: uuid.UUID,
    old: Annotated[int | None, Query(alias="from")] = None,
    new: Annotated[int | None, Query(alias="to")] = None,
) -> Response:
    template, versions = await template_editing.history(app, me.agency_id, template_id)
    by_number = {v.version: v for v in versions}
    to = new if new is not None else template.version
    since = old if old is not None else to - 1
    if since not in by_number or to not in by_number:
        raise NotFound("No such version of this template")
    changes = template_editing.compare(template.type, by_number[since], by_number[to])
    return page(
        request, me, "template_diff", template=template, versions=versions,
        old=by_number[since], new=by_number[to], changes=changes,
    )  # fmt: skip
