"""Open311 GeoReport v2 at /open311/v2/, on SQLite and PostgreSQL: a reporting app files a
report as FixMyStreet does, reads it back, follows the agency's updates and answers them;
every answer validates against the open311 schema-validation project's JSON Schemas
(tests/open311_schemas), in JSON and in XML; every refusal is Open311's error list."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from xml.etree import ElementTree

import httpx
import pytest
from click.testing import CliRunner
from jsonschema import Draft4Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from tests.conftest import TEST_SECRET_KEY
from tests.integration.harness import Harness, message_to, recording
from warta.cli import main
from warta.domain.cases import format_tracking_id, new_tracking_id, normalise_tracking_id
from warta.domain.channels import Channel
from warta.services.cases import catalogue, filing, lifecycle, open311_keys, reads
from warta.services.cases.types import Actor, Location, NewCase
from warta.store.outbox import Outbox

SCHEMAS = Path(__file__).parent.parent / "open311_schemas" / "georeport-v2"
BASE = "/open311/v2"
REPORTER_EMAIL = "pelapor.jalan@contoh-warga.id"
ATTRIBUTES = [
    {
        "code": "kedalaman",
        "datatype": "number",
        "required": True,
        "description": "Kedalaman lubang (cm)",
    },
    {
        "code": "lajur",
        "datatype": "singlevaluelist",
        "values": [{"key": "kiri", "name": "Lajur kiri"}, {"key": "kanan", "name": "Lajur kanan"}],
    },
]


@pytest.fixture
def channels(outbox: Outbox) -> Mapping[str, Channel]:
    return recording(outbox)


# Schemas -------------------------------------------------------------------------------

_FORMATS = FormatChecker()


@_FORMATS.checks("date-time")
def _date_time(value: object) -> bool:
    return not isinstance(value, str) or (
        bool(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)", value))
        and bool(datetime.fromisoformat(value))
    )


@_FORMATS.checks("uri")
def _uri(value: object) -> bool:
    if not isinstance(value, str):
        return True
    parsed = urlparse(value)
    return bool(parsed.scheme and parsed.netloc)


def _registry() -> Registry:
    resources = [
        (p.name, Resource.from_contents(json.loads(p.read_text()), default_specification=DRAFT4))
        for p in SCHEMAS.glob("*.json")
    ]
    return Registry().with_resources(resources)


REGISTRY = _registry()


def valid(schema: str, body: Any) -> Any:
    """``body`` checked against one of the project's schemas, formats included."""
    contents = REGISTRY.contents(schema)
    validator = Draft4Validator(contents, registry=REGISTRY, format_checker=_FORMATS)
    problems = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(body)]
    assert not problems, problems
    return body


def xml(response: httpx.Response, root: str) -> ElementTree.Element:
    assert response.headers["content-type"] == "text/xml; charset=utf-8"
    assert response.content.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    element = ElementTree.fromstring(response.content)
    assert element.tag == root
    return element


def open311_error(response: httpx.Response, code: int) -> str:
    """The one description of an Open311 error answer, in JSON or XML."""
    assert response.status_code == code, response.text
    if response.headers["content-type"].startswith("text/xml"):
        error = xml(response, "errors").findall("error")
        assert len(error) == 1
        assert error[0].findtext("code") == str(code)
        return error[0].findtext("description") or ""
    body = response.json()
    assert isinstance(body, list) and len(body) == 1, body
    assert set(body[0]) == {"code", "description"} and body[0]["code"] == code
    return str(body[0]["description"])


# Setting up ----------------------------------------------------------------------------


@pytest.fixture
async def road(harness: Harness) -> str:
    made = await catalogue.create_service(
        harness.app,
        harness.agency_id,
        "JALAN-RUSAK",
        "Jalan rusak",
        group="Jalan dan jembatan",
        keywords=("jalan", "lubang"),
        kind="laporan",
        description="Lubang, retak atau amblas di jalan kota",
        attributes=ATTRIBUTES,
    )
    return made.code


@pytest.fixture
async def complaint(harness: Harness) -> str:
    made = await catalogue.create_service(
        harness.app,
        harness.agency_id,
        "ADUAN-PELAYANAN",
        "Pengaduan pelayanan",
        kind="pengaduan",
    )
    return made.code


