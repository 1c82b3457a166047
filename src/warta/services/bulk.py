"""Bulk sends (POST /v2/notifications/bulk, as GC Notify has it): one template, a row of
personalisation per recipient, given as rows or as CSV text.

Every row is checked before anything is stored: one bad row refuses the whole job with
each bad row named, so an agency never half-sends a list. Then the job and its
notifications are written together (in chunks, one transaction) and handed to the queue,
or left for the sweeper at ``scheduled_for``.
"""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from warta.deps import Warta
from warta.domain import simulated
from warta.domain.channels import channel_named
from warta.errors import (
    ApiError,
    BadRequest,
    InvalidInput,
    MissingPersonalisation,
    NotFound,
    ValidationFailed,
    WartaError,
)
from warta.services import lookups, uploads
from warta.services.sending import (
    RECIPIENT_FIELD,
    Caller,
    SendNotification,
    check_team_recipient,
    count_toward_limit,
    new_row,
    normalise_recipient,
    render_content,
)
from warta.store.models import NOTIFICATIONS, Job, Template

MAX_ROWS = 50_000
CHUNK = 1000
#: Column names a sheet may use for the recipient (compared without case, spaces or _).
RECIPIENT_COLUMNS = {
    "sms": ("phonenumber", "nomortelepon", "nohp"),
    "email": ("emailaddress", "email"),
}
_SHOWN_ERRORS = 10


@dataclass(frozen=True)
class NewJob:
    name: str
    template_id: uuid.UUID
    rows: list[list[str]]
    reference: str | None = None
    scheduled_for: datetime | None = None


@dataclass(frozen=True)
class RowProblem:
    """Why one row cannot be sent. ``number`` counts recipients (1 is the row after the
    header); ``column`` is the recipient's cell when that is at fault; ``error`` says why,
    kept whole so the console's report can translate it (``api.pages.error_text``);
    ``missing`` names placeholders the row leaves empty."""

    number: int
    column: str | None
    error: WartaError
    missing: tuple[str, ...] = ()

    def __str__(self) -> str:
        where = f"`{self.column}`: " if self.column else ""
        return f"Row {self.number} - {where}{self.error}"


@dataclass(frozen=True)
class Checked:
    """A job as it would be stored: its notification rows, or the rows that refuse it."""

    job: Job
    rows: list[dict[str, Any]]
    problems: list[RowProblem]
    due: datetime


class _BadRow(Exception):
    def __init__(
        self, column: str | None, error: WartaError, missing: tuple[str, ...] = ()
    ) -> None:
        super().__init__(str(error))
        self.column, self.error, self.missing = column, error, missing


@dataclass(frozen=True)
class JobProgress:
    job: Job
    counts: dict[str, int]


def rows_from_csv(text: str) -> list[list[str]]:
    try:
        return [row for row in csv.reader(io.StringIO(text)) if any(cell.strip() for cell in row)]
    except csv.Error as exc:  # a field over the csv module's limit (128 KiB)
        raise uploads.csv_refused(exc) from exc


def _key(name: str) -> str:
    return "".join(name.lower().split()).replace("_", "").replace("-", "")


async def check(app: Warta, caller: Caller, new: NewJob) -> Checked:
    """Every row checked as the job would store it; nothing is stored. Raises for what
    refuses the whole file (the template, the header, the number of rows)."""
    now = app.clock()
    template = await _template(app, caller, new.template_id)
    channel = template.type
    if len(new.rows) < 2:
        raise ValidationFailed("rows must hold a header row and at least one recipient")
    if len(new.rows) - 1 > MAX_ROWS:
        raise ValidationFailed(
            "Too many rows: at most %(count)s recipients in one job", count=MAX_ROWS
        )
    header = [cell.strip() for cell in new.rows[0]]
    column = next((i for i, h in enumerate(header) if _key(h) in RECIPIENT_COLUMNS[channel]), None)
    if column is None:
        wanted = RECIPIENT_FIELD[channel].replace("_", " ")
        raise ValidationFailed(
            "Missing column: %(column)s (the recipient of each row)", column=repr(wanted)
        )
    if new.scheduled_for is not None and new.scheduled_for.tzinfo is None:
        raise ValidationFailed("scheduled_for needs a time zone, like 2026-12-01T08:00:00+07:00")
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
    rows, problems = [], []
    for number, cells in enumerate(new.rows[1:], start=1):
        try:
            rows.append(await _row(app, caller, job, template, header, column, cells, due, new))
        except _BadRow as bad:
            problems.append(RowProblem(number, bad.column, bad.error, bad.missing))
        except (InvalidInput, ApiError) as exc:
            problems.append(RowProblem(number, None, exc))
    return Checked(job, rows, problems, due)


