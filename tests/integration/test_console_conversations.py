"""The console's "Percakapan" queue and FAQ page, and the chatbot Q&A on the template
editor: staff read a handed-off chat with its history, answer it (the answer goes back
on the citizen's own channel) and close it; a viewer only reads; another agency gets
404. Editors keep the FAQ the bot answers from; office hours are set from the CLI."""

from __future__ import annotations

import asyncio
import re
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import TEST_SECRET_KEY
from tests.integration.console import Staffer, sign_in, text_of
from tests.integration.harness import Clock, Harness, message_to, recording, wib
from warta.cli import main
from warta.domain.channels import Channel
from warta.services.admin import create_agency
from warta.services.chatbot import engine, faq, handoff, template_qa
from warta.services.chatbot.types import Incoming
from warta.store.outbox import Outbox

PHONE = "+6281234567890"
PERSON = "intent:hubungi_petugas"


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    return sqlite_url


@pytest.fixture
def clock() -> Clock:
    return Clock(wib(1, 10))  # Tuesday 1 December 2026, 10:00 WIB: office hours


@pytest.fixture
def channels(outbox: Outbox) -> dict[str, Channel]:
    return recording(outbox)


async def handed_off(harness: Harness) -> uuid.UUID:
    """A citizen texts the agency's SMS number, then asks for a person."""
    for text, option in (("Jalan depan rumah saya rusak parah", None), ("", PERSON)):
        said = Incoming(
            channel="sms", address=PHONE, text=text, option=option, agency_id=harness.agency_id
        )
        await engine.handle(harness.app, said)
    [waiting] = await handoff.queue(harness.app, harness.agency_id)
    return waiting.id


async def in_english(staffer: Staffer) -> Staffer:
    assert (await staffer.client.get("/console/conversations?lang=en")).status_code == 200
    return staffer


async def test_staff_answer_on_the_citizens_channel_then_close(
    harness: Harness, outbox: Outbox
) -> None:
    talk = await handed_off(harness)
    outbox.clear()
    viewer = await in_english(await sign_in(harness, "viewer"))
    queue = text_of((await viewer.client.get("/console/conversations")).text)
    assert "+62812****7890" in queue and PHONE not in queue
    page = await viewer.client.get(f"/console/conversations/{talk}")
    assert "Jalan depan rumah saya rusak parah" in text_of(page.text)
    assert "/reply" not in page.text  # a viewer reads only
    refused = await viewer.post(f"/console/conversations/{talk}/reply", {"text": "Halo"})
    assert refused.status_code == 403

    worker = await in_english(await sign_in(harness, "sender"))
    sent = await worker.post(f"/console/conversations/{talk}/reply", {"text": "Kami cek, Pak."})
    assert (sent.status_code, sent.headers["location"]) == (
        303, f"/console/conversations/{talk}?done=sent#latest",
    )  # fmt: skip
    assert (await message_to(outbox, PHONE)).body == "Kami cek, Pak."
    after = text_of((await worker.client.get(sent.headers["location"])).text)
    assert "Sent on the citizen's channel." in after and "Staff" in after

    empty = await worker.post(f"/console/conversations/{talk}/reply", {"text": "  "})
    assert empty.status_code == 400 and "1 to 2000 characters" in text_of(empty.text)

    closed = await worker.post(f"/console/conversations/{talk}/close", {})
    assert closed.headers["location"] == "/console/conversations?done=closed"
    assert await handoff.queue(harness.app, harness.agency_id) == []
    answer = await engine.handle(harness.app, Incoming("sms", PHONE, "terima kasih banyak"))
    assert not answer.handed_off  # back to the bot


async def test_another_agency_gets_404(harness: Harness) -> None:
    talk = await handed_off(harness)
    other = await create_agency(harness.app, "Dinas Lain", email_from="x@lain.go.id")
    harness.agency_id, mine = other.id, harness.agency_id
    stranger = await sign_in(harness, "admin", "admin@lain.go.id")
    assert "No conversation is waiting" in text_of(
        (await stranger.client.get("/console/conversations?lang=en")).text
    )
    for path, form in (
        (f"/console/conversations/{talk}", None),
        (f"/console/conversations/{talk}/reply", {"text": "Halo"}),
        (f"/console/conversations/{talk}/close", {}),
    ):
        answer = await (stranger.client.get(path) if form is None else stranger.post(path, form))
        assert answer.status_code == 404, path
    assert [c.id for c in await handoff.queue(harness.app, mine)] == [talk]


