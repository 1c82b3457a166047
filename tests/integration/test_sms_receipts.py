"""Receipts settle SMS notifications part by part, in either order; keywords citizens
text back change what the pipeline sends; their texts reach the agency.

The SMS channel here is a stand-in that returns provider references, so the receipt and
keyword logic is tested on its own, on SQLite and PostgreSQL; the real SMPP and HTTP
providers have their own tests.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from tests.integration.harness import (
    Harness,
    Receiver,
    make_settings,
    receiver_running,
    running_warta,
    wait_requests,
)
from warta.channels.capture import RecordingChannel
from warta.domain.channels import InboundSms, OutboundMessage, Receipt, SendResult
from warta.services.admin import set_callback
from warta.store.outbox import Outbox

TOKEN = "rahasia-callback-dinas-uji"


class PartsChannel:
    """Takes every SMS as ``parts`` parts and names them ``{n}-{part}``; ``before_return``
    runs before send returns, to play a receipt that beats the submit response."""

    name = "sms"
    provider = "stand-in"

    def __init__(self, parts: int = 2) -> None:
        self.parts = parts
        self.sent: list[OutboundMessage] = []
        self.before_return: Callable[[tuple[str, ...]], Awaitable[None]] | None = None

    async def send(self, message: OutboundMessage) -> SendResult:
        self.sent.append(message)
        refs = tuple(f"{len(self.sent)}-{p}" for p in range(1, self.parts + 1))
        if self.before_return is not None:
            await self.before_return(refs)
        return SendResult("sending", refs[0], provider=self.provider, parts=refs)

    async def aclose(self) -> None:
        return None


@pytest.fixture
def channel() -> PartsChannel:
    return PartsChannel()


@pytest.fixture
async def harness(
    database_url: str, tmp_path: Path, channel: PartsChannel
) -> AsyncIterator[Harness]:
    channels = {"email": RecordingChannel("email", Outbox()), "sms": channel}
    async with running_warta(make_settings(database_url, tmp_path), channels=channels) as h:
        yield h


async def receipt(harness: Harness, reference: str, status: str, detail: str = "") -> None:
    assert harness.app.events is not None
    await harness.app.events.receipt(
        Receipt("stand-in", reference, status, detail or None)  # type: ignore[arg-type]
    )


async def test_sms_is_sending_until_every_part_is_delivered(
    harness: Harness, channel: PartsChannel
) -> None:
    sent = (await harness.send_sms()).json()
    await harness.wait_status(sent["id"], "sending")
    row = await harness.wait_until(sent["id"], lambda r: r.provider == "stand-in")
    assert row.provider_reference == "1-1"
    await receipt(harness, "1-1", "delivered")
    assert (await harness.row(sent["id"])).status == "sending"  # one part still on its way
    await receipt(harness, "1-2", "delivered")
    row = await harness.row(sent["id"])
    assert row.status == "delivered"
    assert row.completed_at is not None
    body = (await harness.get(f"/v2/notifications/{sent['id']}")).json()
    assert body["status"] == "delivered"


async def test_receipts_that_beat_the_submit_response_are_not_lost(
    harness: Harness, channel: PartsChannel
) -> None:
    async def early(refs: tuple[str, ...]) -> None:
        for ref in refs:
            await receipt(harness, ref, "delivered")

    channel.before_return = early
    sent = (await harness.send_sms()).json()
    await harness.wait_status(sent["id"], "delivered")


async def test_one_undeliverable_part_fails_the_notification_with_the_providers_words(
    harness: Harness,
) -> None:
    sent = (await harness.send_sms()).json()
    await harness.wait_until(sent["id"], lambda r: r.provider_reference is not None)
    await receipt(harness, "1-1", "delivered")
    await receipt(harness, "1-2", "permanent-failure", "stat:UNDELIV err:001")
    row = await harness.row(sent["id"])
    assert row.status == "permanent-failure"
    assert row.failure_reason == "stat:UNDELIV err:001"


async def test_a_receipt_triggers_the_agencys_callback(harness: Harness) -> None:
    receiver = Receiver(answers=[])
    async with receiver_running(receiver) as url:
        await set_callback(harness.app, harness.agency_id, url, TOKEN)
        sent = (await harness.send_sms()).json()
        await harness.wait_until(sent["id"], lambda r: r.provider_reference is not None)
        await asyncio.sleep(0.2)
        assert receiver.requests == []  # "sending" is not final: nothing owed yet
        await receipt(harness, "1-1", "delivered")
        await receipt(harness, "1-2", "temporary-failure", "stat:EXPIRED")
        await wait_requests(receiver, 1)
    payload = json.loads(receiver.requests[0][1])
    assert (payload["id"], payload["status"]) == (sent["id"], "temporary-failure")


async def test_receipts_for_unknown_messages_change_nothing(harness: Harness) -> None:
    sent = (await harness.send_sms()).json()
    await harness.wait_until(sent["id"], lambda r: r.provider_reference is not None)
    await receipt(harness, "999-1", "delivered")
    assert (await harness.row(sent["id"])).status == "sending"


# --- keywords and inbound texts ---------------------------------------------------------


async def text_from(harness: Harness, sender: str, text: str, to: str = "DINASUJI") -> None:
    assert harness.app.events is not None
    await harness.app.events.inbound(InboundSms("stand-in", sender, to, text))


async def test_berhenti_stops_the_next_sms_and_mulai_resumes(
    harness: Harness, channel: PartsChannel
) -> None:
    await text_from(harness, "6281234567890", "BERHENTI")
    await wait_for(lambda: len(channel.sent) == 1)
    reply = channel.sent[0]
    assert reply.to == "+6281234567890" and "MULAI" in reply.body

    stopped = (await harness.send_sms("0812-3456-7890")).json()
    row = await harness.wait_status(stopped["id"], "cancelled")
    assert "BERHENTI" in (row.failure_reason or "")
    assert len(channel.sent) == 1  # nothing went out

    other = (await harness.send_sms("081299998888")).json()  # other numbers still get theirs
    await harness.wait_status(other["id"], "sending")

    urgent = (await harness.send_sms("+6281234567890", priority="urgent")).json()
    await harness.wait_status(urgent["id"], "sending")  # emergencies still reach them

    await text_from(harness, "+6281234567890", "mulai")
    resumed = (await harness.send_sms("081234567890")).json()
    await harness.wait_status(resumed["id"], "sending")


async def test_stop_reply_is_in_english_for_an_english_keyword(
    harness: Harness, channel: PartsChannel
) -> None:
    await text_from(harness, "+6281234567890", "stop")
    await wait_for(lambda: len(channel.sent) == 1)
    assert "START" in channel.sent[0].body


async def test_inbound_texts_are_listed_and_forwarded(harness: Harness) -> None:
    receiver = Receiver(answers=[500, 200])
    async with receiver_running(receiver) as url:
        await set_callback(harness.app, harness.agency_id, url, TOKEN, inbound=True)
        await text_from(harness, "081211112222", "Kapan KTP saya jadi?")
        await wait_requests(receiver, 2)  # retried after the 500
    headers, body = receiver.requests[-1]
    payload = json.loads(body)
    assert payload["source_number"] == "+6281211112222"
    assert payload["destination_number"] == "DINASUJI"
    assert payload["message"] == "Kapan KTP saya jadi?"
    assert headers["authorization"] == f"Bearer {TOKEN}"
    listed = (await harness.get("/v2/received-text-messages")).json()
    assert [m["content"] for m in listed["received_text_messages"]] == ["Kapan KTP saya jadi?"]


async def test_a_text_no_agency_can_claim_is_kept_from_even_the_only_agency(
    harness: Harness, channel: PartsChannel
) -> None:
    # Once the only agency got every text; now a text to a sender id nobody holds, from a
    # number no agency texted, is the platform's (docs/trust.md): it may hold a NIK.
    await text_from(harness, "081211112222", "Halo", to="OTHER")
    await wait_for(lambda: len(channel.sent) == 1)  # answered with the platform's help
    assert channel.sent[0].to == "+6281211112222" and "Dinas Uji" not in channel.sent[0].body
    listed = (await harness.get("/v2/received-text-messages")).json()
    assert listed["received_text_messages"] == []


async def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.02)
