"""The chatbot end to end on each channel, against the local peers as ``make run`` wires
them (the Telegram Bot API, the WhatsApp Cloud API, the SMSC over SMPP): a citizen asks
about the message they just received, asks the status of a report, files a complaint
through the quick replies, stops and restarts messages, and reaches a person whose answer
comes back on the same channel; and the same through the portal's chat page."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.integration.harness import Clock, Harness, code_in, make_settings, running_warta
from tests.integration.portal_forms import post_form, sign_in
from warta.devpeers.loopback import serve_asgi
from warta.services import citizen_self, staff
from warta.services.admin import create_template
from warta.services.cases import catalogue, filing
from warta.services.cases.types import Actor, NewCase
from warta.services.chatbot import handoff, template_qa
from warta.services.chatbot import portal as chat_portal
from warta.store.outbox import Outbox

_portal_chats: list[Any] = []  # the portal chat under test, whose pages ``until`` reloads
NIK = "3273014101900002"
PHONE = "+6281234567890"
CHAT_ID = 424242


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 12, 1, 3, 0, tzinfo=UTC))  # Tuesday 10:00 WIB: office open


@pytest.fixture
async def harness(sqlite_url: str, tmp_path: Path, clock: Clock) -> AsyncIterator[Harness]:
    settings = make_settings(sqlite_url, tmp_path, local_app_peers=True)
    async with running_warta(settings, clock=clock) as running:
        yield running


async def until(check: Callable[[], Any], what: str, timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _portal_chats:  # the portal is read by asking for its pages again
            await _portal_chats[-1].refresh()
        found = check()
        if found:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"waited {timeout} s for {what}")


class Chat:
    """One citizen's side of a chat: what they type or tap, and the answer they see."""

    async def say(self, text: str) -> str:
        raise NotImplementedError

    async def choose(self, option_id: str) -> str:
        raise NotImplementedError

    def options(self) -> list[str]:
        raise NotImplementedError

    def received(self) -> list[str]:
        raise NotImplementedError


class TelegramChat(Chat):
    def __init__(self, bot: Any) -> None:
        self.bot = bot

    def _mine(self) -> list[Any]:
        return [s for s in self.bot.sent if s.chat_id == CHAT_ID]

    async def _after(self, act: Awaitable[int]) -> str:
        before = len(self._mine())
        assert await act == 200
        return str((await until(lambda: bot_said(self._mine()[before:]), "the answer"))[-1].text)

    async def say(self, text: str) -> str:
        return await self._after(self.bot.write(CHAT_ID, text))

    async def choose(self, option_id: str) -> str:
        assert option_id in self.options(), (option_id, self.options())
        return await self._after(self.bot.tap(CHAT_ID, option_id))

    def options(self) -> list[str]:
        markup = self._mine()[-1].reply_markup or {}
        return [b["callback_data"] for row in markup.get("inline_keyboard", []) for b in row]

    def received(self) -> list[str]:
        return [s.text for s in self._mine()]


class WhatsAppChat(Chat):
    def __init__(self, harness: Harness, graph: Any) -> None:
        self.harness, self.graph = harness, graph

    def _mine(self) -> list[Any]:
        return [a for a in self.graph.accepted if a.to == PHONE.lstrip("+")]

    async def _post(self, signed: tuple[bytes, str]) -> str:
        before = len(self._mine())
        body, signature = signed
        answer = await self.harness.client.post(
            "/providers/whatsapp/webhook",
            content=body,
            headers={"X-Hub-Signature-256": signature, "Content-Type": "application/json"},
        )
        assert answer.status_code == 200, answer.text
        return str((await until(lambda: bot_said(self._mine()[before:]), "the answer"))[-1].text)

    async def say(self, text: str) -> str:
        return await self._post(self.graph.inbound_webhook(PHONE, text))

    async def choose(self, option_id: str) -> str:
        titles = dict(self._mine()[-1].options)
        assert option_id in titles, (option_id, titles)
        return await self._post(self.graph.tap_webhook(PHONE, option_id, titles[option_id]))

    def options(self) -> list[str]:
        return [i for i, _ in self._mine()[-1].options]

    def received(self) -> list[str]:
        return [a.text for a in self._mine()]


