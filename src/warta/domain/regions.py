"""Kemendagri region codes (kode wilayah) and the time zone each province keeps.

A code names a province (``32`` Jawa Barat), a regency or city (``32.73`` Kota Bandung), a
district (``32.73.01``) or a village (``32.73.01.1001``): 2, 2, 2 and 4 digits, the form
of Kepmendagri 100.1.1-6117/2022. People copy codes from forms and spreadsheets, so the
dots may be missing (``3273011001``) and spaces anywhere (``" 32.73 "``); both are
accepted and stored dotted, which is the form broadcasts match prefixes on.

Indonesia has three zones and no daylight saving: WIB (UTC+7), WITA (UTC+8) and WIT
(UTC+9). The zone follows the province; a citizen may still choose another one (a
Kalimantan Timur worker who lives by Jakarta time), hence ``parse_zone``.

Pure: the standard library only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal, NamedTuple

from warta.errors import InvalidInput, InvalidRegion, Word

__all__ = [
    "PROVINCES",
    "ZONES",
    "InvalidRegion",
    "Level",
    "Province",
    "Region",
    "Zone",
    "parse_region",
    "parse_zone",
    "zone_of",
]

Zone = Literal["WIB", "WITA", "WIT"]
Level = Literal["province", "regency", "district", "village"]

#: The IANA name of each zone, for ``zoneinfo``.
ZONES: Final[dict[Zone, str]] = {
    "WIB": "Asia/Jakarta",
    "WITA": "Asia/Makassar",
    "WIT": "Asia/Jayapura",
}


class Province(NamedTuple):
    name: str
    zone: Zone


#: Province code -> name and zone, after the 2022 split of Papua into six provinces.
PROVINCES: Final[dict[str, Province]] = {
    "11": Province("Aceh", "WIB"),
    "12": Province("Sumatera Utara", "WIB"),
    "13": Province("Sumatera Barat", "WIB"),
    "14": Province("Riau", "WIB"),
    "15": Province("Jambi", "WIB"),
    "16": Province("Sumatera Selatan", "WIB"),
    "17": Province("Bengkulu", "WIB"),
    "18": Province("Lampung", "WIB"),
    "19": Province("Kepulauan Bangka Belitung", "WIB"),
    "21": Province("Kepulauan Riau", "WIB"),
    "31": Province("DKI Jakarta", "WIB"),
    "32": Province("Jawa Barat", "WIB"),
    "33": Province("Jawa Tengah", "WIB"),
    "34": Province("DI Yogyakarta", "WIB"),
    "35": Province("Jawa Timur", "WIB"),
    "36": Province("Banten", "WIB"),
    "51": Province("Bali", "WITA"),
    "52": Province("Nusa Tenggara Barat", "WITA"),
    "53": Province("Nusa Tenggara Timur", "WITA"),
    "61": Province("Kalimantan Barat", "WIB"),
    "62": Province("Kalimantan Tengah", "WIB"),
    "63": Province("Kalimantan Selatan", "WITA"),
    "64": Province("Kalimantan Timur", "WITA"),
    "65": Province("Kalimantan Utara", "WITA"),
    "71": Province("Sulawesi Utara", "WITA"),
    "72": Province("Sulawesi Tengah", "WITA"),
    "73": Province("Sulawesi Selatan", "WITA"),
    "74": Province("Sulawesi Tenggara", "WITA"),
    "75": Province("Gorontalo", "WITA"),
    "76": Province("Sulawesi Barat", "WITA"),
    "81": Province("Maluku", "WIT"),
    "82": Province("Maluku Utara", "WIT"),
    "91": Province("Papua", "WIT"),
    "92": Province("Papua Barat", "WIT"),
    "93": Province("Papua Selatan", "WIT"),
    "94": Province("Papua Tengah", "WIT"),
    "95": Province("Papua Pegunungan", "WIT"),
    "96": Province("Papua Barat Daya", "WIT"),
}

_LEVELS: Final[tuple[Level, ...]] = ("province", "regency", "district", "village")
_WIDTHS: Final = (2, 2, 2, 4)
#: Digits without dots: a code of each level, by length.
_PLAIN_LENGTHS: Final = (2, 4, 6, 10)
_NOT_CODE = re.compile(r"[^0-9.]")  # ASCII digits only: "٣٢" is no code


@dataclass(frozen=True, slots=True)
class Region:
    """A province, regency, district or village, by its canonical dotted code.

    Build one with ``parse_region``; ``Region("3273")`` is refused, so a Region always
    holds a code that ``parse_region`` would give back unchanged.
    """

    code: str

    def __post_init__(self) -> None:
        if _canonical(self.code) != self.code:
            raise InvalidRegion(
                "region code %(code)s is not dotted: use parse_region", code=repr(self.code)
            )

    @property
    def province(self) -> str:
        """The province's 2-digit code: ``"32"`` for ``32.73.01.1001``."""
        return self.code[:2]

    @property
    def province_name(self) -> str:
        return PROVINCES[self.province].name

    @property
    def level(self) -> Level:
        return _LEVELS[self.code.count(".")]

    def is_within(self, prefix: Region) -> bool:
        """Whether this region lies in ``prefix`` (or is it): what a broadcast to
        ``prefix`` reaches. ``32.73.01.1001`` is within ``32.73`` and ``32``; ``32.73`` is
        not within ``32.7`` (which is no region) nor ``32.73.01`` (which is smaller)."""
        return self.code == prefix.code or self.code.startswith(prefix.code + ".")