@pytest.fixture
async def api_key(harness: Harness) -> str:
    return (await open311_keys.create(harness.app, "FixMyStreet Kota Uji"))[1]


def report(api_key: str, **extra: str) -> dict[str, str]:
    """A report as FixMyStreet posts it."""
    form = {
        "api_key": api_key,
        "service_code": "JALAN-RUSAK",
        "lat": "-6.914744",
        "long": "107.609810",
        "address_string": "Jl. Asia Afrika 8, Bandung",
        "description": "Lubang besar di depan Gedung Merdeka, motor sering jatuh.",
        "attribute[kedalaman]": "15",
        "attribute[lajur]": "kiri",
        "email": REPORTER_EMAIL,
        "first_name": "Dewi",
        "last_name": "Lestari",
        "device_id": "fms-ios-1",
        "media_url": "https://fixmystreet.example/photo/1.jpeg",
    }
    form.update(extra)
    return form


async def file(harness: Harness, form: Mapping[str, str], fmt: str = "json") -> httpx.Response:
    return await harness.client.post(f"{BASE}/requests.{fmt}", data=dict(form))


async def filed(harness: Harness, api_key: str, **extra: str) -> str:
    response = await file(harness, report(api_key, **extra))
    assert response.status_code == 200, response.text
    return str(response.json()[0]["service_request_id"])


async def case_id(harness: Harness, tracking: str) -> uuid.UUID:
    return (await reads.for_agency(harness.app, harness.agency_id, tracking)).id


def agency(harness: Harness) -> Actor:
    return Actor("agency", id=uuid.uuid4(), agency_id=harness.agency_id)


# Services ------------------------------------------------------------------------------


async def test_services_and_their_definitions_in_json_and_xml(
    harness: Harness, road: str, complaint: str
) -> None:
    listed = valid("services.json", (await harness.client.get(f"{BASE}/services.json")).json())
    by_code = {s["service_code"]: s for s in listed}
    assert by_code[road] == {
        "service_code": "JALAN-RUSAK",
        "service_name": "Jalan rusak",
        "description": "Lubang, retak atau amblas di jalan kota",
        "metadata": True,
        "type": "realtime",
        "keywords": "jalan,lubang",
        "group": "Jalan dan jembatan",
    }
    assert by_code[complaint]["metadata"] is False

    defined = valid(
        "service-definition.json",
        (await harness.client.get(f"{BASE}/services/{road}.json")).json(),
    )
    assert defined["service_code"] == road
    depth, lane = defined["attributes"]
    assert (depth["code"], depth["datatype"], depth["required"], depth["variable"]) == (
        "kedalaman",
        "number",
        True,
        True,
    )
    assert lane["values"] == [
        {"key": "kiri", "name": "Lajur kiri"},
        {"key": "kanan", "name": "Lajur kanan"},
    ]

    services_xml = xml(await harness.client.get(f"{BASE}/services.xml"), "services")
    road_xml = next(
        s for s in services_xml.findall("service") if s.findtext("service_code") == road
    )
    assert road_xml.findtext("metadata") == "true"
    assert road_xml.findtext("keywords") == "jalan,lubang"
    definition = xml(await harness.client.get(f"{BASE}/services/{road}.xml"), "service_definition")
    attributes = definition.findall("attributes/attribute")
    assert [a.findtext("code") for a in attributes] == ["kedalaman", "lajur"]
    assert [v.findtext("key") for v in attributes[1].findall("values/value")] == ["kiri", "kanan"]

    missing = await harness.client.get(f"{BASE}/services/TIDAK-ADA.xml")
    assert open311_error(missing, 404) == "Service 'TIDAK-ADA' not found"


async def test_discovery_names_this_endpoint(harness: Harness) -> None:
    found = (await harness.client.get(f"{BASE}/discovery.json")).json()
    endpoint = found["endpoints"][0]
    assert endpoint["url"] == "http://warta.test/open311/v2"
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["formats"] == ["application/json", "text/xml"]
    there = xml(await harness.client.get(f"{BASE}/discovery.xml"), "discovery")
    assert [f.text for f in there.findall("endpoints/endpoint/formats/format")] == [
        "application/json",
        "text/xml",
    ]


# Filing and reading back ---------------------------------------------------------------


