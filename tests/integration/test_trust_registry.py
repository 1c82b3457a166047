"""Attacks on the shared citizen registry by another agency, through the public API and the
portal (SQLite and PostgreSQL): the takeover chain of issue 14 step by step, squatting a
NIK, a test key reaching for real citizens, and the limits around them. Each attack: the
attempt, and what the attacker, the real agency and the citizen would notice.

Two agencies: "Dinas Uji" (the harness's, which knows the citizen) and "Dinas Penyerang",
hostile, with its own live and test keys."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from tests.integration.harness import (
    Clock,
    Harness,
    auth_header,
    code_in,
    message_to,
    next_event,
    recording,
)
from tests.integration.portal_forms import post_form, sign_in
from warta.devpeers.loopback import serve_asgi
from warta.domain.channels import Channel
from warta.services import citizen_self, citizens
from warta.services.admin import create_agency, create_template
from warta.services.citizens.importing import CitizenImport, CsvFile
from warta.store.outbox import CapturedMessage, Outbox

NIK = "3273014101900002"
NAME = "Sri Wahyuni"
PHONE, EMAIL = "+6281234567890", "sri@contoh.id"
ATTACKER_EMAIL, ATTACKER_PHONE = "penyerang@jahat.id", "+6289912345678"
#: What of the citizen an attacker must never read: name, NIK, phone and address.
SECRETS = (NAME, NIK, PHONE, PHONE.removeprefix("+62"), EMAIL)
PERSONAL = {"nama": "Sri", "nopol": "D 1234 XY", "tanggal": "5 Desember"}
CITIZENS_OWN = "This contact is the citizen's own: only they can change or remove it, in the portal"
NEEDS_CITIZEN = (
    "Preferences belong to the citizen: send them a code "
    "(POST /v2/citizens/{id}/presence-codes) and give the code they read out as code"
)
WRONG_PRESENCE = (
    "The code is not right or has expired: the citizen must give the code they received"
)


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 12, 1, 3, 0, tzinfo=UTC))  # 10:00 WIB: not quiet hours


@pytest.fixture
def channels(outbox: Outbox) -> dict[str, Channel]:
    return recording(outbox)


def error(response: httpx.Response, status: int, name: str, message: str) -> bool:
    """Notify's error body, exactly."""
    return response.status_code == status and response.json() == {
        "status_code": status,
        "errors": [{"error": name, "message": message}],
    }


def nothing_of_the_citizen(text: str) -> bool:
    return not [s for s in SECRETS if s in text]


def to(messages: Iterable[CapturedMessage], address: str) -> list[CapturedMessage]:
    return [m for m in messages if m.to == address]


async def verify(
    harness: Harness, outbox: Outbox, citizen_id: str, kind: str, value: str, key: str = "live"
) -> dict[str, Any]:
    """Add a contact and prove it with the code it received, as an officer does with the
    citizen at the counter; returns the contact as the agency's answer shows it."""
    outbox.clear()
    added = await harness.post(
        f"/v2/citizens/{citizen_id}/contacts", {"type": kind, "value": value}, key
    )
    assert added.status_code == 201, added.text
    code = await message_to(outbox, value)
    path = f"/v2/citizens/{citizen_id}/contacts/{added.json()['id']}/verify"
    verified = await harness.post(path, {"code": code_in(code.body)}, key)
    assert verified.status_code == 200, verified.text
    return dict(added.json())


async def victim(harness: Harness, outbox: Outbox) -> dict[str, Any]:
    """A citizen "Dinas Uji" registered, whose phone and address are their own (as every
    contact verified before issue 14 became, or as the citizen confirms in the portal)."""
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
    citizen = dict(made.json())
    for contact in citizen["contacts"]:
        await verify(harness, outbox, citizen["id"], contact["type"], contact["value"])
        await citizen_self.make_own_unchecked(
            harness.app, uuid.UUID(citizen["id"]), uuid.UUID(contact["id"])
        )
    outbox.clear()
    return citizen


async def template_of(harness: Harness, agency_id: uuid.UUID) -> str:
    made = await create_template(
        harness.app, agency_id, kind="multi", name="pajak", subject="Pajak ((nopol))",
        body="Yth. ((nama)), pajak ((nopol)) jatuh tempo ((tanggal)).",
        sms_body="Pajak ((nopol)) jatuh tempo ((tanggal)).",
    )  # fmt: skip
    return str(made.id)


async def delivered_to(
    harness: Harness, outbox: Outbox, template: str, citizen_id: str, key: str = "live"
) -> str:
    """Where the agency's next message to the citizen went."""
    outbox.clear()
    body = {"citizen_id": citizen_id, "template_id": template, "personalisation": PERSONAL}
    sent = await harness.post("/v2/notifications", body, key)
    assert sent.status_code == 201, sent.text
    await harness.wait_status(sent.json()["id"], "delivered")
    [message] = await outbox.wait_for(1)
    return message.to


# -- the takeover chain --------------------------------------------------------------------


