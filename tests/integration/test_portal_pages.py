"""The citizen portal's pages, as a phone without JavaScript uses them: HTML forms, a
session cookie, the inbox, a message page that marks the message read, and the
citizen's own choices (channel order, quiet hours, caps, topics, consent), each followed
by the next notification an agency sends."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.integration.harness import Clock, Harness, auth_header, code_in, recording
from tests.integration.portal_forms import (
    EMAIL,
    FIRST_LOAD_LIMIT,
    PHONE,
    agency_view,
    ask_code,
    enter_code,
    multi_template,
    post_form,
    register,
    send,
    sign_in,
    wib,
)
from warta.api.pages import csrf_token
from warta.domain.channels import Channel
from warta.services import citizen_self, citizens
from warta.services.admin import create_template
from warta.services.portal_sessions import new_session
from warta.store.outbox import Outbox


@pytest.fixture
def clock() -> Clock:
    return Clock(wib(10))


@pytest.fixture
def channels(outbox: Outbox) -> dict[str, Channel]:
    return recording(outbox)


# -- sign-in and inbox ---------------------------------------------------------------------


async def test_sign_in_read_the_inbox_and_open_a_message(harness: Harness, outbox: Outbox) -> None:
    citizen = await register(harness, outbox, own=False)  # the first sign-in makes it theirs
    template = await create_template(
        harness.app, harness.agency_id, kind="sms", name="posyandu", subject=None,
        body="Posyandu <b>((tanggal))</b> di balai RW 05.",
    )  # fmt: skip
    sent = await send(harness, citizen, str(template.id), personalisation={"tanggal": "5 Desember"})
    await harness.wait_status(sent["id"], "delivered")
    outbox.clear()
    message_id = sent["id"]
    client = harness.client

    first = await client.get(f"/portal/inbox/{message_id}")  # a push's link, signed out
    assert (first.status_code, first.headers["location"]) == (303, "/portal/")
    page = await client.get("/portal/")
    assert 'action="/portal/sign-in"' in page.text and '<html lang="id">' in page.text

    asked = await ask_code(client, "0812 3456 7890")
    [sms] = await outbox.wait_for(1)
    wrong = await enter_code(client, asked, "000000")
    assert wrong.status_code == 400 and 'role="alert"' in wrong.text
    signed = await enter_code(client, asked, code_in(sms.body))
    assert (signed.status_code, signed.headers["location"]) == (303, "/portal/inbox")
    assert "httponly" in signed.headers["set-cookie"].lower()

    inbox = await client.get("/portal/inbox")
    assert f'href="/portal/inbox/{message_id}"' in inbox.text
    assert "Dinas Uji" in inbox.text and "belum dibaca" in inbox.text
    assert '<a href="/portal/inbox" aria-current="page">Kotak masuk</a>' in inbox.text
    opened = await client.get(f"/portal/inbox/{message_id}")
    assert opened.status_code == 200
    # The text is shown escaped: an agency's markup never runs in a citizen's browser.
    assert "Posyandu &lt;b&gt;5 Desember&lt;/b&gt; di balai RW 05." in opened.text
    assert (await harness.row(message_id)).read_at is not None
    assert "belum dibaca" not in (await client.get("/portal/inbox")).text

    # Signing out is a signed-in form too: without its token it is refused.
    refused = await client.post("/portal/sign-out")
    assert refused.status_code == 403 and 'role="alert"' in refused.text
    assert (await client.get("/portal/inbox")).status_code == 200
    out = await post_form(harness, "/portal/inbox", "/portal/sign-out")
    assert (out.status_code, out.headers["location"]) == (303, "/portal/")
    after = await client.get("/portal/inbox")
    assert (after.status_code, after.headers["location"]) == (303, "/portal/")


async def test_a_contact_that_is_not_one_is_refused_in_the_readers_own_words(
    harness: Harness, outbox: Outbox
) -> None:
    """The page gives the reason in the citizen's language and without the API's field
    name; the API keeps Notify's English with it."""
    indonesian = await ask_code(harness.client, "0812")
    assert indonesian.status_code == 400
    assert '<p class="error" role="alert">Digitnya kurang</p>' in indonesian.text
    english = await ask_code(harness.client, "0812", lang="en")
    assert '<p class="error" role="alert">Not enough digits</p>' in english.text
    api = await harness.send_sms("0812")
    assert api.json()["errors"] == [
        {"error": "ValidationError", "message": "phone_number Not enough digits"}
    ]
    assert len(outbox) == 0