async def test_a_report_filed_as_fixmystreet_files_it_is_public_and_the_reporter_is_told(
    harness: Harness, road: str, api_key: str, outbox: Outbox
) -> None:
    response = await file(harness, report(api_key))
    assert response.status_code == 200, response.text
    (made,) = response.json()
    tracking = made["service_request_id"]
    assert re.fullmatch(r"[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}", tracking)
    assert made["service_notice"] == "Kami akan memverifikasinya dalam 3 hari kerja."

    told = await message_to(outbox, REPORTER_EMAIL)
    assert tracking in told.body or tracking.replace("-", "") in told.body

    (one,) = valid(
        "requests.json", (await harness.client.get(f"{BASE}/requests/{tracking}.json")).json()
    )
    assert one["service_request_id"] == tracking
    assert (one["status"], one["extended_status"]) == ("open", "open")
    assert one["service_code"] == road and one["service_name"] == "Jalan rusak"
    assert one["description"] == "Lubang besar di depan Gedung Merdeka, motor sering jatuh."
    assert (one["lat"], one["long"]) == (-6.914744, 107.60981)
    assert one["address"] == "Jl. Asia Afrika 8, Bandung"
    assert one["agency_responsible"] == "Dinas Uji"
    assert one["media_url"] is None  # FixMyStreet's media_url is not fetched
    # The reporter's name and contact are nobody else's business.
    assert "Dewi" not in json.dumps(one) and REPORTER_EMAIL not in json.dumps(one)

    by_token = (await harness.client.get(f"{BASE}/tokens/{made['token']}.json")).json()
    assert by_token == [{"service_request_id": tracking, "token": made["token"]}]
    token_xml = xml(
        await harness.client.get(f"{BASE}/tokens/{made['token']}.xml"), "service_requests"
    )
    assert token_xml.findtext("request/service_request_id") == tracking

    case = await reads.for_agency(harness.app, harness.agency_id, tracking)
    assert case.source == "open311"
    assert case.attributes == {"kedalaman": "15", "lajur": "kiri"}
    assert case.reporter is not None and case.reporter.email == REPORTER_EMAIL
    assert case.reporter.name == "Dewi Lestari"


async def test_filing_in_xml_and_reading_lists_in_xml(
    harness: Harness, road: str, api_key: str
) -> None:
    awkward = "Lubang <besar> & dalam\x01, \u201cbahaya\u201d \U0001f6a7"
    response = await file(harness, report(api_key, description=awkward), fmt="xml")
    made = xml(response, "service_requests")
    tracking = made.findtext("request/service_request_id")
    assert tracking and made.findtext("request/token")

    listed = xml(await harness.client.get(f"{BASE}/requests.xml"), "service_requests")
    (request,) = listed.findall("request")
    assert request.findtext("service_request_id") == tracking
    assert request.findtext("status") == "open"
    assert request.findtext("lat") == "-6.914744"
    assert request.find("zipcode") is not None and request.findtext("zipcode") == ""
    # Markup is escaped; a control character XML 1.0 cannot hold is left out of XML only.
    assert request.findtext("description") == awkward.replace("\x01", "")
    (as_json,) = (await harness.client.get(f"{BASE}/requests/{tracking}.json")).json()
    assert as_json["description"] == awkward


async def test_requests_are_filtered_as_the_spec_says(
    harness: Harness, road: str, complaint: str, api_key: str
) -> None:
    first = await filed(harness, api_key)
    second = await filed(harness, api_key, description="Aspal amblas di Jl. Braga.")
    other = await filed(
        harness,
        api_key,
        service_code=complaint,
        lat="",
        long="",
        address_string="",
        **{"attribute[kedalaman]": ""},
    )
    await lifecycle.update(
        harness.app,
        agency(harness),
        await case_id(harness, first),
        status="resolved",
        public_message="Sudah ditambal.",
    )

    async def ids(**params: str) -> list[str]:
        got = await harness.client.get(f"{BASE}/requests.json", params=params)
        assert got.status_code == 200, got.text
        return [r["service_request_id"] for r in valid("requests.json", got.json())]

    assert await ids() == [other, second, first]  # newest first
    assert await ids(status="closed") == [first]
    assert await ids(status="open") == [other, second]
    assert await ids(status="open,closed") == [other, second, first]
    assert await ids(service_code=road) == [second, first]
    assert await ids(service_code=f"{complaint},{road}") == [other, second, first]
    assert await ids(service_code="TIDAK-ADA") == []
    assert await ids(page_size="2") == [other, second]
    assert await ids(page_size="2", page="2") == [first]
    assert await ids(service_code=f"{complaint},{road}", page_size="1", page="2") == [second]
    lower = first.lower().replace("-", "")
    # service_request_id overrides every other parameter, written as a person would.
    assert await ids(service_request_id=f"{lower},{other}", status="open") == [other, first]
    assert await ids(start_date="2000-01-01T00:00:00Z", end_date="2000-02-01T00:00:00Z") == []

    closed = (await harness.client.get(f"{BASE}/requests/{first}.json")).json()[0]
    assert (closed["status"], closed["extended_status"]) == ("closed", "fixed")
    assert closed["status_notes"] == "Sudah ditambal."