async def test_the_takeover_chain_is_refused_or_harmless_at_every_step(
    harness: Harness, outbox: Outbox, attacker: uuid.UUID, multi_template: str
) -> None:
    citizen = await victim(harness, outbox)
    cid = citizen["id"]

    # 1. Another agency's citizen's NIK, with a test key: a sandbox citizen of its own.
    probe = await harness.post(
        "/v2/citizens", {"nik": NIK, "name": "Siapa", "region_code": "32.73"}, "b_test"
    )
    assert probe.status_code == 201 and probe.json()["id"] != cid  # no link, no collision
    assert nothing_of_the_citizen(probe.text.replace(probe.json()["nik"], ""))
    assert (await harness.get(f"/v2/citizens/{cid}", "b_test")).status_code == 404

    # 2. With its live key: a link, with the masked NIK and nothing else.
    link = {"nik": NIK, "name": "Nama Palsu", "region_code": "31.71", "language": "en"}
    linked = await harness.post("/v2/citizens", link, "b")
    assert linked.status_code == 200 and nothing_of_the_citizen(linked.text)
    shown = linked.json()
    assert (shown["id"], shown["nik"], shown["registrant"]) == (cid, "3273**********02", False)
    assert [shown[f] for f in ("name", "region_code", "time_zone", "language")] == [None] * 4
    assert (shown["contacts"], shown["preferences"]) == ([], None)
    seen = await harness.get(f"/v2/citizens/{cid}", "b")
    assert nothing_of_the_citizen(seen.text)
    assert sorted((c["type"], c["value"], c["owner"]) for c in seen.json()["contacts"]) == [
        ("email", "s***@contoh.id", "citizen"),
        ("sms", "+62812****7890", "citizen"),
    ]
    record = (await harness.get(f"/v2/citizens/{cid}")).json()  # the registrant's view
    assert (record["name"], record["region_code"], record["language"]) == (
        NAME, "32.73.01.1001", "id"
    )  # fmt: skip

    # 3. It adds its own address: the code goes there, never into an answer; the citizen
    # is told on their own phone and address, with how to refuse it.
    added = await harness.post(
        f"/v2/citizens/{cid}/contacts", {"type": "email", "value": ATTACKER_EMAIL}, "b"
    )
    assert added.status_code == 201 and "code" not in added.json()
    assert added.json()["owner"] == "agency"
    messages = await outbox.wait_for(3)
    [code] = to(messages, ATTACKER_EMAIL)
    assert code_in(code.body) not in added.text
    for notice in to(messages, PHONE) + to(messages, EMAIL):
        assert "Dinas Penyerang" in notice.body and "p***@jahat.id" in notice.body
        assert "/portal/contacts" in notice.body and ATTACKER_EMAIL not in notice.body
    assert sorted(m.channel for m in messages if m.to != ATTACKER_EMAIL) == ["email", "sms"]

    # 4. Verified, it is the attacker's alone: the other agency's message still goes to
    # the citizen's own address.
    path = f"/v2/citizens/{cid}/contacts/{added.json()['id']}"
    assert (await harness.post(f"{path}/verify", {"code": code_in(code.body)}, "b")).is_success
    assert "jahat" not in (await harness.get(f"/v2/citizens/{cid}")).text
    assert await delivered_to(harness, outbox, multi_template, cid) == EMAIL

    # 5. Removing or re-proving the real address: refused.
    real = next(c for c in seen.json()["contacts"] if c["type"] == "email")
    removed = await harness.client.delete(
        f"/v2/citizens/{cid}/contacts/{real['id']}", headers=_auth(harness, "b")
    )
    assert error(removed, 403, "AuthError", CITIZENS_OWN)
    again = await harness.post(
        f"/v2/citizens/{cid}/contacts/{real['id']}/verify", {"code": "123456"}, "b"
    )
    assert error(again, 403, "AuthError", CITIZENS_OWN)
    assert await delivered_to(harness, outbox, multi_template, cid) == EMAIL

    # 6. Reordering the channels: refused without the code the citizen received.
    reorder = {"channels": ["email"], "quiet_hours": None}
    put = f"/v2/citizens/{cid}/preferences"
    assert error(await _put(harness, put, reorder, "b"), 403, "AuthError", NEEDS_CITIZEN)
    outbox.clear()
    asked = await harness.post(f"/v2/citizens/{cid}/presence-codes", {}, "b")
    assert asked.status_code == 201 and asked.json()["contact"]["value"] == "s***@contoh.id"
    [presence] = await outbox.wait_for(1)  # to the citizen, who does not give it away
    assert presence.to == EMAIL and code_in(presence.body) not in asked.text
    guess = await _put(harness, put, {**reorder, "code": "123456"}, "b")
    assert error(guess, 403, "AuthError", WRONG_PRESENCE)

    # 7. Signing in to the citizen's portal with the attacker's address: no code, no session.
    outbox.clear()
    challenge = await harness.client.post("/portal/api/sign-in", json={"contact": ATTACKER_EMAIL})
    assert challenge.status_code == 200
    await asyncio.sleep(0.3)  # the code would go after the answer
    assert to(outbox.list(), ATTACKER_EMAIL) == []
    signed = await harness.client.post(
        "/portal/api/sign-in/verify",
        json={"challenge": challenge.json()["challenge"], "code": code_in(code.body)},
    )
    assert signed.status_code == 400 and "token" not in signed.json()

    # 8. The citizen sees who added it (masked: not yet theirs), refuses it in the portal
    # with one click, and it is gone.
    await sign_in(harness, outbox)
    page = await harness.client.get("/portal/contacts")
    assert "p***@jahat.id" in page.text and "Ditambahkan oleh Dinas Penyerang" in page.text
    assert ATTACKER_EMAIL not in page.text and EMAIL in page.text  # their own: in clear
    forged = await harness.client.post(  # another site's form: no session token
        "/portal/contacts/refuse", data={"contact_id": added.json()["id"]}
    )
    assert (
        forged.status_code == 403
        and "p***@jahat.id" in (await harness.client.get("/portal/contacts")).text
    )
    refused = await post_form(
        harness, "/portal/contacts", "/portal/contacts/refuse", contact_id=added.json()["id"]
    )
    assert (refused.status_code, refused.headers["location"]) == (303, "/portal/contacts?saved")
    assert "p***@jahat.id" not in (await harness.client.get("/portal/contacts")).text
    gone = await harness.post(f"{path}/verify", {"code": code_in(code.body)}, "b")
    assert error(gone, 404, "NoResultFound", "Contact not found")
    assert "jahat" not in (await harness.get(f"/v2/citizens/{cid}", "b")).text


