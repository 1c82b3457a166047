"""Kemendagri region codes (kode wilayah) and the time zone each province keeps.

A code names a province (``32``), a regency or city (``32.73``), a district (``32.73.01``)
or a village (``32.73.01.1001``): 2, 2, 2 and 4 digits. Indonesia has three zones and no
daylight saving: WIB (UTC+7), WITA (UTC+8), WIT (UTC+9).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

from warta.errors import InvalidInput

Zone = Literal["WIB", "WITA", "WIT"]
Level = Literal["province", "regency", "district", "village"]
ZONES: Final[dict[Zone, str]] = {
    "WIB": "Asia/Jakarta",
    "WITA": "Asia/Makassar",
    "WIT": "Asia/Jayapura",
}

#: Province code -> (name, zone), after the 2022 split of Papua.
PROVINCES: Final[dict[str, tuple[str, Zone]]] = {
    "11": ("Aceh", "WIB"),
    "12": ("Sumatera Utara", "WIB"),
    "13": ("Sumatera Barat", "WIB"),
    "14": ("Riau", "WIB"),
    "15": ("Jambi", "WIB"),
    "16": ("Sumatera Selatan", "WIB"),
    "17": ("Bengkulu", "WIB"),
    "18": ("Lampung", "WIB"),
    "19": ("Kepulauan Bangka Belitung", "WIB"),
    "21": ("Kepulauan Riau", "WIB"),
    "31": ("DKI Jakarta", "WIB"),
    "32": ("Jawa Barat", "WIB"),
    "33": ("Jawa Tengah", "WIB"),
    "34": ("DI Yogyakarta", "WIB"),
    "35": ("Jawa Timur", "WIB"),
    "36": ("Banten", "WIB"),
    "51": ("Bali", "WITA"),
    "52": ("Nusa Tenggara Barat", "WITA"),
    "53": ("Nusa Tenggara Timur", "WITA"),
    "61": ("Kalimantan Barat", "WIB"),
    "62": ("Kalimantan Tengah", "WIB"),
    "63": ("Kalimantan Selatan", "WITA"),
    "64": ("Kalimantan Timur", "WITA"),
    "65": ("Kalimantan Utara", "WITA"),
    "71": ("Sulawesi Utara", "WITA"),
    "72": ("Sulawesi Tengah", "WITA"),
    "73": ("Sulawesi Selatan", "WITA"),
    "74": ("Sulawesi Tenggara", "WITA"),
    "75": ("Gorontalo", "WITA"),
    "76": ("Sulawesi Barat", "WITA"),
    "81": ("Maluku", "WIT"),
    "82": ("Maluku Utara", "WIT"),
    "91": ("Papua", "WIT"),
    "92": ("Papua Barat", "WIT"),
    "93": ("Papua Selatan", "WIT"),
    "94": ("Papua Tengah", "WIT"),
    "95": ("Papua Pegunungan", "WIT"),
    "96": ("Papua Barat Daya", "WIT"),
}

_WIDTHS = (2, 2, 2, 4)
_LEVELS: tuple[Level, ...] = ("province", "regency", "district", "village")
_DOTTED = re.compile(r"[0-9]{2}(\.[0-9]{2}(\.[0-9]{2}(\.[0-9]{4})?)?)?")
_PLAIN = re.compile(r"[0-9]{2}|[0-9]{4}|[0-9]{6}|[0-9]{10}")


class InvalidRegion(InvalidInput):
    pass


@dataclass(frozen=True, slots=True)
class Region:
    code: str  # canonical, dotted: 32.73.01.1001

    @property
    def province(self) -> str:
        return self.code[:2]

    @property
    def level(self) -> Level:
        return _LEVELS[self.code.count(".")]

    def is_within(self, area: Region) -> bool:
        """``32.73.01.1001`` is within ``32.73`` and ``32``; ``32.7`` is no area."""
        return self.code == area.code or self.code.startswith(area.code + ".")


def parse_region(raw: str) -> Region:
    """``"32.73.01.1001"``, ``"3273011001"`` or ``" 32.73 "`` -> a Region."""
    text = re.sub(r"\s", "", raw or "")
    if _PLAIN.fullmatch(text):
        parts, start = [], 0
        for width in _WIDTHS:
            if start >= len(text):
                break
            parts.append(text[start : start + width])
            start += width
        text = ".".join(parts)
    if not _DOTTED.fullmatch(text):
        raise InvalidRegion(
            "region_code must be a Kemendagri code: province, regency, district, village "
            "as 32, 32.73, 32.73.01 or 32.73.01.1001"
        )
    if text[:2] not in PROVINCES:
        raise InvalidRegion(f"region_code {text}: {text[:2]} is not an Indonesian province")
    return Region(text)


def zone_of(region: Region) -> Zone:
    return PROVINCES[region.province][1]


def parse_zone(raw: str) -> Zone:
    zone = (raw or "").strip().upper()
    if zone not in ZONES:
        raise InvalidRegion("time_zone must be WIB, WITA or WIT")
    return zone