async def test_editors_keep_the_faq_the_bot_answers_from(harness: Harness) -> None:
    editor = await in_english(await sign_in(harness, "editor"))
    question = "Bagaimana cara membuat KTP-el?"
    added = await editor.post("/console/faq", {"question": question, "answer": "Datang ke"})
    assert added.headers["location"] == "/console/faq?done=saved"
    [entry] = await faq.entries(harness.app, harness.agency_id)
    changed = await editor.post(
        f"/console/faq/{entry.id}",
        {"question": question, "answer": "Bawa KK ke Disdukcapil, gratis."},
    )
    assert changed.status_code == 303
    said = Incoming("api", f"api:{harness.agency_id}:s", question, agency_id=harness.agency_id)
    assert (await engine.handle(harness.app, said)).text == "Bawa KK ke Disdukcapil, gratis."

    too_long = await editor.post("/console/faq", {"question": "q" * 501, "answer": "a"})
    assert too_long.status_code == 400 and "1 to 500 characters" in text_of(too_long.text)

    viewer = await sign_in(harness, "viewer")
    assert "Bawa KK ke Disdukcapil" in (await viewer.client.get("/console/faq")).text
    assert (await viewer.post("/console/faq", {"question": "a", "answer": "b"})).status_code == 403
    gone = await editor.post(f"/console/faq/{entry.id}/delete", {})
    assert gone.headers["location"] == "/console/faq?done=deleted"
    assert await faq.entries(harness.app, harness.agency_id) == []
    again = await editor.post(f"/console/faq/{entry.id}/delete", {})
    assert again.status_code == 404


async def test_template_qa_is_edited_with_the_template(harness: Harness) -> None:
    editor = await sign_in(harness, "editor")
    template = harness.sms_template
    page = await editor.client.get(f"/console/templates/{template}/edit")
    form = {
        name: value
        for name, value in re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', page.text)
        if name != "csrf_token"
    }
    form |= dict(re.findall(r'<textarea[^>]*name="([^"]+)"[^>]*>([^<]*)</textarea>', page.text))
    form |= {"qa_deadline": "Paling lambat ((tanggal)).", "qa_q1": "Apa perlu bawa KTP?",
             "qa_a1": "Ya, KTP asli."}  # fmt: skip
    saved = await editor.post(f"/console/templates/{template}/edit", form)
    assert saved.status_code == 303, saved.text
    assert await template_qa.qa_of(harness.app, harness.agency_id, template) == {
        "deadline": "Paling lambat ((tanggal)).",
        "pairs": [["Apa perlu bawa KTP?", "Ya, KTP asli."]],
    }
    shown = await editor.client.get(f"/console/templates/{template}/edit")
    assert 'value="Apa perlu bawa KTP?"' in shown.text

    for bad_form in ({**form, "qa_q2": "Tanpa jawaban?"}, {**form, "body": "", "qa_where": "X"}):
        bad = await editor.post(f"/console/templates/{template}/edit", bad_form)
        assert bad.status_code == 400, bad_form  # all or nothing
    assert await template_qa.qa_of(harness.app, harness.agency_id, template) == {
        "deadline": "Paling lambat ((tanggal)).",
        "pairs": [["Apa perlu bawa KTP?", "Ya, KTP asli."]],
    }


async def test_office_hours_set_from_the_cli_tell_the_citizen_when(
    harness: Harness, sqlite_url: str, tmp_path: Path
) -> None:
    env = {"WARTA_DATABASE_URL": sqlite_url, "WARTA_VAR_DIR": str(tmp_path),
           "WARTA_SECRET_KEY": TEST_SECRET_KEY}  # fmt: skip
    args = ["agency", "office-hours", "--agency", str(harness.agency_id), "--zone", "wit",
            "--open", "09:00", "--close", "10:00"]  # fmt: skip
    done = await asyncio.to_thread(CliRunner().invoke, main, args, env=env)
    assert (done.exit_code, done.output) == (0, "office hours 09:00-10:00 WIT, Monday to Friday\n")
    bad = await asyncio.to_thread(CliRunner().invoke, main, [*args[:-1], "08:00"], env=env)
    assert bad.exit_code == 1 and "the first earlier" in bad.output

    said = Incoming("sms", PHONE, option=PERSON, agency_id=harness.agency_id)
    answer = await engine.handle(harness.app, said)  # 10:00 WIB is 12:00 WIT: closed
    assert answer.handed_off and "mulai 02-12-2026 09:00 WIT" in answer.text