class SmsChat(Chat):
    """A feature phone: the options come as "Balas 1 untuk …" and are chosen by number."""

    def __init__(self, harness: Harness) -> None:
        self.harness = harness
        self.outbox: Outbox = harness.app.outbox
        self.offered: list[str] = []

    def _mine(self) -> list[Any]:
        return [m for m in reversed(self.outbox.list("sms")) if m.to == PHONE]

    async def say(self, text: str) -> str:
        before = len(self._mine())
        assert self.harness.app.local_smsc is not None
        # A reply goes to the sender id the notice came from: the agency's own.
        await self.harness.app.local_smsc.play_inbound(PHONE, text, recipient="DINASUJI")
        said = await until(lambda: bot_said(self._mine()[before:], "body"), "the SMS answer")
        body = str(said[-1].body)
        menu = re.search(r"Balas (.*)$", body, re.M)
        self.offered = re.findall(r"(\d) untuk ([^,]+)", menu.group(1)) if menu else []
        return body

    async def choose(self, option_id: str) -> str:
        number = next(n for n, title in self.offered if _title_of(option_id) in title)
        return await self.say(number)

    def options(self) -> list[str]:
        return [title.strip() for _, title in self.offered]

    def received(self) -> list[str]:
        return [m.body for m in self._mine()]


class PortalChat(Chat):
    """The portal's chat page, signed in, through its forms (no JavaScript); what the
    citizen receives is the page's conversation and their inbox."""

    def __init__(self, harness: Harness, citizen_id: uuid.UUID) -> None:
        self.harness, self.citizen_id = harness, citizen_id
        self.page = ""
        self.seen: list[str] = []

    async def _post(self, **fields: str) -> str:
        before = len(await self._conversation())
        sent = await post_form(self.harness, "/portal/chat", "/portal/chat", **fields)
        assert sent.status_code == 303, sent.text
        self.page = (await self.harness.client.get("/portal/chat")).text
        said = [m for m in (await self._conversation())[before:] if m.author != "citizen"]
        return said[-1].text

    async def _conversation(self) -> list[Any]:
        found, _ = await chat_portal.talk(self.harness.app, self.citizen_id)
        return found.messages if found is not None else []

    async def say(self, text: str) -> str:
        return await self._post(text=text)

    async def choose(self, option_id: str) -> str:
        assert option_id in self.options(), (option_id, self.options())
        return await self._post(option=option_id)

    def options(self) -> list[str]:
        return re.findall(r'name="option" value="([^"]+)"', self.page)

    def received(self) -> list[str]:
        return self.seen

    async def refresh(self) -> None:
        inbox = (await self.harness.client.get("/portal/inbox")).text
        self.seen = [m.text for m in await self._conversation()] + [inbox]


def bot_said(messages: list[Any], field: str = "text") -> list[Any]:
    """The bot's (or staff's) answers among new messages: not the case's own messages
    (which link the tracking page), which the pipeline may deliver in between."""
    return [m for m in messages if "/cases/" not in getattr(m, field)]


def _title_of(option_id: str) -> str:
    return {"yes": "Ya", "no": "Batal", "skip": "Lewati"}.get(option_id, "Jalan rusak")


async def citizen(harness: Harness, channels: list[str]) -> dict[str, Any]:
    """A registered citizen whose phone is verified and their own."""
    outbox: Outbox = harness.app.outbox
    body = {"nik": NIK, "name": "Sri Wahyuni", "region_code": "32.73.01.1001",
            "phone_numbers": [PHONE], "preferences": {"channels": channels}}  # fmt: skip
    made = (await harness.post("/v2/citizens", body)).json()
    [phone] = made["contacts"]
    outbox.clear()
    await harness.post(f"/v2/citizens/{made['id']}/contacts", {"type": "sms", "value": PHONE})
    [sms] = await outbox.wait_for(1)
    url = f"/v2/citizens/{made['id']}/contacts/{phone['id']}/verify"
    assert (await harness.post(url, {"code": code_in(sms.body)})).status_code == 200
    await citizen_self.make_own_unchecked(
        harness.app, uuid.UUID(made["id"]), uuid.UUID(phone["id"])
    )
    outbox.clear()
    return dict(made)


async def notice_with_questions(harness: Harness) -> str:
    made = await create_template(
        harness.app, harness.agency_id, kind="multi", name="Pajak kendaraan",
        subject="Pajak ((nopol))", body="Pajak kendaraan ((nopol)) jatuh tempo ((tanggal)).",
        sms_body="Pajak ((nopol)) jatuh tempo ((tanggal)).",
    )  # fmt: skip
    await template_qa.set_qa(
        harness.app, harness.agency_id, made.id,
        {"deadline": "Batas bayar ((tanggal)) pukul 23.59.", "where": "Di Samsat terdekat."},
    )  # fmt: skip
    return str(made.id)


