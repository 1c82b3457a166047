"""Push and chat end to end, as ``make run`` wires them: Warta built by ``bootstrap`` with
no credentials, so every service is a local peer speaking its real protocol (a Web Push
service that checks VAPID and decrypts, the Telegram Bot API, the WhatsApp Cloud API),
SMS through the local SMSC over SMPP and email through the capture SMTP server.

What a citizen and an agency would notice: a send to a citizen who prefers the app
arrives as a Web Push the subscriber's own key opens; an unread push escalates to SMS; a
Telegram chat linked through the bot's ``/start`` link gets the message; a WhatsApp number
is verified by a code sent over WhatsApp and its status webhooks move the status.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.integration.console import row, sign_in
from tests.integration.harness import Clock, Harness, code_in, make_settings, running_warta
from warta.devpeers.loopback import serve_asgi
from warta.devpeers.push_service import PushService
from warta.services import citizen_self
from warta.services.demo import ensure_demo
from warta.services.escalation import escalate_unanswered
from warta.store.outbox import Outbox

NIK = "3273014101900002"
PHONE = "+6281234567890"
PERSONAL = {"nama": "Budi", "nopol": "D 1234 XY", "tanggal": "5 Desember"}


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 12, 1, 3, 0, tzinfo=UTC))  # 10:00 WIB, not quiet hours


@pytest.fixture
async def harness(sqlite_url: str, tmp_path: Path, clock: Clock) -> AsyncIterator[Harness]:
    settings = make_settings(sqlite_url, tmp_path, local_app_peers=True)
    async with running_warta(settings, clock=clock) as running:
        assert running.app.local_peers is not None
        yield running


@pytest.fixture
def template(multi_template: str) -> str:
    """The conftest's template for citizens, under the name these tests give it."""
    return multi_template


async def register(harness: Harness, channels: list[str]) -> dict[str, Any]:
    """A citizen with a phone verified by the code the local SMSC delivered."""
    outbox: Outbox = harness.app.outbox
    body = {
        "nik": NIK,
        "name": "Sri Wahyuni",
        "region_code": "32.73.01.1001",
        "phone_numbers": [PHONE],
        "preferences": {"channels": channels},
    }
    made = await harness.post("/v2/citizens", body)
    assert made.status_code == 201, made.text
    citizen = dict(made.json())
    [phone] = citizen["contacts"]
    outbox.clear()
    added = await harness.post(
        f"/v2/citizens/{citizen['id']}/contacts", {"type": "sms", "value": PHONE}
    )
    assert added.status_code == 201, added.text
    [sms] = await outbox.wait_for(1)
    url = f"/v2/citizens/{citizen['id']}/contacts/{phone['id']}/verify"
    assert (await harness.post(url, {"code": code_in(sms.body)})).status_code == 200
    # The citizen makes it their own (only their own contacts open the portal).
    await citizen_self.make_own_unchecked(
        harness.app, uuid.UUID(citizen["id"]), uuid.UUID(phone["id"])
    )
    outbox.clear()
    return citizen


async def portal_session(harness: Harness) -> dict[str, str]:
    """The citizen signs in to the portal with a code sent to their phone."""
    outbox: Outbox = harness.app.outbox
    asked = await harness.client.post("/portal/api/sign-in", json={"contact": "0812-3456-7890"})
    [sms] = await outbox.wait_for(1)
    signed = await harness.client.post(
        "/portal/api/sign-in/verify",
        json={"challenge": asked.json()["challenge"], "code": code_in(sms.body)},
    )
    assert signed.status_code == 200, signed.text
    outbox.clear()
    return {"Authorization": f"Bearer {signed.json()['token']}"}


async def send(
    harness: Harness, template: str, citizen: dict[str, Any], **extra: Any
) -> dict[str, Any]:
    body = {
        "citizen_id": citizen["id"],
        "template_id": template,
        "personalisation": PERSONAL,
        **extra,
    }
    made = await harness.post("/v2/notifications", body)
    assert made.status_code == 201, made.text
    return dict(made.json())


async def subscribe_browser(harness: Harness, session: dict[str, str]) -> PushService:
    """What the portal's page does: fetch the key, subscribe, hand Warta the subscription."""
    assert harness.app.local_peers is not None
    push_service = await harness.app.local_peers.push_service()
    key = (await harness.client.get("/portal/api/push/key", headers=session)).json()
    subscription = push_service.subscribe(key["public_key"])
    stored = await harness.client.post(
        "/portal/api/push/subscriptions", json=subscription, headers=session
    )
    assert stored.status_code == 201, stored.text
    return push_service