async def test_every_signed_in_page_needs_a_session(harness: Harness) -> None:
    for path in ("/portal/preferences", "/portal/topics", "/portal/consents", "/portal/devices",
                 "/portal/data"):  # fmt: skip
        page = await harness.client.get(path)
        assert (page.status_code, page.headers["location"]) == (303, "/portal/"), path
    posted = await harness.client.post("/portal/preferences", data={"rank_email": "1"})
    assert (posted.status_code, posted.headers["location"]) == (303, "/portal/")


# -- preferences ---------------------------------------------------------------------------


async def test_the_preferences_form_decides_how_the_next_notification_goes(
    harness: Harness, outbox: Outbox, clock: Clock
) -> None:
    citizen = await register(harness, outbox)
    template = await multi_template(harness)
    await sign_in(harness, outbox)
    page = await harness.client.get("/portal/preferences")
    assert page.status_code == 200
    assert '<label for="rank_email">Email</label>' in page.text
    assert '<a href="/portal/preferences" aria-current="page">Pengaturan</a>' in page.text

    saved = await post_form(
        harness, "/portal/preferences", "/portal/preferences",
        rank_email="1", rank_sms="2", max_per_day="5", digest_at="19:30", language="en",
    )  # fmt: skip
    assert (saved.status_code, saved.headers["location"]) == (303, "/portal/preferences?saved")
    assert 'role="status">Tersimpan.' in (await harness.client.get(saved.headers["location"])).text
    assert await own_preferences(harness, citizen) == {
        "channels": ["email", "sms"], "quiet_hours": None, "max_per_day": 5,
        "max_per_week": None, "digest": False, "digest_at": "19:30",
    }  # fmt: skip
    assert (await agency_view(harness, citizen))["preferences"] is None  # the citizen's own
    assert (await agency_view(harness, citizen))["language"] == "en"

    by_email = await send(harness, citizen, template)
    assert by_email["channel"] == "email"
    await harness.wait_status(by_email["id"], "delivered")
    [email] = await outbox.wait_for(1)
    assert email.to == EMAIL and email.subject == "Pajak D 1234 XY"

    # Quiet hours around now (10:00 WIB): a normal message waits for their end.
    await post_form(
        harness, "/portal/preferences", "/portal/preferences",
        rank_sms="1", quiet="on", quiet_start="09:00", quiet_end="11:00", language="id",
    )  # fmt: skip
    waiting = await send(harness, citizen, template)
    assert waiting["channel"] == "sms" and waiting["status"] == "created"
    assert datetime.fromisoformat(waiting["routing"]["at"]) == wib(11)
    clock.set(wib(11, 1))
    await harness.wait_status(waiting["id"], "delivered")
    [sms, _] = await outbox.wait_for(2)
    assert sms.to == PHONE


async def own_preferences(harness: Harness, citizen: dict[str, Any]) -> dict[str, Any]:
    """The citizen's preferences as they see them (agencies no longer read them back)."""
    choices = await citizen_self.choices(harness.app, uuid.UUID(citizen["id"]))
    return citizens.preferences_document(choices.preferences)