async def create(app: Warta, caller: Caller, new: NewJob) -> Job:
    checked = await check(app, caller, new)
    if checked.problems:
        errors = [str(p) for p in checked.problems]
        more = f" ({len(errors) - _SHOWN_ERRORS} more)" if len(errors) > _SHOWN_ERRORS else ""
        listed = ". ".join(errors[:_SHOWN_ERRORS]) + more
        raise ValidationFailed("Some rows have errors. %(rows)s", rows=listed)
    job, rows, due = checked.job, checked.rows, checked.due
    now = job.created_at
    counted = await count_toward_limit(app, caller, now, len(rows))
    try:
        async with app.uow() as uow:
            await uow.notifications.add_job(job)
            for start in range(0, len(rows), CHUNK):
                await uow.notifications.insert_many(rows[start : start + CHUNK])
            await uow.commit()
    except Exception:
        if counted:
            app.quotas.uncount_message(caller.agency.id, len(rows))
        raise
    if due <= now:
        for start in range(0, len(rows), CHUNK):
            await app.queue.submit("deliver", [r["id"] for r in rows[start : start + CHUNK]])
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


async def _row(
    app: Warta,
    caller: Caller,
    job: Job,
    template: Template,
    header: list[str],
    column: int,
    cells: list[str],
    due: datetime,
    new: NewJob,
) -> dict[str, Any]:
    channel = template.type
    raw = cells[column].strip() if column < len(cells) else ""
    if not raw:
        raise _BadRow(header[column], InvalidInput("Missing"))
    # An empty cell is a missing value, as in GC Notify's sheets: a blank is never sent.
    personalisation = {h: cells[i] for i, h in enumerate(header) if i < len(cells) and cells[i]}
    test_key = caller.key_type == "test"
    simulate = simulated.simulated_status(channel, raw, test_key=test_key)
    if simulated.is_simulated(channel, raw):
        recipient = raw
    else:
        try:
            recipient = normalise_recipient(channel, raw)
        except ValidationFailed as exc:
            # The column stands where the API names its field.
            plain = ValidationFailed(exc.msgid, field=None, **exc.values)
            raise _BadRow(header[column], plain) from exc
        await check_team_recipient(app, caller, recipient)
    try:
        rendered = render_content(template, personalisation)
    except BadRequest as exc:
        cause = exc.__cause__
        missing = tuple(cause.fields) if isinstance(cause, MissingPersonalisation) else ()
        raise _BadRow(None, exc, missing) from exc
    command = SendNotification(
        channel_named(channel), raw, template.id, personalisation, new.reference
    )
    row = new_row(app, caller, command, template, recipient, simulate, rendered, job.created_at)
    values = {c.key: getattr(row, c.key) for c in NOTIFICATIONS.columns}
    values["job_id"] = job.id
    values["lease_until"] = due if due > job.created_at else values["lease_until"]
    return values


async def progress(app: Warta, caller: Caller, job_id: uuid.UUID) -> JobProgress:
    async with app.uow() as uow:
        job = await uow.notifications.job(caller.agency.id, job_id)
        if job is None:
            raise NotFound("Job not found")
        return JobProgress(job, await uow.notifications.job_counts(job.id))
