"""``POST /v2/chat/messages``: an agency's own app talks with the bot for a citizen's
session. Its answer's shape, the Notify error shape for a bad body, two agencies' same
session strings never meeting, and a test key answered alike but never reaching staff."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.integration.harness import Clock, Harness, wib
from warta.services import staff
from warta.services.chatbot import handoff

PERSON = "intent:hubungi_petugas"


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    """SQLite: the conversations' queries run on PostgreSQL in the isolation matrix."""
    return sqlite_url


@pytest.fixture
def clock() -> Clock:
    return Clock(wib(1, 10))  # Tuesday 1 December 2026, 10:00 WIB: office hours


async def chat(harness: Harness, key: str = "live", **body: Any) -> dict[str, Any]:
    answer = await harness.post("/v2/chat/messages", {"session": "s-1", **body}, key)
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


async def waiting(harness: Harness, agency_id: uuid.UUID) -> list[str]:
    return [c.channel for c in await handoff.queue(harness.app, agency_id)]


async def test_a_greeting_is_answered_with_the_menu(harness: Harness) -> None:
    found = await chat(harness, text="Selamat pagi, min")
    assert found["intent"] == "salam"
    assert 0.0 <= found["confidence"] <= 1.0
    assert set(found) == {"intent", "confidence", "reply"}
    assert "Warta" in found["reply"]["text"]
    options = found["reply"]["options"]
    assert options and all(set(o) == {"id", "title"} for o in options)
    assert PERSON in {o["id"] for o in options}


async def test_english_gets_english(harness: Harness) -> None:
    found = await chat(harness, text="hello, what can you do?", language="en")
    assert "Hello" in found["reply"]["text"] or "I can" in found["reply"]["text"]


async def test_a_tapped_option_is_its_intent(harness: Harness) -> None:
    found = await chat(harness, option=PERSON)
    assert found["intent"] == "hubungi_petugas" and found["confidence"] == 1.0
    assert await waiting(harness, harness.agency_id) == ["api"]
    again = await chat(harness, text="halo?")
    assert again["intent"] == "hubungi_petugas"  # with staff now: the bot keeps quiet


async def test_two_agencies_sessions_never_meet(harness: Harness, attacker: uuid.UUID) -> None:
    await chat(harness, option=PERSON)  # the victim's session s-1 waits for its staff
    theirs = await chat(harness, "b", text="Selamat pagi, min")  # the same string
    assert theirs["intent"] == "salam"
    assert await waiting(harness, attacker) == []
    assert await waiting(harness, harness.agency_id) == ["api"]


async def test_a_test_key_is_answered_but_staff_never_see_it(harness: Harness) -> None:
    found = await chat(harness, "test", option=PERSON)
    assert found["intent"] == "hubungi_petugas"
    assert await waiting(harness, harness.agency_id) == []
    live = await chat(harness, text="Selamat pagi, min")  # the live session s-1 is its own
    assert live["intent"] == "salam"


BAD_BODIES = [
    ({"session": "s-1", "text": " "}, "Give a text or an option"),
    ({"session": "", "text": "halo"}, "session"),
    ({"session": "s" * 101, "text": "halo"}, "session"),
    ({"session": "s-1", "text": "a" * 2001}, "text"),
    ({"session": "s-1", "text": "halo", "language": "jv"}, "language"),
    ({"session": "s-1", "text": "halo", "agency_id": str(uuid.uuid4())}, "agency_id"),
    ({"session": "s-1", "option": "intent:palsu"}, "option is not one the bot offers"),
]


async def test_a_bad_body_is_refused_in_notifys_shape(harness: Harness) -> None:
    for body, message in BAD_BODIES:
        answer = await harness.post("/v2/chat/messages", body)
        assert answer.status_code == 400, (body, answer.text)
        [error] = answer.json()["errors"]
        assert error["error"] == "ValidationError" and message in error["message"], body
    assert await waiting(harness, harness.agency_id) == []


async def test_without_a_key_nothing_is_answered(harness: Harness) -> None:
    answer = await harness.client.post("/v2/chat/messages", json={"session": "s", "text": "x"})
    assert answer.status_code in (401, 403)
    assert answer.json()["errors"][0]["error"] == "AuthError"


async def test_odd_messages_are_answered_never_a_server_error(harness: Harness) -> None:
    odd: list[dict[str, Any]] = [
        {"option": "svc:tidak-ada"}, {"option": "yes"}, {"option": "no"}, {"option": "skip"},
        {"option": "ask"}, {"option": "intent:tidak-ada"}, {"option": "x" * 64},
        {"text": "🙂🙂🙂"}, {"text": "K7QM-2H9D"}, {"text": "BERHENTI"}, {"text": "MULAI"},
        {"text": "ubah ke bahasa inggris"}, {"text": "a" * 2000}, {"text": "1"},
    ]  # fmt: skip
    for body in odd:
        answer = await harness.post("/v2/chat/messages", {"session": "aneh", **body})
        assert answer.status_code in (200, 400), (body, answer.text)
        if answer.status_code == 200:
            assert answer.json()["reply"]["text"], body


async def test_staffs_answer_to_a_handed_off_session_is_read_back_by_the_app(
    harness: Harness, attacker: uuid.UUID
) -> None:
    handed = await chat(harness, session="kios-3", option="intent:hubungi_petugas")
    assert handed["intent"] == "hubungi_petugas"
    [conversation] = await handoff.queue(harness.app, harness.agency_id)
    member = await staff.add(
        harness.app, harness.agency_id, email="rina@uji.go.id", name="Rina", role="sender",
        password="kuda-laut-berenang-jauh",
    )  # fmt: skip
    await handoff.staff_reply(
        harness.app, harness.agency_id, member.id, conversation.id, "Saya Rina."
    )
    read = await harness.get("/v2/chat/messages", session="kios-3")
    assert read.status_code == 200, read.text
    body = read.json()
    assert [m["author"] for m in body["messages"]] == ["citizen", "bot", "staff"]
    assert body["messages"][-1]["text"] == "Saya Rina." and body["waiting_for_staff"]
    # Another agency's same session string is another conversation: nothing to read.
    theirs = await harness.get("/v2/chat/messages", key="b", session="kios-3")
    assert theirs.json() == {"messages": [], "waiting_for_staff": False}
    assert (await harness.get("/v2/chat/messages", session="")).status_code == 400