def _auth(harness: Harness, key: str) -> dict[str, str]:
    return auth_header(harness.keys[key])


async def _put(harness: Harness, path: str, body: dict[str, Any], key: str) -> httpx.Response:
    return await harness.client.put(path, json=body, headers=_auth(harness, key))


# -- squatting -----------------------------------------------------------------------------


async def test_a_squatter_registering_first_never_reaches_the_real_agency(
    harness: Harness, outbox: Outbox, attacker: uuid.UUID, multi_template: str
) -> None:
    fake = {"nik": NIK, "name": "Nama Palsu", "region_code": "31.71", "phone_numbers": []}
    squatted = await harness.post("/v2/citizens", fake, "b")
    assert squatted.status_code == 201
    cid = squatted.json()["id"]
    await verify(harness, outbox, cid, "sms", ATTACKER_PHONE, "b")
    outbox.clear()

    real = {"nik": NIK, "name": NAME, "region_code": "32.73.01.1001", "phone_numbers": [PHONE]}
    linked = await harness.post("/v2/citizens", real)
    assert linked.status_code == 200 and linked.json()["id"] == cid
    # Neither the fake name nor the squatter's phone, even masked, reaches the real agency.
    for text in (linked.text, (await harness.get(f"/v2/citizens/{cid}")).text):
        assert "Palsu" not in text and "9912345678" not in text and "****5678" not in text
    [mine] = linked.json()["contacts"]
    assert (mine["value"], mine["owner"], mine["verified"]) == (PHONE, "agency", False)
    await asyncio.sleep(0.2)
    assert len(outbox) == 0  # nobody to tell: the squatter's phone is not the citizen's

    # The real agency proves the phone the citizen gave it; its messages go there.
    await verify(harness, outbox, cid, "sms", PHONE)
    assert await delivered_to(harness, outbox, multi_template, cid) == PHONE
    # As the registrant, the squatter's phone is the record's first own contact and opens
    # its portal, but what the real agency sent to its own phone is not in it (nor in the
    # events or the download: ``test_a_squatter_signed_in_never_reads_the_real_agencys_
    # messages``).
    token = await signed_in(harness, outbox, ATTACKER_PHONE)
    inbox = await harness.client.get("/portal/api/inbox", headers=_bearer(token))
    assert inbox.status_code == 200 and inbox.json()["messages"] == []


# -- the test-key sandbox ------------------------------------------------------------------


