"""What an agency learns of a citizen by sending to them, and which citizens a key reaches,
through the public API and the console (SQLite and PostgreSQL). Each attack: the attempt,
and what the agency would see.

Two agencies: "Dinas Uji" (the harness's), which registered the citizen and proved their
phone and address (the citizen then made both their own), and "Dinas Penyerang", which
only linked to the citizen by NIK. A message goes to the contact routing chooses; the
agency reads its recipient back in ``GET /v2/notifications``, the console and its
delivery-receipt callback, in clear only if it added that contact itself."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from tests.integration import console
from tests.integration.harness import (
    Clock,
    Harness,
    Receiver,
    code_in,
    message_to,
    receiver_running,
    recording,
)
from warta.domain.channels import Channel
from warta.services import citizen_self, citizens
from warta.services.admin import create_template, set_callback
from warta.store.outbox import Outbox

NIK = "3273014101900002"
NAME = "Sri Wahyuni"
PHONE, EMAIL = "+6281234567890", "sri@contoh.id"
MASKED_PHONE, MASKED_EMAIL = "+62812****7890", "s***@contoh.id"
#: The citizen's contact in any form an agency could recognise it.
CONTACT_SECRETS = (PHONE, PHONE.removeprefix("+62"), "081234567890", EMAIL)
PLAIN_NUMBER = "+6281298760000"  # a number the attacking agency gave itself
#: Fills every template here, the harness's and the other agency's.
PERSONAL = {"nama": "Sri", "nomor": "7", "jenis": "KTP", "nopol": "D 1234 XY", "tanggal": "5 Des"}
NOT_FOUND = {
    "status_code": 404,
    "errors": [{"error": "NoResultFound", "message": "Citizen not found"}],
}


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 12, 1, 3, 0, tzinfo=UTC))  # 10:00 WIB: not quiet hours


@pytest.fixture
def channels(outbox: Outbox) -> dict[str, Channel]:
    return recording(outbox)


def nothing_of_the_contacts(text: str) -> bool:
    return not [s for s in CONTACT_SECRETS if s in text]


async def victim(harness: Harness, outbox: Outbox) -> str:
    """A citizen Dinas Uji registered, whose phone and address it proved with the codes they
    received and the citizen then confirmed as their own; returns the citizen's id."""
    body = {
        "nik": NIK,
        "name": NAME,
        "region_code": "32.73.01.1001",
        "phone_numbers": [PHONE],
        "email_addresses": [EMAIL],
        "preferences": {"channels": ["email", "sms"]},
    }
    made = await harness.post("/v2/citizens", body)
    assert made.status_code == 201, made.text
    citizen = made.json()
    for contact in citizen["contacts"]:
        outbox.clear()
        path = f"/v2/citizens/{citizen['id']}/contacts"
        added = await harness.post(path, {"type": contact["type"], "value": contact["value"]})
        assert added.status_code == 201, added.text
        code = await message_to(outbox, contact["value"])
        verify = f"{path}/{contact['id']}/verify"
        assert (await harness.post(verify, {"code": code_in(code.body)})).status_code == 200
        await citizen_self.make_own_unchecked(
            harness.app, uuid.UUID(citizen["id"]), uuid.UUID(contact["id"])
        )
    outbox.clear()
    return str(citizen["id"])


async def templates_of(harness: Harness, agency_id: uuid.UUID) -> tuple[str, str]:
    """This agency's template for citizens (a body per channel, so it goes by the one
    they prefer) and an SMS template for numbers."""
    multi = await create_template(
        harness.app, agency_id, kind="multi", name="dokumen", subject="Dokumen ((jenis))",
        body="Dokumen ((jenis)) Anda siap diambil.", sms_body="Dokumen ((jenis)) siap.",
    )  # fmt: skip
    sms = await create_template(
        harness.app, agency_id, kind="sms", name="antrean", subject=None,
        body="Antrean Anda nomor ((nomor)).",
    )  # fmt: skip
    return str(multi.id), str(sms.id)


async def prefers(harness: Harness, citizen_id: str, *channels: str) -> None:
    """The citizen orders their channels (in the portal, as only they may)."""
    chosen = citizens.Preferences(channels=channels, quiet_start=None, quiet_end=None)
    await citizen_self.set_preferences(harness.app, uuid.UUID(citizen_id), chosen, "id")