async def test_a_complaint_shows_neither_where_nor_what(
    harness: Harness, complaint: str, api_key: str
) -> None:
    tracking = await filed(
        harness,
        api_key,
        service_code=complaint,
        description="Petugas loket meminta uang tambahan untuk KTP-el saya.",
        **{"attribute[kedalaman]": ""},
    )
    (shown,) = valid(
        "requests.json", (await harness.client.get(f"{BASE}/requests/{tracking}.json")).json()
    )
    assert shown["description"] is None
    assert (shown["lat"], shown["long"], shown["address"]) == (None, None, None)
    body = (await harness.client.get(f"{BASE}/requests.json")).text
    assert "Petugas loket" not in body and "Asia Afrika" not in body and "-6.914744" not in body


def png() -> bytes:
    from io import BytesIO

    from PIL import Image

    out = BytesIO()
    Image.new("RGB", (40, 30), (200, 80, 40)).save(out, format="PNG")
    return out.getvalue()


async def test_a_reports_photo_is_its_media_url(harness: Harness, road: str) -> None:
    made = await filing.file_case(
        harness.app,
        agency(harness),
        NewCase(
            road,
            "Lubang, lihat foto.",
            location=Location(address="Jl. Braga"),
            attributes={"kedalaman": "9"},
            photos=(png(),),
        ),
    )
    (shown,) = valid(
        "requests.json",
        (await harness.client.get(f"{BASE}/requests/{made.tracking_id}.json")).json(),
    )
    assert shown["media_url"] == (
        f"http://warta.test/cases/{made.tracking_id}/photos/{made.photos[0].id}"
    )
    photo = await harness.client.get(shown["media_url"])
    assert photo.status_code == 200 and photo.content.startswith(b"\x89PNG")


async def test_test_key_cases_never_appear(harness: Harness, road: str, api_key: str) -> None:
    sandbox = Actor("agency", id=uuid.uuid4(), agency_id=harness.agency_id, key_type="test")
    made = await filing.file_case(
        harness.app,
        sandbox,
        NewCase(
            road, "Uji coba", location=Location(lat=-6.9, long=107.6), attributes={"kedalaman": "1"}
        ),
    )
    await lifecycle.update(harness.app, sandbox, made.id, status="verified", public_message="Uji")
    assert (await harness.client.get(f"{BASE}/requests.json")).json() == []
    one = await harness.client.get(f"{BASE}/requests/{made.tracking_id}.json")
    assert open311_error(one, 404) == "Case not found"
    token = await harness.client.get(f"{BASE}/tokens/{made.token}.json")
    assert open311_error(token, 404) == "Token not found"
    assert (await harness.client.get(f"{BASE}/servicerequestupdates.json")).json() == []


# The agency's updates, and the reporter's -----------------------------------------------


async def until_told(outbox: Outbox, address: str, text: str, timeout: float = 15) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not any(text in m.body for m in outbox.list() if m.to == address):
        assert asyncio.get_running_loop().time() < deadline, f"{address} never heard {text!r}"
        await asyncio.sleep(0.05)


