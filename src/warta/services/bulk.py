"""Bulk sends (POST /v2/notifications/bulk, as GC Notify has it): one template, a row of
personalisation per recipient, given as rows or as CSV text.

Every row is checked before anything is stored: one bad row refuses the whole job with
each bad row named, so an agency never half-sends a list. Then the job and its
notifications are written together (in chunks, one transaction) and handed to the queue,
or left for the sweeper at ``scheduled_for``.

Reading a file and checking its rows is pure CPU work (``services.bulk_rows``): it runs
in a worker process (``services.offload``), so a 50,000-row file never holds up other
requests. Only sealing the rows to store (encrypting each recipient and its content) is
done here, where the keys are, a few rows at a time between other requests.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from warta import metrics
from warta.deps import Warta, lane_of
from warta.domain.channels import channel_named
from warta.errors import (
    ApiError,
    BadRequest,
    InvalidInput,
    NotFound,
    ValidationFailed,
)
from warta.services import lookups, offload
from warta.services.bulk_rows import (
    FileCheck,
    GoodRow,
    RowProblem,
    TemplateRules,
    check_file,
    check_rows,
    read_csv_text,
    row_rules,
)
from warta.services.sending import (
    Caller,
    SendNotification,
    check_team_recipient,
    check_times,
    count_toward_limit,
    new_row,
)
from warta.store.models import Job, Template

#: Rows inserted at once; and sealed between two turns of the event loop (a few ms).
CHUNK = 250
SEALED_AT_ONCE = 20
_SHOWN_ERRORS = 10


@dataclass(frozen=True)
class NewJob:
    name: str
    template_id: uuid.UUID
    rows: list[list[str]]
    reference: str | None = None
    scheduled_for: datetime | None = None


@dataclass(frozen=True)
class Checked:
    """A job as it would be stored: its rows that can be sent, and those that refuse it."""

    job: Job
    template: Template
    rows: list[GoodRow]
    problems: list[RowProblem]
    due: datetime


@dataclass(frozen=True)
class JobProgress:
    job: Job
    counts: dict[str, int]


async def rows_from_csv(app: Warta, text: str) -> list[list[str]]:
    """The non-blank rows of CSV text (the API's ``csv``), read in a worker process."""
    return await offload.run_list(app, read_csv_text, text)


async def check(app: Warta, caller: Caller, new: NewJob, *, keep: bool = False) -> Checked:
    """Every row checked as the job would store it; nothing is stored. Raises for what
    refuses the whole file (the template, the header, the number of rows). The rows that
    can be sent come back only when ``keep`` is set and no row has a problem: only then
    are they needed (to store them), and each object this process takes back costs it
    time, garbage collection included, while other requests wait."""
    now = app.clock()
    template = await _template(app, caller, new.template_id)
    rules = row_rules(TemplateRules.of(template, caller), new.rows)
    check_times(now, new.scheduled_for)  # from now to 96 hours ahead, as GC Notify
    due = max(now, new.scheduled_for) if new.scheduled_for else now
    job = Job(
        id=uuid.uuid4(),
        agency_id=caller.agency.id,
        api_key_id=caller.key_id,
        template_id=template.id,
        template_version=template.version,
        name=new.name.strip()[:255] or "bulk",
        status="finished",
        total=len(new.rows) - 1,
        scheduled_for=new.scheduled_for,
        created_at=now,
    )
    outcomes = await offload.run_list(app, check_rows, rules, new.rows[1:], keep=keep)
    rows = [o for o in outcomes if isinstance(o, GoodRow)]
    problems = [o for o in outcomes if isinstance(o, RowProblem)]
    if caller.key_type == "team":
        rows, problems = await _on_guest_list(app, caller, rows, problems)
    return Checked(job, template, rows, problems, due)


async def check_upload(
    app: Warta,
    caller: Caller,
    template_id: uuid.UUID,
    filename: str,
    data: bytes,
    *,
    sample: int,
    shown: int,
) -> FileCheck:
    """An uploaded CSV or XLSX file read and every row checked, in a worker process;
    nothing is stored. Raises for what refuses the whole file."""
    template = await _template(app, caller, template_id)
    rules = TemplateRules.of(template, caller)
    return await offload.run(
        app, check_file, rules, filename, data, template_id, app.clock(), sample, shown
    )


async def _on_guest_list(
    app: Warta, caller: Caller, rows: list[GoodRow], problems: list[RowProblem]
) -> tuple[list[GoodRow], list[RowProblem]]:
    """A team key's rows: only to the guest list (a database look-up, so not in ``_row``)."""
    kept = []
    for row in rows:
        try:
            if not row.simulated:
                await check_team_recipient(app, caller, row.recipient)
        except (InvalidInput, ApiError) as exc:
            problems.append(RowProblem(row.number, None, exc))
        else:
            kept.append(row)
    return kept, sorted(problems, key=lambda p: p.number)


async def create(app: Warta, caller: Caller, new: NewJob) -> Job:
    checked = await check(app, caller, new, keep=True)
    if checked.problems:
        errors = [str(p) for p in checked.problems]
        more = f" ({len(errors) - _SHOWN_ERRORS} more)" if len(errors) > _SHOWN_ERRORS else ""
        listed = ". ".join(errors[:_SHOWN_ERRORS]) + more
        raise ValidationFailed("Some rows have errors. %(rows)s", rows=listed)
    job, due = checked.job, checked.due
    now = job.created_at
    rows = await _sealed(app, caller, checked, new)
    counted = await count_toward_limit(app, caller, now, len(rows))
    try:
        async with app.uow() as uow:
            await uow.notifications.add_job(job)
            for start in range(0, len(rows), CHUNK):
                await uow.notifications.insert_many(rows[start : start + CHUNK])
            await uow.commit()
    except Exception:
        if counted:
            await app.quotas.uncount_message(caller.agency.id, len(rows))
        raise
    if rows:
        metrics.accepted(rows[0]["type"], len(rows))  # one template: one channel
    if due <= now:
        lane = lane_of(rows[0]["type"], rows[0]["priority"]) if rows else None
        for start in range(0, len(rows), CHUNK):
            chunk = [r["id"] for r in rows[start : start + CHUNK]]
            await app.queue.submit("deliver", chunk, lane=lane)
    return job


async def _template(app: Warta, caller: Caller, template_id: uuid.UUID) -> Template:
    template = await lookups.template(app, caller.agency.id, template_id)
    if template is None or template.archived:
        raise BadRequest("Template not found")
    if template.type not in ("sms", "email"):
        raise BadRequest(
            "A bulk send needs an email or SMS template; multi-channel templates go to "
            "citizens (POST /v2/notifications, POST /v2/broadcasts)"
        )
    return template


async def _sealed(
    app: Warta, caller: Caller, checked: Checked, new: NewJob
) -> list[dict[str, Any]]:
    """The job's notification rows, encrypted here, where the keys are: a few at a time,
    letting other requests run in between."""
    rows = []
    for start in range(0, len(checked.rows), SEALED_AT_ONCE):
        for good in checked.rows[start : start + SEALED_AT_ONCE]:
            rows.append(_stored(app, caller, checked, good, new))
        await asyncio.sleep(0)
    return rows


def _stored(
    app: Warta, caller: Caller, checked: Checked, good: GoodRow, new: NewJob
) -> dict[str, Any]:
    job, template, due = checked.job, checked.template, checked.due
    command = SendNotification(
        channel_named(template.type), good.raw, template.id, good.personalisation, new.reference
    )
    row = new_row(
        app, caller, command, template, good.recipient, good.simulate, good.rendered, job.created_at
    )
    values = row.values()
    values["job_id"] = job.id
    if due > job.created_at:  # scheduled: no queue holds it; the sweeper hands it over
        values.update(lease_until=due, lease_owner=None)
    return values


async def progress(app: Warta, caller: Caller, job_id: uuid.UUID) -> JobProgress:
    async with app.uow() as uow:
        job = await uow.notifications.job(caller.agency.id, job_id)
        if job is None:
            raise NotFound("Job not found")
        return JobProgress(job, await uow.notifications.job_counts(job.id))