async def test_every_change_to_how_a_citizen_is_reached_is_in_their_history(
    harness: Harness, outbox: Outbox
) -> None:
    """Who set what, newest first: the registering agency, the agency through the API,
    the citizen in the portal. A save that changes nothing, or is refused, adds nothing."""
    citizen = await register(harness, outbox)
    # The agency changes them with the citizen at its counter: the code they read out.
    email = next(c for c in citizen["contacts"] if c["type"] == "email")
    asked = await harness.post(
        f"/v2/citizens/{citizen['id']}/presence-codes", {"contact_id": email["id"]}
    )
    assert asked.status_code == 201, asked.text
    [presence] = await outbox.wait_for(1)
    by_agency = {
        "channels": ["sms"],
        "quiet_hours": {"start": "22:00", "end": "05:00"},
        "code": code_in(presence.body),
    }
    put = await harness.client.put(
        f"/v2/citizens/{citizen['id']}/preferences",
        json=by_agency,
        headers=auth_header(harness.keys["live"]),
    )
    assert put.status_code == 200, put.text
    patch = await harness.client.patch(
        f"/v2/citizens/{citizen['id']}",
        json={"language": "en"},
        headers=auth_header(harness.keys["live"]),
    )
    assert patch.status_code == 200, patch.text
    await sign_in(harness, outbox)
    mine = {"rank_email": "1", "rank_sms": "2", "max_per_day": "3", "language": "id"}
    for _ in range(2):  # the second save changes nothing
        await post_form(harness, "/portal/preferences", "/portal/preferences", **mine)
    refused = await post_form(
        harness, "/portal/preferences", "/portal/preferences", rank_sms="1", max_per_day="0"
    )
    assert refused.status_code == 400

    page = await harness.client.get("/portal/consents")
    rows = re.findall(r"<tr>\s*<td>[^<]+</td>\s*<td>([^<]+)</td>\s*<td>(.+?)</td>", page.text, re.S)
    assert [(who, " ".join(what.split())) for who, what in rows] == [
        ("Anda", "Saluran: Email, SMS. Tanpa jam tenang. Paling banyak 3 per hari. "
                 "Bahasa: Bahasa Indonesia."),
        ("Dinas Uji", "Saluran: SMS. Jam tenang 22:00–05:00. Bahasa: English."),
        ("Dinas Uji", "Saluran: SMS. Jam tenang 22:00–05:00. Bahasa: Bahasa Indonesia."),
        ("Dinas Uji", "Saluran: SMS. Tanpa jam tenang. Bahasa: Bahasa Indonesia."),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("fields", "alert"),
    [
        ({"rank_email": "1", "rank_sms": "1"}, "Dua saluran mendapat urutan yang sama"),
        ({"rank_sms": "1", "max_per_day": "0"}, "Batas per hari harus antara 1 dan 1000"),
        ({"rank_sms": "1", "max_per_week": "lima"}, "Batas harus bilangan bulat"),
        ({"rank_sms": "1", "quiet": "on", "quiet_start": "25:00", "quiet_end": "06:00"},
         "Awal jam tenang harus berupa jam 24 jam"),
        ({}, "Pilih setidaknya satu saluran"),
    ],
    ids=["same-place", "cap-zero", "cap-not-a-number", "bad-time", "no-channel"],
)  # fmt: skip
async def test_bad_preferences_are_explained_and_change_nothing(
    harness: Harness, outbox: Outbox, fields: dict[str, str], alert: str
) -> None:
    citizen = await register(harness, outbox)
    before = await own_preferences(harness, citizen)
    await sign_in(harness, outbox)
    answer = await post_form(
        harness, "/portal/preferences", "/portal/preferences", language="id", **fields
    )
    assert answer.status_code == 400
    shown = re.search(r'<p class="error" role="alert">([^<]+)</p>', answer.text)
    assert shown and alert in shown.group(1), answer.text
    assert await own_preferences(harness, citizen) == before


async def test_a_form_without_this_sessions_token_is_refused_and_changes_nothing(
    harness: Harness, outbox: Outbox
) -> None:
    citizen = await register(harness, outbox)
    before = await agency_view(harness, citizen)
    await sign_in(harness, outbox)
    wanted = {"rank_email": "1", "language": "en"}
    for token in (None, "", "0" * 64):
        data = wanted if token is None else {**wanted, "csrf_token": token}
        answer = await harness.client.post("/portal/preferences", data=data)
        assert answer.status_code == 403 and 'role="alert"' in answer.text
    # A token made for another session (say, another browser's) is not this one's either.
    later = harness.app.clock() + timedelta(seconds=5)
    other = await new_session(harness.app, uuid.UUID(citizen["id"]), later)
    token = csrf_token(harness.app.keyring, other.token)
    answer = await harness.client.post("/portal/preferences", data={**wanted, "csrf_token": token})
    assert answer.status_code == 403
    assert await agency_view(harness, citizen) == before