async def test_a_citizen_who_prefers_the_app_gets_a_web_push_their_key_opens(
    harness: Harness, template: str
) -> None:
    citizen = await register(harness, ["push", "sms"])
    push_service = await subscribe_browser(harness, await portal_session(harness))

    sent = await send(harness, template, citizen)

    assert sent["routing"]["channel"] == "push"
    row = await harness.wait_status(sent["id"], "delivered")
    assert row.provider == "webpush"
    [delivered] = push_service.deliveries
    # Decrypted by the push service with the subscriber's private key (RFC 8291).
    assert delivered.payload["title"] == "Pajak kendaraan D 1234 XY"
    assert delivered.payload["body"] == "Pajak D 1234 XY jatuh tempo 5 Desember. Bapenda"
    assert delivered.payload["url"].endswith(f"/portal/inbox/{sent['id']}")
    assert harness.app.outbox.list("sms") == []  # one channel reached them: no SMS
    [shown] = (await harness.client.get("/dev/outbox.json", params={"channel": "push"})).json()
    assert (shown["subject"], shown["notification_id"]) == (
        "Pajak kendaraan D 1234 XY",
        sent["id"],
    )


async def test_an_unread_push_escalates_to_sms_and_a_read_one_does_not(
    harness: Harness, template: str, clock: Clock
) -> None:
    citizen = await register(harness, ["push", "sms"])
    session = await portal_session(harness)
    await subscribe_browser(harness, session)
    unread = await send(harness, template, citizen)
    read = await send(harness, template, citizen)
    await harness.wait_status(unread["id"], "delivered")
    await harness.wait_status(read["id"], "delivered")
    opened = await harness.client.post(
        "/portal/api/inbox/read", json={"id": read["id"]}, headers=session
    )
    assert opened.status_code == 200, opened.text

    harness.app.outbox.clear()
    clock.advance(timedelta(minutes=31))  # past the 30-minute window for normal priority
    await escalate_unanswered(harness.app, clock())

    [sms] = await harness.app.outbox.wait_for(1)
    assert sms.to == PHONE
    assert sms.body == "Pajak D 1234 XY jatuh tempo 5 Desember. Bapenda"
    attempts = (await harness.get(f"/v2/notifications/{unread['id']}")).json()["attempts"]
    assert [a["channel"] for a in attempts] == ["push", "sms"]
    read_attempts = (await harness.get(f"/v2/notifications/{read['id']}")).json()["attempts"]
    assert [a["channel"] for a in read_attempts] == ["push"]


async def test_a_telegram_chat_linked_through_the_bot_gets_the_message(
    harness: Harness, template: str
) -> None:
    peers = harness.app.local_peers
    assert peers is not None and peers.telegram_peer is not None
    bot = peers.telegram_peer
    citizen = await register(harness, ["chat", "sms"])
    session = await portal_session(harness)
    link = (await harness.client.post("/portal/api/telegram/link", headers=session)).json()
    assert link["url"].startswith(f"https://t.me/{bot.username}?start=")
    code = link["url"].rsplit("=", 1)[1]

    async with serve_asgi(harness.api) as warta_url:  # Telegram calls Warta over HTTP
        telegram = harness.app.channels["chat"].services["telegram"]  # type: ignore[attr-defined]
        await telegram.set_webhook(f"{warta_url}/providers/telegram/webhook")
        assert await bot.start(424242, code) == 200  # the citizen pressed Start
        assert [s.text for s in bot.sent if s.chat_id == 424242][-1].startswith(
            "Akun Telegram Anda sudah terhubung"
        )
        assert await bot.start(515151, code) == 200  # the same link again: spent
        assert "tidak berlaku" in bot.sent[-1].text

        sent = await send(harness, template, citizen)
        assert sent["routing"]["channel"] == "chat"
        row = await harness.wait_status(sent["id"], "delivered")

    assert row.provider == "telegram"
    message = bot.sent[-1]
    assert message.chat_id == 424242
    assert message.text == (
        "Pajak kendaraan D 1234 XY\n"
        "Yth. Budi, pajak kendaraan D 1234 XY jatuh tempo 5 Desember.\n"
        f"http://127.0.0.1:8000/portal/inbox/{sent['id']}"
    )


async def test_a_webhook_without_the_secret_is_refused(harness: Harness) -> None:
    refused = await harness.client.post(
        "/providers/telegram/webhook", json={"update_id": 1, "message": {}}
    )
    assert refused.status_code == 403
    assert refused.json()["errors"][0]["message"] == (
        "Missing or wrong X-Telegram-Bot-Api-Secret-Token"
    )


