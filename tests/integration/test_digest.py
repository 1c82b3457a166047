"""A citizen's digest end to end, with a controlled clock, on SQLite and PostgreSQL: the
low-priority messages of several agencies wait for the digest time and then reach the
citizen as one message, while each agency still sees and hears about its own."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.integration.harness import (
    Clock,
    Harness,
    Receiver,
    auth_header,
    code_in,
    make_settings,
    receiver_running,
    running_warta,
    wait_requests,
)
from tests.integration.test_citizens import (
    NIK,
    PERSONAL,
    confirm_all,
    register,
    send,
    verify_all,
    wib,
)
from warta.channels.capture import RecordingChannel
from warta.domain.channels import OutboundMessage, Receipt, SendResult
from warta.services.admin import create_agency, create_template, set_callback
from warta.store.outbox import Outbox

PAJAK_SMS = "Pajak D 1234 XY jatuh tempo 5 Desember. Bapenda"
STNK_SMS = "STNK D 1234 XY siap. Samsat"


class ReceiptedSms(RecordingChannel):
    """An SMS provider that takes each message into the outbox and answers later with a
    receipt, like a real SMSC; ``references`` are its message ids, in order."""

    references: list[str]

    async def send(self, message: OutboundMessage) -> SendResult:
        await super().send(message)
        self.references = [*getattr(self, "references", []), f"ref-{uuid.uuid4().hex}"]
        reference = self.references[-1]
        return SendResult("sending", reference, provider="stand-in", parts=(reference,))


async def receipt(harness: Harness, status: str, detail: str | None = None) -> None:
    """The provider's receipt for the last SMS sent."""
    channel = harness.app.channels["sms"]
    assert isinstance(channel, ReceiptedSms) and harness.app.events is not None
    await harness.app.events.receipt(
        Receipt("stand-in", channel.references[-1], status, detail)  # type: ignore[arg-type]
    )


@pytest.fixture
def clock() -> Clock:
    return Clock(wib(1, 10))  # a Tuesday, 10:00 WIB


@pytest.fixture
def outbox() -> Outbox:
    return Outbox()


@pytest.fixture
def receipts() -> bool:
    return False


@pytest.fixture
def batch_size() -> int:
    return 100


@pytest.fixture
async def harness(
    database_url: str, tmp_path: Path, clock: Clock, outbox: Outbox, receipts: bool, batch_size: int
) -> AsyncIterator[Harness]:
    sms = ReceiptedSms("sms", outbox) if receipts else RecordingChannel("sms", outbox)
    channels = {"email": RecordingChannel("email", outbox), "sms": sms}
    settings = make_settings(database_url, tmp_path, batch_size=batch_size)
    async with running_warta(settings, channels=channels, clock=clock) as running:
        yield running


async def second_agency(harness: Harness) -> tuple[str, uuid.UUID]:
    """Samsat Kota, which knows the same citizen (key "samsat"): its template and id."""
    other = await create_agency(harness.app, "Samsat Kota", sms_sender="SAMSAT")
    harness.keys["samsat"] = other.live_key
    template = await create_template(
        harness.app, other.id, kind="multi", name="stnk", subject="STNK ((nopol)) siap",
        body="STNK ((nopol)) Anda siap diambil.", sms_body="STNK ((nopol)) siap. Samsat",
    )  # fmt: skip
    linked = await harness.post(
        "/v2/citizens", {"nik": NIK, "name": "Sri", "region_code": "32.73"}, key="samsat"
    )
    assert linked.status_code == 200, linked.text
    return str(template.id), other.id


async def digest_citizen(harness: Harness, outbox: Outbox, channels: list[str]) -> str:
    citizen = await register(harness, preferences={"channels": channels, "digest": True})
    await verify_all(harness, citizen, outbox)
    await confirm_all(harness, citizen)  # the citizen's own: the second agency uses them too
    return str(citizen["id"])


async def three_low(harness: Harness, citizen: str, ours: str, theirs: str) -> list[str]:
    """Two low messages from Dinas Uji and one from Samsat Kota, all waiting."""
    first = await send(harness, ours, citizen_id=citizen, priority="low")
    body = {"template_id": theirs, "citizen_id": citizen, "personalisation": PERSONAL}
    answer = await harness.post("/v2/notifications", {**body, "priority": "low"}, key="samsat")
    assert answer.status_code == 201, answer.text
    second = answer.json()
    third = await send(
        harness, ours, citizen_id=citizen, priority="low",
        personalisation={**PERSONAL, "nopol": "B 77 CD"},
    )  # fmt: skip
    for sent in (first, second, third):
        assert sent["routing"]["action"] == "digest" and sent["status"] == "created"
    return [first["id"], second["id"], third["id"]]


