"""Open311 GeoReport v2 (with FixMyStreet's extension) in Warta's words, and back.

Pure: what the ``/open311/v2/`` endpoints need to read a reporting app's parameters and to
say a case's state in the standard's terms. Every refusal is an ``InvalidInput`` whose
text is the ``description`` of Open311's error (``[{"code": 400, "description": …}]``),
naming the parameter as the app sent it.

* Status: GeoReport knows only ``open`` and ``closed``; FixMyStreet's ``extended_status``
  says more (``domain.cases.OPEN311_STATUS`` and ``EXTENDED_STATUS`` are the tables:
  ``waiting_for_citizen`` is ``open`` / ``action_scheduled``, ``resolved`` is ``closed`` /
  ``fixed``). Read back, ``statuses_with("fixed")`` is ``{"resolved"}`` and
  ``statuses_with("open")`` every status still open. A FixMyStreet user's own update
  arrives with an upper-case status (``OPEN``, ``FIXED``, ``REOPEN``): ``reporter_says``
  reduces it to whether the reporter thinks the problem is still there.
* Attributes: a service's definitions (``[{"code": "kedalaman", "datatype": "number",
  "required": true, …}]``) are checked when a service is made (``check_definitions``)
  and each request's ``attribute[code]`` answers against them (``check_answers``):
  ``"12,5"`` is not a number, ``"sedang"`` must be one of a ``singlevaluelist``'s keys.
* Dates: W3C date-times as the spec asks (``2026-12-05T10:00:00+07:00``, ``…Z``, a date
  alone is its midnight UTC, no offset is UTC), and a ``+`` a client forgot to encode in
  a query string (it arrives as a space) is read as the ``+`` it was. A search spans at
  most 90 days, as the spec allows a server to insist.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Final, Literal, get_args

from warta.domain.cases import (
    EXTENDED_STATUS,
    OPEN311_STATUS,
    STATUSES,
    Status,
    normalise_tracking_id,
)
from warta.errors import InvalidInput

Open311Status = Literal["open", "closed"]
#: FixMyStreet's extended statuses (mySociety's open311-adapter, ``status_extended``).
ExtendedStatus = Literal[
    "open",
    "closed",
    "fixed",
    "in_progress",
    "action_scheduled",
    "investigating",
    "duplicate",
    "not_councils_responsibility",
    "no_further_action",
    "internal_referral",
    "reopen",
    "for_triage",
]
EXTENDED_STATUSES: Final[tuple[ExtendedStatus, ...]] = get_args(ExtendedStatus)
#: What a FixMyStreet user's update says about the problem: still there, or gone.
_REPORTER_CLOSED: Final = frozenset(
    {"closed", "fixed", "duplicate", "not_councils_responsibility", "no_further_action"}
)

#: The spec's limit on a ``start_date``..``end_date`` search, and the default window.
MAX_SPAN: Final = timedelta(days=90)
MAX_IDS: Final = 100
MAX_PAGE_SIZE: Final = 200
DEFAULT_PAGE_SIZE: Final = 50
#: ``case_events.update_id`` holds 64 characters.
MAX_UPDATE_ID: Final = 64


# Status ------------------------------------------------------------------------------


def open311_status(status: str) -> Open311Status:
    """Open311's own status of a Warta status.

    >>> open311_status("waiting_for_citizen")
    'open'
    """
    return "closed" if OPEN311_STATUS[status] == "closed" else "open"


def extended_status(status: str) -> str:
    """FixMyStreet's extended status of a Warta status.

    >>> extended_status("resolved")
    'fixed'
    """
    return EXTENDED_STATUS[status]


def statuses_with(value: str) -> frozenset[Status]:
    """The Warta statuses shown as ``value``: an Open311 status (``open``, ``closed``) or
    a FixMyStreet extended one (``fixed``); upper case is FixMyStreet's too.

    >>> sorted(statuses_with("FIXED"))
    ['resolved']
    """
    wanted = value.strip().lower()
    if wanted in ("open", "closed"):
        return frozenset(s for s in STATUSES if OPEN311_STATUS[s] == wanted)
    if wanted not in EXTENDED_STATUSES:
        raise InvalidInput(
            "%(value)s is not a status: use open or closed", field="status", value=repr(value)
        )
    # "open" as an extended status is taken above: it means every open status there too.
    return frozenset(s for s in STATUSES if EXTENDED_STATUS[s] == wanted)


def parse_status_filter(raw: str | None) -> tuple[Open311Status, ...]:
    """``GET requests.json?status=``: comma-delimited ``open``/``closed``; none is both.

    >>> parse_status_filter("Open, closed")
    ('open', 'closed')
    """
    found: list[Open311Status] = []
    for part in _comma_list(raw):
        value = part.lower()
        if value not in ("open", "closed"):
            raise InvalidInput("%(value)s is not open or closed", field="status", value=repr(part))
        if value not in found:
            found.append("open" if value == "open" else "closed")
    return tuple(found) or ("open", "closed")


def reporter_says(raw: str) -> Open311Status:
    """What a FixMyStreet user's update (``POST servicerequestupdates``, its status in
    upper case) says: the problem is still ``open`` (``OPEN``, ``REOPEN``, ``IN_PROGRESS``)
    or ``closed`` (``FIXED``, ``CLOSED``, ``DUPLICATE``, …).

    >>> reporter_says("FIXED")
    'closed'
    """
    value = (raw or "").strip().lower()
    if value not in EXTENDED_STATUSES:
        raise InvalidInput(
            "%(value)s is not a status: use one of %(statuses)s",
            field="status",
            value=repr(raw),
            statuses=", ".join(s.upper() for s in EXTENDED_STATUSES),
        )
    return "closed" if value in _REPORTER_CLOSED else "open"


def statuses_in_force(changes: Iterable[str | None], start: str = "received") -> list[str]:
    """The case's status after each of its events, oldest first: an event that changed
    nothing (a public update, a note) keeps the status before it.

    >>> statuses_in_force([None, "verified", None, "resolved"])
    ['received', 'verified', 'verified', 'resolved']
    """
    current, seen = start, []
    for change in changes:
        current = change or current
        seen.append(current)
    return seen


# Attributes --------------------------------------------------------------------------

Datatype = Literal["string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"]
DATATYPES: Final[tuple[Datatype, ...]] = get_args(Datatype)
_LISTS: Final = frozenset({"singlevaluelist", "multivaluelist"})
#: FixMyStreet and open311-adapter read ``attribute[(\w+)]``: codes are word characters.
_CODE: Final = re.compile(r"[A-Za-z0-9_]{1,64}")
MAX_ATTRIBUTES: Final = 50
MAX_VALUES: Final = 200
#: A definition's ``description`` and ``datatype_description``.
MAX_TEXT: Final = 1000
#: How long an answer may be: a one-line ``string``, a ``text`` like a description.
MAX_LENGTH: Final[dict[str, int]] = {"string": 255, "text": 4000, "number": 40, "datetime": 40}


def check_definitions(raw: object) -> list[dict[str, Any]]:
    """A service's attribute definitions, checked and completed as GET
    ``services/{code}.json`` gives them: ``variable`` (default true), ``required``
    (default false), ``order`` (default the position, from 1), ``description``,
    ``datatype_description`` and, for the list types, ``values`` as ``{key, name}``.

    >>> check_definitions([{"code": "ukuran", "datatype": "string"}])[0]["order"]
    1
    """
    if not isinstance(raw, list):
        raise InvalidInput("attributes must be a list of attribute definitions")
    if len(raw) > MAX_ATTRIBUTES:
        raise InvalidInput("a service has at most %(max)s attributes", max=MAX_ATTRIBUTES)
    checked, codes = [], set()
    for position, item in enumerate(raw, start=1):
        definition = _definition(item, position)
        if definition["code"] in codes:
            raise InvalidInput("attribute %(code)s is defined twice", code=definition["code"])
        codes.add(definition["code"])
        checked.append(definition)
    return sorted(checked, key=lambda d: d["order"])


def _definition(item: object, position: int) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise InvalidInput("attribute %(n)s is not an object", n=position)
    code = item.get("code")
    if not isinstance(code, str) or not _CODE.fullmatch(code):
        raise InvalidInput("attribute %(n)s: code must be 1-64 letters, digits or _", n=position)
    datatype = item.get("datatype")
    if datatype not in DATATYPES:
        raise InvalidInput(
            "attribute %(code)s: datatype must be one of %(types)s",
            code=code,
            types=", ".join(DATATYPES),
        )
    made: dict[str, Any] = {
        "code": code,
        "datatype": datatype,
        "variable": _flag(item, "variable", True, code),
        "required": _flag(item, "required", False, code),
        "order": item.get("order", position),
        "description": _text(item, "description", code) or "",
        "datatype_description": _text(item, "datatype_description", code),
    }
    if not isinstance(made["order"], int) or isinstance(made["order"], bool):
        raise InvalidInput("attribute %(code)s: order must be a whole number", code=code)
    if datatype in _LISTS:
        made["values"] = _values(item.get("values"), code)
    elif item.get("values"):
        raise InvalidInput("attribute %(code)s: only list datatypes take values", code=code)
    return made


def _flag(item: Mapping[str, Any], name: str, default: bool, code: str) -> bool:
    value = item.get(name, default)
    if not isinstance(value, bool):
        raise InvalidInput(
            "attribute %(code)s: %(name)s must be true or false", code=code, name=name
        )
    return value


def _text(item: Mapping[str, Any], name: str, code: str) -> str | None:
    value = item.get(name)
    if value is not None and (not isinstance(value, str) or len(value) > MAX_TEXT):
        raise InvalidInput(
            "attribute %(code)s: %(name)s must be text of at most %(max)s characters",
            code=code,
            name=name,
            max=MAX_TEXT,
        )
    return value


def _values(raw: object, code: str) -> list[dict[str, str]]:
    if not isinstance(raw, list) or not raw:
        raise InvalidInput("attribute %(code)s: a list datatype needs values", code=code)
    if len(raw) > MAX_VALUES:
        raise InvalidInput("attribute %(code)s: at most %(max)s values", code=code, max=MAX_VALUES)
    values, keys = [], set()
    for entry in raw:
        if not (
            isinstance(entry, dict)
            and isinstance(entry.get("key"), str)
            and isinstance(entry.get("name"), str)
            and 0 < len(entry["key"]) <= MAX_LENGTH["string"]
            and len(entry["name"]) <= MAX_LENGTH["string"]
        ):
            raise InvalidInput(
                "attribute %(code)s: each value needs a key and a name (at most 255 characters)",
                code=code,
            )
        if entry["key"] in keys:
            raise InvalidInput(
                "attribute %(code)s: value %(key)s is listed twice",
                code=code,
                key=repr(entry["key"]),
            )
        keys.add(entry["key"])
        values.append({"key": entry["key"], "name": entry["name"]})
    return values


def check_answers(
    definitions: Sequence[Mapping[str, Any]], given: Mapping[str, Sequence[str]]
) -> dict[str, str | list[str]]:
    """A request's ``attribute[code]`` answers (each code's values as sent: several for a
    ``multivaluelist``), checked against the service's definitions. Answers to codes the
    service does not define, or to attributes that only inform (``variable`` false), are
    left out: FixMyStreet sends some of its own, and Open311 servers ignore them.

    >>> check_answers([{"code": "n", "datatype": "number", "required": True}], {"n": ["2.5"]})
    {'n': '2.5'}
    """
    answers: dict[str, str | list[str]] = {}
    for definition in definitions:
        code, datatype = str(definition["code"]), str(definition["datatype"])
        if not definition.get("variable", True):
            continue
        values = [v.strip() for v in given.get(code, ()) if v.strip()]
        name = f"attribute[{code}]"
        if not values:
            if definition.get("required", False):
                raise InvalidInput("is required", field=name)
            continue
        if datatype == "multivaluelist":
            answers[code] = _list_answers(definition, values, name)
            continue
        if len(values) > 1:
            raise InvalidInput("takes one value", field=name)
        answers[code] = _answer(definition, datatype, values[0], name)
    return answers


def _answer(definition: Mapping[str, Any], datatype: str, value: str, name: str) -> str:
    if len(value) > MAX_LENGTH.get(datatype, 255):
        raise InvalidInput(
            "is longer than %(max)s characters", field=name, max=MAX_LENGTH.get(datatype, 255)
        )
    if datatype == "number":
        return _number(value, name)
    if datatype == "datetime":
        return format_datetime(parse_datetime(value, name))
    if datatype == "singlevaluelist":
        return _list_answers(definition, [value], name)[0]
    return value


def _number(value: str, name: str) -> str:
    try:
        number = Decimal(value) if value.isascii() else Decimal("NaN")
    except InvalidOperation:
        number = Decimal("NaN")
    if not number.is_finite():
        raise InvalidInput("%(value)s is not a number", field=name, value=repr(value))
    return value


def _list_answers(definition: Mapping[str, Any], values: Sequence[str], name: str) -> list[str]:
    keys = [str(v["key"]) for v in definition.get("values", ())]
    chosen: list[str] = []
    for value in values:
        if value not in keys:
            raise InvalidInput(
                "%(value)s is not one of %(keys)s",
                field=name,
                value=repr(value),
                keys=", ".join(keys),
            )
        if value not in chosen:
            chosen.append(value)
    return chosen


# Dates -------------------------------------------------------------------------------

_W3C: Final = re.compile(
    r"\d{4}-\d{2}-\d{2}"
    r"(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|z|[+-]\d{2}:?\d{2})?)?"
)
#: ``…T10:00:00 07:00``: a ``+`` sent unencoded in a query string arrives as a space.
_LOST_PLUS: Final = re.compile(r"(T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}:?\d{2})$")


def parse_datetime(raw: str, field: str) -> datetime:
    """A W3C date-time as Open311 sends it, as an aware UTC datetime.

    >>> parse_datetime("2026-12-05T10:00:00+07:00", "start_date").isoformat()
    '2026-12-05T03:00:00+00:00'
    """
    text = _LOST_PLUS.sub(r"\1+\2", (raw or "").strip())
    if not _W3C.fullmatch(text):
        raise InvalidInput(
            "%(value)s is not a date-time like 2026-12-05T10:00:00+07:00",
            field=field,
            value=repr(raw),
        )
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)  # nanoseconds: Python keeps microseconds
    try:
        parsed = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError as exc:
        raise InvalidInput("%(value)s is not a real date", field=field, value=repr(raw)) from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def format_datetime(value: datetime) -> str:
    """A W3C date-time in UTC, to the second, as Open311 answers give them.

    >>> format_datetime(datetime(2026, 12, 5, 7, 30, 15, 999, tzinfo=UTC))
    '2026-12-05T07:30:15Z'
    """
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def date_range(start: str | None, end: str | None, now: datetime) -> tuple[datetime, datetime]:
    """``start_date``/``end_date``: with neither, the last 90 days; with one, 90 days from
    or up to it; never more than 90 days, and never backwards."""
    begins = parse_datetime(start, "start_date") if start else None
    ends = parse_datetime(end, "end_date") if end else None
    if begins is None and ends is None:
        return now - MAX_SPAN, now
    if begins is None:
        assert ends is not None
        return ends - MAX_SPAN, ends
    if ends is None:
        return begins, begins + MAX_SPAN
    if ends < begins:
        raise InvalidInput("end_date is before start_date")
    if ends - begins > MAX_SPAN:
        raise InvalidInput("start_date and end_date may not span more than 90 days")
    return begins, ends


# Other parameters --------------------------------------------------------------------


def _comma_list(raw: str | None) -> list[str]:
    return [part.strip() for part in (raw or "").split(",") if part.strip()]


def parse_request_ids(raw: str | None) -> list[str]:
    """``service_request_id=K7QM-2H9D,…``: tracking ids, each checked, at most 100.

    Read as a person would write them (``k7qm 2h9d``); a wrong one is refused by name."""
    parts = _comma_list(raw)
    if len(parts) > MAX_IDS:
        raise InvalidInput("at most %(max)s ids at once", field="service_request_id", max=MAX_IDS)
    ids: list[str] = []
    for part in parts:
        try:
            tracking = normalise_tracking_id(part)
        except InvalidInput as exc:
            raise InvalidInput(str(exc), field="service_request_id") from exc
        if tracking not in ids:
            ids.append(tracking)
    return ids


def parse_page(page: str | None, page_size: str | None) -> tuple[int, int]:
    """``page`` from 1, ``page_size`` 1 to 200 (default 50).

    >>> parse_page(None, "10")
    (1, 10)
    """
    number = _whole(page, "page", 1, 1, 100_000)
    size = _whole(page_size, "page_size", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
    return number, size


def _whole(raw: str | None, field: str, default: int, low: int, high: int) -> int:
    if raw is None or not raw.strip():
        return default
    text = raw.strip()
    if not (text.isascii() and text.isdigit()) or not low <= int(text) <= high:
        raise InvalidInput(
            "must be a whole number from %(low)s to %(high)s", field=field, low=low, high=high
        )
    return int(text)


def parse_location(lat: str | None, long: str | None) -> tuple[float, float] | None:
    """WGS-84 ``lat``/``long`` from a form, both or neither.

    >>> parse_location("-6.2", "106.8")
    (-6.2, 106.8)
    """
    given = [v for v in (lat, long) if v is not None and v.strip()]
    if not given:
        return None
    if len(given) == 1:
        raise InvalidInput("lat and long must be given together")
    assert lat is not None and long is not None
    return _coordinate(lat, "lat", 90.0), _coordinate(long, "long", 180.0)


def _coordinate(raw: str, field: str, bound: float) -> float:
    try:
        value = float(raw.strip()) if raw.isascii() else math.nan
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or len(raw.strip()) > 40:
        raise InvalidInput("%(value)s is not a number", field=field, value=repr(raw[:40]))
    if not -bound <= value <= bound:
        raise InvalidInput(
            "must be between -%(bound)s and %(bound)s", field=field, bound=int(bound)
        )
    return value


def check_update_id(raw: str | None) -> str:
    """FixMyStreet's ``update_id``: its own id for the update, so a repeat is ignored."""
    text = (raw or "").strip()
    if not text:
        raise InvalidInput("is required", field="update_id")
    if len(text) > MAX_UPDATE_ID:
        raise InvalidInput(
            "is longer than %(max)s characters", field="update_id", max=MAX_UPDATE_ID
        )
    return text


def keywords(raw: str | None) -> tuple[str, ...]:
    """``"jalan, lubang,,aspal"`` -> ``("jalan", "lubang", "aspal")``: Open311 gives a
    service's keywords as one comma-separated string.

    >>> keywords("jalan, lubang,,aspal")
    ('jalan', 'lubang', 'aspal')
    """
    return tuple(dict.fromkeys(_comma_list(raw)))
