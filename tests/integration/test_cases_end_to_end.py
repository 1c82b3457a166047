"""The issue's whole path, on SQLite and PostgreSQL: a resident files a report through
Open311 as FixMyStreet does, the agency's staff work it in the console and its own
system through ``/v2/cases``, the resident hears of each change at the contact they gave,
and FixMyStreet reads every public update back. A registered citizen filing in the
portal is told the same way, on the channel they chose."""

from __future__ import annotations

import uuid

import pytest

from tests.integration.console import sign_in, text_of
from tests.integration.harness import Harness, message_to, recording
from tests.integration.portal_forms import EMAIL, register
from warta.domain.channels import Channel
from warta.services.cases import catalogue, filing, open311_keys
from warta.services.cases.types import Actor, NewCase
from warta.store.outbox import Outbox

RESIDENT = "dewi.lestari@contoh.id"


@pytest.fixture
def channels(outbox: Outbox) -> dict[str, Channel]:
    return recording(outbox)


async def test_an_open311_report_worked_in_the_console_and_the_api_reaches_its_reporter(
    harness: Harness, outbox: Outbox
) -> None:
    await catalogue.create_service(
        harness.app, harness.agency_id, "JALAN-RUSAK", "Jalan rusak", kind="laporan"
    )
    _, api_key = await open311_keys.create(harness.app, "FixMyStreet Kota Uji")

    # FixMyStreet files the report, form-encoded, with its api_key.
    posted = await harness.client.post(
        "/open311/v2/requests.json",
        data={
            "api_key": api_key,
            "service_code": "JALAN-RUSAK",
            "lat": "-6.914744",
            "long": "107.609810",
            "address_string": "Jl. Asia Afrika 8, Bandung",
            "description": "Lubang besar di depan Gedung Merdeka.",
            "email": RESIDENT,
            "first_name": "Dewi",
        },
    )
    assert posted.status_code == 200, posted.text
    tracking = posted.json()[0]["service_request_id"]
    filed = await message_to(outbox, RESIDENT)
    assert tracking in filed.body and "Diterima" in filed.subject

    outbox.clear()  # each step's message is then the only one to the resident

    # Staff verify it in the console: the preview, then the change.
    worker = await sign_in(harness, "sender")
    listed = await harness.get("/v2/cases")
    [case] = listed.json()["cases"]
    form = {"status": "in_progress", "public_message": "Regu kami datang Kamis pagi."}
    previewed = await worker.post(f"/console/cases/{case['id']}/preview", form)
    assert previewed.status_code == 200, previewed.text
    sent = await worker.post(f"/console/cases/{case['id']}/update", form)
    assert sent.status_code == 303, sent.text
    told = await message_to(outbox, RESIDENT)
    outbox.clear()
    assert "Regu kami datang Kamis pagi." in told.body and "Sedang ditindaklanjuti" in told.subject

    # The agency's own system resolves it through the case API.
    resolved = await harness.post(
        f"/v2/cases/{case['id']}/updates",
        {"status": "resolved", "public_message": "Lubang sudah ditambal.", "update_id": "tiket-9"},
    )
    assert resolved.status_code == 200, resolved.text
    told = await message_to(outbox, RESIDENT)
    assert "Lubang sudah ditambal." in told.body and "Selesai" in told.subject

    # FixMyStreet reads the request and its updates back, with nothing personal in them.
    request = (await harness.client.get(f"/open311/v2/requests/{tracking}.json")).json()[0]
    assert (request["status"], request["extended_status"]) == ("closed", "fixed")
    updates = await harness.client.get("/open311/v2/servicerequestupdates.json")  # 90 days
    assert updates.status_code == 200, updates.text
    words = [u.get("description") for u in updates.json()]
    assert "Regu kami datang Kamis pagi." in words and "Lubang sudah ditambal." in words
    assert RESIDENT not in updates.text and "Dewi" not in updates.text

    # The console's timeline shows every step.
    page = text_of((await worker.client.get(f"/console/cases/{case['id']}?lang=en")).text)
    for step in ("Filed", "Received → In progress", "In progress → Resolved"):
        assert step in page, step


async def test_a_citizen_filing_in_their_name_is_told_on_the_channel_they_chose(
    harness: Harness, outbox: Outbox
) -> None:
    await catalogue.create_service(harness.app, harness.agency_id, "KTP-EL", "KTP-el",
                                   kind="permohonan")  # fmt: skip
    citizen = await register(harness, outbox, channels=["email"])
    made = await filing.file_case(
        harness.app,
        Actor("citizen", uuid.UUID(citizen["id"])),
        NewCase("KTP-EL", "Permohonan KTP-el baru, data sudah lengkap.", source="portal"),
    )
    filed = await message_to(outbox, EMAIL)
    assert made.tracking_id[:4] in filed.subject
    outbox.clear()
    moved = await harness.post(
        f"/v2/cases/{made.id}/updates",
        {"status": "waiting_for_citizen", "public_message": "Mohon datang untuk foto."},
    )
    assert moved.status_code == 200, moved.text
    told = await message_to(outbox, EMAIL)
    assert "Mohon datang untuk foto." in told.body
    assert [m.channel for m in outbox.list()] == ["email"]  # never by SMS: they chose email