# -- consent: agencies and topics ----------------------------------------------------------


async def test_topics_and_withdrawals_apply_at_once_and_are_in_the_history(
    harness: Harness, outbox: Outbox
) -> None:
    citizen = await register(harness, outbox)
    template = await multi_template(harness)
    made = await harness.post("/v2/topics", {"slug": "pajak-kendaraan", "name": "Pajak kendaraan"})
    assert made.status_code == 201
    await sign_in(harness, outbox)
    form = {"agency_id": str(harness.agency_id), "topic": "pajak-kendaraan"}

    listed = await harness.client.get("/portal/topics")
    assert "Kirimi saya pesan tentang Pajak kendaraan dari Dinas Uji." in listed.text
    subscribed = await post_form(
        harness, "/portal/topics", "/portal/topics", subscribe="yes", **form
    )
    assert (subscribed.status_code, subscribed.headers["location"]) == (303, "/portal/topics?saved")
    assert (await agency_view(harness, citizen))["topics"] == ["pajak-kendaraan"]
    reminder = await send(harness, citizen, template, topic="pajak-kendaraan")
    await harness.wait_status(reminder["id"], "delivered")

    await post_form(harness, "/portal/topics", "/portal/topics", subscribe="no", **form)
    assert (await agency_view(harness, citizen))["topics"] == []
    refused = await send(harness, citizen, template, topic="pajak-kendaraan")
    assert refused["status"] == "cancelled"
    other = await send(harness, citizen, template)  # the agency's other messages still come
    await harness.wait_status(other["id"], "delivered")

    stop = {"agency_id": str(harness.agency_id), "granted": "no"}
    await post_form(harness, "/portal/preferences", "/portal/agencies", **stop)
    assert (await send(harness, citizen, template))["status"] == "cancelled"
    urgent = await send(harness, citizen, template, priority="urgent")
    await harness.wait_status(urgent["id"], "delivered")  # emergencies still reach them

    history = await harness.client.get("/portal/consents")
    rows = re.findall(r"<tr>\s*<td>(.*?)</td>\s*<td>(.*?)</td>\s*<td>(.*?)</td>\s*<td>(.*?)</td>"
                      r"\s*<td>(.*?)</td>", history.text)  # fmt: skip
    assert [row[1:] for row in rows] == [
        ("Dinas Uji", "ditarik", "portal",
         "Hentikan pesan dari Dinas Uji. Peringatan darurat tetap sampai kepada Anda."),
        ("Dinas Uji · Pajak kendaraan", "ditarik", "portal",
         "Hentikan pesan tentang Pajak kendaraan dari Dinas Uji."),
        ("Dinas Uji · Pajak kendaraan", "setuju", "portal",
         "Kirimi saya pesan tentang Pajak kendaraan dari Dinas Uji."),
    ]  # fmt: skip
    # The agency's record is the same one, with the words the citizen saw.
    api = (await harness.get(f"/v2/citizens/{citizen['id']}/consents")).json()["consents"]
    assert [(c["granted"], c["topic"], c["source"]) for c in api] == [
        (True, "pajak-kendaraan", "portal"), (False, "pajak-kendaraan", "portal"),
        (False, None, "portal"),
    ]  # fmt: skip
    assert api[0]["text_shown"] == "Kirimi saya pesan tentang Pajak kendaraan dari Dinas Uji."

    again = {"agency_id": str(harness.agency_id), "granted": "yes"}
    await post_form(harness, "/portal/preferences", "/portal/agencies", **again)
    back = await send(harness, citizen, template)
    await harness.wait_status(back["id"], "delivered")