async def send(harness: Harness, key: str, template: str, **to: str) -> str:
    """A message to a citizen (``citizen_id``/``nik``) or, with ``phone_number``, to a
    number; returns its id once it is delivered."""
    body = {"template_id": template, "personalisation": PERSONAL, **to}
    path = "/v2/notifications/sms" if "phone_number" in to else "/v2/notifications"
    sent = await harness.post(path, body, key)
    assert sent.status_code == 201, sent.text
    await harness.wait_status(sent.json()["id"], "delivered")
    return str(sent.json()["id"])


def recipient(shown: dict[str, Any]) -> str | None:
    return shown["phone_number"] or shown["email_address"]


async def read_back(harness: Harness, key: str, notification_id: str) -> tuple[str, str, str]:
    """The recipient of a notification as the agency reads it: (one, in the list, the raw
    text of both answers)."""
    one = await harness.get(f"/v2/notifications/{notification_id}", key)
    listed = await harness.get("/v2/notifications", key)
    assert one.status_code == 200 and listed.status_code == 200
    [row] = [n for n in listed.json()["notifications"] if n["id"] == notification_id]
    text = one.text + listed.text
    return recipient(one.json()) or "", recipient(row) or "", text


async def callback_to(receiver: Receiver, notification_id: str) -> str:
    """The ``to`` of the delivery-receipt callback for this notification."""
    deadline = time.monotonic() + 10
    while True:
        for _, body in receiver.requests:
            sent = json.loads(body)
            if sent["id"] == notification_id:
                return str(sent["to"])
        assert time.monotonic() < deadline, "no callback for the notification"
        await asyncio.sleep(0.05)


# -- reading a citizen's contact back from one's own notifications ------------------------


async def test_a_linked_agency_reads_the_citizens_contacts_masked_everywhere(
    harness: Harness, outbox: Outbox, attacker: uuid.UUID, multi_template: str
) -> None:
    cid = await victim(harness, outbox)
    linked = await harness.post("/v2/citizens", {"nik": NIK, "name": "x", "region_code": "32"}, "b")
    assert linked.status_code == 200 and linked.json()["id"] == cid
    theirs, sms = await templates_of(harness, attacker)
    receiver = Receiver(answers=[])
    async with receiver_running(receiver) as url:
        await set_callback(harness.app, attacker, url, "token-penyerang")
        await set_callback(harness.app, harness.agency_id, url, "token-dinas-uji")

        # The attacker messages the citizen by email and, once they prefer it, by SMS;
        # the messages arrive ...
        by_email = await send(harness, "b", theirs, nik=NIK)
        await prefers(harness, cid, "sms", "email")
        by_sms = await send(harness, "b", theirs, citizen_id=cid)
        assert {m.to for m in outbox.list()} == {PHONE, EMAIL}

        # ... and it reads back the phone and the address masked, as it sees the citizen's
        # contacts: in the notification, the list and the delivery receipt.
        for notification_id, masked in ((by_sms, MASKED_PHONE), (by_email, MASKED_EMAIL)):
            one, in_list, text = await read_back(harness, "b", notification_id)
            assert (one, in_list) == (masked, masked)
            assert nothing_of_the_contacts(text)
            assert await callback_to(receiver, notification_id) == masked

        # A message it sends to a number it gave itself still shows that number.
        plain = await send(harness, "b", sms, phone_number="0812-9876-0000")
        assert (await read_back(harness, "b", plain))[:2] == (PLAIN_NUMBER, PLAIN_NUMBER)
        assert await callback_to(receiver, plain) == PLAIN_NUMBER

        # The agency that added the phone and the address reads them in clear.
        ours = await send(harness, "live", multi_template, citizen_id=cid)
        assert (await read_back(harness, "live", ours))[:2] == (PHONE, PHONE)
        assert await callback_to(receiver, ours) == PHONE
        await prefers(harness, cid, "email", "sms")
        ours_by_email = await send(harness, "live", multi_template, nik=NIK)
        assert (await read_back(harness, "live", ours_by_email))[:2] == (EMAIL, EMAIL)
        assert await callback_to(receiver, ours_by_email) == EMAIL
    assert len(receiver.requests) == 5  # one receipt each, to the agency that sent it

    # The console shows each agency the same: the attacker's staff, masked.
    staff = await console.sign_in(replace(harness, agency_id=attacker), email="b@serang.go.id")
    listing = console.text_of((await staff.client.get("/console/notifications")).text)
    assert listing.count(MASKED_PHONE) == 1 and listing.count(MASKED_EMAIL) == 1
    assert PLAIN_NUMBER in listing and nothing_of_the_contacts(listing)
    for notification_id, masked in ((by_sms, MASKED_PHONE), (by_email, MASKED_EMAIL)):
        page = (await staff.client.get(f"/console/notifications/{notification_id}")).text
        assert masked in console.text_of(page) and nothing_of_the_contacts(page)
    # Searching for a guessed phone finds nothing: a match would confirm it is theirs.
    found = await staff.client.get("/console/notifications", params={"recipient": PHONE})
    assert found.status_code == 200 and by_sms not in found.text
    assert nothing_of_the_contacts(console.text_of(found.text))
    await staff.client.aclose()
    mine = await console.sign_in(harness)
    # The agency that added the phone finds its message by it.
    found = await mine.client.get("/console/notifications", params={"recipient": PHONE})
    assert ours in found.text
    listing = console.text_of((await mine.client.get("/console/notifications")).text)
    assert PHONE in listing and EMAIL in listing and "****" not in listing
    page = (await mine.client.get(f"/console/notifications/{ours}")).text
    assert PHONE in console.text_of(page)
    await mine.client.aclose()