async def test_a_test_key_never_touches_a_real_citizen(
    harness: Harness, outbox: Outbox, attacker: uuid.UUID
) -> None:
    citizen = await victim(harness, outbox)
    cid = citizen["id"]
    await harness.post("/v2/citizens", {"nik": NIK, "name": "x", "region_code": "32"}, "b")
    for key in ("test", "b_test"):  # its own agency's test key, and a linked one's
        assert (await harness.get(f"/v2/citizens/{cid}", key)).status_code == 404
        assert (await harness.get("/v2/citizens", key, nik=NIK)).status_code == 404
        for path, body in [
            ("contacts", {"type": "sms", "value": ATTACKER_PHONE}),
            ("consents", {"granted": False, "source": "x", "text_shown": "x"}),
            ("presence-codes", {}),
        ]:
            answer = await harness.post(f"/v2/citizens/{cid}/{path}", body, key)
            assert answer.status_code == 404, (key, path)
        patched = await harness.client.patch(
            f"/v2/citizens/{cid}", json={"name": "x"}, headers=_auth(harness, key)
        )
        assert patched.status_code == 404

    # Registering the NIK makes a sandbox citizen: the collision is never revealed.
    made = await harness.post(
        "/v2/citizens",
        {"nik": NIK, "name": "Uji Coba", "region_code": "32.73", "phone_numbers": [PHONE]},
        "test",
    )
    assert made.status_code == 201 and made.json()["id"] != cid
    sandbox = made.json()
    assert sandbox["name"] == "Uji Coba" and sandbox["registrant"] is True
    assert (await harness.get("/v2/citizens", "test", nik=NIK)).json()["id"] == sandbox["id"]
    assert (await harness.get("/v2/citizens", nik=NIK)).json()["id"] == cid
    assert (await harness.get(f"/v2/citizens/{sandbox['id']}")).status_code == 404
    assert (await harness.get(f"/v2/citizens/{sandbox['id']}", "b_test")).status_code == 404

    # Its contacts send nothing (not to the real phone either): every code is 000000.
    [phone] = sandbox["contacts"]
    added = await harness.post(
        f"/v2/citizens/{sandbox['id']}/contacts", {"type": "sms", "value": PHONE}, "test"
    )
    assert added.status_code == 201 and added.json()["code_notification_id"] is None
    path = f"/v2/citizens/{sandbox['id']}/contacts/{phone['id']}/verify"
    wrong = await harness.post(path, {"code": "111111"}, "test")
    assert error(wrong, 400, "BadRequestError", "The code is not right")
    assert (await harness.post(path, {"code": "000000"}, "test")).status_code == 200
    other = await harness.post(
        f"/v2/citizens/{sandbox['id']}/contacts", {"type": "sms", "value": ATTACKER_PHONE}, "test"
    )
    other_path = f"/v2/citizens/{sandbox['id']}/contacts/{other.json()['id']}/verify"
    assert (await harness.post(other_path, {"code": "000000"}, "test")).status_code == 200
    await asyncio.sleep(0.2)
    assert len(outbox) == 0

    # A sandbox contact opens no portal, and the real citizen is unchanged.
    await harness.client.post("/portal/api/sign-in", json={"contact": ATTACKER_PHONE})
    await asyncio.sleep(0.3)
    assert len(outbox) == 0
    real = (await harness.get(f"/v2/citizens/{cid}")).json()
    assert (real["name"], len(real["contacts"])) == (NAME, 2)


# -- the record, preferences and contacts: who may change what -----------------------------


async def test_only_the_registrant_changes_the_record(
    harness: Harness, outbox: Outbox, attacker: uuid.UUID
) -> None:
    citizen = await victim(harness, outbox)
    await harness.post("/v2/citizens", {"nik": NIK, "name": "x", "region_code": "32"}, "b")
    path = f"/v2/citizens/{citizen['id']}"
    refused = await harness.client.patch(
        path, json={"name": "Nama Palsu", "region_code": "31.71"}, headers=_auth(harness, "b")
    )
    assert error(
        refused,
        403,
        "AuthError",
        "Only the agency that registered this citizen may change their name, region, "
        "time zone or language",
    )
    changed = await harness.client.patch(
        path, json={"name": "Sri W."}, headers=_auth(harness, "live")
    )
    assert changed.status_code == 200 and changed.json()["name"] == "Sri W."
    assert (await harness.get(path)).json()["region_code"] == "32.73.01.1001"


async def test_preferences_change_only_with_the_citizens_code(
    harness: Harness, outbox: Outbox
) -> None:
    citizen = await victim(harness, outbox)
    path = f"/v2/citizens/{citizen['id']}/preferences"
    wanted = {"channels": ["sms"], "quiet_hours": None}
    assert error(await _put(harness, path, wanted, "live"), 403, "AuthError", NEEDS_CITIZEN)
    assert (await harness.get(f"/v2/citizens/{citizen['id']}")).json()["preferences"] is None

    phone = next(c for c in citizen["contacts"] if c["type"] == "sms")
    asked = await harness.post(
        f"/v2/citizens/{citizen['id']}/presence-codes", {"contact_id": phone["id"]}
    )
    assert asked.status_code == 201
    assert asked.json()["contact"] == {"id": phone["id"], "type": "sms", "value": "+62812****7890"}
    [sms] = await outbox.wait_for(1)
    assert sms.to == PHONE and "Dinas Uji" in sms.body
    changed = await _put(harness, path, {**wanted, "code": code_in(sms.body)}, "live")
    assert changed.status_code == 200 and changed.json()["preferences"]["channels"] == ["sms"]
    # A code works once.
    reused = await _put(harness, path, {**wanted, "code": code_in(sms.body)}, "live")
    assert error(reused, 403, "AuthError", WRONG_PRESENCE)

    # Guessing: five wrong codes lock the contact (429), even for the right one.
    outbox.clear()
    await harness.post(f"/v2/citizens/{citizen['id']}/presence-codes", {"contact_id": phone["id"]})
    [sms] = await outbox.wait_for(1)
    right = code_in(sms.body)
    wrong = "000000" if right != "000000" else "111111"
    for _ in range(5):
        guess = await _put(harness, path, {**wanted, "code": wrong}, "live")
        assert error(guess, 403, "AuthError", WRONG_PRESENCE)
    locked = await _put(harness, path, {**wanted, "code": right}, "live")
    assert error(
        locked, 429, "RateLimitError", "Too many wrong codes for this contact: try again later"
    )


