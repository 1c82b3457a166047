"""A citizen's data rights in the portal (UU PDP): download everything Warta holds about
them, and delete it, proven gone from the API and from the database itself."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.integration.harness import Clock, Harness, code_in, recording
from tests.integration.portal_forms import (
    EMAIL,
    NIK,
    PHONE,
    ask_code,
    csrf_of,
    multi_template,
    own_contacts,
    post_form,
    register,
    send,
    sign_in,
    wib,
)
from warta.domain.channels import Channel
from warta.services.cases import catalogue, filing
from warta.services.cases.types import Actor, NewCase
from warta.store.models import (
    AgencyCitizen,
    Citizen,
    CitizenContact,
    Consent,
    Notification,
    PreferenceChange,
    TopicSubscription,
)
from warta.store.outbox import Outbox

NIK_2 = "3171020202850003"
PHONE_2 = "+6281298765432"


@pytest.fixture
def clock() -> Clock:
    return Clock(wib(10))


@pytest.fixture
def channels(outbox: Outbox) -> dict[str, Channel]:
    return recording(outbox)


async def test_download_my_data_holds_what_warta_knows_in_the_clear(
    harness: Harness, outbox: Outbox
) -> None:
    citizen = await register(harness, outbox, own=False)
    template = await multi_template(harness)
    await harness.post("/v2/topics", {"slug": "pajak-kendaraan", "name": "Pajak kendaraan"})
    sent = await send(harness, citizen, template)
    await harness.wait_status(sent["id"], "delivered")
    await sign_in(harness, outbox)
    topic = {"agency_id": str(harness.agency_id), "topic": "pajak-kendaraan", "subscribe": "yes"}
    await post_form(harness, "/portal/topics", "/portal/topics", **topic)

    await catalogue.create_service(harness.app, harness.agency_id, "JALAN", "Jalan rusak")
    report = NewCase("JALAN", "Lubang di depan rumah saya", source="portal")
    filed = await filing.file_case(harness.app, Actor("citizen", uuid.UUID(citizen["id"])), report)

    refused = await harness.client.post("/portal/data/download")
    assert refused.status_code == 403 and PHONE not in refused.text
    got = await post_form(harness, "/portal/data", "/portal/data/download")
    assert got.status_code == 200
    assert got.headers["content-disposition"] == 'attachment; filename="warta-data-saya.json"'
    assert got.headers["cache-control"] == "no-store"
    data = got.json()
    assert data["profile"]["nik"] == NIK and data["profile"]["name"] == "Sri Wahyuni"
    # Their own phone in clear; the address the agency added masked until they confirm
    # it with the code sent to it (signing in with the phone proves nothing about it).
    assert {(c["type"], c["value"]) for c in data["contacts"]} == {
        ("sms", PHONE),
        ("email", "s***@contoh.id"),
    }
    assert EMAIL not in got.text
    # Each with who added it and how it was proven: the phone they signed in with first
    # is theirs (proven in the portal); the address is still the agency's (by its code).
    assert {(c["type"], c["added_by"], c["owner"], c["proof"]) for c in data["contacts"]} == {
        ("sms", "Dinas Uji", "you", "portal"),
        ("email", "Dinas Uji", "agency", "code"),
    }
    assert data["preferences"]["channels"] == ["sms"]
    [registered] = data["preference_changes"]  # the agency that registered them set these
    assert registered["by"] == "Dinas Uji" and registered["preferences"]["channels"] == ["sms"]
    assert data["agencies"] == ["Dinas Uji"]
    assert [t["topic"] for t in data["topics"]] == ["pajak-kendaraan"]
    [consent] = data["consents"]
    assert consent["granted"] and consent["source"] == "portal"
    assert consent["text_shown"] == "Kirimi saya pesan tentang Pajak kendaraan dari Dinas Uji."
    assert ("Dinas Uji", "Pajak D 1234 XY jatuh tempo.") in [
        (m["agency"], m["body"]) for m in data["messages"]
    ]
    [case] = data["cases"]  # their case, with what they wrote and its timeline
    assert (case["tracking_id"], case["description"]) == (
        filed.tracking_id,
        "Lubang di depan rumah saya",
    )
    assert [e["status"] for e in case["events"]] == ["received"]


async def test_delete_my_data_erases_the_citizen_and_keeps_only_anonymous_records(
    harness: Harness, outbox: Outbox, clock: Clock
) -> None:
    citizen = await register(harness, outbox)
    budi = {"nik": NIK_2, "name": "Budi Santoso", "region_code": "31.71.02.1001",
            "phone_numbers": [PHONE_2]}  # fmt: skip
    other = (await harness.post("/v2/citizens", budi)).json()
    template = await multi_template(harness)
    await harness.post("/v2/topics", {"slug": "pajak-kendaraan", "name": "Pajak kendaraan"})
    delivered = await send(harness, citizen, template)
    await harness.wait_status(delivered["id"], "delivered")
    later = (clock() + timedelta(days=2)).isoformat()
    scheduled = await send(harness, citizen, template, scheduled_for=later)
    await sign_in(harness, outbox)
    topic = {"agency_id": str(harness.agency_id), "topic": "pajak-kendaraan", "subscribe": "yes"}
    await post_form(harness, "/portal/topics", "/portal/topics", **topic)
    session = harness.client.cookies["warta_session"]

    wrong = await post_form(harness, "/portal/data", "/portal/data/delete", confirm="hapus saja")
    assert wrong.status_code == 400 and 'role="alert"' in wrong.text
    assert (await harness.get(f"/v2/citizens/{citizen['id']}")).status_code == 200
    no_token = await harness.client.post("/portal/data/delete", data={"confirm": "HAPUS"})
    assert no_token.status_code == 403
    assert (await harness.get(f"/v2/citizens/{citizen['id']}")).status_code == 200

    page = await harness.client.get("/portal/data")
    done = await harness.client.post(
        "/portal/data/delete", data={"csrf_token": csrf_of(page), "confirm": " hapus "}
    )
    assert (done.status_code, done.headers["location"]) == (303, "/portal/deleted")
    assert 'warta_session=""' in done.headers["set-cookie"]
    assert "Data Anda sudah dihapus" in (await harness.client.get("/portal/deleted")).text

    # The old session opens nothing, in the pages or the API.
    harness.client.cookies.set("warta_session", session, path="/portal")
    assert (await harness.client.get("/portal/inbox")).headers["location"] == "/portal/"
    bearer = {"Authorization": f"Bearer {session}"}
    api_inbox = await harness.client.get("/portal/api/inbox", headers=bearer)
    assert api_inbox.status_code == 401
    fcm = {"token": "x" * 40}
    assert (
        await harness.client.post("/portal/api/push/fcm-tokens", json=fcm, headers=bearer)
    ).status_code == 401
    harness.client.cookies.clear()

    # The agency can no longer find the citizen, by id or by NIK.
    assert (await harness.get(f"/v2/citizens/{citizen['id']}")).status_code == 404
    assert (await harness.get("/v2/citizens", nik=NIK)).status_code == 404
    assert (await harness.get(f"/v2/citizens/{citizen['id']}/consents")).status_code == 404
    # Its records of what it sent stay, without the person or the text.
    kept = (await harness.get(f"/v2/notifications/{delivered['id']}")).json()
    assert (kept["status"], kept["phone_number"], kept["body"]) == ("delivered", None, None)
    assert "citizen_id" not in kept
    assert (await harness.get(f"/v2/notifications/{scheduled['id']}")).json()["status"] == (
        "cancelled"
    )
    listed = (await harness.get("/v2/notifications")).json()["notifications"]
    recipients = {n["phone_number"] or n["email_address"] for n in listed}
    assert PHONE not in recipients and EMAIL not in recipients  # the verification codes too

    await _assert_gone_from_the_database(harness, uuid.UUID(citizen["id"]))
    # The other citizen is untouched.
    assert (await harness.get(f"/v2/citizens/{other['id']}")).json()["name"] == "Budi Santoso"

    # Signing in with the erased phone sends nothing; the other citizen's phone still works.
    outbox.clear()
    await harness.post(
        f"/v2/citizens/{other['id']}/contacts", {"type": "sms", "value": PHONE_2}
    )  # a code to verify it, so it can sign in
    [code] = await outbox.wait_for(1)
    verify = f"/v2/citizens/{other['id']}/contacts/{other['contacts'][0]['id']}/verify"
    assert (await harness.post(verify, {"code": code_in(code.body)})).status_code == 200
    await own_contacts(harness, other["id"])  # the citizen makes it their own
    outbox.clear()
    await ask_code(harness.client, PHONE_2)
    assert len(outbox) == 1  # the code goes out before the answer's task ends
    await ask_code(harness.client, PHONE)
    assert len(outbox) == 1

    # Registered again, the citizen starts afresh: a new identity with nothing of the old.
    again = await harness.post(
        "/v2/citizens", {"nik": NIK, "name": "Sri Wahyuni", "region_code": "32.73.01.1001"}
    )
    assert again.status_code == 201 and again.json()["id"] != citizen["id"]
    assert again.json()["contacts"] == [] and again.json()["topics"] == []


async def _assert_gone_from_the_database(harness: Harness, citizen_id: uuid.UUID) -> None:
    """Not just unreachable by the API: no row holds the NIK, name, phone or address,
    encrypted or as a lookup hash."""
    keyring = harness.app.keyring
    hashes = {h for value in (PHONE, EMAIL, NIK) for h in keyring.lookup_hashes(value)}
    async with harness.app.uow() as uow:
        session = uow.session
        assert await session.get(Citizen, citizen_id) is None
        assert not (
            await session.scalars(select(Citizen).where(Citizen.nik_hash.in_(hashes)))
        ).all()
        for table in (CitizenContact, AgencyCitizen, Consent, PreferenceChange, TopicSubscription):
            rows = await session.scalars(select(table).where(table.citizen_id == citizen_id))
            assert not rows.all(), table.__tablename__
        contacts = await session.scalars(
            select(CitizenContact).where(CitizenContact.value_hash.in_(hashes))
        )
        assert not contacts.all()
        notifications = (await session.scalars(select(Notification))).all()
        names = [keyring.decrypt(c.name_enc, field="citizen.name")
                 for c in (await session.scalars(select(Citizen))).all()]  # fmt: skip
    assert "Sri Wahyuni" not in names
    assert not [n for n in notifications if n.citizen_id == citizen_id]
    assert not [n for n in notifications if n.recipient_hash in hashes]
    shown = [
        keyring.decrypt(n.recipient_enc, field="notification.recipient") for n in notifications
    ]
    assert PHONE not in shown and EMAIL not in shown
    texts = [json.dumps(n.routing) for n in notifications]
    assert not [t for t in texts if PHONE in t or NIK in t]
