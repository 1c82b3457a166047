"""The pure half of bulk sends (``services.bulk``): reading a file's rows and checking
each as it would be sent. Every function here takes and returns plain data, so a worker
process runs it (``services.offload``) while the API goes on serving other requests.
"""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import dataclass
from datetime import datetime

from warta.domain import simulated
from warta.domain.channels import channel_named
from warta.errors import (
    ApiError,
    BadRequest,
    InvalidInput,
    MissingPersonalisation,
    ValidationFailed,
    WartaError,
)
from warta.services import uploads
from warta.services.sending import RECIPIENT_FIELD, Caller, normalise_recipient, render_channel
from warta.store.models import Template

#: Recipients in one job (GOV.UK Notify takes 100,000 rows a file): what a 1 MB upload
#: holds, and checked in a few seconds.
MAX_ROWS = 50_000
#: Column names a sheet may use for the recipient (compared without case, spaces or _).
RECIPIENT_COLUMNS = {
    "sms": ("phonenumber", "nomortelepon", "nohp"),
    "email": ("emailaddress", "email"),
}


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
class TemplateRules:
    """What checking a file's rows takes from its template and key, as plain data a
    worker process can be handed."""

    channel: str
    subject: str | None
    body: str
    test_key: bool

    @classmethod
    def of(cls, template: Template, caller: Caller) -> TemplateRules:
        return cls(template.type, template.subject, template.body, caller.key_type == "test")


@dataclass(frozen=True)
class RowRules:
    """``TemplateRules`` with the file's header, and which column holds the recipient."""

    channel: str
    subject: str | None
    body: str
    test_key: bool
    header: list[str]
    column: int


@dataclass(frozen=True)
class FileCheck:
    """An uploaded file read and checked in a worker process (``check_file``): what its
    report shows, with the spreadsheet's row numbers, and its rows packed to be held
    (``uploads.pack``) when every row can be sent. Only this crosses back, never the
    rows themselves."""

    header: list[str]
    sample: list[tuple[int, list[str]]]
    total: int
    #: The first problems, each with its row's number in the spreadsheet.
    problems: list[tuple[int, RowProblem]]
    problem_count: int
    packed: bytes | None


@dataclass(frozen=True)
class GoodRow:
    """A row that can be sent: its recipient as given and normalised, and its content."""

    number: int
    raw: str
    recipient: str
    simulated: bool
    simulate: str | None
    personalisation: dict[str, str]
    rendered: tuple[str | None, str]


class _BadRow(Exception):
    def __init__(
        self, column: str | None, error: WartaError, missing: tuple[str, ...] = ()
    ) -> None:
        super().__init__(str(error))
        self.column, self.error, self.missing = column, error, missing


def read_csv_text(text: str) -> list[list[str]]:
    rows = []
    try:
        for row in csv.reader(io.StringIO(text)):
            if any(cell.strip() for cell in row):
                rows.append(row)
            if len(rows) > MAX_ROWS + 1:  # a header and MAX_ROWS recipients
                raise _too_many()
    except csv.Error as exc:  # a field over the csv module's limit (128 KiB)
        raise uploads.csv_refused(exc) from exc
    return rows


def _too_many() -> ValidationFailed:
    return ValidationFailed(
        "Too many rows: at most %(count)s recipients in one job", count=MAX_ROWS
    )


def _key(name: str) -> str:
    return "".join(name.lower().split()).replace("_", "").replace("-", "")


def row_rules(template: TemplateRules, rows: list[list[str]]) -> RowRules:
    """How each row after the header is checked; raises for what refuses the whole file
    (too few or too many rows, no recipient column)."""
    if len(rows) < 2:
        raise ValidationFailed("rows must hold a header row and at least one recipient")
    if len(rows) - 1 > MAX_ROWS:
        raise _too_many()
    channel = template.channel
    header = [cell.strip() for cell in rows[0]]
    column = next((i for i, h in enumerate(header) if _key(h) in RECIPIENT_COLUMNS[channel]), None)
    if column is None:
        wanted = RECIPIENT_FIELD[channel].replace("_", " ")
        raise ValidationFailed(
            "Missing column: %(column)s (the recipient of each row)", column=repr(wanted)
        )
    return RowRules(channel, template.subject, template.body, template.test_key, header, column)


def check_file(
    template: TemplateRules,
    filename: str,
    data: bytes,
    template_id: uuid.UUID,
    now: datetime,
    sample: int,
    shown: int,
) -> FileCheck:
    """``check_upload``'s work, pure: run in a worker process."""
    sheet = uploads.read(filename, data, max_recipients=MAX_ROWS)
    rows, numbers = sheet.rows, sheet.numbers
    found = check_rows(row_rules(template, rows), rows[1:], keep=False)
    problems = [p for p in found if isinstance(p, RowProblem)]
    packed = None
    if not problems:
        packed = uploads.pack(uploads.Held(template_id, filename, rows), now)
    return FileCheck(
        header=rows[0],
        sample=list(zip(numbers[1 : sample + 1], rows[1 : sample + 1], strict=True)),
        total=len(rows) - 1,
        problems=[(numbers[p.number], p) for p in problems[:shown]],
        problem_count=len(problems),
        packed=packed,
    )


def check_rows(
    rules: RowRules, rows: list[list[str]], *, keep: bool = True
) -> list[GoodRow | RowProblem]:
    """Why rows cannot be sent; when none has a problem and ``keep`` is set, each row as
    it would be sent. Pure: run in a worker process."""
    good: list[GoodRow | RowProblem] = []
    problems: list[GoodRow | RowProblem] = []
    for number, cells in enumerate(rows, start=1):
        try:
            row = _row(rules, number, cells)
        except _BadRow as bad:
            problems.append(RowProblem(number, bad.column, bad.error, bad.missing))
        except (InvalidInput, ApiError) as exc:
            problems.append(RowProblem(number, None, exc))
        else:
            if keep and not problems:
                good.append(row)
    return problems or good


def _row(rules: RowRules, number: int, cells: list[str]) -> GoodRow:
    channel, header, column = rules.channel, rules.header, rules.column
    raw = cells[column].strip() if column < len(cells) else ""
    if not raw:
        raise _BadRow(header[column], InvalidInput("Missing"))
    # An empty cell is a missing value, as in GC Notify's sheets: a blank is never sent.
    personalisation = {h: cells[i] for i, h in enumerate(header) if i < len(cells) and cells[i]}
    simulate = simulated.simulated_status(channel, raw, test_key=rules.test_key)
    is_simulated = simulated.is_simulated(channel, raw)
    if is_simulated:
        recipient = raw
    else:
        try:
            recipient = normalise_recipient(channel, raw)
        except ValidationFailed as exc:
            # The column stands where the API names its field.
            plain = ValidationFailed(exc.msgid, field=None, **exc.values)
            raise _BadRow(header[column], plain) from exc
    try:
        rendered = render_channel(
            channel_named(channel), rules.subject, rules.body, personalisation
        )
    except BadRequest as exc:
        cause = exc.__cause__
        missing = tuple(cause.fields) if isinstance(cause, MissingPersonalisation) else ()
        raise _BadRow(None, exc, missing) from exc
    return GoodRow(number, raw, recipient, is_simulated, simulate, personalisation, rendered)