async def test_codes_to_one_contact_are_limited(harness: Harness, outbox: Outbox) -> None:
    made = await harness.post(
        "/v2/citizens", {"nik": NIK, "name": NAME, "region_code": "32.73.01.1001"}
    )
    cid = made.json()["id"]
    answers = [
        await harness.post(f"/v2/citizens/{cid}/contacts", {"type": "sms", "value": ATTACKER_PHONE})
        for _ in range(4)
    ]
    assert [a.status_code for a in answers[:3]] == [201, 201, 201]
    assert error(
        answers[3], 429, "RateLimitError", "Too many codes sent to this contact: try again later"
    )
    assert len(await outbox.wait_for(3)) == 3
    await asyncio.sleep(0.2)
    assert len(outbox) == 3


async def test_imported_contacts_are_the_importing_agencys_own(
    harness: Harness, outbox: Outbox, attacker: uuid.UUID
) -> None:
    row = {"nik": NIK, "name": NAME, "region_code": "32.73.01.1001", "phone": PHONE}
    job = await CitizenImport.prepare(
        harness.app, harness.agency_id, CsvFile(list(row), [row]), trust_contacts=True
    )
    [imported] = (await job.run()).rows
    cid = str(imported.citizen_id)
    [phone] = (await harness.get(f"/v2/citizens/{cid}")).json()["contacts"]
    assert (phone["value"], phone["owner"], phone["verified"]) == (PHONE, "agency", True)
    await harness.post("/v2/citizens", {"nik": NIK, "name": "x", "region_code": "32"}, "b")
    assert (await harness.get(f"/v2/citizens/{cid}", "b")).json()["contacts"] == []
    # A linking agency's import: its own contact, never one that opens the portal.
    theirs = {**row, "name": "x", "phone": ATTACKER_PHONE}
    job = await CitizenImport.prepare(
        harness.app, attacker, CsvFile(list(theirs), [theirs]), trust_contacts=True
    )
    await job.run()
    await harness.client.post("/portal/api/sign-in", json={"contact": ATTACKER_PHONE})
    await asyncio.sleep(0.3)
    assert len(outbox) == 0
    # The importing registrant's is the citizen's first own contact (``trust.opens_portal``).
    await harness.client.post("/portal/api/sign-in", json={"contact": PHONE})
    assert (await message_to(outbox, PHONE)).body.startswith("Kode masuk Warta")


# -- routing: each agency's own contact first, else the citizen's --------------------------


async def test_each_agency_reaches_the_contact_it_may_use_direct_and_by_broadcast(
    harness: Harness, outbox: Outbox, attacker: uuid.UUID, multi_template: str
) -> None:
    citizen = await victim(harness, outbox)
    cid = citizen["id"]
    counter = "+6281298765432"  # the phone the citizen gave at this agency's counter
    ours = await verify(harness, outbox, cid, "sms", counter)
    await harness.post("/v2/citizens", {"nik": NIK, "name": "x", "region_code": "32"}, "b")
    theirs = await template_of(harness, attacker)
    await _sms_first(harness, cid)
    outbox.clear()

    assert await delivered_to(harness, outbox, multi_template, cid) == counter
    assert await delivered_to(harness, outbox, theirs, cid, "b") == PHONE
    assert await _broadcast_to(harness, outbox, multi_template, "live") == counter
    assert await _broadcast_to(harness, outbox, theirs, "b") == PHONE

    # Once the citizen makes the counter phone their own (with the code Warta sends to
    # it), every agency may use it.
    await sign_in(harness, outbox)
    confirmed = await confirmed_with_code(harness, outbox, ours["id"], counter)
    assert (confirmed.status_code, confirmed.headers["location"]) == (
        303, "/portal/contacts?saved"
    )  # fmt: skip
    seen = (await harness.get(f"/v2/citizens/{cid}", "b")).json()["contacts"]
    assert ("sms", "+62812****5432", "citizen") in {
        (c["type"], c["value"], c["owner"]) for c in seen
    }


async def _sms_first(harness: Harness, citizen_id: str) -> None:
    """The citizen chooses SMS first (in the portal, as only they may)."""
    await citizen_self.set_preferences(
        harness.app,
        uuid.UUID(citizen_id),
        citizens.Preferences(channels=("sms", "email"), quiet_start=None, quiet_end=None),
        "id",
    )


async def _broadcast_to(harness: Harness, outbox: Outbox, template: str, key: str) -> str:
    outbox.clear()
    body = {"template_id": template, "region": "32.73", "personalisation": PERSONAL}
    made = await harness.post("/v2/broadcasts", body, key)
    assert made.status_code == 201, made.text
    deadline = time.monotonic() + 10
    while (await harness.get(f"/v2/broadcasts/{made.json()['id']}", key)).json()["status"] != (
        "done"
    ):
        assert time.monotonic() < deadline
        await asyncio.sleep(0.1)
    [message] = await outbox.wait_for(1)
    return message.to


# -- the first own contact and the inbox's scope -------------------------------------------


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def ask_code(harness: Harness, outbox: Outbox, contact: str) -> tuple[str, str | None]:
    """Ask the portal for a sign-in code: the challenge, and the code if one arrived."""
    outbox.clear()
    asked = await harness.client.post("/portal/api/sign-in", json={"contact": contact})
    assert asked.status_code == 200, asked.text
    await asyncio.sleep(0.3)  # the code would go after the answer
    codes = [m for m in to(outbox.list(), contact) if m.body.startswith("Kode masuk Warta")]
    return str(asked.json()["challenge"]), code_in(codes[0].body) if codes else None


