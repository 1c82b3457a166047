"""What anyone sees of citizen cases without signing in: a case's public page by its
tracking number (status and public updates, never who filed it; where, what and the
photo only for a report about a public place), and the transparency figures by agency,
service and month, in HTML and JSON, with test-key cases counted nowhere."""

from __future__ import annotations

import io
import re
import uuid
from datetime import timedelta
from typing import Any

import pytest
from PIL import Image

from tests.integration.harness import Clock, Harness, recording, wib
from warta.domain.channels import Channel
from warta.services.cases import catalogue, filing, lifecycle, open311_keys
from warta.services.cases.types import Actor, CaseView, Location, NewCase, Reporter
from warta.store.outbox import Outbox

REPORTER = Reporter(name="Budi Santoso", email="budi@contoh.id", phone="0812 3456 7890")
WHERE = Location(lat=-6.9147, long=107.6098, address="Jl. Merdeka 12", region_code="32.73")


@pytest.fixture
def clock() -> Clock:
    return Clock(wib(1, 10))  # Tuesday 1 December 2026, 10:00 WIB


@pytest.fixture
def channels(outbox: Outbox) -> dict[str, Channel]:
    return recording(outbox)


def photo_with_gps() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif[0x8825] = {1: "S", 2: (6.0, 12.0, 30.5), 3: "E", 4: (106.0, 50.0, 45.25)}
    out = io.BytesIO()
    Image.new("RGB", (80, 60), (40, 40, 40)).save(out, "JPEG", exif=exif)
    return out.getvalue()


async def services(harness: Harness) -> None:
    app, agency = harness.app, harness.agency_id
    await catalogue.create_service(app, agency, "jalan-rusak", "Jalan rusak", kind="laporan")
    await catalogue.create_service(app, agency, "pungli", "Pungutan liar", kind="pengaduan")


async def reporting_app(harness: Harness) -> Actor:
    """A reporting app (FixMyStreet) with its Open311 key, as reporters file through."""
    key_id, _ = await open311_keys.create(harness.app, "FixMyStreet")
    return Actor("open311", id=key_id)


async def file(
    harness: Harness, code: str, key_type: str = "normal", via: Actor | None = None, **extra: Any
) -> CaseView:
    actor = via or Actor("agency", id=uuid.uuid4(), agency_id=harness.agency_id, key_type=key_type)
    new = NewCase(
        service_code=code,
        description="Lubang besar di depan SDN 3, rumah saya nomor 7.",
        location=WHERE,
        reporter=REPORTER,
        source="open311",
        **extra,
    )
    return await filing.file_case(harness.app, actor, new)


def staff(harness: Harness) -> Actor:
    return Actor("agency", id=uuid.uuid4(), agency_id=harness.agency_id)


