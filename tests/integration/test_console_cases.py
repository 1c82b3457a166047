"""The console's case queue and case page: staff find a case by status, service, region,
assignee or deadline, read its timeline and where it is, and work it: a status change
whose message is previewed (and sent exactly as previewed, only from the preview), an
internal note nobody outside sees, an assignment, a forward, a merged duplicate. A
viewer only reads; another agency's staff get 404."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import re
import uuid
from datetime import timedelta
from typing import Any

import PIL.Image
import pytest

from tests.integration.console import Staffer, rows_of, sign_in, text_of
from tests.integration.harness import Clock, Harness, message_to, recording, wib
from warta.domain.channels import Channel
from warta.services.admin import create_agency
from warta.services.cases import catalogue, filing
from warta.services.cases.types import Actor, NewCase
from warta.store.outbox import Outbox

PHONE = "+6281234567890"
REPORT: dict[str, Any] = {
    "service_code": "jalan-rusak",
    "description": "Lubang besar di depan SDN 3, sudah dua minggu.",
    "location": {
        "lat": -6.9147,
        "long": 107.6098,
        "address": "Jl. Merdeka 12",
        "region_code": "32.73.01.1001",
    },
    "reporter": {"name": "Budi Santoso", "phone": "0812 3456 7890"},
}
QUEUE = "Cases, nearest deadline first. Times are WIB."


@pytest.fixture
def clock() -> Clock:
    return Clock(wib(1, 10))  # Tuesday 1 December 2026, 10:00 WIB


@pytest.fixture
def channels(outbox: Outbox) -> dict[str, Channel]:
    return recording(outbox)


async def in_english(staffer: Staffer) -> Staffer:
    assert (await staffer.client.get("/console/cases?lang=en")).status_code == 200
    return staffer


async def a_case(harness: Harness, **changes: Any) -> dict[str, Any]:
    answer = await harness.post("/v2/cases", {**REPORT, **changes})
    assert answer.status_code == 201, answer.text
    made: dict[str, Any] = answer.json()
    return made


async def offer(harness: Harness, agency_id: uuid.UUID | None = None, **kw: Any) -> None:
    await catalogue.create_service(
        harness.app,
        agency_id or harness.agency_id,
        kw.pop("code", "jalan-rusak"),
        kw.pop("name", "Jalan rusak"),
        **kw,
    )


async def status_of(harness: Harness, case_id: str) -> str:
    return str((await harness.get(f"/v2/cases/{case_id}")).json()["status"])


async def test_a_sender_previews_the_message_then_sends_exactly_it(
    harness: Harness, outbox: Outbox
) -> None:
    await offer(harness)
    made = await a_case(harness)
    await message_to(outbox, PHONE)  # the reporter's receipt of filing
    outbox.clear()
    worker = await in_english(await sign_in(harness, "sender"))

    queue = await worker.client.get("/console/cases")
    [row] = rows_of(queue.text, QUEUE)
    assert row[0] == made["tracking_id"]
    assert row[1:3] == ["Jalan rusak (Report)", "Received"]
    assert row[5:] == ["Jl. Merdeka 12", "nobody"]

    page = await worker.client.get(f"/console/cases/{made['id']}")
    shown = text_of(page.text)
    for words in ("Lubang besar di depan SDN 3", "Jl. Merdeka 12", "Budi Santoso", "Filed"):
        assert words in shown, words
    assert 'href="geo:-6.914700,107.609800"' in page.text
    assert "https://www.openstreetmap.org/?mlat=-6.914700&amp;mlon=107.609800" in page.text

    form = {"status": "in_progress", "public_message": "Tim kami datang Kamis pagi."}
    preview = await worker.post(f"/console/cases/{made['id']}/preview", form)
    assert preview.status_code == 200, preview.text
    found = re.search(r'<pre class="sent-body" id="case-message">(.*?)</pre>', preview.text, re.S)
    assert found, preview.text
    message = text_of(found.group(1))
    assert "Tim kami datang Kamis pagi." in message and made["tracking_id"] in message
    assert await status_of(harness, made["id"]) == "received"  # a preview changes nothing
    assert outbox.list() == []

    sent = await worker.post(f"/console/cases/{made['id']}/update", form)
    assert (sent.status_code, sent.headers["location"]) == (
        303, f"/console/cases/{made['id']}?done=updated",
    )  # fmt: skip
    assert await status_of(harness, made["id"]) == "in_progress"
    told = await message_to(outbox, PHONE)
    assert " ".join(told.body.split()) == message
    after = text_of((await worker.client.get(sent.headers["location"])).text)
    assert "Saved. The citizen is told." in after and "Received → In progress" in after


async def test_notes_and_assignments_stay_inside_the_agency(
    sqlite_harness: Harness,
) -> None:
    harness = sqlite_harness
    await offer(harness)
    made = await a_case(harness)
    worker = await in_english(await sign_in(harness, "editor"))
    noted = await worker.post(
        f"/console/cases/{made['id']}/update", {"internal_note": "Regu 2 bawa aspal."}
    )
    assert noted.headers["location"].endswith("?done=note")
    page = text_of((await worker.client.get(noted.headers["location"])).text)
    assert "Note saved. Only staff see it." in page and "internal Regu 2 bawa aspal." in page
    public = await harness.client.get(f"/cases/{made['tracking_id']}")
    assert public.status_code == 200 and "aspal" not in public.text  # the public page
    assert (await harness.get(f"/v2/cases/{made['id']}")).json()["status"] == "received"

    team = (await worker.client.get(f"/console/cases/{made['id']}")).text
    editor_id = re.search(r'<option value="([0-9a-f-]{36})">Editor Uji</option>', team)
    assert editor_id, team
    assigned = await worker.post(
        f"/console/cases/{made['id']}/assign", {"staff_id": editor_id.group(1)}
    )
    assert assigned.status_code == 303, assigned.text
    mine = await worker.client.get("/console/cases", params={"assigned": editor_id.group(1)})
    assert [r[0] for r in rows_of(mine.text, QUEUE)] == [made["tracking_id"]]
    assert rows_of(mine.text, QUEUE)[0][-1] == "Editor Uji"
    # Someone from another agency is no choice.
    stranger = await worker.post(
        f"/console/cases/{made['id']}/assign", {"staff_id": str(uuid.uuid4())}
    )
    assert stranger.status_code == 400
    assert "Choose a person from the list" in stranger.text


async def test_the_queue_filters_by_status_service_region_and_deadline(
    harness: Harness, clock: Clock
) -> None:
    await offer(harness)
    await offer(harness, code="lampu-mati", name="Lampu jalan mati")
    road = await a_case(harness)
    light = await a_case(
        harness,
        service_code="lampu-mati",
        location={"address": "Jl. Braga", "region_code": "32.73.02.1001"},
    )
    viewer = await in_english(await sign_in(harness, "viewer"))

    async def listed(**query: str) -> list[str]:
        answer = await viewer.client.get("/console/cases", params=query)
        assert answer.status_code == 200, answer.text
        if "No cases match." in answer.text:
            return []
        return sorted(r[0] for r in rows_of(answer.text, QUEUE))

    both = sorted([road["tracking_id"], light["tracking_id"]])
    assert await listed() == both
    assert await listed(service="lampu-mati") == [light["tracking_id"]]
    assert await listed(region="32.73.01") == [road["tracking_id"]]
    assert await listed(region="32.73") == both
    assert await listed(status="resolved") == []
    assert await listed(overdue="1") == []

    bad = await viewer.client.get("/console/cases", params={"status": "selesai"})
    assert bad.status_code == 400 and "Choose a status from the list" in bad.text

    # Monday 7 December: 3 working days (Wednesday to Friday) passed with neither verified.
    # The sweeper flags them; the viewer signs in again (a session lasts a working day).
    clock.advance(timedelta(days=6))
    viewer = await in_english(await sign_in(harness, "viewer", "senin@uji.go.id"))
    async with asyncio.timeout(10):
        while await listed(overdue="1") != both:
            await asyncio.sleep(0.1)
    page = await viewer.client.get("/console/cases", params={"overdue": "1"})
    assert [r[4].endswith("overdue") for r in rows_of(page.text, QUEUE)] == [True, True]
    page = await viewer.client.get(f"/console/cases/{road['id']}")
    assert "This case is past its deadline." in page.text
    assert "Deadline missed" in text_of(page.text)
    # The case API shows the same flag to the agency's own system.
    late = (await harness.get("/v2/cases", overdue="true")).json()["cases"]
    assert sorted(c["tracking_id"] for c in late) == both
    assert all(c["breached"] for c in late)


async def test_forwarding_hands_the_case_over_and_a_duplicate_is_merged(
    sqlite_harness: Harness,
) -> None:
    harness = sqlite_harness
    await offer(harness)
    other = await create_agency(harness.app, "Dinas PU Provinsi", sms_sender="DINASPU")
    await offer(harness, other.id, code="jalan-provinsi", name="Jalan provinsi")
    first, second, third = [await a_case(harness) for _ in range(3)]
    worker = await in_english(await sign_in(harness, "admin"))

    page = await worker.client.get(f"/console/cases/{first['id']}")
    assert f'<option value="{other.id}">Dinas PU Provinsi</option>' in page.text
    moved = await worker.post(
        f"/console/cases/{first['id']}/forward",
        {"agency_id": str(other.id), "public_message": "Kami teruskan ke Dinas PU."},
    )
    assert moved.status_code == 303, moved.text
    landing = await worker.client.get(moved.headers["location"])
    assert f"Case {first['tracking_id']} is forwarded" in text_of(landing.text)
    assert (await worker.client.get(f"/console/cases/{first['id']}")).status_code == 404

    merged = await worker.post(
        f"/console/cases/{third['id']}/duplicate", {"of": second["tracking_id"].lower()}
    )
    assert merged.status_code == 303, merged.text
    shown = text_of((await worker.client.get(merged.headers["location"])).text)
    assert f"Duplicate of {second['tracking_id']}" in shown
    itself = await worker.post(
        f"/console/cases/{second['id']}/duplicate", {"of": second["tracking_id"]}
    )
    assert itself.status_code == 400
    assert f"no other case {second['tracking_id'].replace('-', '')} of this agency" in itself.text


async def test_a_viewer_reads_but_cannot_work_and_other_agencies_see_nothing(
    sqlite_harness: Harness,
) -> None:
    harness = sqlite_harness
    await offer(harness)
    made = await a_case(harness)
    viewer = await in_english(await sign_in(harness, "viewer"))
    page = await viewer.client.get(f"/console/cases/{made['id']}")
    assert page.status_code == 200 and "Lubang besar" in page.text
    assert "/preview" not in page.text and "/assign" not in page.text  # no forms offered
    for action in ("preview", "update", "assign", "forward", "duplicate"):
        refused = await viewer.post(
            f"/console/cases/{made['id']}/{action}", {"status": "rejected", "of": "x"}
        )
        assert refused.status_code == 403, action
    assert await status_of(harness, made["id"]) == "received"

    other = await create_agency(harness.app, "Dinas Lain", sms_sender="LAIN")
    stranger = await sign_in(
        dataclasses.replace(harness, agency_id=other.id), "admin", "admin@lain.go.id"
    )
    assert (await stranger.client.get(f"/console/cases/{made['id']}")).status_code == 404
    for action in ("update", "assign"):
        answer = await stranger.post(
            f"/console/cases/{made['id']}/{action}", {"internal_note": "x"}
        )
        assert answer.status_code == 404, action
    listing = await stranger.client.get("/console/cases")
    assert made["tracking_id"] not in listing.text

    # A photo: on the case page for the agency's staff, and nowhere for anyone else.
    png = io.BytesIO()
    PIL.Image.new("RGB", (40, 30), "red").save(png, "PNG")
    counter = Actor("agency", agency_id=harness.agency_id)
    pictured = await filing.file_case(
        harness.app, counter, NewCase("jalan-rusak", "Foto lubang.", photos=[png.getvalue()])
    )
    url = f"/console/cases/{pictured.id}/photos/{pictured.photos[0].id}"
    page = await viewer.client.get(f"/console/cases/{pictured.id}")
    assert f'<img src="{url}" alt="Photo 1 of the case" width="240" height="180">' in page.text
    got = await viewer.client.get(url)
    assert (got.status_code, got.headers["content-type"]) == (200, "image/png")
    assert (await stranger.client.get(url)).status_code == 404
    assert await status_of(harness, made["id"]) == "received"