async def test_the_agency_updates_reach_fixmystreet_and_the_reporter_answers(
    harness: Harness, road: str, api_key: str, outbox: Outbox
) -> None:
    tracking = await filed(harness, api_key)
    case = await case_id(harness, tracking)
    await lifecycle.update(harness.app, agency(harness), case, status="verified")
    await lifecycle.update(
        harness.app,
        agency(harness),
        case,
        public_message="Tim akan datang hari Senin.",
        internal_note="Bawa aspal dingin.",
    )
    await lifecycle.update(
        harness.app,
        agency(harness),
        case,
        status="resolved",
        public_message="Lubang sudah ditambal.",
    )
    # The anonymous reporter hears of it at the contact they gave FixMyStreet.
    await until_told(outbox, REPORTER_EMAIL, "Lubang sudah ditambal.")

    got = await harness.client.get(f"{BASE}/servicerequestupdates.json")
    updates = [u for u in got.json() if u["service_request_id"] == tracking]
    assert [(u["status"], u["external_status_code"], u["description"]) for u in updates] == [
        ("open", "received", ""),
        ("investigating", "verified", ""),
        ("investigating", "verified", "Tim akan datang hari Senin."),
        ("fixed", "resolved", "Lubang sudah ditambal."),
    ]
    for update in updates:
        assert set(update) == {
            "update_id",
            "service_request_id",
            "status",
            "updated_datetime",
            "description",
            "media_url",
            "external_status_code",
        }
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", update["updated_datetime"])
    assert "aspal dingin" not in got.text  # an internal note stays internal
    listed = xml(
        await harness.client.get(f"{BASE}/servicerequestupdates.xml"), "service_request_updates"
    )
    assert [u.findtext("status") for u in listed.findall("request_update")] == [
        "open",
        "investigating",
        "investigating",
        "fixed",
    ]

    # The FixMyStreet user says it is not fixed: the case is reopened.
    answer = {
        "api_key": api_key,
        "service_request_id": tracking,
        "update_id": "fms-7001",
        "status": "OPEN",
        "updated_datetime": "2026-12-05T10:00:00+07:00",
        "description": "Masih berlubang, tambalannya lepas lagi. Telp saya 0812-1111-2222.",
        "email": REPORTER_EMAIL,
        "first_name": "Dewi",
        "last_name": "Lestari",
    }
    posted = await harness.client.post(f"{BASE}/servicerequestupdates.json", data=answer)
    assert posted.status_code == 200, posted.text
    (made,) = posted.json()
    shown = (await harness.client.get(f"{BASE}/requests/{tracking}.json")).json()[0]
    assert (shown["status"], shown["extended_status"]) == ("open", "open")
    seen = await reads.for_agency(harness.app, harness.agency_id, tracking)
    assert seen.status == "reopened"
    reply = next(e for e in seen.events if str(e.id) == made["update_id"])
    assert reply.public_message == answer["description"]

    # FixMyStreet did not hear back and sends it again: nothing more happens.
    again = await harness.client.post(f"{BASE}/servicerequestupdates.xml", data=answer)
    assert (
        xml(again, "service_request_updates").findtext("request_update/update_id")
        == (made["update_id"])
    )
    after = await reads.for_agency(harness.app, harness.agency_id, tracking)
    assert len(after.events) == len(seen.events)

    # The reporter's words are theirs: the public list shows the reopening, not the text.
    listed_again = await harness.client.get(f"{BASE}/servicerequestupdates.json")
    assert "0812-1111-2222" not in listed_again.text and "Masih berlubang" not in listed_again.text
    assert listed_again.json()[-1]["status"] == "open"
    assert listed_again.json()[-1]["external_status_code"] == "reopened"


async def test_a_reporter_saying_a_resolved_case_is_fixed_does_not_reopen_it(
    harness: Harness, road: str, api_key: str
) -> None:
    tracking = await filed(harness, api_key)
    case = await case_id(harness, tracking)
    await lifecycle.update(harness.app, agency(harness), case, status="resolved")
    before = await reads.for_agency(harness.app, harness.agency_id, tracking)
    posted = await harness.client.post(
        f"{BASE}/servicerequestupdates.json",
        data={
            "api_key": api_key,
            "service_request_id": tracking,
            "update_id": "fms-1",
            "status": "FIXED",
            "updated_datetime": "2026-12-05T10:00:00Z",
            "description": "Terima kasih, sudah bagus.",
        },
    )
    after = await reads.for_agency(harness.app, harness.agency_id, tracking)
    # The thanks is kept on the case; the case stays resolved.
    assert (after.status, len(after.events)) == ("resolved", len(before.events) + 1)
    reply = after.events[-1]
    assert (reply.kind, reply.public_message) == ("reply", "Terima kasih, sudah bagus.")
    assert posted.json() == [{"update_id": str(reply.id)}]


