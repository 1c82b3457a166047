"""The citizen's reports on the portal ("Laporan saya"), as a phone without JavaScript
uses them: file a report with a photo (its GPS position gone before it is stored), see it
with its timeline, answer the agency when it asks, and never see anyone else's."""

from __future__ import annotations

import io
import re
import uuid
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

import httpx
import pytest
from PIL import Image

from tests.integration.harness import Clock, Harness, make_settings, recording, running_warta
from tests.integration.portal_forms import (
    FIRST_LOAD_LIMIT,
    csrf_of,
    register,
    sign_in,
    wib,
)
from warta.api.portal import COOKIE
from warta.domain.channels import Channel
from warta.services.cases import catalogue, lifecycle, reads
from warta.services.cases.types import Actor, QueueFilter
from warta.services.portal_sessions import new_session
from warta.store.outbox import Outbox

SERVICE = "jalan-rusak"
#: A small cap, so an oversized photo is cheap to make.
PHOTO_MAX = 300_000
TRACKING_URL = re.compile(r"^/portal/reports/([2-9A-HJ-NP-Z]{8})\?filed$")


@pytest.fixture
def clock() -> Clock:
    return Clock(wib(10))  # Tuesday 1 December 2026, 10:00 WIB


@pytest.fixture
def channels(outbox: Outbox) -> dict[str, Channel]:
    return recording(outbox)


@pytest.fixture
async def harness(
    database_url: str, tmp_path: Path, channels: Mapping[str, Channel], clock: Clock
) -> AsyncIterator[Harness]:
    settings = make_settings(database_url, tmp_path, case_photo_max_bytes=PHOTO_MAX)
    async with running_warta(settings, channels=channels, clock=clock) as running:
        yield running


def jpeg_with_gps(size: tuple[int, int] = (120, 90)) -> bytes:
    """A phone photo: its EXIF names the phone and where it was taken."""
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif[0x8825] = {1: "S", 2: (6.0, 12.0, 30.5), 3: "E", 4: (106.0, 50.0, 45.25)}
    out = io.BytesIO()
    Image.new("RGB", size, (90, 90, 90)).save(out, "JPEG", exif=exif)
    return out.getvalue()


async def offer(harness: Harness, kind: str = "laporan", code: str = SERVICE) -> None:
    await catalogue.create_service(
        harness.app, harness.agency_id, code, "Jalan rusak", group="Jalan", kind=kind,
        attributes=[{
            "code": "lebar", "datatype": "singlevaluelist", "required": True, "variable": True,
            "description": "Seberapa lebar lubangnya?", "order": 1,
            "values": [{"key": "kecil", "name": "Kecil"}, {"key": "besar", "name": "Besar"}],
        }],
    )  # fmt: skip


async def file_report(
    client: httpx.AsyncClient,
    photo: bytes | None = None,
    service: str = SERVICE,
    **fields: str,
) -> httpx.Response:
    """The report form as a browser sends it: opened first for its token, then posted as
    multipart (with an empty file part when no photo is chosen)."""
    form = await client.get(f"/portal/reports/new?service={service}")
    data = {
        "csrf_token": csrf_of(form),
        "service": service,
        "description": "Lubang besar di depan SDN 3.",
        "address": "Jl. Merdeka 12",
        "attribute[lebar]": "besar",
        **fields,
    }
    files = {"photo": ("foto.jpg", photo or b"", "image/jpeg")}
    return await client.post("/portal/reports", data=data, files=files)


