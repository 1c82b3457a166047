"""Spreadsheets people upload (CSV or XLSX) read into rows of text, each with the row
number the spreadsheet shows, so a report can say "row 7" and mean the row they see.

Read in memory only: a list of people must not reach the disk in plain text. That is
why ``MAX_BYTES`` is Starlette's in-memory spool (1 MiB): ``api.uploads.UploadLimit``
turns a larger upload away before it is parsed, since parsing would already write it to
a temporary file.

CSV files come from many spreadsheet programs: UTF-8 with or without a byte-order mark,
and separated by commas or, as Excel in Indonesian saves them, by semicolons. XLSX files
are read with openpyxl in read-only mode (rows streamed, formulas' cached values), the
first sheet only; a phone number typed as a number (``81234567890``) reads as its digits.
Before openpyxl sees one, its parts must unpack to at most ``MAX_UNPACKED`` bytes and
declare no DTD. Reading is pure CPU work: ``services.bulk.check_upload`` has a worker
process read and check a file, and pack its rows (``pack``), in one go.

Between checking a file and sending it, the rows are *held* by the person's browser as a
sealed token (compressed, then AES-GCM with the keyring, bound to the person and only
good for ``HOLD_FOR``): nothing of the list is stored, in the database or on disk, until
it is sent, and a token altered or taken from another person's page opens nothing.
"""

from __future__ import annotations

import base64
import binascii
import copy
import csv
import io
import json
import uuid
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from xml.parsers import expat

from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from warta.errors import ValidationFailed
from warta.security.crypto import DecryptionError, Keyring

MAX_BYTES = 1024 * 1024
TOO_BIG = "The file is larger than 1 MB: split it into smaller files"
MAX_COLUMNS = 100
#: What the parts of an XLSX file may come to unpacked, all together: a 1 MB file of
#: 50,000 rows unpacks to about 12 MB; a "zip bomb" of 300 KB, to 300 MB or more.
MAX_UNPACKED = 25_000_000
#: Blank rows are skipped, but counted toward the limit, so a sheet of a million empty
#: (formatted) rows is refused rather than read.
BLANK_ROWS_ALLOWED = 1000
_ZIP = b"PK\x03\x04"
_OLD_EXCEL = b"\xd0\xcf\x11\xe0"  # .xls, Excel 97-2003
_SEPARATORS = (",", ";", "\t")
HOLD_FOR = timedelta(hours=1)
#: A token travels in a form field, and Starlette refuses a field over 1 MiB.
MAX_HELD = 1_000_000


@dataclass(frozen=True)
class Sheet:
    """The non-blank rows of a file; ``numbers[i]`` is the spreadsheet's number of
    ``rows[i]`` (the header is usually 1)."""

    rows: list[list[str]]
    numbers: list[int]


def read(filename: str, data: bytes, *, max_recipients: int) -> Sheet:
    """The rows of ``data``, a CSV or XLSX file named ``filename``: a header row and at
    most ``max_recipients`` more. Raises ``ValidationFailed`` with a message for the person who
    uploaded it: ``read("list.pdf", ...)`` is "Upload a .csv or .xlsx file"."""
    name = filename.lower()
    if not name.endswith((".csv", ".xlsx")):
        raise ValidationFailed("Upload a .csv or .xlsx file")
    if not data:
        raise ValidationFailed("The file is empty")
    if len(data) > MAX_BYTES:
        raise ValidationFailed(TOO_BIG)
    if name.endswith(".xlsx"):
        if data.startswith(_OLD_EXCEL):
            raise ValidationFailed("This is an old Excel file (.xls): save it as .xlsx or .csv")
        if not data.startswith(_ZIP):
            raise ValidationFailed("This file is not an XLSX spreadsheet")
        sheet = _xlsx_rows(data, max_recipients)
    else:
        sheet = _csv_rows(data, max_recipients)
    if not sheet.rows:
        raise ValidationFailed("The file is empty")
    return sheet