async def test_a_citizen_cannot_choose_for_an_agency_or_topic_they_do_not_know(
    harness: Harness, outbox: Outbox
) -> None:
    citizen = await register(harness, outbox)
    await sign_in(harness, outbox)
    stranger = {"agency_id": "00000000-0000-0000-0000-000000000001", "granted": "no"}
    answer = await post_form(harness, "/portal/preferences", "/portal/agencies", **stranger)
    assert answer.status_code == 404
    topic = {"agency_id": str(harness.agency_id), "topic": "tidak-ada", "subscribe": "yes"}
    answer = await post_form(harness, "/portal/topics", "/portal/topics", **topic)
    assert answer.status_code == 404
    assert (await harness.get(f"/v2/citizens/{citizen['id']}/consents")).json()["consents"] == []


# -- language, devices, weight -------------------------------------------------------------


async def test_the_english_switch_works_on_every_page_and_is_remembered(
    harness: Harness, outbox: Outbox
) -> None:
    await register(harness, outbox)
    await sign_in(harness, outbox)
    client = harness.client
    indonesian = await client.get("/portal/consents")
    assert '<html lang="id">' in indonesian.text and "Riwayat persetujuan" in indonesian.text
    assert 'href="/portal/consents?lang=en"' in indonesian.text
    english = await client.get("/portal/consents?lang=en")
    assert '<html lang="en">' in english.text and "<h1>Consent history</h1>" in english.text
    expected = {
        "/portal/inbox": "<h1>Inbox</h1>", "/portal/preferences": "How to reach you, in order",
        "/portal/topics": "<h1>Topics</h1>",
        "/portal/devices": "Enable notifications on this device",
        "/portal/data": "Type DELETE to confirm",
    }  # fmt: skip
    for path, words in expected.items():  # the cookie keeps English
        page = await client.get(path)
        assert words in page.text and '<html lang="en">' in page.text, path
    back = await client.get("/portal/data?lang=id")
    assert "Ketik HAPUS untuk memastikan" in back.text


async def test_devices_page_offers_push_with_javascript_and_explains_without(
    harness: Harness, outbox: Outbox
) -> None:
    await register(harness, outbox)
    await sign_in(harness, outbox)
    page = await harness.client.get("/portal/devices")
    assert '<button type="button" id="push-enable" hidden>' in page.text  # shown by portal.js
    assert "Tanpa itu pesan Anda tetap datang lewat SMS" in page.text
    assert '<script src="/static/portal.js" defer' in page.text
    script = await harness.client.get("/static/portal.js")
    assert script.status_code == 200 and "/portal/api/push/subscriptions" in script.text
    # This Warta has no Telegram bot: the citizen is told so, nothing breaks.
    linked = await post_form(harness, "/portal/devices", "/portal/devices/telegram")
    assert linked.status_code == 200
    assert '<p class="error" role="alert">Telegram tidak tersedia di Warta ini.</p>' in linked.text


async def test_every_page_is_small_on_first_load(harness: Harness, outbox: Outbox) -> None:
    await register(harness, outbox)
    signed_out = await harness.client.get("/portal/")
    assert len(signed_out.content) < FIRST_LOAD_LIMIT
    await sign_in(harness, outbox)
    script = len((await harness.client.get("/static/portal.js")).content)
    for path in ("/portal/inbox", "/portal/preferences", "/portal/topics", "/portal/consents",
                 "/portal/devices", "/portal/data"):  # fmt: skip
        page = await harness.client.get(path)
        assert page.status_code == 200, path
        assert len(page.content) + script < FIRST_LOAD_LIMIT, path
        assert "<main>" in page.text and '<nav class="site"' in page.text, path


async def test_pages_cannot_be_framed_and_run_only_wartas_own_scripts(harness: Harness) -> None:
    """Every page (portal, console, an error page) forbids framing by another site and
    inline scripts; its own inline styles carry this response's nonce, new each time."""
    nonces = []
    for path in ("/portal/", "/console/sign-in", "/portal/no-such-page"):
        page = await harness.client.get(path)
        policy = page.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in policy and "script-src 'self';" in policy, path
        assert page.headers["referrer-policy"] == "same-origin"
        nonce = re.search(r"'nonce-([^']+)'", policy)
        assert nonce, policy
        inline = set(re.findall(r'<style nonce="([^"]+)"', page.text))
        assert inline == (set() if path.startswith("/console") else {nonce.group(1)}), path
        nonces.append(nonce.group(1))
    assert len(set(nonces)) == len(nonces)
