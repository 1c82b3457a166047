"""Registering citizens from an agency's CSV file (``warta citizen import``): each row is
checked on its own, so bad rows are reported by line and the rest are imported."""

from __future__ import annotations

import csv
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from warta.deps import Warta
from warta.errors import ApiError, BadRequest, InvalidInput, NotFound
from warta.services.citizens.preferences import Preferences
from warta.services.citizens.registry import NewCitizen, register
from warta.services.sending import Caller

IMPORT_COLUMNS = ("nik", "name", "region_code")
OPTIONAL_COLUMNS = ("phone", "email", "time_zone", "language", "channels")
OUTCOMES = ("created", "linked", "error")


@dataclass(frozen=True)
class ImportedRow:
    line: int
    outcome: str  # created | linked | error
    message: str
    citizen_id: uuid.UUID | None = None


@dataclass(frozen=True)
class CsvFile:
    #: The first row's columns; None for a file with no rows.
    header: list[str] | None
    rows: list[dict[str, str]]


def read_csv(path: Path) -> CsvFile:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return CsvFile(list(rows[0].keys()) if rows else None, rows)


def check_import_header(header: Sequence[str] | None) -> None:
    columns = [c.strip().lower() for c in header or []]
    missing = [c for c in IMPORT_COLUMNS if c not in columns]
    if missing:
        raise BadRequest("The CSV lacks the column(s) %(columns)s", columns=", ".join(missing))
    unknown = [c for c in columns if c not in IMPORT_COLUMNS + OPTIONAL_COLUMNS]
    if unknown:
        raise BadRequest(
            "Unknown CSV column(s) %(columns)s; known: %(known)s",
            columns=", ".join(unknown),
            known=", ".join(IMPORT_COLUMNS + OPTIONAL_COLUMNS),
        )


async def import_row(
    app: Warta, caller: Caller, line: int, row: dict[str, str], *, trust_contacts: bool
) -> ImportedRow:
    """One CSV row: a citizen registered or linked, or the reason it was not."""
    values = {k.strip().lower(): (v or "").strip() for k, v in row.items() if k}
    split = [p.strip() for p in values.get("channels", "").split(";") if p.strip()]
    new = NewCitizen(
        nik=values.get("nik", ""),
        name=values.get("name", ""),
        region_code=values.get("region_code", ""),
        time_zone=values.get("time_zone") or None,
        language=values.get("language") or "id",
        phone_numbers=[values["phone"]] if values.get("phone") else [],
        email_addresses=[values["email"]] if values.get("email") else [],
        preferences=Preferences(channels=tuple(split)) if split else None,
        contacts_verified=trust_contacts,
    )
    try:
        view, created = await register(app, caller, new)
    except (InvalidInput, ApiError) as exc:
        return ImportedRow(line, "error", str(exc))
    outcome = "created" if created else "linked"
    return ImportedRow(line, outcome, outcome, view.citizen.id)


@dataclass(frozen=True)
class CitizenImport:
    """A file checked and its agency found, ready to import (``prepare``)."""

    app: Warta
    caller: Caller
    source: CsvFile
    trust_contacts: bool

    @classmethod
    async def prepare(
        cls, app: Warta, agency_id: uuid.UUID, source: CsvFile, *, trust_contacts: bool
    ) -> CitizenImport:
        """Refuses a file without the needed columns, or an unknown agency, before any
        row is imported."""
        check_import_header(source.header)
        async with app.uow() as uow:
            found = await uow.agencies.get(agency_id)
        if found is None:
            raise NotFound("No agency with id %(agency_id)s", agency_id=agency_id)
        return cls(
            app, Caller(agency=found, key_id=None, key_type="normal"), source, trust_contacts
        )

    async def run(self, done: Callable[[ImportedRow], object] = lambda _: None) -> ImportSummary:
        """Import every row in order, calling ``done`` after each (a progress bar)."""
        results = []
        for line, row in enumerate(self.source.rows, start=2):  # line 1 is the header
            result = await import_row(
                self.app, self.caller, line, row, trust_contacts=self.trust_contacts
            )
            results.append(result)
            done(result)
        return ImportSummary(results)


@dataclass(frozen=True)
class ImportSummary:
    rows: list[ImportedRow]

    def counts(self) -> dict[str, int]:
        """How many rows had each outcome."""
        return {k: sum(1 for r in self.rows if r.outcome == k) for k in OUTCOMES}

    @property
    def errors(self) -> list[ImportedRow]:
        return [r for r in self.rows if r.outcome == "error"]

    def write_report(self, path: Path) -> None:
        """Every row's outcome as CSV: line, outcome, message, citizen_id."""
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["line", "outcome", "message", "citizen_id"])
            for r in self.rows:
                writer.writerow([r.line, r.outcome, r.message, r.citizen_id or ""])