async def signed_in(harness: Harness, outbox: Outbox, contact: str) -> str:
    """A portal session through this contact's code: the bearer token."""
    challenge, code = await ask_code(harness, outbox, contact)
    assert code is not None, f"no sign-in code reached {contact}"
    signed = await harness.client.post(
        "/portal/api/sign-in/verify", json={"challenge": challenge, "code": code}
    )
    assert signed.status_code == 200, signed.text
    outbox.clear()
    return str(signed.json()["token"])


async def no_session(harness: Harness, outbox: Outbox, contact: str, same_as: str) -> bool:
    """This contact gets the same answer as one that signs in, no code, and no guess (the
    code another contact got included) opens a session."""
    challenge, code = await ask_code(harness, outbox, contact)
    guesses = ("000000", "123456")
    answers = [
        await harness.client.post(
            "/portal/api/sign-in/verify", json={"challenge": challenge, "code": g}
        )
        for g in guesses
    ]
    return (
        code is None
        and len(challenge) == len(same_as)
        and all(error(a, 400, "BadRequestError", "The code is not right") for a in answers)
    )


async def test_a_new_citizen_signs_in_with_the_registrants_proven_phone_which_becomes_theirs(
    harness: Harness, outbox: Outbox, attacker: uuid.UUID
) -> None:
    body = {"nik": NIK, "name": NAME, "region_code": "32.73.01.1001",
            "phone_numbers": [PHONE], "email_addresses": [EMAIL]}  # fmt: skip
    made = await harness.post("/v2/citizens", body)
    assert made.status_code == 201
    cid = made.json()["id"]
    await verify(harness, outbox, cid, "sms", PHONE)
    await verify(harness, outbox, cid, "email", EMAIL)
    # Before the citizen ever signed in, a linking agency adds and proves its own phone:
    # it opens nothing, and answers exactly as a phone that does.
    await harness.post("/v2/citizens", {"nik": NIK, "name": "x", "region_code": "32"}, "b")
    await verify(harness, outbox, cid, "sms", ATTACKER_PHONE, "b")
    opener, _ = await ask_code(harness, outbox, PHONE)
    assert await no_session(harness, outbox, ATTACKER_PHONE, same_as=opener)

    # The registrant's proven phone signs the new citizen in, and is now their own: the
    # agency sees so, and so does the linking agency (masked).
    token = await signed_in(harness, outbox, PHONE)
    assert (await harness.client.get("/portal/api/inbox", headers=_bearer(token))).is_success
    contacts = (await harness.get(f"/v2/citizens/{cid}")).json()["contacts"]
    assert {(c["type"], c["value"], c["owner"]) for c in contacts} == {
        ("sms", PHONE, "citizen"),
        ("email", EMAIL, "agency"),
    }
    seen = (await harness.get(f"/v2/citizens/{cid}", "b")).json()["contacts"]
    assert ("sms", "+62812****7890", "citizen") in {
        (c["type"], c["value"], c["owner"]) for c in seen
    }
    # Now that they have one, no agency's contact opens the portal: not the registrant's
    # second, not the linking agency's.
    assert await no_session(harness, outbox, EMAIL, same_as=opener)
    assert await no_session(harness, outbox, ATTACKER_PHONE, same_as=opener)


async def test_a_squatter_signed_in_never_reads_the_real_agencys_messages(
    harness: Harness, outbox: Outbox, attacker: uuid.UUID, multi_template: str
) -> None:
    # S registers the NIK first, with S's phone, and signs in: S is now "the citizen".
    fake = {"nik": NIK, "name": "Nama Palsu", "region_code": "32.73", "phone_numbers": []}
    cid = (await harness.post("/v2/citizens", fake, "b")).json()["id"]
    await verify(harness, outbox, cid, "sms", ATTACKER_PHONE, "b")
    token = await signed_in(harness, outbox, ATTACKER_PHONE)
    # A third agency links too; it has no contact of its own, so it uses the citizen's.
    third = await create_agency(harness.app, "Dinas Ketiga", sms_sender="KETIGA")
    harness.keys["c"] = third.live_key
    await harness.post("/v2/citizens", {"nik": NIK, "name": "x", "region_code": "32"}, "c")
    their_template = await template_of(harness, third.id)
    # The real agency links, and proves the real person's phone at its counter.
    real = {"nik": NIK, "name": NAME, "region_code": "32.73.01.1001", "phone_numbers": [PHONE]}
    assert (await harness.post("/v2/citizens", real)).json()["id"] == cid
    await verify(harness, outbox, cid, "sms", PHONE)

    async with (
        serve_asgi(harness.api) as base,
        httpx.AsyncClient(base_url=base, headers=_bearer(token)) as client,
        client.stream("GET", "/portal/api/inbox/events", params={"poll": 0.5}) as stream,
    ):
        assert stream.status_code == 200
        lines = stream.aiter_lines()
        # The real agency's message goes to the real phone; the third's to the citizen's
        # own (the squatter's).
        real_id = await _sent(harness, outbox, multi_template, cid, "live", to=PHONE)
        third_id = await _sent(harness, outbox, their_template, cid, "c", to=ATTACKER_PHONE)
        # The squatter's stream tells of the third agency's message only.
        kind, data = await next_event(lines)
        assert (kind, data["id"], data["agency"]) == ("message", third_id, "Dinas Ketiga")

    inbox = await harness.client.get("/portal/api/inbox", headers=_bearer(token))
    assert [m["id"] for m in inbox.json()["messages"]] == [third_id]
    hidden = await harness.client.get(f"/portal/api/inbox/{real_id}", headers=_bearer(token))
    assert error(hidden, 404, "NoResultFound", "Message not found")
    read = await harness.client.post(
        "/portal/api/inbox/read", json={"id": real_id}, headers=_bearer(token)
    )
    assert error(read, 404, "NoResultFound", "Message not found")
    download = await post_form(harness, "/portal/data", "/portal/data/download")
    assert [m["agency"] for m in download.json()["messages"]] == ["Dinas Ketiga"]
    # Nothing marked: the real agency's message was neither seen nor read by anyone.
    assert (await harness.row(real_id)).seen_at is None
    assert (await harness.row(real_id)).read_at is None