async def test_a_citizen_files_a_report_with_a_photo_and_answers_the_agency(
    harness: Harness, outbox: Outbox, clock: Clock
) -> None:
    await register(harness, outbox)
    await offer(harness)
    await sign_in(harness, outbox)
    client = harness.client

    empty = await client.get("/portal/reports")
    assert "Anda belum pernah membuat laporan." in empty.text
    assert '<a href="/portal/reports" aria-current="page">Laporan saya</a>' in empty.text
    choose = await client.get("/portal/reports/new")
    assert '<option value="jalan-rusak">Jalan rusak (Jalan)</option>' in choose.text
    form = await client.get(f"/portal/reports/new?service={SERVICE}")
    assert 'enctype="multipart/form-data"' in form.text
    assert "Seberapa lebar lubangnya?" in form.text
    assert len(form.content) < FIRST_LOAD_LIMIT

    sent = await file_report(client, jpeg_with_gps())
    assert sent.status_code == 303, sent.text
    found = TRACKING_URL.match(sent.headers["location"])
    assert found, sent.headers["location"]
    tracking = found.group(1)

    page = await client.get(sent.headers["location"])
    assert page.status_code == 200
    shown = f"{tracking[:4]}-{tracking[4:]}"
    assert f"Nomor pelacakannya {shown}" in page.text
    assert "<strong>Diterima</strong>" in page.text
    assert "Lubang besar di depan SDN 3." in page.text and "Jl. Merdeka 12" in page.text
    assert "Kirim jawaban" not in page.text  # nothing asked yet
    assert len(page.content) < FIRST_LOAD_LIMIT
    [src] = re.findall(r'<img src="([^"]+)"', page.text)
    photo = await client.get(src)
    assert photo.status_code == 200
    assert photo.headers["content-type"] == "image/jpeg"
    assert photo.headers["cache-control"].startswith("private")
    with Image.open(io.BytesIO(photo.content)) as image:
        assert image.size == (120, 90)
        assert not image.getexif()
    assert b"PhoneMaker" not in photo.content

    listed = await client.get("/portal/reports")
    assert f'href="/portal/reports/{tracking}"' in listed.text and "Diterima" in listed.text

    # The agency asks the citizen something: the page shows the question and a reply form.
    [case] = await harness_cases(harness)
    staff = Actor("agency", id=uuid.uuid4(), agency_id=harness.agency_id)
    await lifecycle.update(
        harness.app, staff, case, status="waiting_for_citizen",
        public_message="Di sisi jalan yang mana, utara atau selatan?",
        internal_note="Catatan dalam: regu 2.",
    )  # fmt: skip
    asked = await client.get(f"/portal/reports/{tracking}")
    assert "Di sisi jalan yang mana, utara atau selatan?" in asked.text
    assert "Catatan dalam" not in asked.text
    assert "Menunggu jawaban Anda" in asked.text
    answered = await client.post(
        f"/portal/reports/{tracking}/reply",
        data={"csrf_token": csrf_of(asked), "message": "Sisi selatan, dekat halte."},
    )
    assert answered.status_code == 303, answered.text
    after = await client.get(answered.headers["location"])
    assert "Jawaban Anda sudah dikirim ke instansi." in after.text
    assert "<strong>Sedang ditindaklanjuti</strong>" in after.text
    assert "Sisi selatan, dekat halte." in after.text
    assert "Kirim jawaban" not in after.text

    # Resolved: the citizen may say it is not, while the window is open.
    await lifecycle.update(
        harness.app, staff, case, status="resolved", public_message="Sudah ditambal."
    )
    resolved = await client.get(f"/portal/reports/{tracking}?lang=en")
    assert "Not resolved? Tell the agency what is still wrong" in resolved.text
    reopened = await client.post(
        f"/portal/reports/{tracking}/reply",
        data={"csrf_token": csrf_of(resolved), "message": "Masih berlubang di tepi."},
    )
    assert reopened.status_code == 303
    assert "<strong>Reopened</strong>" in (await client.get(f"/portal/reports/{tracking}")).text


async def harness_cases(harness: Harness) -> list[uuid.UUID]:
    return [c.id for c in await reads.queue(harness.app, harness.agency_id, QueueFilter())]