async def settled(harness: Harness, ids: list[str], status: str) -> None:
    for notification_id in ids:
        await harness.wait_status(notification_id, status)


@pytest.mark.parametrize("batch_size", [1, 100], ids=["batch-of-1", "batch-of-100"])
async def test_three_low_messages_from_two_agencies_arrive_as_one_sms(
    harness: Harness, outbox: Outbox, clock: Clock, multi_template: str, batch_size: int
) -> None:
    citizen = await digest_citizen(harness, outbox, ["sms"])
    samsat, samsat_id = await second_agency(harness)
    receiver = Receiver(answers=[])
    async with receiver_running(receiver) as url:
        await set_callback(harness.app, harness.agency_id, url, "token-dinas")
        await set_callback(harness.app, samsat_id, url, "token-samsat")
        low = await three_low(harness, citizen, multi_template, samsat)
        normal = await send(
            harness, multi_template, citizen_id=citizen,
            personalisation={**PERSONAL, "nopol": "F 9 ZZ"},
        )  # fmt: skip
        await harness.wait_status(normal["id"], "delivered")  # normal does not wait
        await wait_requests(receiver, 1)
        clock.set(wib(1, 18))
        await settled(harness, low, "delivered")
        await wait_requests(receiver, 4)  # each agency hears of each of its own
        await asyncio.sleep(0.5)  # long enough for any stray second send to show
    messages = outbox.list("sms")
    assert len(messages) == 2  # the normal one, then the digest: nothing else
    digest, sent_normal = messages  # newest first
    assert "F 9 ZZ" in sent_normal.body and sent_normal.sender == "DINASUJI"
    assert digest.body == (
        "Ringkasan Warta (3 pesan):\n"
        f"1) Dinas Uji: {PAJAK_SMS}\n"
        f"2) Samsat Kota: {STNK_SMS}\n"
        "3) Dinas Uji: Pajak B 77 CD jatuh tempo 5 Desember. Bapenda"
    )
    assert "F 9 ZZ" not in digest.body
    assert digest.sender == "WARTA"  # two agencies: the platform's own sender
    assert digest.to == "+6281234567890"
    callbacks = [(h["authorization"], json.loads(b)) for h, b in receiver.requests]
    assert sorted((token, p["id"], p["status"]) for token, p in callbacks[1:]) == sorted(
        [
            ("Bearer token-dinas", low[0], "delivered"),
            ("Bearer token-samsat", low[1], "delivered"),
            ("Bearer token-dinas", low[2], "delivered"),
        ]
    )
    # Each agency still sees its own message, and why it went when it did.
    mine = (await harness.get(f"/v2/notifications/{low[0]}")).json()
    theirs = (await harness.get(f"/v2/notifications/{low[1]}", key="samsat")).json()
    assert (mine["status"], mine["body"]) == ("delivered", PAJAK_SMS)
    assert (theirs["status"], theirs["body"]) == ("delivered", STNK_SMS)
    for shown in (mine, theirs):
        assert shown["routing"]["reasons"][-1] == (
            "sent in the citizen's digest: one sms with their other waiting messages"
        )
    assert (await harness.get(f"/v2/notifications/{low[1]}")).status_code == 404  # not ours


async def test_one_agencys_digest_comes_from_its_own_sender(
    harness: Harness, outbox: Outbox, clock: Clock, multi_template: str
) -> None:
    citizen = await digest_citizen(harness, outbox, ["sms"])
    low = [
        (await send(harness, multi_template, citizen_id=citizen, priority="low"))["id"]
        for _ in range(2)
    ]
    clock.set(wib(1, 18, 10))  # within the digest hour
    await settled(harness, low, "delivered")
    [digest] = outbox.list("sms")
    assert digest.sender == "DINASUJI"
    assert digest.body.startswith("Ringkasan Warta (2 pesan):\n1) Dinas Uji: Pajak")


async def test_a_single_waiting_message_goes_as_itself(
    harness: Harness, outbox: Outbox, clock: Clock, multi_template: str
) -> None:
    citizen = await digest_citizen(harness, outbox, ["sms"])
    low = await send(harness, multi_template, citizen_id=citizen, priority="low")
    clock.set(wib(1, 18))
    await harness.wait_status(low["id"], "delivered")
    [alone] = outbox.list("sms")
    assert alone.body == PAJAK_SMS and alone.sender == "DINASUJI"


