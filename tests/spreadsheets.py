"""Spreadsheets as an agency's staff would upload them, for the unit and integration tests."""

from __future__ import annotations

import io

from openpyxl import Workbook


def xlsx(rows: list[list[object]]) -> bytes:
    """An .xlsx file holding ``rows`` on its first sheet."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