def _csv_rows(data: bytes, max_recipients: int) -> Sheet:
    if b"\x00" in data or data.startswith((_ZIP, _OLD_EXCEL)):
        raise ValidationFailed("This file is not CSV text: save the sheet as .csv or .xlsx")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationFailed(
            "This CSV file is not UTF-8: save it as “CSV UTF-8”, or as .xlsx"
        ) from exc
    first_line = text.split("\n", 1)[0]
    separator = max(_SEPARATORS, key=first_line.count)
    try:
        records = csv.reader(io.StringIO(text, newline=""), delimiter=separator)
        return _collect(enumerate(records, start=1), max_recipients)
    except csv.Error as exc:
        raise csv_refused(exc) from exc


#: The csv module refuses a field longer than this (its default, 128 KiB).
CSV_FIELD_LIMIT = csv.field_size_limit()


def csv_refused(exc: csv.Error) -> ValidationFailed:
    """The error for CSV text the csv module could not read."""
    if "field limit" in str(exc):
        return ValidationFailed(
            "A field in this CSV file is longer than %(limit)s characters", limit=CSV_FIELD_LIMIT
        )
    return ValidationFailed("This CSV file cannot be read: %(reason)s", reason=str(exc))


class _Doctype(Exception):
    pass


class _Root(Exception):
    pass


class _DtdScan:
    """Reads an XML part chunk by chunk until it can tell whether the part declares a
    DTD: at the DTD, at the root element, or at what is not XML (an image)."""

    def __init__(self) -> None:
        self.found = False
        self._parser = expat.ParserCreate()
        self._parser.StartDoctypeDeclHandler = self._doctype
        self._parser.StartElementHandler = self._root

    def _doctype(self, *_: object) -> None:
        raise _Doctype

    def _root(self, *_: object) -> None:
        raise _Root

    def done(self, chunk: bytes) -> bool:
        try:
            self._parser.Parse(chunk, False)
        except _Doctype:
            self.found = True
            return True
        except (_Root, expat.ExpatError):
            return True
        return False


def _check_archive(data: bytes) -> None:
    """An XLSX file is XML parts in a zip. Before openpyxl parses any of it, the parts
    together must unpack to at most ``MAX_UNPACKED`` bytes, both as the zip declares and
    as counted while unpacking each (a zip can declare less than it holds), and none may
    declare a DTD, whose entities could expand without end or name files to read.
    (``NotImplementedError`` is a ``RuntimeError``: an unknown compression method.)"""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            parts = archive.infolist()
            if sum(part.file_size for part in parts) > MAX_UNPACKED:
                raise ValidationFailed(
                    "This XLSX file is larger than %(limit)s MB unpacked: split it into "
                    "smaller files",
                    limit=MAX_UNPACKED // 1_000_000,
                )
            for part in parts:
                _check_part(archive, part)
    except (zipfile.BadZipFile, OSError, RuntimeError, EOFError, zlib.error) as exc:
        raise _unreadable() from exc


def _unreadable() -> ValidationFailed:
    return ValidationFailed("This XLSX file cannot be read: save it again and retry")


def _check_part(archive: zipfile.ZipFile, part: zipfile.ZipInfo) -> None:
    """Unpack one part, counting: zipfile stops at the declared size, so it is asked for
    one byte more, which only a part larger than it declares has. Its XML is read for a
    DTD only up to the root element (a DTD can come nowhere after it)."""
    counted = copy.copy(part)
    counted.file_size = part.file_size + 1
    scan: _DtdScan | None = _DtdScan()
    size = 0
    with archive.open(counted) as member:
        while chunk := member.read(64 * 1024):
            size += len(chunk)
            if size > part.file_size:
                raise _unreadable()
            if scan is not None and scan.done(chunk):
                if scan.found:
                    raise ValidationFailed(
                        "This XLSX file declares a DTD, which Warta does not read: "
                        "save it again from a spreadsheet program"
                    )
                scan = None


