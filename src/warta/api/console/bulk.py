"""Bulk send: upload a CSV or XLSX list, read a row-by-row report, send, watch progress.

Checking uses the same ``services.bulk`` rules as POST /v2/notifications/bulk, and as
GOV.UK Notify does, one bad row refuses the whole file: the report names each bad row
(its number in the spreadsheet, the column, why) and the person fixes the file. Between
the report and the send the rows wait, sealed, in the report's form (``uploads.hold``).
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from warta.api.console.web import AppDep, allowed, page
from warta.api.pages import error_text
from warta.api.pages import translate as _t
from warta.deps import Warta
from warta.domain import statuses
from warta.errors import ApiError, NotFound
from warta.services import bulk, lookups, template_editing, uploads
from warta.services.sending import Caller
from warta.services.staff import Member
from warta.services.template_editing import Draft

router = APIRouter()
Sender = Annotated[Member, Depends(allowed("send"))]
Viewer = Annotated[Member, Depends(allowed("view"))]
#: Bulk sends go to phone numbers or addresses in the file (``services.bulk``).
SENDABLE = ("sms", "email")
#: Rows shown as a sample when every row is fine: enough to recognise the file.
SAMPLE = 5
#: Problems listed on the report; the count says how many more there are.
SHOWN = 100
NO_STORE = {"Cache-Control": "no-store"}  # the report shows people's details
#: Column names ``services.bulk`` takes for the recipient, as a person would write them.
RECIPIENT_COLUMNS = {
    "sms": ("phone number", "nomor telepon", "no hp"),
    "email": ("email address", "email"),
}


async def agency_caller(app: Warta, me: Member) -> Caller:
    """The console acts as its agency without an API key, as a live key would."""
    entry = await lookups.agency_and_keys(app, me.agency_id)
    if entry is None:
        raise NotFound("No such agency")
    return Caller(agency=entry.agency, key_id=None, key_type="normal")


def _owner(me: Member) -> str:
    return f"{me.agency_id}:{me.id}"


async def _form_page(
    request: Request, app: Warta, me: Member, status: int = 200, **values: object
) -> Response:
    choices = [t for t in await template_editing.templates(app, me.agency_id) if t.type in SENDABLE]
    columns = {
        t.id: template_editing.placeholder_names(Draft.of(t.type, t)) for t in choices
    }  # what each template's file needs beside the recipient
    return page(
        request, me, "bulk", status,
        choices=choices, columns=columns, recipient_columns=RECIPIENT_COLUMNS, **values,
    )  # fmt: skip


@router.get("/bulk")
async def bulk_page(request: Request, app: AppDep, me: Sender) -> Response:
    return await _form_page(request, app, me)


@router.post("/bulk/check")
async def check(
    request: Request,
    app: AppDep,
    me: Sender,
    # Declared, not read from request.form(): FastAPI then closes the upload after the
    # response, whatever happens (a refused role included).
    template: Annotated[str, Form()] = "",
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    try:
        template_id = uuid.UUID(template)
    except ValueError:
        return await _form_page(request, app, me, 400, error=_t(request, "Choose a template"))
    if file is None or not file.filename:
        no_file = _t(request, "Choose a file")
        return await _form_page(request, app, me, 400, error=no_file, chosen=template_id)
    data = await file.read(uploads.MAX_BYTES + 1)
    try:
        caller = await agency_caller(app, me)
        # Read and checked in a worker process: other requests go on meanwhile.
        checked = await bulk.check_upload(
            app, caller, template_id, file.filename, data, sample=SAMPLE, shown=SHOWN
        )
        held = None
        if checked.packed is not None:
            held = uploads.seal(app.keyring, _owner(me), checked.packed)
    except ApiError as exc:
        return await _form_page(request, app, me, exc.status_code, error=exc, chosen=template_id)
    problems = [(number, p, error_text(request, p.error)) for number, p in checked.problems]
    response = page(
        request, me, "bulk_report", 200,
        filename=file.filename, template=await lookups.template(app, me.agency_id, template_id),
        header=checked.header, sample=checked.sample, total=checked.total,
        problems=problems, unshown=checked.problem_count - len(problems), held=held,
    )  # fmt: skip
    response.headers.update(NO_STORE)
    return response


@router.post("/bulk/send")
async def send(
    request: Request, app: AppDep, me: Sender, upload: Annotated[str, Form()] = ""
) -> Response:
    try:
        held = uploads.take(app.keyring, _owner(me), upload, app.clock())
        caller = await agency_caller(app, me)
        await app.quotas.check_rate(caller.agency.id, caller.key_type, caller.agency.rate_limit)
        job = await bulk.create(app, caller, bulk.NewJob(held.name, held.template_id, held.rows))
    except ApiError as exc:
        return await _form_page(request, app, me, exc.status_code, error=exc)
    return RedirectResponse(f"/console/jobs/{job.id}", status_code=303)


@router.get("/jobs/{job_id}")
async def job_page(request: Request, app: AppDep, me: Viewer, job_id: uuid.UUID) -> Response:
    progress = await bulk.progress(app, await agency_caller(app, me), job_id)
    template = await lookups.template(app, me.agency_id, progress.job.template_id)
    done = sum(n for s, n in progress.counts.items() if s in statuses.FINAL)
    return page(
        request, me, "job", 200,
        job=progress.job, template=template, counts=status_rows(progress.counts),
        done=done, running=done < progress.job.total and progress.job.status != "cancelled",
    )  # fmt: skip


def status_rows(counts: dict[str, int]) -> list[tuple[str, int]]:
    """Every status, in the pipeline's order, so the table has the same rows each time."""
    return [(status, counts.get(status, 0)) for status in statuses.ALL]