def parse_region(raw: str) -> Region:
    """``"32.73.01.1001"``, ``"3273011001"`` or ``" 32.73 "`` -> a Region.

    Refused, with a message naming the part at fault: an empty code, anything but digits
    and dots, a part of the wrong width (``32.7``), a part that is all zeros (``32.00``:
    Kemendagri numbers from 01), more than four parts, a dotless code of a length no level
    has (``32730``), and a province that does not exist (``99``).
    """
    return Region(_canonical(raw))


def _canonical(raw: str) -> str:
    # Long on purpose: one clear error per way a typed code goes wrong, in the order a
    # person would fix them, reads better as one sequence than split across helpers.
    text = "".join((raw or "").split())
    if not text:
        raise InvalidRegion(
            "region code is empty: use a Kemendagri code such as 32, 32.73, 32.73.01 or "
            "32.73.01.1001"
        )
    stray = _NOT_CODE.search(text)
    if stray is not None:
        raise InvalidRegion(
            "region code %(code)s: only digits and dots are allowed, not %(stray)s",
            code=repr(text),
            stray=repr(stray.group()),
        )
    if "." in text:
        parts = text.split(".")
        if len(parts) > len(_LEVELS):
            raise InvalidRegion(
                "region code %(code)s has %(count)s parts: at most 4 "
                "(province.regency.district.village)",
                code=repr(text),
                count=len(parts),
            )
    elif len(text) in _PLAIN_LENGTHS:
        parts, start = [], 0
        for width in _WIDTHS[: _PLAIN_LENGTHS.index(len(text)) + 1]:
            parts.append(text[start : start + width])
            start += width
    else:
        raise InvalidRegion(
            "region code %(code)s has %(count)s digits: without dots a code has 2, 4, 6 "
            "or 10 (32, 3273, 327301, 3273011001)",
            code=repr(text),
            count=len(text),
        )
    for level, width, part in zip(_LEVELS, _WIDTHS, parts, strict=False):
        if not part:
            raise InvalidRegion(
                "region code %(code)s: the %(level)s part is empty",
                code=repr(text),
                level=Word(level),
            )
        if len(part) != width:
            raise InvalidRegion(
                "region code %(code)s: the %(level)s must be %(width)s digits, not %(part)s",
                code=repr(text),
                level=Word(level),
                width=width,
                part=repr(part),
            )
        if level != "province" and int(part) == 0:
            raise InvalidRegion(
                "region code %(code)s: the %(level)s cannot be %(part)s",
                code=repr(text),
                level=Word(level),
                part=part,
            )
    if parts[0] not in PROVINCES:
        raise InvalidRegion(
            "region code %(code)s: %(province)s is not an Indonesian province",
            code=repr(text),
            province=parts[0],
        )
    return ".".join(parts)


def zone_of(region: Region) -> Zone:
    """The zone a region's province keeps: Kalimantan Barat (61) is WIB, Bali (51) WITA."""
    return PROVINCES[region.province].zone


def parse_zone(raw: str) -> Zone:
    """``"wita"`` or ``" WIT "`` -> the zone; offsets and IANA names are refused, so a
    citizen's zone is always one of the three Indonesia keeps."""
    zone = (raw or "").strip().upper()
    for known in ZONES:
        if zone == known:
            return known
    raise InvalidInput("time zone %(zone)s: must be WIB, WITA or WIT", zone=repr(raw))