async def the_whole_conversation(harness: Harness, person: dict[str, Any], chat: Chat) -> None:
    template = await notice_with_questions(harness)
    await catalogue.create_service(harness.app, harness.agency_id, "JALAN-RUSAK", "Jalan rusak")
    member = await staff.add(
        harness.app, harness.agency_id, email="rina@uji.go.id", name="Rina", role="sender",
        password="kuda-laut-berenang-jauh",
    )  # fmt: skip

    # The message, then a question about it, answered from the template's Q&A.
    sent = await harness.post("/v2/notifications", {
        "citizen_id": person["id"], "template_id": template,
        "personalisation": {"nopol": "D 1234 XY", "tanggal": "31 Desember"}})  # fmt: skip
    assert sent.status_code == 201, sent.text
    await until(lambda: any("D 1234 XY" in t for t in chat.received()), "the notice")
    assert "31 Desember pukul 23.59" in await chat.say("kapan batas bayarnya?")

    # The status of a report, by its tracking id.
    case = await filing.file_case(harness.app, Actor("reporter"), NewCase("JALAN-RUSAK", "Lampu"))
    shown = f"{case.tracking_id[:4]}-{case.tracking_id[4:]}"
    assert "Diterima" in await chat.say(f"cek status laporan {shown}")

    # A complaint, guided by the quick replies, ending with its tracking id.
    await chat.say("saya mau buat pengaduan")
    await chat.choose("svc:JALAN-RUSAK")
    await chat.say("Lubang besar di tengah jalan")
    asked = await chat.say("depan Pasar Kosambi")
    if "foto" in asked:
        await chat.choose("skip")
    await chat.choose("yes")
    # The bot's answer names the tracking id.
    pattern = re.compile(r"nomor [2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}")
    await until(lambda: any(pattern.search(t) for t in chat.received()), "the tracking id")

    # Stop, then start again.
    assert "tidak akan menerima pesan" in await chat.say("tolong berhenti kirim pesan")
    assert "akan menerima pesan" in await chat.say("saya mau mulai terima pesan lagi")

    # A person: the conversation reaches the console's queue, and staff's answer arrives.
    assert "diteruskan ke petugas" in await chat.say("saya mau bicara dengan petugas")
    [waiting] = await handoff.queue(harness.app, harness.agency_id)
    history = await handoff.conversation(harness.app, harness.agency_id, waiting.id)
    assert "saya mau bicara dengan petugas" in [m.text for m in history.messages]
    await handoff.staff_reply(harness.app, harness.agency_id, member.id, waiting.id,
                              "Halo, saya Rina dari Dinas Uji.")  # fmt: skip
    await until(lambda: "Halo, saya Rina dari Dinas Uji." in chat.received(), "staff's answer")


async def test_on_telegram(harness: Harness) -> None:
    peers = harness.app.local_peers
    assert peers is not None and peers.telegram_peer is not None
    bot = peers.telegram_peer
    person = await citizen(harness, ["chat", "sms"])
    code = await citizen_self_link(harness, person)
    async with serve_asgi(harness.api) as warta_url:
        telegram = harness.app.channels["chat"].services["telegram"]  # type: ignore[attr-defined]
        await telegram.set_webhook(f"{warta_url}/providers/telegram/webhook")
        assert await bot.start(CHAT_ID, code) == 200
        await the_whole_conversation(harness, person, TelegramChat(bot))


async def test_on_whatsapp(harness: Harness) -> None:
    peers = harness.app.local_peers
    assert peers is not None and peers.graph_peer is not None
    graph = peers.graph_peer
    person = await citizen(harness, ["chat", "sms"])
    added = await harness.post(f"/v2/citizens/{person['id']}/contacts",
                               {"type": "chat", "value": "whatsapp:0812 3456 7890"})  # fmt: skip
    code_message = await until(lambda: graph.accepted, "the WhatsApp code")
    verify = f"/v2/citizens/{person['id']}/contacts/{added.json()['id']}/verify"
    assert (await harness.post(verify, {"code": code_in(code_message[-1].text)})).status_code == 200
    await citizen_self.make_own_unchecked(
        harness.app, uuid.UUID(person["id"]), uuid.UUID(added.json()["id"])
    )
    chat = WhatsAppChat(harness, graph)
    await chat.say("halo")  # opens the 24-hour window, as a citizen writing first does
    await the_whole_conversation(harness, person, chat)


async def test_on_the_portal(harness: Harness) -> None:
    person = await citizen(harness, ["sms"])
    await sign_in(harness, harness.app.outbox)
    chat = PortalChat(harness, uuid.UUID(person["id"]))
    _portal_chats.append(chat)
    try:
        await the_whole_conversation(harness, person, chat)
    finally:
        _portal_chats.clear()


async def test_on_sms(harness: Harness) -> None:
    person = await citizen(harness, ["sms"])
    await the_whole_conversation(harness, person, SmsChat(harness))


async def citizen_self_link(harness: Harness, person: dict[str, Any]) -> str:
    from warta.services import chat

    link = await chat.telegram_link(harness.app, uuid.UUID(person["id"]))
    return link.rsplit("=", 1)[1]