async def test_an_agency_reads_in_clear_the_contact_it_added_itself(
    harness: Harness, outbox: Outbox, attacker: uuid.UUID
) -> None:
    """The linked agency proves a phone the citizen gave at its counter: its messages go
    there, and it reads that phone, which it supplied, in clear; the citizen's own address
    stays masked."""
    cid = await victim(harness, outbox)
    await harness.post("/v2/citizens", {"nik": NIK, "name": "x", "region_code": "32"}, "b")
    counter = "+6281255554444"
    added = await harness.post(
        f"/v2/citizens/{cid}/contacts", {"type": "sms", "value": counter}, "b"
    )
    assert added.status_code == 201, added.text
    code = await message_to(outbox, counter)
    path = f"/v2/citizens/{cid}/contacts/{added.json()['id']}/verify"
    assert (await harness.post(path, {"code": code_in(code.body)}, "b")).status_code == 200
    theirs, _ = await templates_of(harness, attacker)
    await prefers(harness, cid, "sms", "email")
    outbox.clear()
    by_sms = await send(harness, "b", theirs, citizen_id=cid)
    assert [m.to for m in await outbox.wait_for(1)] == [counter]
    assert (await read_back(harness, "b", by_sms))[:2] == (counter, counter)
    await prefers(harness, cid, "email", "sms")
    by_email = await send(harness, "b", theirs, citizen_id=cid)
    assert (await read_back(harness, "b", by_email))[:2] == (MASKED_EMAIL, MASKED_EMAIL)


# -- test keys reach only their sandbox; other keys never reach it -------------------------


