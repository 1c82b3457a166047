"""Reading uploaded spreadsheets into numbered rows, and holding them sealed between the
check and the send: what each spreadsheet program writes, and each way a file is refused."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tests.spreadsheets import xlsx
from tests.zip_bomb import bomb
from warta.errors import ValidationFailed
from warta.security.crypto import Keyring, decode_master_key, new_master_key
from warta.services import uploads

NOW = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("name", "data", "rows", "numbers"),
    [
        pytest.param(
            "a.csv",
            b"phone number,nama\n0812,Budi\n",
            [["phone number", "nama"], ["0812", "Budi"]],
            [1, 2],
            id="comma",
        ),
        pytest.param(
            "bom.csv",
            "\ufeffnama\nSri\n".encode(),
            [["nama"], ["Sri"]],
            [1, 2],
            id="byte-order-mark",
        ),
        pytest.param(
            "excel-id.csv",
            b"phone number;nama\r\n0812;Budi, S.Kom\r\n",
            [["phone number", "nama"], ["0812", "Budi, S.Kom"]],
            [1, 2],
            id="semicolon",
        ),
        pytest.param("tabs.CSV", b"a\tb\n1\t2\n", [["a", "b"], ["1", "2"]], [1, 2], id="tab"),
        pytest.param(
            "blank-rows.csv",
            b"a,b\n,\n\n1,2\n",
            [["a", "b"], ["1", "2"]],
            [1, 4],
            id="blank-rows-keep-numbers",
        ),
        pytest.param(
            "quoted.csv",
            b'a,b\n"x\ny",2\n3,4\n',
            [["a", "b"], ["x\ny", "2"], ["3", "4"]],
            [1, 2, 3],
            id="quoted-newline",
        ),
        pytest.param(
            "trailing.csv", b"a,b,,\n1,,,\n", [["a", "b"], ["1"]], [1, 2], id="trailing-empty-cells"
        ),
    ],
)
def test_csv_files_read_as_their_rows(
    name: str, data: bytes, rows: list[list[str]], numbers: list[int]
) -> None:
    sheet = uploads.read(name, data, max_recipients=10)
    assert (sheet.rows, sheet.numbers) == (rows, numbers)


def test_an_xlsx_sheet_reads_cells_as_they_were_typed() -> None:
    data = xlsx(
        [
            ["phone number", "nama", "tanggal", "jumlah"],
            [81234567001, "Budi", datetime(2026, 12, 5), 1.5],
            [],
            [81234567002.0, None, None, True],
        ]
    )
    sheet = uploads.read("Daftar.XLSX", data, max_recipients=10)
    assert sheet.rows == [
        ["phone number", "nama", "tanggal", "jumlah"],
        ["81234567001", "Budi", "2026-12-05", "1.5"],
        ["81234567002", "", "", "TRUE"],
    ]
    assert sheet.numbers == [1, 2, 4]


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        pytest.param("daftar.pdf", b"%PDF", "Upload a .csv or .xlsx file", id="pdf"),
        pytest.param("daftar", b"a,b", "Upload a .csv or .xlsx file", id="no-extension"),
        pytest.param("kosong.csv", b"", "The file is empty", id="empty"),
        pytest.param("kosong.csv", b",,\n\n", "The file is empty", id="only-blank"),
        pytest.param(
            "besar.csv", b"a\n" + b"1\n" * uploads.MAX_BYTES, "larger than 1 MB", id="too-big"
        ),
        pytest.param("lama.xlsx", b"\xd0\xcf\x11\xe0rest", "old Excel file (.xls)", id="xls"),
        pytest.param("palsu.xlsx", b"a,b\n1,2\n", "not an XLSX spreadsheet", id="xlsx-not-zip"),
        pytest.param("rusak.xlsx", b"PK\x03\x04broken", "cannot be read", id="xlsx-broken"),
        pytest.param("biner.csv", b"a,b\x00\n", "not CSV text", id="nul-bytes"),
        pytest.param("xlsx.csv", xlsx([["a"]]), "not CSV text", id="zip-as-csv"),
        pytest.param("latin.csv", "nama\nZoë\n".encode("latin-1"), "not UTF-8", id="not-utf8"),
        pytest.param("banyak.csv", b"a\n" + b"1\n" * 4, "at most 3 recipients", id="too-many-rows"),
        pytest.param(
            "kosong-panjang.csv",
            b"a\n" + b"\n" * (uploads.BLANK_ROWS_ALLOWED + 4) + b"1\n",
            "at most 3 recipients",
            id="too-many-blank-rows",
        ),
        pytest.param(
            "lebar.csv",
            b",".join([b"x"] * (uploads.MAX_COLUMNS + 1)),
            f"more than {uploads.MAX_COLUMNS} columns",
            id="too-many-columns",
        ),
    ],
)
def test_unreadable_files_are_refused_saying_why(name: str, data: bytes, message: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        uploads.read(name, data, max_recipients=3)
    assert message in str(refused.value)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param(
            bomb(300), "This XLSX file is larger than 25 MB unpacked", id="300-MB-declared"
        ),
        pytest.param(
            bomb(26), "This XLSX file is larger than 25 MB unpacked", id="just-over-declared"
        ),
        # Declared as 1 KB: counted while unpacking, refused at byte 1,001.
        pytest.param(bomb(300, declared=1000), "cannot be read", id="300-MB-declared-1-KB"),
        pytest.param(bomb(1, declared=1000), "cannot be read", id="1-MB-declared-1-KB"),
    ],
)
def test_an_xlsx_that_unpacks_too_large_is_refused_before_it_is_parsed(
    data: bytes, message: str
) -> None:
    assert len(data) < uploads.MAX_BYTES  # it passes the upload's own limit
    started = time.perf_counter()
    with pytest.raises(ValidationFailed) as refused:
        uploads.read("bom.xlsx", data, max_recipients=10)
    assert message in str(refused.value)
    assert time.perf_counter() - started < 1.0  # refused, not unpacked: 300 MB takes seconds


def test_an_xlsx_just_under_the_unpacked_limit_is_read() -> None:
    sheet = uploads.read("besar.xlsx", bomb(20), max_recipients=10)
    assert sheet.rows == [["A" * 20 * 1024 * 1024]]


def test_exactly_the_limit_with_blank_rows_after_is_read() -> None:
    sheet = uploads.read("a.csv", b"a\n1\n2\n3\n\n\n", max_recipients=3)
    assert len(sheet.rows) == 4


@pytest.fixture
def keyring() -> Keyring:
    return Keyring(decode_master_key(new_master_key()))


def test_held_rows_come_back_only_to_their_owner_unaltered_and_in_time(keyring: Keyring) -> None:
    held = uploads.Held(uuid.uuid4(), "antrean.csv", [["phone number"], ["0812 3456 7001"]])
    token = uploads.hold(keyring, "staff-1", held, NOW)
    assert "0812" not in token
    assert uploads.take(keyring, "staff-1", token, NOW + timedelta(minutes=59)) == held

    altered = token[:40] + ("A" if token[40] != "A" else "B") + token[41:]
    refusals = [
        ("staff-2", token, NOW, "cannot be sent"),
        ("staff-1", altered, NOW, "cannot be sent"),
        ("staff-1", "not a token", NOW, "cannot be sent"),
        ("staff-1", token, NOW + timedelta(minutes=61), "over an hour ago"),
    ]
    for owner, given, when, message in refusals:
        with pytest.raises(ValidationFailed) as refused:
            uploads.take(keyring, owner, given, when)
        assert message in str(refused.value)
