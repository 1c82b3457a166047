"""The console's dashboard (counts per channel and WIB day, as charts and tables) and its
notification pages (search, and one notification with its attempt chain)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.integration.console import Staffer, row, rows_of, sign_in
from tests.integration.harness import Clock, Harness, auth_header, recording, wib
from warta.channels.capture import RecordingChannel
from warta.domain.channels import Channel
from warta.errors import PermanentFailure
from warta.services.admin import create_agency, create_template
from warta.store.outbox import Outbox


async def in_english(staffer: Staffer) -> Staffer:
    """Pages in English from here on (the language is remembered in a cookie)."""
    assert (await staffer.client.get("/console/?lang=en")).status_code == 200
    return staffer


@pytest.fixture
def clock() -> Clock:
    return Clock(wib(1, 10))


@pytest.fixture
def channels(outbox: Outbox) -> dict[str, Channel]:
    return recording(outbox)


async def sent(harness: Harness, response: Any, status: str = "delivered") -> str:
    assert response.status_code == 201, response.text
    notification_id = str(response.json()["id"])
    await harness.wait_status(notification_id, status)
    return notification_id


async def escalated_citizen_message(
    harness: Harness, outbox: Outbox, channels: dict[str, RecordingChannel]
) -> str:
    """A citizen who prefers email; the email bounces, so SMS gets the second attempt.
    Verifying the two contacts sends two codes (an email and an SMS) on the way."""
    citizen = (
        await harness.post(
            "/v2/citizens",
            {
                "nik": "3273014101900002",
                "name": "Sri Wahyuni",
                "region_code": "32.73.01.1001",
                "phone_numbers": ["0812-3456-7890"],
                "email_addresses": ["sri@contoh.id"],
                "preferences": {"channels": ["email", "sms"]},
            },
        )
    ).json()
    for contact in citizen["contacts"]:
        before = len(outbox)
        await harness.post(
            f"/v2/citizens/{citizen['id']}/contacts",
            {"type": contact["type"], "value": contact["value"]},
        )
        [message] = (await outbox.wait_for(before + 1))[:1]
        code = re.search(r"\b(\d{6})\b", message.body)
        assert code, message.body
        verified = await harness.post(
            f"/v2/citizens/{citizen['id']}/contacts/{contact['id']}/verify",
            {"code": code.group(1)},
        )
        assert verified.status_code == 200, verified.text
    template = await create_template(
        harness.app, harness.agency_id, kind="multi", name="pajak",
        subject="Pajak kendaraan ((nopol))", body="Yth. ((nama)), pajak ((nopol)) jatuh tempo.",
        sms_body="Pajak ((nopol)) jatuh tempo. Bapenda",
    )  # fmt: skip
    channels["email"].fail_with = PermanentFailure("550 mailbox unavailable")
    before = len(outbox)
    response = await harness.post(
        "/v2/notifications",
        {"template_id": str(template.id), "citizen_id": citizen["id"],
         "personalisation": {"nama": "Sri", "nopol": "D 1234 XY"}, "reference": "pajak-7"},
    )  # fmt: skip
    first = await sent(harness, response, "permanent-failure")
    [sms] = (await outbox.wait_for(before + 1))[:1]
    assert sms.channel == "sms"
    attempts = (await harness.get(f"/v2/notifications/{first}")).json()["attempts"]
    await harness.wait_status(attempts[1]["id"], "delivered")
    channels["email"].fail_with = None
    return first


async def test_the_dashboard_counts_each_channel_by_wib_day_for_7_and_30_days(
    harness: Harness, clock: Clock, outbox: Outbox, channels: dict[str, RecordingChannel]
) -> None:
    await sent(harness, await harness.send_sms("0812-1111-2222"))  # 1 December: 30 days only
    await sent(harness, await harness.send_email("test@uji.go.id", key="test"))  # not counted
    # 01:00 WIB on the 11th is still the 10th in UTC: it counts on the 11th.
    clock.set(wib(11, 1))
    assert clock().date().day == 10
    await sent(harness, await harness.send_email("ani@contoh.id"))
    await sent(harness, await harness.send_email("budi@contoh.id"))
    clock.set(wib(11, 10))
    await escalated_citizen_message(harness, outbox, channels)
    viewer = await in_english(await sign_in(harness, "viewer"))

    week = await viewer.client.get("/console/")
    assert week.status_code == 200
    assert "WIB" in week.text
    totals = "Totals by channel, last 7 days"
    # Email: two direct, the code, the bounced attempt. SMS: the code, the second attempt.
    assert row(week.text, totals, "Email") == ["4", "3", "1", "0"]
    assert row(week.text, totals, "SMS") == ["2", "2", "0", "0"]
    assert row(week.text, totals, "All channels") == ["6", "5", "1", "0"]
    assert row(week.text, "Email per day (WIB)", "2026-12-11") == ["4", "3", "1", "0"]
    assert row(week.text, "Email per day (WIB)", "2026-12-10") == ["0", "0", "0", "0"]
    assert [r[0] for r in rows_of(week.text, "SMS per day (WIB)")] == [
        f"2026-12-{d:02d}" for d in range(5, 12)
    ]
    # Each chart is an image with a name and a summary, drawn from the same numbers.
    chart = re.search(r'<svg class="chart"[^>]*aria-labelledby="title-email desc-email"', week.text)
    assert chart, week.text
    assert '<title id="title-email">Email per day, last 7 days</title>' in week.text
    assert "4 sent: 3 delivered, 1 failed, 0 still sending." in week.text
    assert "<title>2026-12-11: 1 Failed</title>" in week.text  # a bar's own tooltip
    assert "Nothing sent on this channel in these days." in week.text  # push and chat

    month = await viewer.client.get("/console/?days=30")
    totals = "Totals by channel, last 30 days"
    assert row(month.text, totals, "SMS") == ["3", "3", "0", "0"]
    assert row(month.text, "SMS per day (WIB)", "2026-12-01") == ["1", "1", "0", "0"]
    assert len(rows_of(month.text, "SMS per day (WIB)")) == 30
    assert '<a href="/console/?days=30" aria-current="page">' in month.text

    wrong = await viewer.client.get("/console/?days=5")
    assert wrong.status_code == 400 and "Show 7 or 30 days" in wrong.text


async def test_search_finds_by_recipient_reference_status_and_channel(
    harness: Harness, outbox: Outbox, channels: dict[str, RecordingChannel]
) -> None:
    texted = await sent(harness, await harness.send_sms("+62 812-9999-0001", reference="antre-9"))
    other_text = await sent(harness, await harness.send_sms("0812-9999-0002"))
    mailed = await sent(harness, await harness.send_email("ani@contoh.id"))
    first = await escalated_citizen_message(harness, outbox, channels)
    viewer = await in_english(await sign_in(harness, "viewer"))

    def ids(page: str) -> list[str]:
        return re.findall(r'<a href="/console/notifications/([0-9a-f-]{36})">', page)

    # The number typed as people write it finds the one stored in E.164, and only that.
    by_phone = await viewer.client.get(
        "/console/notifications", params={"recipient": "0812 9999 0001"}
    )
    assert by_phone.status_code == 200
    assert ids(by_phone.text) == [texted]
    assert "+6281299990001" in by_phone.text and "antrean" in by_phone.text  # template name
    by_email = await viewer.client.get(
        "/console/notifications", params={"recipient": "ani@contoh.id"}
    )
    assert ids(by_email.text) == [mailed]
    by_reference = await viewer.client.get(
        "/console/notifications", params={"reference": "antre-9"}
    )
    assert ids(by_reference.text) == [texted]
    failed = await viewer.client.get("/console/notifications", params={"status": "failed"})
    assert ids(failed.text) == [first]
    sms = await viewer.client.get(
        "/console/notifications", params={"channel": "sms", "template": str(harness.sms_template)}
    )
    assert ids(sms.text) == [other_text, texted]
    everything = await viewer.client.get("/console/notifications")
    listed = ids(everything.text)
    assert len(listed) == 7 and listed[-1] == texted  # newest first; codes and attempts too

    nobody = await viewer.client.get(
        "/console/notifications", params={"recipient": "0812-0000-0009"}
    )
    assert "No notifications match." in nobody.text
    bad = await viewer.client.get("/console/notifications", params={"recipient": "budi"})
    assert bad.status_code == 400
    assert re.search(r'role="alert">Search by a whole phone number or email address', bad.text)
    assert 'value="budi"' in bad.text  # the form keeps what was typed


async def test_pages_older_notifications_fifty_at_a_time(harness: Harness) -> None:
    made = [await harness.send_sms(f"0812-7777-{n:04d}") for n in range(53)]
    assert all(r.status_code == 201 for r in made)
    viewer = await in_english(await sign_in(harness, "viewer"))
    first = await viewer.client.get("/console/notifications", params={"channel": "sms"})
    shown = re.findall(r'<a href="/console/notifications/([0-9a-f-]{36})">', first.text)
    assert len(shown) == 50
    older = re.search(r'<a href="/console/notifications\?([^"]+)">Older notifications', first.text)
    assert older, first.text
    assert "channel=sms" in older.group(1)  # the search is kept
    second = await viewer.client.get(
        "/console/notifications?" + older.group(1).replace("&amp;", "&")
    )
    rest = re.findall(r'<a href="/console/notifications/([0-9a-f-]{36})">', second.text)
    assert len(rest) == 3 and not set(rest) & set(shown)
    assert "Older notifications" not in second.text and "Newest notifications" in second.text


async def test_the_detail_shows_the_body_and_the_attempt_chain(
    harness: Harness, outbox: Outbox, channels: dict[str, RecordingChannel]
) -> None:
    first = await escalated_citizen_message(harness, outbox, channels)
    mailed = await sent(harness, await harness.send_email("ani@contoh.id"))
    viewer = await in_english(await sign_in(harness, "viewer"))

    page = (await viewer.client.get(f"/console/notifications/{first}")).text
    assert "Notification to sri@contoh.id" in page
    assert "Yth. Sri, pajak D 1234 XY jatuh tempo." in page  # the body as sent
    assert "Pajak kendaraan D 1234 XY" in page
    assert "550 mailbox unavailable" in page
    attempts = re.findall(r"<h3>Attempt (\d): ([A-Za-z]+)", page)
    assert attempts == [("1", "Email"), ("2", "SMS")]
    assert "email: first usable channel in the citizen&#39;s order" in page  # why: routing
    assert "+6281234567890" in page  # where the second attempt went
    assert "Failed: permanent" in page and "Delivered" in page
    second = re.search(r'<a href="/console/notifications/([0-9a-f-]{36})">Open attempt 2', page)
    assert second
    chained = (await viewer.client.get(f"/console/notifications/{second.group(1)}")).text
    assert "Pajak D 1234 XY jatuh tempo. Bapenda" in chained and "email: tried already" in chained

    plain = (await viewer.client.get(f"/console/notifications/{mailed}")).text
    assert "Dokumen KTP siap" in plain and "Attempt 1" not in plain

    # A verification code's text is the citizen's alone, here as in the API.
    codes = await viewer.client.get(
        "/console/notifications", params={"recipient": "sri@contoh.id", "status": "delivered"}
    )
    [code_row] = re.findall(r'<a href="/console/notifications/([0-9a-f-]{36})">', codes.text)
    code_page = (await viewer.client.get(f"/console/notifications/{code_row}")).text
    assert "one-time code: shown only to the recipient" in code_page
    assert not re.search(r"\b\d{6}\b", re.sub(r"[0-9a-f-]{36}", "", code_page))


async def test_another_agencys_notification_is_not_found_and_signed_out_people_sign_in(
    harness: Harness,
) -> None:
    other = await create_agency(harness.app, "Dinas Lain", email_from="x@lain.go.id",
                                sms_sender="LAIN")  # fmt: skip
    template = await create_template(harness.app, other.id, kind="sms", name="lain",
                                     subject=None, body="Halo dari dinas lain")  # fmt: skip
    theirs = await harness.client.post(
        "/v2/notifications/sms",
        json={"phone_number": "0812-5555-0001", "template_id": str(template.id)},
        headers=auth_header(other.live_key),
    )
    theirs_id = await sent(harness, theirs)
    mine = await sent(harness, await harness.send_sms("0812-5555-0001"))
    viewer = await in_english(await sign_in(harness, "viewer"))

    hidden = await viewer.client.get(f"/console/notifications/{theirs_id}")
    assert hidden.status_code == 404 and "Halo dari dinas lain" not in hidden.text
    found = await viewer.client.get("/console/notifications", params={"recipient": "081255550001"})
    assert re.findall(r'/console/notifications/([0-9a-f-]{36})"', found.text) == [mine]
    week = await viewer.client.get("/console/")
    assert row(week.text, "Totals by channel, last 7 days", "SMS") == ["1", "1", "0", "0"]

    for path in ("/console/", "/console/notifications", f"/console/notifications/{mine}"):
        away = await harness.client.get(path)
        assert away.status_code == 303 and away.headers["location"].startswith("/console/sign-in")