async def test_a_test_key_sends_only_to_its_own_sandbox_citizens(
    harness: Harness, outbox: Outbox, attacker: uuid.UUID, multi_template: str
) -> None:
    cid = await victim(harness, outbox)
    await harness.post("/v2/citizens", {"nik": NIK, "name": "x", "region_code": "32"}, "b")
    template = {"live": multi_template, "b": (await templates_of(harness, attacker))[0]}

    async def attempt(key: str, **to: str) -> httpx.Response:
        """A send to a citizen, with a template of the key's agency."""
        mine = template["b" if key.startswith("b") else "live"]
        body = {"template_id": mine, "personalisation": PERSONAL, **to}
        return await harness.post("/v2/notifications", body, key)

    # A real citizen, by id or by NIK, is unknown to a test key: its own agency's (which
    # registered them) and a linked agency's alike. Nothing is stored, nothing sent.
    for key in ("test", "b_test"):
        for to in ({"citizen_id": cid}, {"nik": NIK}):
            refused = await attempt(key, **to)
            assert (refused.status_code, refused.json()) == (404, NOT_FOUND), (key, to)
        assert (await harness.get("/v2/notifications", key)).json()["notifications"] == []
    await asyncio.sleep(0.2)
    assert len(outbox) == 0

    # The test key's own sandbox citizen, with the same NIK: reached by id and by NIK.
    made = await harness.post(
        "/v2/citizens",
        {"nik": NIK, "name": "Uji Coba", "region_code": "32.73", "phone_numbers": [PHONE]},
        "test",
    )
    assert made.status_code == 201 and made.json()["id"] != cid
    sandbox = made.json()
    [phone] = sandbox["contacts"]
    contacts = f"/v2/citizens/{sandbox['id']}/contacts"
    assert (await harness.post(contacts, {"type": "sms", "value": PHONE}, "test")).is_success
    verify = f"{contacts}/{phone['id']}/verify"  # a sandbox's code is always 000000
    assert (await harness.post(verify, {"code": "000000"}, "test")).status_code == 200
    for to in ({"citizen_id": sandbox["id"]}, {"nik": NIK}):
        sent = await attempt("test", **to)
        assert sent.status_code == 201 and sent.json()["citizen_id"] == sandbox["id"], sent.text
        await harness.wait_status(sent.json()["id"], "delivered")
        shown = (await harness.get(f"/v2/notifications/{sent.json()['id']}", "test")).json()
        assert shown["phone_number"] == PHONE  # the test key added it: in clear
    await asyncio.sleep(0.2)
    assert len(outbox) == 0  # simulated: the real phone got nothing

    # Another agency's test key and any live key never reach a sandbox citizen; by NIK a
    # live key reaches the real citizen.
    for key in ("b_test", "live", "team", "b"):
        refused = await attempt(key, citizen_id=sandbox["id"])
        assert (refused.status_code, refused.json()) == (404, NOT_FOUND), key
    real = await attempt("live", nik=NIK)
    assert real.status_code == 201 and real.json()["citizen_id"] == cid


async def broadcast(harness: Harness, key: str, template: str) -> dict[str, Any]:
    """A broadcast to the citizens of Kota Bandung (32.73), once it has fanned out."""
    body = {"template_id": template, "region": "32.73", "personalisation": PERSONAL}
    made = await harness.post("/v2/broadcasts", body, key)
    assert made.status_code == 201, made.text
    deadline = time.monotonic() + 10
    while (shown := (await harness.get(f"/v2/broadcasts/{made.json()['id']}", key)).json())[
        "status"
    ] != "done":
        assert time.monotonic() < deadline, shown
        await asyncio.sleep(0.1)
    return dict(shown)


async def reached(harness: Harness, key: str, broadcast_id: str) -> set[str]:
    """The citizens a broadcast made messages for, as the key's notification list shows."""
    listed = (await harness.get("/v2/notifications", key)).json()["notifications"]
    return {n["citizen_id"] for n in listed if n.get("broadcast_id") == broadcast_id}


async def test_a_test_key_broadcast_reaches_only_its_agencys_sandbox(
    harness: Harness, outbox: Outbox, attacker: uuid.UUID, multi_template: str
) -> None:
    cid = await victim(harness, outbox)
    sandbox = await harness.post(
        "/v2/citizens", {"nik": "3273015505920001", "name": "Uji", "region_code": "32.73"}, "test"
    )
    assert sandbox.status_code == 201
    sandbox_id = sandbox.json()["id"]
    tested = await broadcast(harness, "test", multi_template)
    assert tested["recipients"] == 1
    assert await reached(harness, "test", tested["id"]) == {sandbox_id}
    live = await broadcast(harness, "live", multi_template)
    assert live["recipients"] == 1
    assert await reached(harness, "live", live["id"]) == {cid}
    # Another agency's test key has no sandbox citizens there: it reaches nobody, though a
    # real citizen it is linked to lives in the region.
    await harness.post("/v2/citizens", {"nik": NIK, "name": "x", "region_code": "32"}, "b")
    theirs = await broadcast(harness, "b_test", (await templates_of(harness, attacker))[0])
    assert theirs["recipients"] == 0
    assert await reached(harness, "b_test", theirs["id"]) == set()
    [message] = await outbox.wait_for(1)  # only the live broadcast sent anything
    await asyncio.sleep(0.2)
    assert (len(outbox), message.to) == (1, EMAIL)