def _xlsx_rows(data: bytes, max_recipients: int) -> Sheet:
    _check_archive(data)
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
        raise _unreadable() from exc
    try:
        sheet = book.worksheets[0]
        # One column past the limit, to notice a sheet that goes beyond it.
        rows = sheet.iter_rows(max_col=MAX_COLUMNS + 1, values_only=True)
        numbered = ((n, [_text(v) for v in row]) for n, row in enumerate(rows, start=1))
        return _collect(numbered, max_recipients)
    finally:
        book.close()


def _collect(numbered: Iterable[tuple[int, list[str]]], max_recipients: int) -> Sheet:
    rows: list[list[str]] = []
    numbers: list[int] = []
    last = max_recipients + 1 + BLANK_ROWS_ALLOWED
    for number, cells in numbered:
        blank = not any(cell.strip() for cell in cells)
        if number > last or (not blank and len(rows) > max_recipients):
            raise ValidationFailed(
                "Too many rows: at most %(count)s recipients in one file "
                "(and delete any empty rows at the end)",
                count=max_recipients,
            )
        if blank:
            continue
        if len(cells) > MAX_COLUMNS and any(c.strip() for c in cells[MAX_COLUMNS:]):
            raise ValidationFailed(
                "Row %(row)s has more than %(limit)s columns", row=number, limit=MAX_COLUMNS
            )
        rows.append(_trimmed(cells))
        numbers.append(number)
    return Sheet(rows, numbers)


def _trimmed(cells: list[str]) -> list[str]:
    """Without the empty cells a spreadsheet leaves after the last column."""
    end = len(cells)
    while end and not cells[end - 1].strip():
        end -= 1
    return cells[:end]


def _text(value: object) -> str:
    """A cell as the person typed it: ``81234567890.0`` is ``"81234567890"``, a date is
    ``"2026-12-01"``, an empty cell is ``""``."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime) and value.time() == time():
        return value.date().isoformat()
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    return str(value)


@dataclass(frozen=True)
class Held:
    """A checked upload waiting for the person to send it."""

    template_id: uuid.UUID
    name: str
    rows: list[list[str]]


def hold(keyring: Keyring, owner: str, held: Held, now: datetime) -> str:
    """A sealed token of ``held`` that only ``owner`` (say, a staff id) can give back."""
    return seal(keyring, owner, pack(held, now))


def pack(held: Held, now: datetime) -> bytes:
    """``held`` as compressed JSON: pure, so a worker process can do it; ``seal`` then
    encrypts it where the keys are."""
    payload = {
        "template": str(held.template_id),
        "name": held.name,
        "at": now.isoformat(),
        "rows": held.rows,
    }
    return zlib.compress(json.dumps(payload, ensure_ascii=False).encode())


def seal(keyring: Keyring, owner: str, packed: bytes) -> str:
    token = base64.urlsafe_b64encode(keyring.encrypt_bytes(packed, field=_field(owner))).decode()
    if len(token) > MAX_HELD:
        raise ValidationFailed(
            "The file is too large to send in one go: split it into smaller files"
        )
    return token


def take(keyring: Keyring, owner: str, token: str, now: datetime) -> Held:
    """The upload ``hold`` sealed; refused when altered, someone else's, or too old."""
    try:
        blob = base64.urlsafe_b64decode(token.encode())
        payload = json.loads(zlib.decompress(keyring.decrypt_bytes(blob, field=_field(owner))))
    except (binascii.Error, ValueError, zlib.error, DecryptionError) as exc:
        raise ValidationFailed("This upload cannot be sent: upload the file again") from exc
    if now - datetime.fromisoformat(payload["at"]) > HOLD_FOR:
        raise ValidationFailed("This upload was checked over an hour ago: upload the file again")
    return Held(uuid.UUID(payload["template"]), payload["name"], payload["rows"])


def _field(owner: str) -> str:
    return f"upload:{owner}"
