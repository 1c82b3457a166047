"""Open311 in Warta's words (warta.domain.open311): tables of cases with the exact
description an Open311 client would get, then properties."""

from __future__ import annotations

import doctest
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from warta.domain import open311
from warta.domain.cases import STATUSES, new_tracking_id
from warta.domain.open311 import (
    check_answers,
    check_definitions,
    check_update_id,
    date_range,
    format_datetime,
    keywords,
    parse_datetime,
    parse_location,
    parse_page,
    parse_request_ids,
    parse_status_filter,
    reporter_says,
    statuses_in_force,
    statuses_with,
)
from warta.errors import InvalidInput

NOW = datetime(2026, 12, 5, 7, 0, tzinfo=UTC)


def test_doctests() -> None:
    assert doctest.testmod(open311).failed == 0


# Status -------------------------------------------------------------------------------

SHOWN = [
    # (Warta status, Open311 status, FixMyStreet extended status)
    ("received", "open", "open"),
    ("verified", "open", "investigating"),
    ("forwarded", "open", "internal_referral"),
    ("in_progress", "open", "in_progress"),
    ("waiting_for_citizen", "open", "action_scheduled"),
    ("resolved", "closed", "fixed"),
    ("closed", "closed", "closed"),
    ("rejected", "closed", "no_further_action"),
    ("duplicate", "closed", "duplicate"),
    ("reopened", "open", "open"),
]


def test_the_table_covers_every_status() -> None:
    assert sorted(s for s, _, _ in SHOWN) == sorted(STATUSES)


@pytest.mark.parametrize(("status", "plain", "extended"), SHOWN, ids=[s for s, _, _ in SHOWN])
def test_each_status_is_shown_as_open311_and_fixmystreet_show_it(
    status: str, plain: str, extended: str
) -> None:
    assert open311.open311_status(status) == plain
    assert open311.extended_status(status) == extended
    assert extended in open311.EXTENDED_STATUSES


@pytest.mark.parametrize(
    ("asked", "statuses"),
    [
        (
            "open",
            {"received", "verified", "forwarded", "in_progress", "waiting_for_citizen", "reopened"},
        ),
        ("closed", {"resolved", "closed", "rejected", "duplicate"}),
        ("CLOSED", {"resolved", "closed", "rejected", "duplicate"}),
        ("fixed", {"resolved"}),
        ("FIXED", {"resolved"}),
        ("action_scheduled", {"waiting_for_citizen"}),
        ("internal_referral", {"forwarded"}),
        ("no_further_action", {"rejected"}),
        ("for_triage", set()),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_statuses_with_reads_open311_and_extended_statuses_back(
    asked: str, statuses: set[str]
) -> None:
    assert statuses_with(asked) == statuses


def test_every_status_is_found_again_from_what_it_is_shown_as() -> None:
    for status, plain, extended in SHOWN:
        assert status in statuses_with(plain)
        if extended != "open":  # "open" reads as the Open311 status: every open one
            assert status in statuses_with(extended)


def test_an_unknown_status_is_refused_by_name() -> None:
    with pytest.raises(InvalidInput) as refused:
        statuses_with("pending")
    assert str(refused.value) == "status 'pending' is not a status: use open or closed"


@pytest.mark.parametrize(
    ("raw", "wanted"),
    [
        (None, ("open", "closed")),
        ("", ("open", "closed")),
        ("open", ("open",)),
        ("closed", ("closed",)),
        ("Open, closed", ("open", "closed")),
        ("closed,open,closed", ("closed", "open")),
        (" , open ,", ("open",)),
    ],
    ids=["none", "empty", "open", "closed", "both-mixed-case", "repeated", "blank-parts"],
)
def test_status_filter(raw: str | None, wanted: tuple[str, ...]) -> None:
    assert parse_status_filter(raw) == wanted


def test_status_filter_refuses_an_extended_status() -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_status_filter("open,fixed")
    assert str(refused.value) == "status 'fixed' is not open or closed"


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ("OPEN", "open"),
        ("REOPEN", "open"),
        ("IN_PROGRESS", "open"),
        ("INVESTIGATING", "open"),
        ("ACTION_SCHEDULED", "open"),
        ("INTERNAL_REFERRAL", "open"),
        ("FOR_TRIAGE", "open"),
        ("CLOSED", "closed"),
        ("FIXED", "closed"),
        ("DUPLICATE", "closed"),
        ("NOT_COUNCILS_RESPONSIBILITY", "closed"),
        ("NO_FURTHER_ACTION", "closed"),
        ("fixed", "closed"),
        (" Open ", "open"),
    ],
    ids=lambda v: v.strip(),
)
def test_what_a_fixmystreet_update_says(raw: str, says: str) -> None:
    assert reporter_says(raw) == says