async def test_whatsapp_verified_by_code_and_status_webhooks_move_the_status(
    harness: Harness, template: str
) -> None:
    peers = harness.app.local_peers
    assert peers is not None and peers.graph_peer is not None
    graph = peers.graph_peer
    citizen = await register(harness, ["chat", "sms"])
    added = await harness.post(
        f"/v2/citizens/{citizen['id']}/contacts",
        {"type": "chat", "value": "whatsapp:0812 3456 7890"},
    )
    assert added.status_code == 201, added.text
    contact = added.json()
    # The code went as the approved template (the citizen never wrote: window closed).
    deadline = time.monotonic() + 10
    while not graph.accepted and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    [code_message] = graph.accepted
    assert code_message.to == "6281234567890"
    verified = await harness.post(
        f"/v2/citizens/{citizen['id']}/contacts/{contact['id']}/verify",
        {"code": code_in(code_message.text)},
    )
    assert verified.status_code == 200, verified.text

    sent = await send(harness, template, citizen)
    row = await harness.wait_until(sent["id"], lambda r: r.provider_reference is not None)
    assert (row.type, row.status, row.provider) == ("chat", "sending", "whatsapp")

    for status in ("delivered", "read"):
        body, signature = graph.status_webhook(row.provider_reference or "", status)
        answer = await harness.client.post(
            "/providers/whatsapp/webhook",
            content=body,
            headers={"X-Hub-Signature-256": signature, "Content-Type": "application/json"},
        )
        assert answer.status_code == 200, answer.text
    row = await harness.row(sent["id"])
    assert row.status == "delivered"
    assert row.read_at is not None and row.escalate_at is None

    # The citizen writes: the 24-hour window opens and the chatbot answers in it (free
    # text or buttons, never the template), here about the message just received.
    body, signature = graph.inbound_webhook(PHONE, "apa maksudnya pesan ini?")
    answer = await harness.client.post(
        "/providers/whatsapp/webhook",
        content=body,
        headers={"X-Hub-Signature-256": signature, "Content-Type": "application/json"},
    )
    assert answer.status_code == 200, answer.text
    reply = graph.accepted[-1]
    assert reply.to == "6281234567890" and reply.type in ("text", "interactive")
    assert "Dinas Uji" in reply.text and "D 1234 XY" in reply.text

    forged, _ = graph.status_webhook(row.provider_reference or "", "failed", 131026)
    refused = await harness.client.post(
        "/providers/whatsapp/webhook",
        content=forged,
        headers={"X-Hub-Signature-256": "sha256=" + "0" * 64},
    )
    assert refused.status_code == 403
    assert (await harness.row(sent["id"])).status == "delivered"


async def test_whatsapp_webhook_verification_handshake(harness: Harness) -> None:
    whatsapp = harness.app.channels["chat"].services["whatsapp"]  # type: ignore[attr-defined]
    params = {
        "hub.mode": "subscribe",
        "hub.verify_token": whatsapp.config.verify_token,
        "hub.challenge": "1158201444",
    }
    answer = await harness.client.get("/providers/whatsapp/webhook", params=params)
    assert (answer.status_code, answer.text) == (200, "1158201444")
    wrong = await harness.client.get(
        "/providers/whatsapp/webhook", params={**params, "hub.verify_token": "guess"}
    )
    assert wrong.status_code == 403


async def test_dev_outbox_shows_push_and_chat_for_a_citizen_given_devices(
    harness: Harness, template: str
) -> None:
    citizen = await register(harness, ["chat", "push", "sms"])
    async with serve_asgi(harness.api) as warta_url:  # the local bot calls Warta over HTTP
        telegram = harness.app.channels["chat"].services["telegram"]  # type: ignore[attr-defined]
        await telegram.set_webhook(f"{warta_url}/providers/telegram/webhook")
        given = await harness.client.post(f"/dev/citizens/{citizen['id']}/devices")
        assert given.json() == {"push": True, "telegram": True}
        emergency = await send(harness, template, citizen, priority="urgent", all_channels=True)
        assert emergency["routing"]["channel"] == "chat"
        deadline = time.monotonic() + 10
        while len(harness.app.outbox.list("push")) + len(harness.app.outbox.list("chat")) < 2:
            assert time.monotonic() < deadline, "push and chat did not both arrive"
            await asyncio.sleep(0.05)

    shown = (await harness.client.get("/dev/outbox.json")).json()
    by_channel = {m["channel"]: m for m in shown if m["channel"] in ("push", "chat")}
    assert by_channel["chat"]["to"].startswith("telegram:")
    assert by_channel["push"]["to"].startswith("webpush:…")
    assert by_channel["push"]["subject"] == "Pajak kendaraan D 1234 XY"
    assert by_channel["push"]["body"].startswith("Pajak D 1234 XY jatuh tempo 5 Desember.")

    # The agency's dashboard counts each channel the warning was tried on.
    attempts = (await harness.get(f"/v2/notifications/{emergency['id']}")).json()["attempts"]
    for attempt in attempts:
        await harness.wait_status(attempt["id"], "delivered")
    viewer = await sign_in(harness, "viewer")
    week = (await viewer.client.get("/console/?lang=en")).text
    totals = "Totals by channel, last 7 days"
    assert row(week, totals, "App notification") == ["1", "1", "0", "0"]
    assert row(week, totals, "Chat") == ["1", "1", "0", "0"]