async def test_turning_the_digest_off_sends_the_waiting_messages_one_by_one(
    harness: Harness, outbox: Outbox, clock: Clock, multi_template: str
) -> None:
    citizen = await digest_citizen(harness, outbox, ["sms"])
    later = {**PERSONAL, "nopol": "B 77 CD"}
    low = [
        (await send(harness, multi_template, citizen_id=citizen, priority="low"))["id"],
        (
            await send(
                harness, multi_template, citizen_id=citizen, priority="low", personalisation=later
            )
        )["id"],
    ]
    # At the agency's counter, with the code the citizen received (preferences are theirs).
    asked = await harness.post(f"/v2/citizens/{citizen}/presence-codes", {})
    assert asked.status_code == 201, asked.text
    [presence] = await outbox.wait_for(1)
    outbox.clear()
    changed = await harness.client.put(
        f"/v2/citizens/{citizen}/preferences",
        json={"channels": ["sms"], "digest": False, "code": code_in(presence.body)},
        headers=auth_header(harness.keys["live"]),
    )
    assert changed.status_code == 200, changed.text
    clock.set(wib(1, 18))  # still held until then: a deferral is not undone
    await settled(harness, low, "delivered")
    assert sorted(m.body for m in outbox.list("sms")) == [
        PAJAK_SMS.replace("D 1234 XY", "B 77 CD"),
        PAJAK_SMS,
    ]


async def test_an_english_speaker_gets_an_email_digest_in_english(
    harness: Harness, outbox: Outbox, clock: Clock, multi_template: str
) -> None:
    citizen = await register(
        harness, language="en", preferences={"channels": ["email", "sms"], "digest": True}
    )
    await verify_all(harness, citizen, outbox)
    await confirm_all(harness, citizen)
    samsat, _ = await second_agency(harness)
    low = await three_low(harness, str(citizen["id"]), multi_template, samsat)
    clock.set(wib(1, 18))
    await settled(harness, low, "delivered")
    [mail] = outbox.list("email")
    assert mail.subject == "Your messages today (3)"
    assert mail.sender == "warta@notifikasi.warta.go.id"
    assert mail.to == "sri@contoh.id"
    for heading in (
        "1) Dinas Uji: Pajak kendaraan D 1234 XY",
        "2) Samsat Kota: STNK D 1234 XY siap",
        "3) Dinas Uji: Pajak kendaraan B 77 CD",
    ):
        assert heading in mail.body and heading in (mail.html or "")
    assert "Yth. Budi, pajak kendaraan B 77 CD jatuh tempo 5 Desember." in mail.body
    assert outbox.list("sms") == []


@pytest.mark.parametrize("receipts", [True])
async def test_the_carriers_receipt_settles_every_message_and_a_failure_escalates_them_all(
    harness: Harness, outbox: Outbox, clock: Clock, multi_template: str
) -> None:
    citizen = await digest_citizen(harness, outbox, ["sms", "email"])
    samsat, _ = await second_agency(harness)
    low = await three_low(harness, citizen, multi_template, samsat)
    clock.set(wib(1, 18))
    [digest] = await outbox.wait_for(1)
    assert digest.body.startswith("Ringkasan Warta (3 pesan):")
    await settled(harness, low, "sending")  # all three wait for the one SMS's receipt
    await receipt(harness, "permanent-failure", "stat:UNDELIV")
    await settled(harness, low, "permanent-failure")
    # Each escalates to email as it would alone; the new attempts go as one email digest.
    mail = (await outbox.wait_for(2))[0]  # newest first
    assert mail.channel == "email" and mail.subject == "Ringkasan pesan Anda hari ini (3)"
    for notification_id, key in zip(low, ["live", "samsat", "live"], strict=True):
        path = f"/v2/notifications/{notification_id}"
        attempts = (await harness.get(path, key=key)).json()["attempts"]
        await settled(harness, [a["id"] for a in attempts if a["channel"] == "email"], "delivered")
        shown = (await harness.get(path, key=key)).json()
        assert [(a["channel"], a["status"]) for a in shown["attempts"]] == [
            ("sms", "permanent-failure"),
            ("email", "delivered"),
        ]
        assert shown["failure_reason"] == "stat:UNDELIV"
    await asyncio.sleep(0.5)
    assert len(outbox) == 2


@pytest.mark.parametrize("receipts", [True])
async def test_a_delivered_receipt_for_the_digest_delivers_each_message(
    harness: Harness, outbox: Outbox, clock: Clock, multi_template: str
) -> None:
    citizen = await digest_citizen(harness, outbox, ["sms"])
    samsat, _ = await second_agency(harness)
    low = await three_low(harness, citizen, multi_template, samsat)
    clock.set(wib(1, 18))
    await outbox.wait_for(1)
    await settled(harness, low, "sending")
    await receipt(harness, "delivered")
    await settled(harness, low, "delivered")
