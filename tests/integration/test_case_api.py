"""The case API (/v2/cases) an agency's own ticketing system uses, and the signed webhook
it gets on every change: a case filed, read by its id or its tracking ID as a person
types it, worked (status, public update, internal note, an update sent twice), the
reporter told on their phone, forwarded and merged; another agency, the test key and
malformed bodies refused in Notify's format."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import io
import json
import re
import uuid
from typing import Any

import httpx
import PIL.Image
import pytest

from tests.integration.harness import (
    Clock,
    Harness,
    Receiver,
    message_to,
    receiver_running,
    recording,
    wib,
)
from tests.integration.portal_forms import EMAIL, register
from warta.domain.channels import Channel
from warta.services.admin import create_agency, set_callback
from warta.services.cases import catalogue, filing
from warta.services.cases.types import Actor, NewCase
from warta.store.outbox import Outbox

SERVICE = "jalan-rusak"
PHONE = "+6281234567890"
REPORT: dict[str, Any] = {
    "service_code": SERVICE,
    "description": "Lubang besar di depan SDN 3, sudah dua minggu.",
    "location": {
        "lat": -6.9147,
        "long": 107.6098,
        "address": "Jl. Merdeka 12",
        "region_code": "32.73.01.1001",
    },
    "reporter": {"name": "Budi Santoso", "phone": "0812 3456 7890"},
}
TOKEN = "rahasia-webhook-kasus-42"
TRACKING = re.compile(r"^[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}$")


@pytest.fixture
def clock() -> Clock:
    return Clock(wib(1, 10))  # Tuesday 1 December 2026, 10:00 WIB: a working day


@pytest.fixture
def channels(outbox: Outbox) -> dict[str, Channel]:
    return recording(outbox)


async def offer(harness: Harness, agency_id: uuid.UUID | None = None, code: str = SERVICE) -> None:
    await catalogue.create_service(
        harness.app, agency_id or harness.agency_id, code, "Jalan rusak", group="Jalan"
    )


async def filed(harness: Harness, key: str = "live", **changes: Any) -> dict[str, Any]:
    answer = await harness.post("/v2/cases", {**REPORT, **changes}, key)
    assert answer.status_code == 201, answer.text
    made: dict[str, Any] = answer.json()
    return made


async def update(harness: Harness, case_id: str, key: str = "live", **body: Any) -> Any:
    return await harness.post(f"/v2/cases/{case_id}/updates", body, key)


async def case_webhooks(
    receiver: Receiver, count: int, *, distinct: bool = False
) -> list[tuple[dict[str, str], bytes]]:
    """The case webhooks among what the receiver got, once ``count`` of them came (with
    ``distinct``, ``count`` different events: a callback is sent at least once, so a
    retry may repeat one)."""

    def found() -> list[tuple[dict[str, str], bytes]]:
        return [(h, b) for h, b in receiver.requests if json.loads(b).get("type") == "case"]

    def seen() -> int:
        if not distinct:
            return len(found())
        return len({json.loads(b)["event_id"] for _, b in found()})

    async with asyncio.timeout(10):
        while seen() < count:
            await asyncio.sleep(0.02)
    return found()


async def test_an_agency_files_works_and_reads_a_case_and_the_reporter_is_told(
    harness: Harness, outbox: Outbox
) -> None:
    await offer(harness)
    made = await filed(harness)
    assert TRACKING.match(made["tracking_id"]), made["tracking_id"]
    assert (made["status"], made["open311_status"], made["test"]) == ("received", "open", False)
    assert made["service"] == {"code": SERVICE, "name": "Jalan rusak", "group": "Jalan"}
    assert made["location"]["address"] == "Jl. Merdeka 12"
    assert made["reporter"] == {"name": "Budi Santoso", "email": None, "phone": PHONE}
    assert made["due_at"].endswith("Z") and made["breached"] is False
    assert [e["event"] for e in made["events"]] == ["filed"]
    told = await message_to(outbox, PHONE)
    assert made["tracking_id"] in told.body

    # Read back by its id, and by its tracking ID as someone reads it off a phone.
    by_id = (await harness.get(f"/v2/cases/{made['id']}")).json()
    spoken = made["tracking_id"].lower().replace("-", " ")
    by_tracking = await harness.get(f"/v2/cases/{spoken}")
    assert by_tracking.status_code == 200, by_tracking.text
    assert by_tracking.json() == by_id

    outbox.clear()
    moved = await update(
        harness,
        made["id"],
        status="in_progress",
        public_message="Tim kami memperbaikinya Kamis ini.",
        update_id="tiket-991",
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["status"] == "in_progress"
    told = await message_to(outbox, PHONE)
    assert "Tim kami memperbaikinya Kamis ini." in told.body
    assert made["tracking_id"] in told.body

    # The same update again (a retry after a timeout) changes nothing and tells nobody.
    again = await update(
        harness,
        made["id"],
        status="in_progress",
        public_message="Tim kami memperbaikinya Kamis ini.",
        update_id="tiket-991",
    )
    assert again.status_code == 200, again.text
    assert len(again.json()["events"]) == len(moved.json()["events"])

    noted = await update(harness, made["id"], internal_note="Regu 2, bawa aspal dingin.")
    assert noted.status_code == 200, noted.text
    last = noted.json()["events"][-1]
    assert (last["event"], last["internal_note"], last["actor"]) == (
        "note", "Regu 2, bawa aspal dingin.", "agency",
    )  # fmt: skip
    assert all("aspal" not in m.body for m in outbox.list()), "a note reached the citizen"
    assert len([m for m in outbox.list() if m.to == PHONE]) == 1

    listed = (await harness.get("/v2/cases", status="in_progress")).json()
    assert [c["tracking_id"] for c in listed["cases"]] == [made["tracking_id"]]
    assert "events" not in listed["cases"][0]
    assert (await harness.get("/v2/cases", status="received")).json()["cases"] == []


async def test_every_change_is_posted_to_the_agency_signed_without_personal_data(
    sqlite_harness: Harness,
) -> None:
    harness = sqlite_harness
    await offer(harness)
    receiver = Receiver(answers=[])
    async with receiver_running(receiver) as url:
        await set_callback(harness.app, harness.agency_id, url, TOKEN)
        made = await filed(harness)
        await case_webhooks(receiver, 1)
        moved = await update(
            harness, made["id"], status="verified", public_message="Sudah kami cek di lokasi."
        )
        assert moved.status_code == 200, moved.text
        await update(harness, made["id"], internal_note="Rahasia dapur: regu 2.")
        webhooks = await case_webhooks(receiver, 3, distinct=True)
    # The reporter's messages send their delivery receipts to the same URL, as ever.
    by_event = {json.loads(body)["event"]: json.loads(body) for _headers, body in webhooks}
    assert sorted(by_event) == ["filed", "note", "status"]
    status = by_event["status"]
    assert status == {
        "type": "case",
        "id": made["id"],
        "tracking_id": made["tracking_id"],
        "event_id": moved.json()["events"][-1]["id"],
        "event": "status",
        "status": "verified",
        "previous_status": "received",
        "public_message": "Sudah kami cek di lokasi.",
        "service_code": SERVICE,
        "updated_at": moved.json()["updated_at"],
    }
    assert by_event["filed"]["status"] == "received"
    for headers, body in webhooks:
        assert headers["authorization"] == f"Bearer {TOKEN}"
        stamp, mac = dict(p.split("=", 1) for p in headers["x-warta-signature"].split(",")).values()
        expected = hmac.new(TOKEN.encode(), f"{stamp}.".encode() + body, hashlib.sha256)
        assert hmac.compare_digest(mac, expected.hexdigest())
        for personal in ("Lubang", "Merdeka", "Budi", "81234567890", "Rahasia dapur"):
            assert personal.encode() not in body, personal


async def test_a_forward_is_posted_to_the_agency_that_gave_the_case_and_the_one_taking_it(
    sqlite_harness: Harness,
) -> None:
    harness = sqlite_harness
    await offer(harness)
    taker = await create_agency(harness.app, "Dinas PU", email_from="pu@uji.go.id")
    receiver = Receiver(answers=[])
    async with receiver_running(receiver) as url:
        await set_callback(harness.app, harness.agency_id, url, TOKEN)
        await set_callback(harness.app, taker.id, url, "token-dinas-pu-yang-panjang-sekali")
        made = await filed(harness)
        moved = await update(harness, made["id"], status="forwarded", forward_to=str(taker.id))
        assert moved.status_code == 200, moved.text
        webhooks = await case_webhooks(receiver, 3)
    forwards = {
        headers["authorization"]: json.loads(body)
        for headers, body in webhooks
        if json.loads(body)["event"] == "forward"
    }
    assert set(forwards) == {f"Bearer {TOKEN}", "Bearer token-dinas-pu-yang-panjang-sekali"}
    assert {f["status"] for f in forwards.values()} == {"forwarded"}


async def test_another_agency_and_the_test_key_neither_see_nor_change_a_case(
    harness: Harness, attacker: uuid.UUID, outbox: Outbox
) -> None:
    await offer(harness)
    made = await filed(harness)
    for key in ("b", "test"):
        seen = await harness.get(f"/v2/cases/{made['id']}", key)
        assert seen.status_code == 404, seen.text
        assert seen.json()["errors"] == [{"error": "NoResultFound", "message": "Case not found"}]
        by_tracking = await harness.get(f"/v2/cases/{made['tracking_id']}", key)
        assert by_tracking.status_code == 404
        changed = await update(harness, made["id"], key, status="rejected", reason="palsu")
        assert changed.status_code == 404, changed.text
        assert (await harness.get("/v2/cases", key)).json()["cases"] == []
    # Nor anyone without a key (a citizen's portal session is no key).
    bare = await harness.client.get(f"/v2/cases/{made['id']}")
    assert bare.status_code == 401 and bare.json()["errors"][0]["error"] == "AuthError"
    # Another agency cannot file on this agency's service either.
    assert (await harness.post("/v2/cases", REPORT, "b")).status_code == 404
    after = (await harness.get(f"/v2/cases/{made['id']}")).json()
    assert after["status"] == "received" and len(after["events"]) == 1

    # The test key's sandbox: its case tells nobody, and the live key never sees it.
    outbox.clear()
    sandbox = await filed(harness, "test", reporter={"phone": "081298765432"})
    assert sandbox["test"] is True
    assert (await harness.get(f"/v2/cases/{sandbox['id']}")).status_code == 404
    assert (await harness.get(f"/v2/cases/{sandbox['id']}", "test")).status_code == 200
    listed = (await harness.get("/v2/cases", "test")).json()["cases"]
    assert [c["id"] for c in listed] == [sandbox["id"]]
    live = (await harness.get("/v2/cases")).json()["cases"]
    assert [c["id"] for c in live] == [made["id"]]
    assert [m for m in outbox.list() if m.to == "+6281298765432"] == []


#: Bodies no case may be filed from, with (words of) the message that says why.
BAD_CASES: dict[str, tuple[dict[str, Any], str]] = {
    "no-description": (
        {k: v for k, v in REPORT.items() if k != "description"},
        "description is a required property",
    ),
    "blank": ({**REPORT, "description": "   "}, "cannot be empty"),
    "too-long": (
        {**REPORT, "description": "x" * 5001},
        "description String should have at most 5000 characters",
    ),
    "lat-off-earth": (
        {**REPORT, "location": {"lat": 95, "long": 107.6}},
        "location.lat Input should be less than or equal to 90",
    ),
    "abroad": (
        {**REPORT, "location": {"lat": 51.5, "long": -0.12}},
        "51.5, long -0.12: not in Indonesia (are they swapped?)",
    ),
    "uuid": ({**REPORT, "citizen_id": "bukan-uuid"}, "citizen_id is not a valid UUID"),
    "unknown-citizen": (
        {**REPORT, "citizen_id": str(uuid.uuid4())},
        "no such citizen known to this agency",
    ),
    "extra": (
        {**REPORT, "priority": "urgent"},
        "Additional properties are not allowed (priority was unexpected)",
    ),
    "nul": (
        {**REPORT, "description": "a\u0000b"},
        "description holds a NUL character (\\u0000), which Warta does not accept in text",
    ),
}
#: Updates refused, with the message, the case left as it was.
BAD_UPDATES: dict[str, tuple[dict[str, Any], str]] = {
    "empty": ({}, "Give a status, a public_message or an internal_note"),
    "unknown-status": (
        {"status": "selesai"},
        "status Input should be 'received', 'verified', 'forwarded', 'in_progress', "
        "'waiting_for_citizen', 'resolved', 'closed', 'rejected', 'duplicate' or 'reopened'",
    ),
    "forward-nowhere": (
        {"status": "forwarded"},
        'forward_to goes with status "forwarded", and only with it',
    ),
    "forward-target-without-status": (
        {"public_message": "x", "forward_to": str(uuid.uuid4())},
        'forward_to goes with status "forwarded", and only with it',
    ),
    "duplicate-of-nothing": (
        {"status": "duplicate"},
        'duplicate_of goes with status "duplicate", and only with it',
    ),
    "reopen": ({"status": "reopened"}, "a case that is received cannot become reopened"),
    "forward-with-note": (
        {"status": "forwarded", "forward_to": str(uuid.uuid4()), "internal_note": "x"},
        "A forward or a duplicate takes a public_message only: send a note apart",
    ),
    "reject-without-reason": (
        {"status": "rejected"},
        "reason a rejection needs a reason the citizen is told",
    ),
    "long-message": (
        {"public_message": "x" * 2001},
        "public_message String should have at most 2000 characters",
    ),
    "forward-to-nobody": (
        {"status": "forwarded", "forward_to": str(uuid.uuid4())},
        "not found",
    ),
}


def refusal(answer: httpx.Response, message: str) -> str | None:
    """What is wrong with ``answer`` as a 400 with one error saying ``message`` (the
    service's own checks name the field their own way: the words are what matter)."""
    if answer.status_code != 400:
        return f"{answer.status_code} {answer.text[:200]}"
    errors = answer.json()["errors"]
    if len(errors) != 1 or message not in errors[0]["message"]:
        return f"400 {errors}"
    return None


async def test_malformed_cases_and_updates_are_refused_and_change_nothing(
    sqlite_harness: Harness,
) -> None:
    harness = sqlite_harness
    await offer(harness)
    wrong = []
    for name, (body, message) in BAD_CASES.items():
        if problem := refusal(await harness.post("/v2/cases", body), message):
            wrong.append(f"case {name}: {problem}")
    assert (await harness.get("/v2/cases")).json()["cases"] == []
    huge = await harness.post("/v2/cases", {**REPORT, "description": "x" * 2_600_000})
    assert huge.status_code == 413, huge.text

    made = await filed(harness)
    for name, (body, message) in BAD_UPDATES.items():
        if problem := refusal(await update(harness, made["id"], **body), message):
            wrong.append(f"update {name}: {problem}")
    assert wrong == [], "\n".join(wrong)
    after = (await harness.get(f"/v2/cases/{made['id']}")).json()
    assert after["events"] == made["events"] and after["status"] == "received"


async def test_a_forwarded_case_belongs_to_the_other_agency_and_a_duplicate_is_merged(
    harness: Harness,
) -> None:
    await offer(harness)
    other = await create_agency(harness.app, "Dinas PU Provinsi", sms_sender="DINASPU")
    harness.keys["pu"] = other.live_key
    await offer(harness, other.id, "jalan-provinsi")
    first, second, third = [await filed(harness) for _ in range(3)]

    moved = await update(
        harness, first["id"], status="forwarded", forward_to=str(other.id),
        public_message="Jalan provinsi: kami teruskan ke Dinas PU Provinsi.",
    )  # fmt: skip
    assert moved.status_code == 200, moved.text
    assert (await harness.get(f"/v2/cases/{first['id']}")).status_code == 404
    theirs = (await harness.get(f"/v2/cases/{first['id']}", "pu")).json()
    assert theirs["status"] == "forwarded" and theirs["agency_id"] == str(other.id)

    merged = await update(
        harness, third["id"], status="duplicate", duplicate_of=second["tracking_id"]
    )
    assert merged.status_code == 200, merged.text
    assert merged.json()["status"] == "duplicate"
    assert merged.json()["duplicate_of"] == second["tracking_id"]


async def test_a_photo_is_shown_to_the_owning_agency_only(sqlite_harness: Harness) -> None:
    harness = sqlite_harness
    await offer(harness)
    other = await create_agency(harness.app, "Dinas Lain", sms_sender="LAIN")
    harness.keys["b"] = other.live_key
    png = io.BytesIO()
    PIL.Image.new("RGB", (40, 30), "red").save(png, "PNG")
    counter = Actor("agency", agency_id=harness.agency_id)  # taken at the counter
    new = NewCase(SERVICE, "Lubang di depan loket.", photos=[png.getvalue()])
    made = await filing.file_case(harness.app, counter, new)

    [photo] = (await harness.get(f"/v2/cases/{made.id}")).json()["photos"]
    assert (photo["content_type"], photo["width"], photo["height"]) == ("image/png", 40, 30)
    path = photo["uri"].removeprefix("http://warta.test")
    got = await harness.get(path)
    assert (got.status_code, got.headers["content-type"]) == (200, "image/png")
    assert got.headers["x-content-type-options"] == "nosniff"
    assert PIL.Image.open(io.BytesIO(got.content)).size == (40, 30)
    for key in ("b", "test"):
        assert (await harness.get(path, key)).status_code == 404, key
    assert (await harness.get(f"/v2/cases/{made.id}/photos/{uuid.uuid4()}")).status_code == 404


async def test_a_registered_citizen_is_told_on_the_channel_they_chose(
    harness: Harness, outbox: Outbox
) -> None:
    await offer(harness)
    sri = await register(harness, outbox, channels=["email", "sms"])
    made = await filed(harness, citizen_id=sri["id"], reporter=None)
    assert made["citizen_id"] == sri["id"] and made["reporter"] is None
    filed_mail = await message_to(outbox, EMAIL)
    assert made["tracking_id"] in filed_mail.body
    outbox.clear()

    moved = await update(
        harness, made["id"], status="waiting_for_citizen",
        public_message="Mohon kirim foto lubangnya dari dekat.",
    )  # fmt: skip
    assert moved.status_code == 200, moved.text
    told = await message_to(outbox, EMAIL)
    assert "Mohon kirim foto lubangnya dari dekat." in told.body
    assert made["tracking_id"] in told.body
    assert [m.to for m in outbox.list()] == [EMAIL]  # one message, by email, not SMS