async def test_the_public_page_shows_status_and_public_updates_only(
    harness: Harness, outbox: Outbox
) -> None:
    await services(harness)
    fixmystreet = await reporting_app(harness)
    report = await file(harness, "jalan-rusak", via=fixmystreet, photos=[photo_with_gps()])
    complaint = await file(harness, "pungli", via=fixmystreet, photos=[photo_with_gps()])
    await lifecycle.update(
        harness.app, staff(harness), report.id, status="in_progress",
        public_message="Regu perbaikan dijadwalkan Kamis.", internal_note="Pak Joko, regu 2.",
    )  # fmt: skip
    await lifecycle.citizen_reply(
        harness.app, fixmystreet, report.id, "Terima kasih, HP saya 0812 3456 7890."
    )
    client = harness.client

    tracking = report.tracking_id
    spoken = f"{tracking[:4].lower()}-{tracking[4:].lower()}"
    for path in (f"/cases/{tracking}", f"/cases/{spoken}"):
        page = await client.get(path)
        assert page.status_code == 200, page.text
    text = page.text
    assert "<strong>Sedang ditindaklanjuti</strong>" in text
    assert "Regu perbaikan dijadwalkan Kamis." in text
    assert "Lubang besar di depan SDN 3" in text and "Jl. Merdeka 12" in text
    assert "openstreetmap.org/?mlat=-6.9147&amp;mlon=107.6098" in text
    for private in ("Budi", "budi@contoh.id", "0812", "6281234567890", "Pak Joko", "HP saya"):
        assert private not in text, private
    [src] = re.findall(r'<img src="([^"]+)"', text)
    photo = await client.get(src)
    assert (photo.status_code, photo.headers["content-type"]) == (200, "image/jpeg")
    assert b"PhoneMaker" not in photo.content and b"Exif" not in photo.content
    english = await client.get(f"/cases/{tracking}?lang=en")
    assert "<strong>In progress</strong>" in english.text

    # A complaint: its status and updates, but neither what it says, where, nor its photo.
    hidden = await client.get(f"/cases/{complaint.tracking_id}?lang=id")
    assert hidden.status_code == 200
    assert "<strong>Diterima</strong>" in hidden.text
    assert "Lubang besar" not in hidden.text and "Jl. Merdeka" not in hidden.text
    assert "<img" not in hidden.text
    [complaint_photo] = complaint.photos
    url = f"/cases/{complaint.tracking_id}/photos/{complaint_photo.id}"
    assert (await client.get(url)).status_code == 404
    await lifecycle.update(
        harness.app, staff(harness), complaint.id, status="waiting_for_citizen",
        public_message="Kapan kejadiannya?",
    )  # fmt: skip
    asked = await client.get(f"/cases/{complaint.tracking_id}")
    assert "<strong>Menunggu jawaban pelapor</strong>" in asked.text  # not "your answer"
    assert "Kapan kejadiannya?" in asked.text
    # Another case's photo under this number is not found either.
    assert (await client.get(f"/cases/{tracking}/photos/{complaint_photo.id}")).status_code == 404


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_test_key_unknown_and_malformed_cases_are_not_found(harness: Harness) -> None:
    await services(harness)
    sandbox = await file(harness, "jalan-rusak", key_type="test", photos=[photo_with_gps()])
    client = harness.client
    [photo] = sandbox.photos
    for path in (
        f"/cases/{sandbox.tracking_id}",
        f"/cases/{sandbox.tracking_id}/photos/{photo.id}",
        "/cases/23456789",  # a wrong check character
        "/cases/0OIL-0OIL",
        "/cases/" + "A" * 5000,
        f"/cases/{sandbox.tracking_id}/photos/../../keys",
        f"/cases/{sandbox.tracking_id}/photos/not-a-uuid",
    ):
        answer = await client.get(path)
        assert answer.status_code == 404, path
        assert sandbox.tracking_id[:4] not in answer.text or path.endswith("keys")


async def test_transparency_figures_by_agency_service_and_month(
    harness: Harness, clock: Clock
) -> None:
    await services(harness)
    await catalogue.create_service(harness.app, harness.agency_id, "lampu", "Lampu jalan mati")
    first = await file(harness, "jalan-rusak")
    second = await file(harness, "jalan-rusak")
    await file(harness, "pungli")
    await file(harness, "jalan-rusak", key_type="test")  # counted nowhere
    clock.advance(timedelta(days=2))
    await lifecycle.update(harness.app, staff(harness), first.id, status="resolved")
    clock.advance(timedelta(days=2))
    await lifecycle.update(harness.app, staff(harness), second.id, status="resolved")
    client = harness.client

    overview = (await client.get("/transparency.json")).json()
    [agency] = overview["agencies"]
    assert (agency["agency_id"], agency["name"]) == (str(harness.agency_id), "Dinas Uji")
    assert agency["months"] == [
        {
            "month": "2026-12",
            "received": 3,
            "resolved": 2,
            "median_days": 3.0,
            "p90_days": 4.0,
            "within_deadline": 1.0,
        }
    ]
    by_code = {s["code"]: s["months"][0] for s in agency["services"]}
    assert (by_code["jalan-rusak"]["received"], by_code["jalan-rusak"]["resolved"]) == (2, 2)
    assert (by_code["pungli"]["received"], by_code["pungli"]["resolved"]) == (1, 0)
    assert by_code["pungli"]["median_days"] is None
    assert by_code["lampu"] == {**by_code["pungli"], "received": 0}  # offered, nothing yet

    mine = await client.get(f"/transparency/{harness.agency_id}.json")
    assert mine.status_code == 200 and mine.json() == agency
    page = await client.get("/transparency/")
    assert page.status_code == 200
    assert f'href="/transparency/{harness.agency_id}"' in page.text and "Dinas Uji" in page.text
    assert '<th scope="row">2026-12</th>' in page.text and "100%" in page.text
    detail = await client.get(f"/transparency/{harness.agency_id}?lang=en")
    assert "Jalan rusak" in detail.text and "Pungutan liar" in detail.text
    assert "Median days to resolve" in detail.text
    for missing in (f"/transparency/{uuid.uuid4()}", "/transparency/dinas", "/transparency/1.json"):
        assert (await client.get(missing)).status_code == 404, missing