async def _sent(
    harness: Harness, outbox: Outbox, template: str, citizen_id: str, key: str, *, to: str
) -> str:
    """An agency's message to the citizen, delivered to ``to``: its id."""
    outbox.clear()
    body = {"citizen_id": citizen_id, "template_id": template, "personalisation": PERSONAL}
    sent = await harness.post("/v2/notifications", body, key)
    assert sent.status_code == 201, sent.text
    await harness.wait_status(sent.json()["id"], "delivered")
    [message] = await outbox.wait_for(1)
    assert message.to == to
    return str(sent.json()["id"])


# -- confirming a contact an agency added: only with the code sent to it -------------------

#: What the portal's contacts page says (in Indonesian, its default) when refusing.
ENTER_CODE = "Masukkan kode yang dikirim ke kontak ini"
NOT_RIGHT = "Kode tidak benar"
LOCKED_OUT = "Terlalu banyak kode salah untuk kontak ini: coba lagi nanti"
TOO_MANY_CODES = "Terlalu banyak kode dikirim ke kontak ini: coba lagi nanti"


async def ask_confirmation(harness: Harness, outbox: Outbox, contact_id: str) -> httpx.Response:
    """The signed-in citizen asks, on the contacts page, for a code to confirm a contact."""
    outbox.clear()
    return await post_form(
        harness, "/portal/contacts", "/portal/contacts/code", contact_id=contact_id
    )


async def confirmed_with_code(
    harness: Harness, outbox: Outbox, contact_id: str, value: str
) -> httpx.Response:
    """The citizen who holds ``value`` asks for its code and enters it."""
    asked = await ask_confirmation(harness, outbox, contact_id)
    assert (asked.status_code, asked.headers["location"]) == (303, "/portal/contacts?sent")
    code = code_in((await message_to(outbox, value)).body)
    return await post_form(
        harness, "/portal/contacts", "/portal/contacts/confirm", contact_id=contact_id, code=code
    )


async def owner_seen_by_adder(harness: Harness, citizen_id: str, value: str, key: str) -> str:
    """Whose the contact is, as the agency that added it (and sees it in clear) is told."""
    contacts = (await harness.get(f"/v2/citizens/{citizen_id}", key)).json()["contacts"]
    return str(next(c["owner"] for c in contacts if c["value"] == value))


async def notification_count(harness: Harness, key: str) -> int:
    return len((await harness.get("/v2/notifications", key)).json()["notifications"])


