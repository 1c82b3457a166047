"""The citizen portal's pages, as a phone without JavaScript uses them: HTML forms, a
session cookie, the inbox, and a message page that marks the message read."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.integration.harness import Harness, code_in, make_settings, running_warta
from warta.channels.capture import Outbox, RecordingChannel
from warta.services.admin import create_template

PHONE = "+6281234567890"


@pytest.fixture
def outbox() -> Outbox:
    return Outbox()


@pytest.fixture
async def harness(database_url: str, tmp_path: Path, outbox: Outbox) -> AsyncIterator[Harness]:
    channels = {"email": RecordingChannel("email", outbox), "sms": RecordingChannel("sms", outbox)}
    async with running_warta(make_settings(database_url, tmp_path), channels=channels) as running:
        yield running


async def citizen_with_a_message(harness: Harness, outbox: Outbox) -> str:
    body = {
        "nik": "3273014101900002",
        "name": "Sri Wahyuni",
        "region_code": "32.73.01.1001",
        "phone_numbers": [PHONE],
        "preferences": {"channels": ["sms"], "quiet_hours": None},
    }
    made = (await harness.post("/v2/citizens", body)).json()
    [phone] = made["contacts"]
    await harness.post(f"/v2/citizens/{made['id']}/contacts", {"type": "sms", "value": PHONE})
    [sms] = await outbox.wait_for(1)
    url = f"/v2/citizens/{made['id']}/contacts/{phone['id']}/verify"
    assert (await harness.post(url, {"code": code_in(sms.body)})).status_code == 200
    template = await create_template(
        harness.app, harness.agency_id, kind="sms", name="posyandu", subject=None,
        body="Posyandu <b>((tanggal))</b> di balai RW 05.",
    )  # fmt: skip
    sent = await harness.post(
        "/v2/notifications",
        {
            "citizen_id": made["id"],
            "template_id": str(template.id),
            "personalisation": {"tanggal": "5 Desember"},
        },
    )
    assert sent.status_code == 201, sent.text
    await harness.wait_status(sent.json()["id"], "delivered")
    outbox.clear()
    return str(sent.json()["id"])


async def test_sign_in_read_the_inbox_and_open_a_message(harness: Harness, outbox: Outbox) -> None:
    message_id = await citizen_with_a_message(harness, outbox)
    client = harness.client

    first = await client.get(f"/portal/inbox/{message_id}")  # a push's link, signed out
    assert (first.status_code, first.headers["location"]) == (303, "/portal/")
    page = await client.get("/portal/")
    assert 'action="/portal/sign-in"' in page.text and '<html lang="id">' in page.text

    asked = await client.post("/portal/sign-in", data={"contact": "0812 3456 7890"})
    challenge = re.search(r'name="challenge" value="([^"]+)"', asked.text)
    assert challenge, asked.text
    [sms] = await outbox.wait_for(1)
    wrong = await client.post(
        "/portal/sign-in/verify", data={"challenge": challenge.group(1), "code": "000000"}
    )
    assert wrong.status_code == 400 and 'role="alert"' in wrong.text
    signed = await client.post(
        "/portal/sign-in/verify",
        data={"challenge": challenge.group(1), "code": code_in(sms.body)},
    )
    assert (signed.status_code, signed.headers["location"]) == (303, "/portal/inbox")
    assert "httponly" in signed.headers["set-cookie"].lower()

    inbox = await client.get("/portal/inbox")
    assert f'href="/portal/inbox/{message_id}"' in inbox.text
    assert "Dinas Uji" in inbox.text and "belum dibaca" in inbox.text
    opened = await client.get(f"/portal/inbox/{message_id}")
    assert opened.status_code == 200
    # The text is shown escaped: an agency's markup never runs in a citizen's browser.
    assert "Posyandu &lt;b&gt;5 Desember&lt;/b&gt; di balai RW 05." in opened.text
    assert (await harness.row(message_id)).read_at is not None
    assert "belum dibaca" not in (await client.get("/portal/inbox")).text

    await client.post("/portal/sign-out")
    after = await client.get("/portal/inbox")
    assert (after.status_code, after.headers["location"]) == (303, "/portal/")
