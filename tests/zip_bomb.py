"""XLSX "zip bombs": a file of a few hundred KB whose sheet unpacks to hundreds of MB, made
in a fraction of a second (compressing 300 MB would take seconds of test time).

The sheet's one cell is ``unpacked`` bytes of ``A``. Its deflate stream is built from
pieces each compressed alone and ended with a full flush (no piece refers back to
another), so the 1 MiB piece of ``A`` is compressed once and repeated. ``declared`` sets
the size the zip gives for the sheet: less than it holds, it lies.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

from tests.spreadsheets import xlsx

SHEET = "xl/worksheets/sheet1.xml"
_HEAD = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    b'<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>'
)
_TAIL = b"</t></is></c></row></sheetData></worksheet>"
_PIECE = 1 << 20


def _flushed(data: bytes) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    return packer.compress(data) + packer.flush(zlib.Z_FULL_FLUSH)


def _sheet(pieces: int) -> tuple[bytes, int, int]:
    """The sheet deflated, its CRC-32 and its size: ``pieces`` MiB of ``A`` in one cell."""
    piece = b"A" * _PIECE
    crc = zlib.crc32(_HEAD)
    for _ in range(pieces):
        crc = zlib.crc32(piece, crc)
    crc = zlib.crc32(_TAIL, crc)
    packed = _flushed(_HEAD) + _flushed(piece) * pieces + _flushed(_TAIL) + b"\x03\x00"
    return packed, crc, len(_HEAD) + pieces * _PIECE + len(_TAIL)


def _entry(name: bytes, packed: bytes, crc: int, size: int, offset: int) -> tuple[bytes, bytes]:
    """A deflated part's local header with its data, and its central directory record."""
    fields = (20, 0, 8, 0, 0, crc, len(packed), size, len(name), 0)
    local = struct.pack("<4s5HL2L2H", b"PK\x03\x04", *fields) + name + packed
    central = struct.pack("<4s6HL2L5H2L", b"PK\x01\x02", 20, *fields, 0, 0, 0, 0, offset) + name
    return local, central


def bomb(unpacked_mib: int = 300, *, declared: int | None = None) -> bytes:
    """An XLSX whose sheet unpacks to ``unpacked_mib`` MiB, declaring ``declared`` bytes
    (by default, the truth)."""
    parts: list[tuple[bytes, bytes, int, int]] = []
    with zipfile.ZipFile(io.BytesIO(xlsx([["phone number"]]))) as plain:
        for info in plain.infolist():
            if info.filename == SHEET:
                packed, crc, size = _sheet(unpacked_mib)
            else:
                data = plain.read(info)
                packed, crc, size = _flushed(data) + b"\x03\x00", zlib.crc32(data), len(data)
            parts.append((info.filename.encode(), packed, crc, size))
    body, directory = b"", b""
    for name, packed, crc, size in parts:
        shown = declared if declared is not None and name == SHEET.encode() else size
        local, central = _entry(name, packed, crc, shown, len(body))
        body, directory = body + local, directory + central
    end = struct.pack(
        "<4s4H2LH", b"PK\x05\x06", 0, 0, len(parts), len(parts), len(directory), len(body), 0
    )
    return body + directory + end