async def test_a_squatter_signed_in_can_neither_read_nor_confirm_the_real_persons_phone(
    harness: Harness, outbox: Outbox, attacker: uuid.UUID
) -> None:
    # S registers the NIK first, with S's phone, and signs in to the portal: S is now
    # "the citizen" there.
    fake = {"nik": NIK, "name": "Nama Palsu", "region_code": "32.73", "phone_numbers": []}
    cid = (await harness.post("/v2/citizens", fake, "b")).json()["id"]
    await verify(harness, outbox, cid, "sms", ATTACKER_PHONE, "b")
    await sign_in(harness, outbox, ATTACKER_PHONE)
    # The real agency links, and proves the real person's phone at its counter.
    real = {"nik": NIK, "name": NAME, "region_code": "32.73.01.1001", "phone_numbers": [PHONE]}
    assert (await harness.post("/v2/citizens", real)).json()["id"] == cid
    theirs = await verify(harness, outbox, cid, "sms", PHONE)
    hidden = (PHONE, PHONE.removeprefix("+62"), NAME)

    # S's contacts page and data download show it masked, with the agency that added it;
    # S's own phone in clear.
    page = (await harness.client.get("/portal/contacts")).text
    assert "+62812****7890" in page and "Ditambahkan oleh Dinas Uji" in page
    assert ATTACKER_PHONE in page and not [s for s in hidden if s in page]
    download = await post_form(harness, "/portal/data", "/portal/data/download")
    assert download.status_code == 200 and not [s for s in hidden if s in download.text]
    assert {(c["value"], c["owner"], c["added_by"]) for c in download.json()["contacts"]} == {
        (ATTACKER_PHONE, "you", "Dinas Penyerang"),
        ("+62812****7890", "agency", "Dinas Uji"),
    }

    # The one click that used to make it S's own: refused, nothing changes.
    clicked = await post_form(
        harness, "/portal/contacts", "/portal/contacts/confirm", contact_id=theirs["id"]
    )
    assert clicked.status_code == 400 and ENTER_CODE in clicked.text
    assert await owner_seen_by_adder(harness, cid, PHONE, "live") == "agency"
    forged = await harness.client.post(  # another site's form: no session token
        "/portal/contacts/code", data={"contact_id": theirs["id"]}
    )
    assert forged.status_code == 403

    # Asking for the code: it goes to the phone, that is to the real person, from Warta
    # itself (no agency's notification), and not to S.
    before = await notification_count(harness, "live")
    asked = await ask_confirmation(harness, outbox, theirs["id"])
    assert (asked.status_code, asked.headers["location"]) == (303, "/portal/contacts?sent")
    [code] = await outbox.wait_for(1)
    assert (code.to, code.sender) == (PHONE, "WARTA") and code.body.startswith("Kode Warta")
    await asyncio.sleep(0.2)
    assert to(outbox.list(), ATTACKER_PHONE) == []
    assert await notification_count(harness, "live") == before
    page = (await harness.client.get("/portal/contacts?sent")).text
    assert 'name="code"' in page and PHONE not in page

    # S guesses: each wrong code changes nothing and counts toward the phone's lockout;
    # after five, even the right one (which S never saw) is refused.
    right = code_in(code.body)
    wrong = "000000" if right != "000000" else "111111"
    for _ in range(5):
        guessed = await post_form(
            harness, "/portal/contacts", "/portal/contacts/confirm",
            contact_id=theirs["id"], code=wrong,
        )  # fmt: skip
        assert guessed.status_code == 400 and NOT_RIGHT in guessed.text
    locked = await post_form(
        harness, "/portal/contacts", "/portal/contacts/confirm",
        contact_id=theirs["id"], code=right,
    )  # fmt: skip
    assert locked.status_code == 429 and LOCKED_OUT in locked.text
    assert await owner_seen_by_adder(harness, cid, PHONE, "live") == "agency"
    assert "+62812****7890" in (await harness.client.get("/portal/contacts")).text


async def test_the_citizen_holding_a_contact_an_agency_added_makes_it_theirs_with_its_code(
    harness: Harness, outbox: Outbox, attacker: uuid.UUID
) -> None:
    citizen = await victim(harness, outbox)
    cid = citizen["id"]
    await harness.post("/v2/citizens", {"nik": NIK, "name": "x", "region_code": "32"}, "b")
    counter = "+6281298765432"  # the phone the citizen gave at the linking agency's counter
    added = await verify(harness, outbox, cid, "sms", counter, "b")
    await sign_in(harness, outbox)  # through their own phone
    assert "+62812****5432" in (await harness.client.get("/portal/contacts")).text

    # Codes to it count with every other code to that phone: the agency's one, then two
    # from the portal; a third is refused (3 in 15 minutes).
    for _ in range(2):
        assert (await ask_confirmation(harness, outbox, added["id"])).status_code == 303
    latest = code_in((await message_to(outbox, counter)).body)
    refused = await ask_confirmation(harness, outbox, added["id"])
    assert refused.status_code == 429 and TOO_MANY_CODES in refused.text
    await asyncio.sleep(0.2)
    assert to(outbox.list(), counter) == []

    confirmed = await post_form(
        harness, "/portal/contacts", "/portal/contacts/confirm",
        contact_id=added["id"], code=latest,
    )  # fmt: skip
    assert (confirmed.status_code, confirmed.headers["location"]) == (
        303, "/portal/contacts?saved"
    )  # fmt: skip
    page = (await harness.client.get("/portal/contacts")).text
    assert counter in page and "+62812****5432" not in page
    # It is their own now: every agency that knows them may use it (masked to those that
    # did not add it), and it was proven in the portal.
    assert await owner_seen_by_adder(harness, cid, counter, "b") == "citizen"
    seen = (await harness.get(f"/v2/citizens/{cid}")).json()["contacts"]
    assert ("sms", "+62812****5432", "citizen") in {
        (c["type"], c["value"], c["owner"]) for c in seen
    }
    download = (await post_form(harness, "/portal/data", "/portal/data/download")).json()
    assert (counter, "you", "Dinas Penyerang", "portal") in {
        (c["value"], c["owner"], c["added_by"], c["proof"]) for c in download["contacts"]
    }
    # The code worked once, and there is nothing left to confirm.
    again = await post_form(
        harness, "/portal/contacts", "/portal/contacts/confirm",
        contact_id=added["id"], code=latest,
    )  # fmt: skip
    assert again.status_code == 400 and "Kontak ini sudah milik Anda" in again.text