async def test_the_official_app_gets_the_message_through_fcm(
    harness: Harness, template: str
) -> None:
    peers = harness.app.local_peers
    assert peers is not None and peers.firebase_peer is not None
    citizen = await register(harness, ["push", "sms"])
    session = await portal_session(harness)
    token = "dKx9_app-install:APA91bH" + "x" * 120
    bad = await harness.client.post(
        "/portal/api/push/fcm-tokens", json={"token": "not a token"}, headers=session
    )
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["message"] == "token is not an FCM registration token"
    stored = await harness.client.post(
        "/portal/api/push/fcm-tokens", json={"token": token}, headers=session
    )
    assert stored.status_code == 201, stored.text

    sent = await send(harness, template, citizen, priority="urgent")

    row = await harness.wait_status(sent["id"], "delivered")
    assert row.provider == "fcm"
    [delivery] = peers.firebase_peer.deliveries  # the OAuth2 token was checked first
    assert delivery.token == token
    assert delivery.notification == {
        "title": "Pajak kendaraan D 1234 XY",
        "body": "Pajak D 1234 XY jatuh tempo 5 Desember. Bapenda",
    }
    assert delivery.android["priority"] == "HIGH"
    assert delivery.data["notification_id"] == sent["id"]


async def test_a_blocked_bot_marks_the_chat_gone_and_the_sms_goes_instead(
    harness: Harness, template: str
) -> None:
    peers = harness.app.local_peers
    assert peers is not None and peers.telegram_peer is not None
    bot = peers.telegram_peer
    citizen = await register(harness, ["chat", "sms"])
    async with serve_asgi(harness.api) as warta_url:
        telegram = harness.app.channels["chat"].services["telegram"]  # type: ignore[attr-defined]
        await telegram.set_webhook(f"{warta_url}/providers/telegram/webhook")
        given = await harness.client.post(f"/dev/citizens/{citizen['id']}/devices")
        assert given.json()["telegram"] is True
    [chat_id] = bot.chats
    bot.block(chat_id)
    harness.app.outbox.clear()

    first = await send(harness, template, citizen)
    assert first["routing"]["channel"] == "chat"
    failed = await harness.wait_status(first["id"], "permanent-failure")
    assert failed.failure_reason == (
        "Telegram answered HTTP 403: the citizen blocked the bot or left Telegram"
    )
    [sms] = await harness.app.outbox.wait_for(1)  # escalation: the next channel at once
    assert (sms.channel, sms.to) == ("sms", PHONE)

    second = await send(harness, template, citizen)  # the chat is gone: SMS straight away
    assert second["routing"]["channel"] == "sms"


async def test_the_readme_walkthrough_with_the_demo_citizen(harness: Harness) -> None:
    demo = await ensure_demo(harness.app)
    again = await ensure_demo(harness.app)  # make run may run it again
    assert {**again, "console_password": ""} == {**demo, "console_password": ""}
    harness.keys["demo"] = demo["live_key"]
    async with serve_asgi(harness.api) as warta_url:
        telegram = harness.app.channels["chat"].services["telegram"]  # type: ignore[attr-defined]
        await telegram.set_webhook(f"{warta_url}/providers/telegram/webhook")
        given = await harness.client.post(f"/dev/citizens/{demo['citizen_id']}/devices")
        assert given.json() == {"push": True, "telegram": True}
    sent = await harness.post(
        "/v2/notifications",
        {
            "citizen_id": demo["citizen_id"],
            "template_id": demo["multi_template_id"],
            "personalisation": {"nama": "Sri", "tanggal": "5 Desember"},
        },
        key="demo",
    )
    assert sent.status_code == 201, sent.text
    assert sent.json()["routing"]["channel"] == "push"
    await harness.wait_status(sent.json()["id"], "delivered")
    [push] = harness.app.outbox.list("push")
    assert (push.subject, push.body.splitlines()[0]) == (
        "Posyandu 5 Desember",
        "Posyandu 5 Desember di balai RW 05. Info: Instansi Demo",
    )


async def test_a_webhook_text_that_is_not_unicode_is_refused_before_anything_is_kept(
    harness: Harness,
) -> None:
    telegram = harness.app.channels["chat"].services["telegram"]  # type: ignore[attr-defined]
    body = b'{"update_id": 7, "message": {"chat": {"id": 42}, "text": "/start \\udc00"}}'
    refused = await harness.client.post(
        "/providers/telegram/webhook",
        content=body,
        headers={
            "X-Telegram-Bot-Api-Secret-Token": telegram.config.webhook_secret,
            "Content-Type": "application/json",
        },
    )
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["message"] == (
        "message.text is not valid Unicode text (it holds a lone surrogate)"
    )
