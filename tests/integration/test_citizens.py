"""Citizens through the API, with a controlled clock: registry and one-time codes, sends
routed by preference, quiet hours, caps, consent, escalation and broadcasts, on SQLite
and PostgreSQL."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import datetime
from typing import Any

import pytest

from tests.integration.harness import Clock, Harness, recording, wib
from warta.channels.capture import RecordingChannel
from warta.domain.channels import Channel
from warta.errors import PermanentFailure
from warta.services import citizen_self
from warta.services.admin import create_agency, create_template
from warta.store.outbox import Outbox

NIK = "3273014101900002"  # Bandung registration, born 1 Jan 1990 (a woman: day + 40)
NIK_2 = "3171020202850003"


@pytest.fixture
def clock() -> Clock:
    return Clock(wib(1, 10))  # a Tuesday, 10:00 WIB: outside quiet hours


@pytest.fixture
def channels(outbox: Outbox) -> dict[str, Channel]:
    return recording(outbox)


PERSONAL = {"nama": "Budi", "nopol": "D 1234 XY", "tanggal": "5 Desember"}


async def register(harness: Harness, **extra: Any) -> dict[str, Any]:
    body = {
        "nik": NIK,
        "name": "Sri Wahyuni",
        "region_code": "32.73.01.1001",
        "phone_numbers": ["0812-3456-7890"],
        "email_addresses": ["sri@contoh.id"],
        **extra,
    }
    response = await harness.post("/v2/citizens", body)
    assert response.status_code in (200, 201), response.text
    return dict(response.json())


async def verify_all(harness: Harness, citizen: dict[str, Any], outbox: Outbox) -> None:
    """Verify every contact the way a citizen would: read the code the channel got."""
    for contact in citizen["contacts"]:
        before = len(outbox)
        added = await harness.post(
            f"/v2/citizens/{citizen['id']}/contacts",
            {"type": contact["type"], "value": contact["value"]},
        )
        assert added.status_code == 201, added.text
        [message] = (await outbox.wait_for(before + 1))[:1]
        code = next(word.strip(".*") for word in message.body.split() if word.strip(".*").isdigit())
        verified = await harness.post(
            f"/v2/citizens/{citizen['id']}/contacts/{contact['id']}/verify", {"code": code}
        )
        assert verified.status_code == 200, verified.text
    outbox.clear()


async def confirm_all(harness: Harness, citizen: dict[str, Any]) -> None:
    """The citizen makes the contacts the agency proved their own, as the portal's
    contacts page does (then every agency that knows them may use them)."""
    for contact in citizen["contacts"]:
        await citizen_self.make_own_unchecked(
            harness.app, uuid.UUID(citizen["id"]), uuid.UUID(contact["id"])
        )


async def send(harness: Harness, template: str, **extra: Any) -> dict[str, Any]:
    body = {"template_id": template, "personalisation": PERSONAL, **extra}
    response = await harness.post("/v2/notifications", body)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_one_identity_per_nik_seen_only_by_agencies_that_know_it(
    harness: Harness,
) -> None:
    first = await register(harness)
    assert first["nik"] == "3273**********02"  # never shown whole
    assert first["time_zone"] == "WIB"  # from the region: Bandung
    assert sorted((c["type"], c["verified"]) for c in first["contacts"]) == [
        ("email", False),
        ("sms", False),
    ]
    assert (await harness.get(f"/v2/citizens/{first['id']}")).json()["name"] == "Sri Wahyuni"
    by_nik = await harness.get("/v2/citizens", nik="3273 0141 0190 0002")
    assert by_nik.json()["id"] == first["id"]

    other = await create_agency(harness.app, "Dinas Lain", sms_sender="LAIN")
    other_key = other.live_key
    harness.keys["other"] = other_key
    unseen = await harness.get(f"/v2/citizens/{first['id']}", key="other")
    assert unseen.status_code == 404
    # Registering the same NIK links the agency to the same citizen: no second identity.
    linked = await harness.post(
        "/v2/citizens",
        {"nik": NIK, "name": "Sri W.", "region_code": "32.73"},
        key="other",
    )
    assert linked.status_code == 200 and linked.json()["id"] == first["id"]
    # The linking agency learns nothing it did not supply, and overwrites nothing.
    assert linked.json()["name"] is None and linked.json()["region_code"] is None
    assert (await harness.get(f"/v2/citizens/{first['id']}")).json()["name"] == "Sri Wahyuni"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        pytest.param({"nik": "12345"}, "nik must be 16 digits", id="short-nik"),
        pytest.param({"region_code": "99.01"}, "province", id="unknown-province"),
        pytest.param({"phone_numbers": ["0812"]}, "phone_numbers", id="bad-phone"),
        pytest.param({"language": "jv"}, "language", id="language"),
        pytest.param({"preferences": {"channels": ["fax"]}}, "fax is not a channel", id="channel"),
    ],
)
async def test_bad_citizen_input_is_refused_and_stores_nothing(
    harness: Harness, change: dict[str, Any], message: str
) -> None:
    body = {"nik": NIK, "name": "Sri", "region_code": "32.73.01.1001", **change}
    refused = await harness.post("/v2/citizens", body)
    assert refused.status_code == 400
    error = refused.json()["errors"][0]
    assert error["error"] == "ValidationError" and message in error["message"]
    assert (await harness.get("/v2/citizens", nik=NIK)).status_code == 404


async def test_a_contact_is_verified_only_with_its_code(harness: Harness, outbox: Outbox) -> None:
    citizen = await register(harness)
    phone = next(c for c in citizen["contacts"] if c["type"] == "sms")
    added = await harness.post(
        f"/v2/citizens/{citizen['id']}/contacts", {"type": "sms", "value": phone["value"]}
    )
    assert added.status_code == 201, added.text
    assert "code" not in added.json()  # live key: not shown
    [sms] = await outbox.wait_for(1)
    assert sms.to == "+6281234567890" and "Kode verifikasi" in sms.body
    path = f"/v2/citizens/{citizen['id']}/contacts/{phone['id']}/verify"
    wrong = await harness.post(path, {"code": "000000" if "000000" not in sms.body else "111111"})
    assert wrong.status_code == 400 and wrong.json()["errors"][0]["message"] == (
        "The code is not right"
    )
    code = next(w.strip(".") for w in sms.body.split() if w.strip(".").isdigit())
    right = await harness.post(path, {"code": code})
    assert right.status_code == 200
    # The agency sees that a code was sent, never the code.
    notice = await harness.get(f"/v2/notifications/{added.json()['code_notification_id']}")
    assert code not in notice.text and notice.json()["body"].startswith("(a one-time code")
    verified = {c["type"]: c["verified"] for c in right.json()["contacts"]}
    assert verified == {"sms": True, "email": False}
    again = await harness.post(path, {"code": code})  # a code works once
    assert again.status_code == 400


async def test_the_citizens_preferred_verified_channel_is_used(
    harness: Harness, outbox: Outbox, multi_template: str
) -> None:
    citizen = await register(harness, preferences={"channels": ["email", "sms"]})
    await verify_all(harness, citizen, outbox)
    sent = await send(harness, multi_template, citizen_id=citizen["id"])
    assert sent["channel"] == "email"
    assert sent["content"]["subject"] == "Pajak kendaraan D 1234 XY"
    await harness.wait_status(sent["id"], "delivered")
    [email] = await outbox.wait_for(1)
    assert email.to == "sri@contoh.id" and "jatuh tempo 5 Desember" in email.body
    got = (await harness.get(f"/v2/notifications/{sent['id']}")).json()
    assert got["status"] == "delivered" and got["channel"] == "email"
    assert got["routing"]["channel"] == "email"
    assert [a["channel"] for a in got["attempts"]] == ["email"]


async def test_a_template_with_sms_alone_stays_sms_for_a_citizen_who_prefers_email(
    harness: Harness, outbox: Outbox
) -> None:
    # The last routing look before sending once chose among every channel Warta has,
    # not those the message has content for: each look cancelled the SMS as "rerouted to
    # email" and escalation made a new SMS attempt, for ever.
    citizen = await register(harness, preferences={"channels": ["email", "sms"]})
    await verify_all(harness, citizen, outbox)
    body = {
        "template_id": str(harness.sms_template),
        "personalisation": {"nama": "Sri", "nomor": "12"},
        "citizen_id": citizen["id"],
    }
    response = await harness.post("/v2/notifications", body)
    assert response.status_code == 201, response.text
    sent = response.json()
    assert sent["channel"] == "sms"
    await harness.wait_status(sent["id"], "delivered")
    [sms] = await outbox.wait_for(1)
    assert sms.to == "+6281234567890" and sms.body == "Halo Sri, antrean Anda nomor 12."
    got = (await harness.get(f"/v2/notifications/{sent['id']}")).json()
    assert [a["channel"] for a in got["attempts"]] == ["sms"]


async def test_an_unverified_preferred_channel_falls_back_to_sms(
    harness: Harness, outbox: Outbox, multi_template: str
) -> None:
    citizen = await register(harness, preferences={"channels": ["email", "sms"]})
    phone_only = {**citizen, "contacts": [c for c in citizen["contacts"] if c["type"] == "sms"]}
    await verify_all(harness, phone_only, outbox)
    sent = await send(harness, multi_template, nik=NIK)
    assert sent["channel"] == "sms"
    assert any("email" in reason for reason in sent["routing"]["reasons"])
    await harness.wait_status(sent["id"], "delivered")
    [sms] = await outbox.wait_for(1)
    assert (
        sms.to == "+6281234567890" and sms.body == "Pajak D 1234 XY jatuh tempo 5 Desember. Bapenda"
    )


async def test_quiet_hours_defer_normal_but_not_urgent(
    harness: Harness, outbox: Outbox, multi_template: str, clock: Clock
) -> None:
    citizen = await register(harness)
    await verify_all(harness, citizen, outbox)
    clock.set(wib(1, 22))  # 22:00 WIB: inside the default 21:00-06:00
    normal = await send(harness, multi_template, citizen_id=citizen["id"])
    urgent = await send(harness, multi_template, citizen_id=citizen["id"], priority="urgent")
    assert normal["status"] == "created" and normal["scheduled_for"] is not None
    assert datetime.fromisoformat(normal["routing"]["at"]) == wib(2, 6)
    await harness.wait_status(urgent["id"], "delivered")
    assert len(outbox) == 1
    clock.set(wib(2, 6, 1))  # morning: the sweeper finds it due
    await harness.wait_status(normal["id"], "delivered")
    assert len(outbox) == 2


async def test_a_daily_cap_defers_to_the_next_local_day(
    harness: Harness, outbox: Outbox, multi_template: str
) -> None:
    citizen = await register(harness, preferences={"channels": ["sms"], "max_per_day": 1})
    await verify_all(harness, citizen, outbox)
    first = await send(harness, multi_template, citizen_id=citizen["id"])
    assert first["status"] == "created" and first["routing"]["action"] == "send", first
    await harness.wait_status(first["id"], "delivered")
    second = await send(harness, multi_template, citizen_id=citizen["id"])
    assert second["status"] == "created"
    at = datetime.fromisoformat(second["routing"]["at"])
    assert at >= wib(2, 0)  # tomorrow, local time
    row = await harness.row(second["id"])
    assert row.sent_at is None and len(outbox) == 1


async def test_expired_is_cancelled_never_sent_late(
    harness: Harness, outbox: Outbox, multi_template: str, clock: Clock
) -> None:
    citizen = await register(harness)
    await verify_all(harness, citizen, outbox)
    clock.set(wib(1, 22))
    expires = (wib(1, 23)).isoformat()  # before quiet hours end
    sent = await send(harness, multi_template, citizen_id=citizen["id"], expires_at=expires)
    assert sent["status"] == "cancelled"
    past = await harness.post(
        "/v2/notifications",
        {
            "template_id": multi_template,
            "citizen_id": citizen["id"],
            "personalisation": PERSONAL,
            "expires_at": wib(1, 21).isoformat(),
        },
    )
    assert past.status_code == 400 and "expires_at" in past.json()["errors"][0]["message"]
    assert len(outbox) == 0


async def test_withdrawn_topic_consent_applies_at_once(
    harness: Harness, outbox: Outbox, multi_template: str
) -> None:
    topic = await harness.post("/v2/topics", {"slug": "pajak-kendaraan", "name": "Pajak"})
    assert topic.status_code == 201
    citizen = await register(harness)
    await verify_all(harness, citizen, outbox)
    consent = {
        "granted": True,
        "topic": "pajak-kendaraan",
        "source": "portal",
        "text_shown": "Saya ingin menerima pengingat pajak kendaraan.",
    }
    granted = await harness.post(f"/v2/citizens/{citizen['id']}/consents", consent)
    assert granted.status_code == 201
    sent = await send(harness, multi_template, citizen_id=citizen["id"], topic="pajak-kendaraan")
    await harness.wait_status(sent["id"], "delivered")

    withdrawn = {**consent, "granted": False, "text_shown": "Berhenti pengingat pajak."}
    assert (
        await harness.post(f"/v2/citizens/{citizen['id']}/consents", withdrawn)
    ).status_code == 201
    refused = await send(harness, multi_template, citizen_id=citizen["id"], topic="pajak-kendaraan")
    assert refused["status"] == "cancelled"
    history = (await harness.get(f"/v2/citizens/{citizen['id']}/consents")).json()["consents"]
    assert [(c["granted"], c["source"]) for c in history] == [(True, "portal"), (False, "portal")]
    assert history[0]["text_shown"] == consent["text_shown"]
    # Other messages from the agency still arrive.
    other = await send(harness, multi_template, citizen_id=citizen["id"])
    await harness.wait_status(other["id"], "delivered")


async def test_a_permanent_failure_escalates_to_the_next_channel(
    harness: Harness,
    outbox: Outbox,
    multi_template: str,
    channels: dict[str, RecordingChannel],
) -> None:
    citizen = await register(harness, preferences={"channels": ["email", "sms"]})
    await verify_all(harness, citizen, outbox)
    channels["email"].fail_with = PermanentFailure("550 mailbox unavailable")
    sent = await send(harness, multi_template, citizen_id=citizen["id"])
    assert sent["channel"] == "email"
    await harness.wait_status(sent["id"], "permanent-failure")
    [sms] = await outbox.wait_for(1)
    assert sms.channel == "sms" and "Pajak D 1234 XY" in sms.body
    got = (await harness.get(f"/v2/notifications/{sent['id']}")).json()
    first = got["attempts"][0]
    assert (first["channel"], first["status"]) == ("email", "permanent-failure")
    assert [a["channel"] for a in got["attempts"]] == ["email", "sms"]
    second = got["attempts"][1]["id"]
    await harness.wait_status(second, "delivered")


async def citizens_in(harness: Harness, outbox: Outbox, region: str, count: int) -> list[str]:
    ids = []
    for n in range(count):
        nik = f"{region.replace('.', '')[:6]}0101900{n + 1:03d}"
        body = {
            "nik": nik,
            "name": f"Warga {n}",
            "region_code": region,
            "phone_numbers": [f"08129{region.replace('.', '')[:4]}{n:03d}"],
        }
        response = await harness.post("/v2/citizens", body)
        assert response.status_code == 201, response.text
        citizen = response.json()
        await verify_all(harness, citizen, outbox)
        ids.append(citizen["id"])
    return ids


async def test_a_broadcast_reaches_the_region_with_progress(
    harness: Harness, outbox: Outbox, multi_template: str
) -> None:
    inside = await citizens_in(harness, outbox, "32.73.01.1001", 3)
    await citizens_in(harness, outbox, "31.71.02.1001", 2)  # Jakarta: not this regency
    made = await harness.post(
        "/v2/broadcasts",
        {"template_id": multi_template, "region": "32.73", "personalisation": PERSONAL},
    )
    assert made.status_code == 201, made.text
    broadcast = made.json()
    deadline = time.monotonic() + 10
    while True:
        progress = (await harness.get(f"/v2/broadcasts/{broadcast['id']}")).json()
        if progress["status"] == "done" and progress["counts"] == {"delivered": 3}:
            break
        assert time.monotonic() < deadline, progress
        await _sleep()
    assert progress["recipients"] == 3
    texts = await outbox.wait_for(3)
    assert sorted(m.to[-3:] for m in texts) == ["000", "001", "002"]
    assert all(m.to.startswith("+6281293273") for m in texts)
    listed = (await harness.get("/v2/notifications")).json()["notifications"]
    mine = [n for n in listed if n.get("broadcast_id") == broadcast["id"]]
    assert {n["citizen_id"] for n in mine} == set(inside)
    assert all(n["body"].startswith("Pajak D 1234 XY") for n in mine)


async def test_a_cancelled_broadcast_sends_nothing_more(
    harness: Harness, outbox: Outbox, multi_template: str, clock: Clock
) -> None:
    await citizens_in(harness, outbox, "32.73.01.1001", 2)
    clock.set(wib(1, 23))  # quiet hours: every row waits until 06:00
    made = (
        await harness.post(
            "/v2/broadcasts",
            {"template_id": multi_template, "region": "32", "personalisation": PERSONAL},
        )
    ).json()
    deadline = time.monotonic() + 10
    while (await harness.get(f"/v2/broadcasts/{made['id']}")).json()["status"] != "done":
        assert time.monotonic() < deadline
        await _sleep()
    cancelled = (await harness.post(f"/v2/broadcasts/{made['id']}/cancel", {})).json()
    assert cancelled["status"] == "cancelled" and cancelled["counts"] == {"cancelled": 2}
    clock.set(wib(2, 7))
    await _sleep(0.6)
    assert len(outbox) == 0


async def test_broadcast_input_is_checked(harness: Harness, multi_template: str) -> None:
    nowhere = await harness.post("/v2/broadcasts", {"template_id": multi_template})
    assert nowhere.status_code == 400
    assert "topic, a region" in nowhere.json()["errors"][0]["message"]
    bad_topic = await harness.post(
        "/v2/broadcasts",
        {"template_id": multi_template, "topic": "tidak-ada", "personalisation": PERSONAL},
    )
    assert bad_topic.status_code == 400
    missing = await harness.post("/v2/broadcasts", {"template_id": multi_template, "region": "32"})
    assert missing.status_code == 400
    assert "Missing personalisation" in missing.json()["errors"][0]["message"]
    unknown = await harness.get(f"/v2/broadcasts/{uuid.uuid4()}")
    assert unknown.status_code == 404


async def _sleep(seconds: float = 0.1) -> None:
    await asyncio.sleep(seconds)


async def test_every_agency_follows_the_citizens_own_choices(
    harness: Harness, outbox: Outbox, multi_template: str, clock: Clock
) -> None:
    citizen = await register(harness, preferences={"channels": ["email", "sms"]})
    await verify_all(harness, citizen, outbox)
    await confirm_all(harness, citizen)  # the citizen's own: every agency may use them
    other = await create_agency(harness.app, "Samsat Kota", sms_sender="SAMSAT")
    harness.keys["other"] = other.live_key
    template = await create_template(
        harness.app, other.id, kind="multi", name="stnk", subject="STNK ((nopol))",
        body="STNK ((nopol)) Anda siap.", sms_body="STNK ((nopol)) siap. Samsat",
    )  # fmt: skip
    # The second agency registers the same NIK: it links, and inherits nothing to set up.
    linked = await harness.post(
        "/v2/citizens", {"nik": NIK, "name": "Sri", "region_code": "32.73"}, key="other"
    )
    assert linked.status_code == 200
    body = {"template_id": str(template.id), "nik": NIK, "personalisation": PERSONAL}
    by_email = await harness.post("/v2/notifications", body, key="other")
    assert by_email.json()["channel"] == "email"  # the citizen's first choice
    clock.set(wib(1, 22))
    deferred = await harness.post("/v2/notifications", body, key="other")
    assert deferred.json()["status"] == "created"
    assert datetime.fromisoformat(deferred.json()["routing"]["at"]) == wib(2, 6)


async def test_low_priority_waits_for_the_digest_time(
    harness: Harness, outbox: Outbox, multi_template: str, clock: Clock
) -> None:
    citizen = await register(harness, preferences={"channels": ["sms"], "digest": True})
    await verify_all(harness, citizen, outbox)
    low = await send(harness, multi_template, citizen_id=citizen["id"], priority="low")
    normal = await send(harness, multi_template, citizen_id=citizen["id"])
    assert low["routing"]["action"] == "digest"
    assert datetime.fromisoformat(low["routing"]["at"]) == wib(1, 18)
    await harness.wait_status(normal["id"], "delivered")  # digests are for low only
    assert len(outbox) == 1
    clock.set(wib(1, 18, 0))
    await harness.wait_status(low["id"], "delivered")
    assert len(outbox) == 2


async def test_an_emergency_can_go_on_every_channel_at_once(
    harness: Harness, outbox: Outbox, multi_template: str, clock: Clock
) -> None:
    citizen = await register(harness, preferences={"channels": ["email", "sms"]})
    await verify_all(harness, citizen, outbox)
    clock.set(wib(1, 23))  # quiet hours do not hold back an emergency
    sent = await send(
        harness, multi_template, citizen_id=citizen["id"], priority="urgent", all_channels=True
    )
    got = (await harness.get(f"/v2/notifications/{sent['id']}")).json()
    assert sorted(a["channel"] for a in got["attempts"]) == ["email", "sms"]
    for attempt in got["attempts"]:
        await harness.wait_status(attempt["id"], "delivered")
    assert sorted(m.channel for m in await outbox.wait_for(2)) == ["email", "sms"]
