"""The portal's chat page, as a phone without JavaScript uses it: the conversation, a
text form, each quick reply a button posting its option, POST-redirect-GET; asking for a
person puts the conversation in the queue of the agency that wrote to the citizen, and
staff's answer shows in the same conversation."""

from __future__ import annotations

import re
import uuid

import pytest

from tests.integration.console import text_of
from tests.integration.harness import Clock, Harness, recording
from tests.integration.portal_forms import (
    FIRST_LOAD_LIMIT,
    multi_template,
    post_form,
    register,
    send,
    sign_in,
    wib,
)
from warta.domain.channels import Channel
from warta.services import staff
from warta.services.chatbot import handoff
from warta.services.chatbot import portal as chat_portal
from warta.store.outbox import Outbox

PERSON = "intent:hubungi_petugas"


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    return sqlite_url


@pytest.fixture
def clock() -> Clock:
    return Clock(wib(10))  # Tuesday 1 December 2026, 10:00 WIB: office hours


@pytest.fixture
def channels(outbox: Outbox) -> dict[str, Channel]:
    return recording(outbox)


def options_on(page: str) -> list[str]:
    return re.findall(r'name="option" value="([^"]+)"', page)


async def test_a_citizen_talks_with_the_bot_then_reaches_a_person(
    harness: Harness, outbox: Outbox
) -> None:
    citizen = await register(harness, outbox)
    sent = await send(harness, citizen, await multi_template(harness))
    await harness.wait_status(sent["id"], "delivered")
    await sign_in(harness, outbox)

    first = await harness.client.get("/portal/chat")
    assert first.status_code == 200 and len(first.content) <= FIRST_LOAD_LIMIT
    assert 'href="/portal/chat" aria-current="page"' in first.text
    assert PERSON in options_on(first.text)  # before the first message: the menu

    said = await post_form(harness, "/portal/chat", "/portal/chat", text="Selamat pagi, min")
    assert (said.status_code, said.headers["location"]) == (303, "/portal/chat#latest")
    shown = text_of((await harness.client.get("/portal/chat")).text)
    assert "Selamat pagi, min" in shown and "Halo! Saya asisten Warta" in shown

    tapped = await post_form(harness, "/portal/chat", "/portal/chat", option=PERSON)
    assert tapped.status_code == 303
    [waiting] = await handoff.queue(harness.app, harness.agency_id)
    assert (waiting.channel, str(waiting.citizen_id)) == ("portal", citizen["id"])
    page = text_of((await harness.client.get("/portal/chat")).text)
    assert "diteruskan ke petugas Dinas Uji" in page

    member = await staff.add(harness.app, harness.agency_id, email="cs@uji.go.id", name="CS",
                             role="sender", password="kopi tubruk di pagi hari")  # fmt: skip
    await handoff.staff_reply(
        harness.app, harness.agency_id, member.id, waiting.id, "Kami periksa dulu, Bu."
    )
    assert "Kami periksa dulu, Bu." in text_of((await harness.client.get("/portal/chat")).text)


async def test_the_page_refuses_what_it_cannot_take_and_speaks_english(
    harness: Harness, outbox: Outbox
) -> None:
    assert (await harness.client.get("/portal/chat")).headers["location"] == "/portal/"
    citizen = await register(harness, outbox)
    await sign_in(harness, outbox)
    page = await harness.client.get("/portal/chat?lang=en")
    assert "Your message" in page.text and "Chat" in text_of(page.text)

    long = await post_form(harness, "/portal/chat", "/portal/chat", text="a" * 2001)
    assert long.status_code == 400 and "At most 2,000 characters" in text_of(long.text)
    blank = await post_form(harness, "/portal/chat", "/portal/chat", text="  ")
    assert blank.status_code == 400 and "Write a message first" in text_of(blank.text)
    forged = await harness.client.post("/portal/chat", data={"text": "halo"})
    assert forged.status_code == 403
    assert await chat_portal.talk(harness.app, uuid.UUID(citizen["id"])) == (None, ())
    forged = await post_form(harness, "/portal/chat", "/portal/chat", option="intent:palsu")
    assert forged.status_code == 303  # a button the bot never offered: the menu
    talk, options = await chat_portal.talk(harness.app, uuid.UUID(citizen["id"]))
    assert talk is not None and talk.messages[-1].intent == "bantuan" and options