async def other_citizen(harness: Harness, clock: Clock) -> httpx.AsyncClient:
    """A second citizen, signed in, in their own browser."""
    body = {
        "nik": "3273014101900010",
        "name": "Agus Salim",
        "region_code": "32.73.01.1001",
        "phone_numbers": ["+6281299990000"],
        "preferences": {"channels": ["sms"]},
    }
    made = await harness.post("/v2/citizens", body)
    assert made.status_code == 201, made.text
    session = await new_session(harness.app, uuid.UUID(made.json()["id"]), clock())
    transport = httpx.ASGITransport(app=harness.api)
    return httpx.AsyncClient(
        transport=transport, base_url="http://warta.test", cookies={COOKIE: session.token}
    )


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_what_the_report_pages_refuse(harness: Harness, outbox: Outbox, clock: Clock) -> None:
    await register(harness, outbox)
    await offer(harness)
    await sign_in(harness, outbox)
    client = harness.client

    # Not a photo, or one too large: refused with the reason, and nothing filed.
    for upload, message in [
        (b"<html>not a photo</html>", "Kirim foto dalam format JPEG, PNG, atau WebP"),
        (b"\xff\xd8\xff" + b"\x00" * 40, "Foto ini tidak dapat dibaca: mungkin rusak"),
        (b"\xff\xd8\xff" + b"\x00" * (PHOTO_MAX + 10), "Fotonya lebih besar dari 0.3 MB"),
    ]:
        refused = await file_report(client, upload)
        assert refused.status_code == 400, refused.text
        assert message in refused.text
        assert "Lubang besar di depan SDN 3." in refused.text  # what they wrote is kept
    # Over the form's cap: refused before it is read.
    huge = await file_report(client, b"\xff\xd8\xff" + b"\x00" * (PHOTO_MAX + 100_000))
    assert huge.status_code == 413
    # No description; a required question unanswered; an unknown service.
    assert (await file_report(client, description="  ")).status_code == 400
    unanswered = await file_report(client, **{"attribute[lebar]": ""})
    assert unanswered.status_code == 400
    assert "Seberapa lebar lubangnya?: wajib dijawab" in unanswered.text
    unknown = await file_report(client, **{"attribute[lebar]": "raksasa"})
    assert "Seberapa lebar lubangnya?: &#39;raksasa&#39; bukan salah satu dari kecil, besar" in (
        unknown.text
    )
    assert (await file_report(client, service="tidak-ada")).status_code == 404
    # Two files where the form has room for one: refused unread.
    token = csrf_of(await client.get(f"/portal/reports/new?service={SERVICE}"))
    two = await client.post(
        "/portal/reports",
        data={"csrf_token": token, "service": SERVICE, "description": "dua foto"},
        files=[("photo", ("a.jpg", jpeg_with_gps(), "image/jpeg"))] * 2,
    )
    assert two.status_code == 400
    # A form without this session's token changes nothing.
    forged = await client.post(
        "/portal/reports",
        data={"csrf_token": "x", "service": SERVICE, "description": "palsu"},
        files={"photo": ("f.jpg", b"", "image/jpeg")},
    )
    assert forged.status_code == 403
    assert "Anda belum pernah membuat laporan." in (await client.get("/portal/reports")).text

    sent = await file_report(client, jpeg_with_gps())
    tracking = TRACKING_URL.match(sent.headers["location"]).group(1)  # type: ignore[union-attr]
    page = await client.get(f"/portal/reports/{tracking}")
    [src] = re.findall(r'<img src="([^"]+)"', page.text)

    # Another citizen sees nothing of it: not the page, the photo or a reply.
    async with await other_citizen(harness, clock) as other:
        assert (await other.get(f"/portal/reports/{tracking}")).status_code == 404
        assert (await other.get(src)).status_code == 404
        theirs = await other.get("/portal/reports")
        assert tracking not in theirs.text
        reply = await other.post(
            f"/portal/reports/{tracking}/reply",
            data={"csrf_token": csrf_of(theirs), "message": "bukan milik saya"},
        )
        assert reply.status_code == 404
    # Signed out: back to sign-in, for the page and the photo alike.
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=harness.api), base_url="http://warta.test"
    ) as stranger:
        for path in (f"/portal/reports/{tracking}", src, "/portal/reports"):
            answer = await stranger.get(path)
            assert (answer.status_code, answer.headers.get("location")) == (303, "/portal/")
    # Malformed numbers and photo ids name nothing.
    assert (await client.get("/portal/reports/XXXX")).status_code == 404
    assert (await client.get(f"/portal/reports/{tracking}/photos/not-a-uuid")).status_code == 404
    assert (
        await client.get(f"/portal/reports/{tracking}/photos/{uuid.uuid4()}")
    ).status_code == 404


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_date_and_time_answer_is_read_in_the_citizens_zone(
    harness: Harness, outbox: Outbox
) -> None:
    """A browser's date-and-time field has no zone: 19:30 typed in Bandung is 12:30 UTC."""
    await register(harness, outbox)  # region 32.73: West Java, WIB
    await catalogue.create_service(
        harness.app, harness.agency_id, "banjir", "Banjir", kind="laporan",
        attributes=[{"code": "kapan", "datatype": "datetime", "required": True,
                     "variable": True, "description": "Sejak kapan?", "order": 1}],
    )  # fmt: skip
    await sign_in(harness, outbox)
    form = await harness.client.get("/portal/reports/new?service=banjir")
    assert 'type="datetime-local"' in form.text
    sent = await file_report(
        harness.client, service="banjir", **{"attribute[kapan]": "2026-11-30T19:30"}
    )
    assert sent.status_code == 303, sent.text
    [case] = await reads.queue(harness.app, harness.agency_id, QueueFilter())
    assert case.attributes == {"kapan": "2026-11-30T12:30:00Z"}