@pytest.mark.parametrize("raw", ["", "SOLVED", "open311", "FIXED!"], ids=repr)
def test_a_fixmystreet_update_with_another_status_is_refused(raw: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        reporter_says(raw)
    assert str(refused.value).startswith(f"status {raw!r} is not a status: use one of OPEN, ")


def test_statuses_in_force_carry_the_last_change() -> None:
    assert statuses_in_force([]) == []
    assert statuses_in_force([None]) == ["received"]
    assert statuses_in_force(["forwarded", None, "verified"], start="received") == [
        "forwarded",
        "forwarded",
        "verified",
    ]


# Attribute definitions ---------------------------------------------------------------

POTHOLE = [
    {
        "code": "kedalaman",
        "datatype": "number",
        "required": True,
        "description": "Kedalaman lubang (cm)",
        "order": 2,
    },
    {
        "code": "lajur",
        "datatype": "singlevaluelist",
        "values": [{"key": "kiri", "name": "Kiri"}, {"key": "kanan", "name": "Kanan"}],
        "order": 1,
    },
    {
        "code": "bahaya",
        "datatype": "multivaluelist",
        "values": [{"key": "motor", "name": "Motor"}, {"key": "mobil", "name": "Mobil"}],
        "order": 3,
    },
    {"code": "catatan", "datatype": "text", "order": 4},
    {"code": "sejak", "datatype": "datetime", "order": 5},
    {"code": "info", "datatype": "string", "variable": False, "order": 6},
]


def test_definitions_are_completed_and_sorted_by_order() -> None:
    made = check_definitions(POTHOLE)
    assert [d["code"] for d in made] == ["lajur", "kedalaman", "bahaya", "catatan", "sejak", "info"]
    assert made[1] == {
        "code": "kedalaman",
        "datatype": "number",
        "variable": True,
        "required": True,
        "order": 2,
        "description": "Kedalaman lubang (cm)",
        "datatype_description": None,
    }
    assert made[0]["values"] == [{"key": "kiri", "name": "Kiri"}, {"key": "kanan", "name": "Kanan"}]
    assert made[-1]["variable"] is False


def test_a_definition_without_order_takes_its_position() -> None:
    made = check_definitions(
        [{"code": "a", "datatype": "string"}, {"code": "b", "datatype": "text"}]
    )
    assert [(d["code"], d["order"]) for d in made] == [("a", 1), ("b", 2)]


def value_list(count: int) -> list[dict[str, str]]:
    return [{"key": f"k{i}", "name": f"N{i}"} for i in range(count)]


BAD_DEFINITIONS: list[tuple[str, Any, str]] = [
    ("not-a-list", {"code": "a"}, "attributes must be a list of attribute definitions"),
    (
        "too-many",
        [{"code": f"a{i}", "datatype": "string"} for i in range(51)],
        "a service has at most 50 attributes",
    ),
    ("not-an-object", ["kedalaman"], "attribute 1 is not an object"),
    ("no-code", [{"datatype": "string"}], "attribute 1: code must be 1-64 letters, digits or _"),
    (
        "code-with-bracket",
        [{"code": "a]b", "datatype": "string"}],
        "attribute 1: code must be 1-64 letters, digits or _",
    ),
    (
        "code-too-long",
        [{"code": "a" * 65, "datatype": "string"}],
        "attribute 1: code must be 1-64 letters, digits or _",
    ),
    (
        "unknown-datatype",
        [{"code": "a", "datatype": "boolean"}],
        "attribute a: datatype must be one of string, number, datetime, text, singlevaluelist, "
        "multivaluelist",
    ),
    (
        "required-not-bool",
        [{"code": "a", "datatype": "string", "required": "yes"}],
        "attribute a: required must be true or false",
    ),
    (
        "variable-not-bool",
        [{"code": "a", "datatype": "string", "variable": 1}],
        "attribute a: variable must be true or false",
    ),
    (
        "order-not-int",
        [{"code": "a", "datatype": "string", "order": "1"}],
        "attribute a: order must be a whole number",
    ),
    (
        "order-bool",
        [{"code": "a", "datatype": "string", "order": True}],
        "attribute a: order must be a whole number",
    ),
    (
        "description-not-text",
        [{"code": "a", "datatype": "string", "description": 5}],
        "attribute a: description must be text of at most 1000 characters",
    ),
    (
        "list-without-values",
        [{"code": "a", "datatype": "singlevaluelist"}],
        "attribute a: a list datatype needs values",
    ),
    (
        "list-empty-values",
        [{"code": "a", "datatype": "multivaluelist", "values": []}],
        "attribute a: a list datatype needs values",
    ),
    (
        "value-without-name",
        [{"code": "a", "datatype": "singlevaluelist", "values": [{"key": "x"}]}],
        "attribute a: each value needs a key and a name (at most 255 characters)",
    ),
    (
        "description-too-long",
        [{"code": "a", "datatype": "string", "datatype_description": "x" * 1001}],
        "attribute a: datatype_description must be text of at most 1000 characters",
    ),
    (
        "value-key-too-long",
        [{"code": "a", "datatype": "singlevaluelist", "values": [{"key": "k" * 256, "name": "X"}]}],
        "attribute a: each value needs a key and a name (at most 255 characters)",
    ),
    (
        "value-empty-key",
        [{"code": "a", "datatype": "singlevaluelist", "values": [{"key": "", "name": "X"}]}],
        "attribute a: each value needs a key and a name (at most 255 characters)",
    ),
    (
        "value-twice",
        [
            {
                "code": "a",
                "datatype": "singlevaluelist",
                "values": [{"key": "x", "name": "X"}, {"key": "x", "name": "Y"}],
            }
        ],
        "attribute a: value 'x' is listed twice",
    ),
    (
        "too-many-values",
        [{"code": "a", "datatype": "singlevaluelist", "values": value_list(201)}],
        "attribute a: at most 200 values",
    ),
    (
        "values-on-a-string",
        [{"code": "a", "datatype": "string", "values": [{"key": "x", "name": "X"}]}],
        "attribute a: only list datatypes take values",
    ),
    (
        "code-twice",
        [{"code": "a", "datatype": "string"}, {"code": "a", "datatype": "text"}],
        "attribute a is defined twice",
    ),
]


@pytest.mark.parametrize(
    ("raw", "message"),
    [(r, m) for _, r, m in BAD_DEFINITIONS],
    ids=[i for i, _, _ in BAD_DEFINITIONS],
)
def test_bad_definitions_are_refused(raw: Any, message: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_definitions(raw)
    assert str(refused.value) == message


# Attribute answers --------------------------------------------------------------------

DEFINED = check_definitions(POTHOLE)


def test_answers_are_checked_and_kept() -> None:
    given_answers = {
        "kedalaman": ["12.5"],
        "lajur": ["kiri"],
        "bahaya": ["motor", "mobil", "motor"],
        "catatan": ["  dekat sekolah  "],
        "sejak": ["2026-12-01T08:00:00+07:00"],
    }
    assert check_answers(DEFINED, given_answers) == {
        "kedalaman": "12.5",
        "lajur": "kiri",
        "bahaya": ["motor", "mobil"],
        "catatan": "dekat sekolah",
        "sejak": "2026-12-01T01:00:00Z",
    }


def test_unknown_and_informational_answers_are_left_out() -> None:
    assert check_answers(
        DEFINED, {"kedalaman": ["3"], "fixmystreet_id": ["99"], "info": ["x"]}
    ) == {"kedalaman": "3"}


def test_optional_answers_may_be_missing_or_blank() -> None:
    assert check_answers(DEFINED, {"kedalaman": ["3"], "lajur": ["  "]}) == {"kedalaman": "3"}


BAD_ANSWERS: list[tuple[str, dict[str, list[str]], str]] = [
    ("required-missing", {}, "attribute[kedalaman] is required"),
    ("required-blank", {"kedalaman": [" "]}, "attribute[kedalaman] is required"),
    ("comma-decimal", {"kedalaman": ["12,5"]}, "attribute[kedalaman] '12,5' is not a number"),
    ("nan", {"kedalaman": ["NaN"]}, "attribute[kedalaman] 'NaN' is not a number"),
    ("arabic-digit", {"kedalaman": ["٣"]}, "attribute[kedalaman] '٣' is not a number"),
    ("infinity", {"kedalaman": ["Infinity"]}, "attribute[kedalaman] 'Infinity' is not a number"),
    (
        "number-too-long",
        {"kedalaman": ["1" * 41]},
        "attribute[kedalaman] is longer than 40 characters",
    ),
    ("two-numbers", {"kedalaman": ["1", "2"]}, "attribute[kedalaman] takes one value"),
    (
        "not-a-key",
        {"kedalaman": ["1"], "lajur": ["tengah"]},
        "attribute[lajur] 'tengah' is not one of kiri, kanan",
    ),
    (
        "key-by-name",
        {"kedalaman": ["1"], "lajur": ["Kiri"]},
        "attribute[lajur] 'Kiri' is not one of kiri, kanan",
    ),
    (
        "two-single-values",
        {"kedalaman": ["1"], "lajur": ["kiri", "kanan"]},
        "attribute[lajur] takes one value",
    ),
    (
        "one-bad-multi",
        {"kedalaman": ["1"], "bahaya": ["motor", "truk"]},
        "attribute[bahaya] 'truk' is not one of motor, mobil",
    ),
    (
        "bad-datetime",
        {"kedalaman": ["1"], "sejak": ["kemarin"]},
        "attribute[sejak] 'kemarin' is not a date-time like 2026-12-05T10:00:00+07:00",
    ),
    (
        "text-too-long",
        {"kedalaman": ["1"], "catatan": ["x" * 4001]},
        "attribute[catatan] is longer than 4000 characters",
    ),
]


@pytest.mark.parametrize(
    ("answers", "message"), [(a, m) for _, a, m in BAD_ANSWERS], ids=[i for i, _, _ in BAD_ANSWERS]
)
def test_bad_answers_are_refused_naming_the_parameter(
    answers: dict[str, list[str]], message: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_answers(DEFINED, answers)
    assert str(refused.value) == message


# Dates --------------------------------------------------------------------------------

DATES = [
    ("2026-12-05T10:00:00Z", datetime(2026, 12, 5, 10, tzinfo=UTC)),
    ("2026-12-05T10:00:00z", datetime(2026, 12, 5, 10, tzinfo=UTC)),
    ("2026-12-05T10:00:00+07:00", datetime(2026, 12, 5, 3, tzinfo=UTC)),
    ("2026-12-05T10:00:00+0700", datetime(2026, 12, 5, 3, tzinfo=UTC)),
    ("2026-12-05T10:00:00-08:00", datetime(2026, 12, 5, 18, tzinfo=UTC)),
    ("2026-12-05T10:00:00 07:00", datetime(2026, 12, 5, 3, tzinfo=UTC)),
    ("2026-12-05T10:00:00.123Z", datetime(2026, 12, 5, 10, 0, 0, 123000, tzinfo=UTC)),
    ("2026-12-05T10:00:00.123456789Z", datetime(2026, 12, 5, 10, 0, 0, 123456, tzinfo=UTC)),
    ("2026-12-05T10:00", datetime(2026, 12, 5, 10, tzinfo=UTC)),
    ("2026-12-05 10:00:00", datetime(2026, 12, 5, 10, tzinfo=UTC)),
    ("2026-12-05", datetime(2026, 12, 5, tzinfo=UTC)),
]


@pytest.mark.parametrize(("raw", "instant"), DATES, ids=[r for r, _ in DATES])
def test_w3c_dates_are_read_as_utc_instants(raw: str, instant: datetime) -> None:
    parsed = parse_datetime(raw, "start_date")
    assert parsed == instant
    assert parsed.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "kemarin",
        "05-12-2026",
        "2026-12-5",
        "2026-W49-6",
        "20261205",
        "2026-12-05T10",
        "2026-12-05T10:00:00+7",
        "2026-12-05T10:00:00 WIB",
        "2026-12-05T10:00:00Z trailing",
    ],
    ids=repr,
)
def test_other_date_forms_are_refused(raw: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_datetime(raw, "start_date")
    assert str(refused.value) == (
        f"start_date {raw!r} is not a date-time like 2026-12-05T10:00:00+07:00"
    )


@pytest.mark.parametrize("raw", ["2026-02-30", "2026-12-05T25:00:00Z", "2026-13-01"], ids=repr)
def test_impossible_dates_are_refused(raw: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_datetime(raw, "end_date")
    assert str(refused.value) == f"end_date {raw!r} is not a real date"


def test_dates_are_written_in_utc_to_the_second() -> None:
    wib = datetime(2026, 12, 5, 14, 30, 15, 500, tzinfo=UTC) + timedelta(0)
    assert format_datetime(wib) == "2026-12-05T14:30:15Z"
    assert format_datetime(datetime(2026, 12, 5, 14, 30)) == "2026-12-05T14:30:00Z"


@given(
    st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    )
)
def test_a_written_date_reads_back_to_the_second(value: datetime) -> None:
    assert parse_datetime(format_datetime(value), "x") == value.replace(microsecond=0)


RANGES = [
    ("neither", None, None, (NOW - timedelta(days=90), NOW)),
    (
        "start-only",
        "2026-11-01T00:00:00Z",
        None,
        (datetime(2026, 11, 1, tzinfo=UTC), datetime(2027, 1, 30, tzinfo=UTC)),
    ),
    (
        "end-only",
        None,
        "2026-11-01T00:00:00Z",
        (datetime(2026, 8, 3, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC)),
    ),
    (
        "both",
        "2026-11-01",
        "2026-12-01",
        (datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)),
    ),
    (
        "exactly-90-days",
        "2026-09-06",
        "2026-12-05",
        (datetime(2026, 9, 6, tzinfo=UTC), datetime(2026, 12, 5, tzinfo=UTC)),
    ),
]


@pytest.mark.parametrize(
    ("start", "end", "wanted"), [r[1:] for r in RANGES], ids=[r[0] for r in RANGES]
)
def test_date_ranges(start: str | None, end: str | None, wanted: tuple[datetime, datetime]) -> None:
    assert date_range(start, end, NOW) == wanted


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        ("2026-12-01", "2026-11-01", "end_date is before start_date"),
        ("2026-09-05", "2026-12-05", "start_date and end_date may not span more than 90 days"),
        (
            "2026-12-01",
            "kemarin",
            "end_date 'kemarin' is not a date-time like 2026-12-05T10:00:00+07:00",
        ),
    ],
    ids=["backwards", "91-days", "bad-end"],
)
def test_bad_date_ranges_are_refused(start: str, end: str, message: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        date_range(start, end, NOW)
    assert str(refused.value) == message


# Other parameters ---------------------------------------------------------------------


def test_request_ids_are_read_as_people_write_them() -> None:
    one, two = new_tracking_id(), new_tracking_id()
    raw = f"{one[:4].lower()}-{one[4:].lower()}, {two}, {one}"
    assert parse_request_ids(raw) == [one, two]
    assert parse_request_ids(None) == []
    assert parse_request_ids(" , ") == []


def test_a_wrong_request_id_is_refused_by_name() -> None:
    good = new_tracking_id()
    wrong = good[:-1] + ("2" if good[-1] != "2" else "3")
    with pytest.raises(InvalidInput) as refused:
        parse_request_ids(f"{good},{wrong}")
    assert str(refused.value) == f"service_request_id tracking id {wrong!r}: a character is wrong"
    with pytest.raises(InvalidInput) as refused:
        parse_request_ids("12345")
    assert str(refused.value) == (
        "service_request_id tracking id '12345': 8 letters and digits, without 0, O, 1 or I"
    )


def test_at_most_100_request_ids() -> None:
    assert len(parse_request_ids(",".join(new_tracking_id() for _ in range(100)))) <= 100
    with pytest.raises(InvalidInput) as refused:
        parse_request_ids(",".join(new_tracking_id() for _ in range(101)))
    assert str(refused.value) == "service_request_id at most 100 ids at once"


@pytest.mark.parametrize(
    ("page", "size", "wanted"),
    [(None, None, (1, 50)), ("", " ", (1, 50)), ("3", "200", (3, 200)), (" 2 ", "1", (2, 1))],
    ids=["defaults", "blank", "largest-page", "spaces"],
)
def test_pages(page: str | None, size: str | None, wanted: tuple[int, int]) -> None:
    assert parse_page(page, size) == wanted


@pytest.mark.parametrize(
    ("page", "size", "message"),
    [
        ("0", None, "page must be a whole number from 1 to 100000"),
        ("-1", None, "page must be a whole number from 1 to 100000"),
        ("1.5", None, "page must be a whole number from 1 to 100000"),
        (None, "201", "page_size must be a whole number from 1 to 200"),
        (None, "0", "page_size must be a whole number from 1 to 200"),
        (None, "lima", "page_size must be a whole number from 1 to 200"),
        (None, "٣", "page_size must be a whole number from 1 to 200"),
    ],
    ids=[
        "page-0",
        "page-negative",
        "page-fraction",
        "size-201",
        "size-0",
        "size-word",
        "size-arabic-digit",
    ],
)
def test_bad_pages_are_refused(page: str | None, size: str | None, message: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_page(page, size)
    assert str(refused.value) == message


@pytest.mark.parametrize(
    ("lat", "long", "wanted"),
    [
        (None, None, None),
        ("", " ", None),
        ("-6.2088", "106.8456", (-6.2088, 106.8456)),
        ("90", "-180", (90.0, -180.0)),
        (" -0.5 ", "1e2", (-0.5, 100.0)),
    ],
    ids=["none", "blank", "jakarta", "edges", "spaces-and-exponent"],
)
def test_locations(lat: str | None, long: str | None, wanted: tuple[float, float] | None) -> None:
    assert parse_location(lat, long) == wanted


@pytest.mark.parametrize(
    ("lat", "long", "message"),
    [
        ("-6.2", None, "lat and long must be given together"),
        (None, "106.8", "lat and long must be given together"),
        ("selatan", "106.8", "lat 'selatan' is not a number"),
        ("-6.2", "nan", "long 'nan' is not a number"),
        ("-6.2", "inf", "long 'inf' is not a number"),
        ("-6,2", "106.8", "lat '-6,2' is not a number"),
        ("٣", "106.8", "lat '٣' is not a number"),
        ("90.0001", "106.8", "lat must be between -90 and 90"),
        ("-6.2", "-180.5", "long must be between -180 and 180"),
        ("1" * 41, "106.8", f"lat {'1' * 40!r} is not a number"),
    ],
    ids=[
        "lat-alone",
        "long-alone",
        "word",
        "nan",
        "infinity",
        "comma",
        "arabic-digit",
        "lat-range",
        "long-range",
        "too-long",
    ],
)
def test_bad_locations_are_refused(lat: str | None, long: str | None, message: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_location(lat, long)
    assert str(refused.value) == message


def test_update_ids() -> None:
    assert check_update_id(" fms-123 ") == "fms-123"
    with pytest.raises(InvalidInput) as refused:
        check_update_id(None)
    assert str(refused.value) == "update_id is required"
    with pytest.raises(InvalidInput) as refused:
        check_update_id("x" * 65)
    assert str(refused.value) == "update_id is longer than 64 characters"


def test_keywords() -> None:
    assert keywords(None) == ()
    assert keywords("jalan, lubang,,aspal, jalan") == ("jalan", "lubang", "aspal")