async def test_an_app_speaks_only_for_the_reports_it_filed(
    harness: Harness, road: str, api_key: str
) -> None:
    tracking = await filed(harness, api_key)
    other_key = (await open311_keys.create(harness.app, "Aplikasi lain"))[1]
    portal_case = await filing.file_case(
        harness.app,
        agency(harness),
        NewCase(
            road,
            "Dari loket",
            location=Location(lat=-6.9, long=107.6),
            attributes={"kedalaman": "3"},
        ),
    )
    update = {
        "update_id": "x-1",
        "status": "OPEN",
        "description": "Saya pelapornya.",
        "updated_datetime": "2026-12-05T10:00:00Z",
    }
    for key, target in ((other_key, tracking), (api_key, portal_case.tracking_id)):
        refused = await harness.client.post(
            f"{BASE}/servicerequestupdates.json",
            data={**update, "api_key": key, "service_request_id": target},
        )
        assert open311_error(refused, 404) == (
            f"service_request_id {format_tracking_id(normalise_tracking_id(target))}: "
            "no such request filed with this api_key"
        )
    for seen in (tracking, portal_case.tracking_id):
        case = await reads.for_agency(harness.app, harness.agency_id, seen)
        assert [e.kind for e in case.events] == ["filed"]


# Refusals ------------------------------------------------------------------------------


REFUSED_FILINGS: list[tuple[str, dict[str, str | None], int, str]] = [
    ("no-api-key", {"api_key": None}, 403, "api_key is required"),
    ("unknown-api-key", {"api_key": "o311-palsu"}, 403, "api_key is not valid"),
    ("no-service", {"service_code": None}, 400, "service_code is required"),
    (
        "unknown-service",
        {"service_code": "TIDAK-ADA"},
        400,
        "service_code 'TIDAK-ADA' is not a service",
    ),
    ("lat-not-a-number", {"lat": "selatan"}, 400, "lat 'selatan' is not a number"),
    ("lat-alone", {"long": None}, 400, "lat and long must be given together"),
    ("lat-out-of-range", {"lat": "-91"}, 400, "lat must be between -90 and 90"),
    (
        "not-indonesia",
        {"lat": "40.7", "long": "-74.0"},
        400,
        "lat 40.7, long -74.0: not in Indonesia (are they swapped?)",
    ),
    (
        "no-location",
        {"lat": None, "long": None, "address_string": None},
        400,
        "a location is required: lat and long, or address_string",
    ),
    ("required-attribute", {"attribute[kedalaman]": None}, 400, "attribute[kedalaman] is required"),
    (
        "bad-number",
        {"attribute[kedalaman]": "15 cm"},
        400,
        "attribute[kedalaman] '15 cm' is not a number",
    ),
    (
        "bad-list-value",
        {"attribute[lajur]": "tengah"},
        400,
        "attribute[lajur] 'tengah' is not one of kiri, kanan",
    ),
    ("bad-email", {"email": "bukan-email"}, 400, "email Not a valid email address"),
]


def changed(form: dict[str, str], change: Mapping[str, str | None]) -> dict[str, str]:
    """``form`` with each named field set, or left out where the change is None."""
    made = dict(form)
    for name, value in change.items():
        if value is None:
            made.pop(name, None)
        else:
            made[name] = value
    return made


async def test_refused_filings_say_why_and_file_nothing(
    harness: Harness, road: str, api_key: str
) -> None:
    for name, change, code, description in REFUSED_FILINGS:
        refused = await file(harness, changed(report(api_key), change))
        assert open311_error(refused, code) == description, name
    assert (await harness.client.get(f"{BASE}/requests.json")).json() == []


