"""Kemendagri region codes and time zones (warta.domain.regions)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from warta.domain.regions import (
    PROVINCES,
    ZONES,
    Region,
    parse_region,
    parse_zone,
    zone_of,
)
from warta.errors import InvalidInput, InvalidRegion


@pytest.mark.parametrize(
    ("raw", "code", "level"),
    [
        pytest.param("32", "32", "province", id="province"),
        pytest.param("32.73", "32.73", "regency", id="regency"),
        pytest.param("32.73.01", "32.73.01", "district", id="district"),
        pytest.param("32.73.01.1001", "32.73.01.1001", "village", id="village"),
        pytest.param("3273", "32.73", "regency", id="regency-without-dots"),
        pytest.param("327301", "32.73.01", "district", id="district-without-dots"),
        pytest.param("3273011001", "32.73.01.1001", "village", id="village-without-dots"),
        pytest.param(" 32.73 ", "32.73", "regency", id="surrounding-spaces"),
        pytest.param("32. 73 .01", "32.73.01", "district", id="spaces-inside"),
        pytest.param("3273 01 1001", "32.73.01.1001", "village", id="spaced-digits"),
        pytest.param("\t51.71\n", "51.71", "regency", id="tab-and-newline"),
        pytest.param("32.73.01.2001", "32.73.01.2001", "village", id="desa-not-kelurahan"),
        pytest.param("96.71", "96.71", "regency", id="papua-barat-daya-2022"),
    ],
)
def test_parse_region(raw: str, code: str, level: str) -> None:
    region = parse_region(raw)
    assert (region.code, region.level, region.province) == (code, level, code[:2])


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        pytest.param(
            "", "region code is empty: use a Kemendagri code such as 32, 32.73, 32.73.01 "
            "or 32.73.01.1001", id="empty",
        ),
        pytest.param(
            "   ", "region code is empty: use a Kemendagri code such as 32, 32.73, 32.73.01 "
            "or 32.73.01.1001", id="only-spaces",
        ),
        pytest.param(
            "32-73", "region code '32-73': only digits and dots are allowed, not '-'",
            id="dash",
        ),
        pytest.param(
            "32.7a", "region code '32.7a': only digits and dots are allowed, not 'a'",
            id="letter",
        ),
        pytest.param(
            "٣٢", "region code '٣٢': only digits and dots are allowed, not '٣'",
            id="arabic-indic-digits",
        ),
        pytest.param(
            "32.7", "region code '32.7': the regency must be 2 digits, not '7'",
            id="one-digit-regency",
        ),
        pytest.param(
            "3.27", "region code '3.27': the province must be 2 digits, not '3'",
            id="one-digit-province",
        ),
        pytest.param(
            "3273.01", "region code '3273.01': the province must be 2 digits, not '3273'",
            id="half-dotted",
        ),
        pytest.param(
            "32.73.1", "region code '32.73.1': the district must be 2 digits, not '1'",
            id="one-digit-district",
        ),
        pytest.param(
            "32.73.01.101", "region code '32.73.01.101': the village must be 4 digits, not '101'",
            id="three-digit-village",
        ),
        pytest.param(
            "32.73.01.10011",
            "region code '32.73.01.10011': the village must be 4 digits, not '10011'",
            id="five-digit-village",
        ),
        pytest.param("32.", "region code '32.': the regency part is empty", id="trailing-dot"),
        pytest.param(".32", "region code '.32': the province part is empty", id="leading-dot"),
        pytest.param(
            "32..01", "region code '32..01': the regency part is empty", id="double-dot"
        ),
        pytest.param(
            "32.73.01.1001.01",
            "region code '32.73.01.1001.01' has 5 parts: at most 4 "
            "(province.regency.district.village)", id="five-parts",
        ),
        pytest.param(
            "32730", "region code '32730' has 5 digits: without dots a code has 2, 4, 6 or 10 "
            "(32, 3273, 327301, 3273011001)", id="five-digits",
        ),
        pytest.param(
            "3", "region code '3' has 1 digits: without dots a code has 2, 4, 6 or 10 "
            "(32, 3273, 327301, 3273011001)", id="one-digit",
        ),
        pytest.param(
            "32730110010", "region code '32730110010' has 11 digits: without dots a code has "
            "2, 4, 6 or 10 (32, 3273, 327301, 3273011001)", id="eleven-digits",
        ),
        pytest.param("32.00", "region code '32.00': the regency cannot be 00", id="zero-regency"),
        pytest.param(
            "32.73.00", "region code '32.73.00': the district cannot be 00", id="zero-district"
        ),
        pytest.param(
            "3273010000", "region code '3273010000': the village cannot be 0000",
            id="zero-village",
        ),
        pytest.param(
            "99.01", "region code '99.01': 99 is not an Indonesian province",
            id="unknown-province",
        ),
        pytest.param("00", "region code '00': 00 is not an Indonesian province", id="zero"),
        pytest.param(
            "20", "region code '20': 20 is not an Indonesian province", id="gap-between-ranges"
        ),
        pytest.param(
            "97.01", "region code '97.01': 97 is not an Indonesian province",
            id="after-papua-barat-daya",
        ),
    ],
)  # fmt: skip
def test_bad_region_codes_are_refused_naming_the_fault(raw: str, message: str) -> None:
    with pytest.raises(InvalidRegion) as caught:
        parse_region(raw)
    assert str(caught.value) == message


def test_an_invalid_region_is_invalid_input() -> None:
    """The API and the CSV import turn InvalidInput into a 400 naming the field."""
    assert issubclass(InvalidRegion, InvalidInput)


@pytest.mark.parametrize(
    ("code", "message"),
    [
        pytest.param("3273", "region code '3273' is not dotted: use parse_region", id="plain"),
        pytest.param(" 32", "region code ' 32' is not dotted: use parse_region", id="space"),
        pytest.param("99", "region code '99': 99 is not an Indonesian province", id="unknown"),
    ],
)
def test_a_region_cannot_be_built_from_a_non_canonical_code(code: str, message: str) -> None:
    with pytest.raises(InvalidRegion) as caught:
        Region(code)
    assert str(caught.value) == message


def _zone_by_the_rule(province: str) -> str:
    """Zones as Indonesia defines them (Keppres 41/1987), written independently of the table."""
    number = int(province)
    if 11 <= number <= 21 or 31 <= number <= 36 or number in (61, 62):
        return "WIB"
    if 51 <= number <= 53 or 63 <= number <= 65 or 71 <= number <= 76:
        return "WITA"
    if number in (81, 82) or 91 <= number <= 96:
        return "WIT"
    raise AssertionError(f"{province} is in no zone")


@pytest.mark.parametrize("province", sorted(PROVINCES))
def test_every_province_keeps_its_zone(province: str) -> None:
    assert zone_of(parse_region(province)) == _zone_by_the_rule(province)


def test_the_province_table_is_the_38_provinces_after_2022() -> None:
    assert len(PROVINCES) == 38
    papua = {code: PROVINCES[code].name for code in ("91", "92", "93", "94", "95", "96")}
    assert papua == {
        "91": "Papua",
        "92": "Papua Barat",
        "93": "Papua Selatan",
        "94": "Papua Tengah",
        "95": "Papua Pegunungan",
        "96": "Papua Barat Daya",
    }


@pytest.mark.parametrize(
    ("code", "name", "zone"),
    [
        pytest.param("11.71", "Aceh", "WIB", id="aceh"),
        pytest.param("31.71.01", "DKI Jakarta", "WIB", id="jakarta"),
        pytest.param("61.71", "Kalimantan Barat", "WIB", id="kalbar-is-WIB"),
        pytest.param("62.71", "Kalimantan Tengah", "WIB", id="kalteng-is-WIB"),
        pytest.param("63.71", "Kalimantan Selatan", "WITA", id="kalsel-is-WITA"),
        pytest.param("65.71", "Kalimantan Utara", "WITA", id="kaltara"),
        pytest.param("51.71.01", "Bali", "WITA", id="bali"),
        pytest.param("76.01", "Sulawesi Barat", "WITA", id="sulbar"),
        pytest.param("82.71", "Maluku Utara", "WIT", id="malut"),
        pytest.param("94.01", "Papua Tengah", "WIT", id="papua-tengah"),
    ],
)
def test_province_name_and_zone(code: str, name: str, zone: str) -> None:
    region = parse_region(code)
    assert (region.province_name, zone_of(region)) == (name, zone)


@pytest.mark.parametrize(
    ("region", "prefix", "within"),
    [
        pytest.param("32.73.01.1001", "32", True, id="village-in-province"),
        pytest.param("32.73.01.1001", "32.73", True, id="village-in-regency"),
        pytest.param("32.73.01.1001", "32.73.01", True, id="village-in-district"),
        pytest.param("32.73", "32.73", True, id="itself"),
        pytest.param("32.73.01.1001", "32.74", False, id="other-regency"),
        pytest.param("32.73", "32.73.01", False, id="bigger-not-in-smaller"),
        pytest.param("33.73", "32", False, id="other-province"),
        pytest.param("32.73.11", "32.73.01", False, id="not-a-string-prefix"),
        pytest.param("32.73.01.1001", "32.73.01.1002", False, id="sibling-village"),
    ],
)
def test_is_within(region: str, prefix: str, within: bool) -> None:
    assert parse_region(region).is_within(parse_region(prefix)) is within


@pytest.mark.parametrize(
    ("raw", "zone"),
    [
        pytest.param("WIB", "WIB", id="upper"),
        pytest.param("wita", "WITA", id="lower"),
        pytest.param(" Wit\n", "WIT", id="mixed-case-surrounding-space"),
    ],
)
def test_parse_zone(raw: str, zone: str) -> None:
    assert parse_zone(raw) == zone


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param("", id="empty"),
        pytest.param("UTC+7", id="offset"),
        pytest.param("Asia/Jakarta", id="iana-name"),
        pytest.param("WITT", id="near-miss"),
        pytest.param("W I B", id="spaced-letters"),
    ],
)
def test_parse_zone_refuses_anything_else(raw: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_zone(raw)
    assert str(caught.value) == f"time zone {raw!r}: must be WIB, WITA or WIT"


@pytest.mark.parametrize(
    ("zone", "hours"),
    [
        pytest.param("WIB", 7, id="WIB"),
        pytest.param("WITA", 8, id="WITA"),
        pytest.param("WIT", 9, id="WIT"),
    ],
)
def test_zones_are_the_indonesian_offsets_all_year(zone: str, hours: int) -> None:
    tz = ZoneInfo(ZONES[zone])  # type: ignore[index]
    for month in range(1, 13):  # no daylight saving
        moment = datetime(2026, month, 15, tzinfo=UTC).astimezone(tz)
        assert moment.utcoffset() == timedelta(hours=hours)


# Valid codes, built part by part, in any of the forms people type.
provinces = st.sampled_from(sorted(PROVINCES))
regencies = st.integers(1, 99).map("{:02d}".format)
districts = st.integers(1, 99).map("{:02d}".format)
villages = st.integers(1, 9999).map("{:04d}".format)


@st.composite
def codes(draw: st.DrawFn) -> list[str]:
    parts = [draw(provinces), draw(regencies), draw(districts), draw(villages)]
    return parts[: draw(st.integers(1, 4))]


@given(codes(), st.sampled_from([".", ""]), st.sampled_from(["", " ", "  "]))
def test_every_form_of_a_code_means_the_same_region(parts: list[str], dot: str, pad: str) -> None:
    region = parse_region(pad + dot.join(parts) + pad)
    assert region.code == ".".join(parts)
    assert region.level == ("province", "regency", "district", "village")[len(parts) - 1]
    assert parse_region(region.code) == region  # canonical codes parse to themselves
    assert zone_of(region) == _zone_by_the_rule(parts[0])
    for size in range(1, len(parts) + 1):  # within each of its own prefixes
        assert region.is_within(parse_region(".".join(parts[:size])))


@given(st.text(alphabet="0123456789. -x", max_size=16))
def test_any_text_is_a_region_or_refused_with_invalid_region(raw: str) -> None:
    try:
        region = parse_region(raw)
    except InvalidRegion as exc:
        assert str(exc).startswith("region code")
    else:
        assert parse_region(region.code) == region