async def test_refusals_of_the_form_itself(harness: Harness, road: str, api_key: str) -> None:
    as_json = await harness.client.post(f"{BASE}/requests.json", json=report(api_key))
    assert open311_error(as_json, 400) == (
        "send the request as a form (application/x-www-form-urlencoded)"
    )
    multipart = await harness.client.post(
        f"{BASE}/requests.xml", data=report(api_key), files={"media": ("a.jpg", b"\xff\xd8")}
    )
    assert open311_error(multipart, 400).startswith("send the request as a form")
    huge = await file(harness, report(api_key, description="x" * 300_000))
    assert open311_error(huge, 413) == "the request body is larger than 262144 bytes"

    async def chunks() -> Any:
        for _ in range(40):
            yield b"description=" + b"y" * 8000 + b"&"

    streamed = await harness.client.post(
        f"{BASE}/requests.json",
        content=chunks(),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert open311_error(streamed, 413) == "the request body is larger than 262144 bytes"
    twice = await file(harness, {**report(api_key)} | {"api_key": api_key})
    assert twice.status_code == 200
    repeated = await harness.client.post(
        f"{BASE}/requests.json",
        content=f"api_key={api_key}&api_key=x",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert open311_error(repeated, 400) == "api_key is given more than once"
    not_utf8 = await harness.client.post(
        f"{BASE}/requests.json",
        content=b"description=%ff%fe",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert open311_error(not_utf8, 400) == "the form is not UTF-8"
    many = await harness.client.post(
        f"{BASE}/requests.json",
        content="&".join(f"f{i}=1" for i in range(201)),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert open311_error(many, 400) == "the form has more than 200 fields"
    nul = await file(harness, report(api_key, description="a\x00b"))
    assert open311_error(nul, 400) == "description cannot contain a NUL character"


#: A tracking id that is well made (its check character right) and belongs to no case.
UNKNOWN = format_tracking_id(new_tracking_id(lambda alphabet: "2"))
REFUSED_READS = [
    ("bad-extension", "/services.html", 404, "Bad extension: use .json or .xml"),
    (
        "unknown-path",
        "/requests/K7QM-2H9D/photos.json",
        404,
        "Not found: the endpoints are listed in discovery.json",
    ),
    (
        "unknown-path-xml",
        "/nothing.xml",
        404,
        "Not found: the endpoints are listed in discovery.json",
    ),
    ("bad-request-id", "/requests/00000.json", 404, "service_request_id '00000': no such request"),
    ("unknown-request-id", f"/requests/{UNKNOWN}.json", 404, "Case not found"),
    ("bad-status", "/requests.json?status=fixed", 400, "status 'fixed' is not open or closed"),
    (
        "bad-start",
        "/requests.json?start_date=kemarin",
        400,
        "start_date 'kemarin' is not a date-time like 2026-12-05T10:00:00+07:00",
    ),
    (
        "span",
        "/requests.json?start_date=2026-01-01&end_date=2026-12-01",
        400,
        "start_date and end_date may not span more than 90 days",
    ),
    (
        "backwards",
        "/servicerequestupdates.xml?start_date=2026-12-01&end_date=2026-11-01",
        400,
        "end_date is before start_date",
    ),
    (
        "bad-page-size",
        "/requests.json?page_size=1000",
        400,
        "page_size must be a whole number from 1 to 200",
    ),
    (
        "too-many-codes",
        "/requests.json?service_code=" + ",".join(f"S{i}" for i in range(21)),
        400,
        "service_code: at most 20 codes at once",
    ),
    (
        "deep-merged-page",
        "/requests.json?service_code=A,B&page=11&page_size=100",
        400,
        "with several service codes, page × page_size may not pass 1000",
    ),
    (
        "bad-id-list",
        "/requests.json?service_request_id=zzz",
        400,
        "service_request_id tracking id 'zzz': 8 letters and digits, without 0, O, 1 or I",
    ),
    ("unknown-token", f"/tokens/{uuid.uuid4()}.json", 404, "Token not found"),
]


async def test_refused_reads(harness: Harness) -> None:
    for name, path, code, description in REFUSED_READS:
        refused = await harness.client.get(BASE + path)
        assert open311_error(refused, code) == description, name


async def test_a_method_a_path_does_not_take(harness: Harness) -> None:
    refused = await harness.client.delete(f"{BASE}/requests.json")
    assert open311_error(refused, 405) == "The method is not allowed for the requested URL."
    assert refused.headers["allow"] == "GET, POST"
    put = await harness.client.put(f"{BASE}/services.xml")
    assert open311_error(put, 405) == "The method is not allowed for the requested URL."


REFUSED_UPDATES: list[tuple[str, dict[str, str | None], int, str]] = [
    ("no-api-key", {"api_key": None}, 403, "api_key is required"),
    ("no-request", {"service_request_id": None}, 400, "service_request_id is required"),
    (
        "bad-request-id",
        {"service_request_id": "abc"},
        400,
        "service_request_id tracking id 'abc': 8 letters and digits, without 0, O, 1 or I",
    ),
    ("no-update-id", {"update_id": None}, 400, "update_id is required"),
    ("long-update-id", {"update_id": "u" * 65}, 400, "update_id is longer than 64 characters"),
    ("no-status", {"status": None}, 400, "status is required"),
    (
        "bad-status",
        {"status": "SOLVED"},
        400,
        "status 'SOLVED' is not a status: use one of OPEN, CLOSED, FIXED, IN_PROGRESS, "
        "ACTION_SCHEDULED, INVESTIGATING, DUPLICATE, NOT_COUNCILS_RESPONSIBILITY, "
        "NO_FURTHER_ACTION, INTERNAL_REFERRAL, REOPEN, FOR_TRIAGE",
    ),
    (
        "bad-datetime",
        {"updated_datetime": "besok"},
        400,
        "updated_datetime 'besok' is not a date-time like 2026-12-05T10:00:00+07:00",
    ),
    ("no-description", {"description": " "}, 400, "description is required"),
]


async def test_refused_updates_change_nothing(harness: Harness, road: str, api_key: str) -> None:
    tracking = await filed(harness, api_key)
    form: dict[str, str] = {
        "api_key": api_key,
        "service_request_id": tracking,
        "update_id": "fms-1",
        "status": "OPEN",
        "updated_datetime": "2026-12-05T10:00:00Z",
        "description": "Masih.",
    }
    for name, change, code, description in REFUSED_UPDATES:
        refused = await harness.client.post(
            f"{BASE}/servicerequestupdates.json", data=changed(form, change)
        )
        assert open311_error(refused, code) == description, name
    case = await reads.for_agency(harness.app, harness.agency_id, tracking)
    assert [e.kind for e in case.events] == ["filed"]


# The CLI ---------------------------------------------------------------------------------


def test_cli_makes_services_and_open311_keys(database_url: str, tmp_path: Path) -> None:
    env = {
        "WARTA_DATABASE_URL": database_url,
        "WARTA_VAR_DIR": str(tmp_path / "var"),
        "WARTA_SECRET_KEY": TEST_SECRET_KEY,
    }

    def run(*args: str, ok: bool = True) -> str:
        result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
        assert (result.exit_code == 0) == ok, result.output
        return result.output

    agency = json.loads(run("agency", "create", "Dinas PU Kota", "--json"))
    attributes = tmp_path / "attributes.json"
    attributes.write_text(json.dumps(ATTRIBUTES), encoding="utf-8")
    made = json.loads(
        run(
            "service",
            "create",
            "--agency",
            agency["id"],
            "--code",
            "JALAN-RUSAK",
            "--name",
            "Jalan rusak",
            "--group",
            "Jalan",
            "--keywords",
            "jalan, lubang",
            "--attributes-file",
            str(attributes),
            "--json",
        )
    )
    assert made["code"] == "JALAN-RUSAK" and made["kind"] == "laporan"
    assert made["keywords"] == ["jalan", "lubang"] and made["agency_name"] == "Dinas PU Kota"
    assert [a["code"] for a in made["attributes"]] == ["kedalaman", "lajur"]
    assert "JALAN-RUSAK" in run("service", "list")
    assert run(
        "service",
        "create",
        "--agency",
        agency["id"],
        "--code",
        "JALAN-RUSAK",
        "--name",
        "Lagi",
        ok=False,
    ).startswith("error: ")
    attributes.write_text('[{"code": "a b", "datatype": "string"}]', encoding="utf-8")
    bad = run(
        "service",
        "create",
        "--agency",
        agency["id"],
        "--code",
        "LAIN",
        "--name",
        "X",
        "--attributes-file",
        str(attributes),
        ok=False,
    )
    assert "attribute 1: code must be 1-64 letters, digits or _" in bad
    attributes.write_text("{not json", encoding="utf-8")
    assert "--attributes-file: not a JSON file" in run(
        "service",
        "create",
        "--agency",
        agency["id"],
        "--code",
        "LAIN",
        "--name",
        "X",
        "--attributes-file",
        str(attributes),
        ok=False,
    )

    key = json.loads(run("open311", "key", "create", "--name", "FixMyStreet Kota", "--json"))
    assert set(key) == {"id", "name", "api_key"} and key["api_key"].startswith("o311-")
    assert run("open311", "key", "create", "--name", "Lagi").strip().startswith("o311-")
