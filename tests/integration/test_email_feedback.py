"""What a bounce or a complaint does (``services/email_feedback.record``, which the bounce
listener calls for each report it reads), on SQLite and PostgreSQL: a hard bounce fails
the email and its digest, calls the agency back again and reaches the citizen on the next
channel; soft bounces fail an address only when repeated; a complaint opts the address
out; what matches nothing is counted and dropped; and the dashboard shows each day's
rates with a warning."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.integration.console import row, sign_in
from tests.integration.harness import (
    Clock,
    Harness,
    Receiver,
    metric_sample,
    receiver_running,
    recording,
    wait_requests,
    wib,
)
from tests.integration.test_citizens import register, send, verify_all
from tests.integration.test_digest import digest_citizen, second_agency, settled, three_low
from warta.domain.bounces import Feedback
from warta.domain.channels import Channel
from warta.services import unsubscribe
from warta.services.admin import set_callback
from warta.services.citizens import erasure
from warta.services.email_feedback import record
from warta.store.models import CitizenContact, EmailFeedback
from warta.store.outbox import Outbox

TOKEN = "token-dinas-uji-yang-panjang"
USER_UNKNOWN = "550 5.1.1 <address>: Recipient address rejected: User unknown"


@pytest.fixture
def clock() -> Clock:
    return Clock(wib(1, 10))  # 10:00 WIB: outside quiet hours


@pytest.fixture
def channels(outbox: Outbox) -> dict[str, Channel]:
    return recording(outbox)


def hard(notification_id: str | uuid.UUID | None) -> Feedback:
    return Feedback("hard", _id(notification_id), "5.1.1", USER_UNKNOWN)


def soft(notification_id: str | uuid.UUID | None) -> Feedback:
    return Feedback("soft", _id(notification_id), "4.2.2", "452 4.2.2 Mailbox full")


def complaint(notification_id: str | uuid.UUID | None) -> Feedback:
    return Feedback("complaint", _id(notification_id), "", "abuse report")


def _id(value: str | uuid.UUID | None) -> uuid.UUID | None:
    return None if value is None else uuid.UUID(str(value))


async def emailed(harness: Harness, address: str = "ani@contoh.id") -> str:
    response = await harness.send_email(address)
    assert response.status_code == 201, response.text
    notification_id = str(response.json()["id"])
    await harness.wait_status(notification_id, "delivered")
    return notification_id


async def scrape(harness: Harness) -> str:
    response = await harness.client.get("/metrics")
    assert response.status_code == 200
    return response.text


def statuses_of(posted: list[tuple[dict[str, str], bytes]], notification_id: str) -> list[str]:
    bodies = [json.loads(body) for _headers, body in posted]
    return [b["status"] for b in bodies if b["id"] == notification_id]


async def test_a_hard_bounce_fails_the_email_and_the_citizen_is_reached_by_sms(
    harness: Harness, outbox: Outbox, multi_template: str
) -> None:
    citizen = await register(harness, preferences={"channels": ["email", "sms"]})
    await verify_all(harness, citizen, outbox)
    receiver = Receiver(answers=[])
    async with receiver_running(receiver) as url:
        await set_callback(harness.app, harness.agency_id, url, TOKEN)
        sent = await send(harness, multi_template, citizen_id=citizen["id"])
        assert sent["channel"] == "email"
        await harness.wait_status(sent["id"], "delivered")
        await wait_requests(receiver, 1)
        assert statuses_of(receiver.requests, sent["id"]) == ["delivered"]
        [mail] = outbox.list("email")
        assert mail.to == "sri@contoh.id"

        # Hours later the recipient's server says the mailbox does not exist.
        assert await record(harness.app, hard(mail.notification_id)) == "matched"

        failed = await harness.row(sent["id"])
        assert failed.status == "permanent-failure"
        assert failed.failure_reason == f"bounced: {USER_UNKNOWN}"
        # The citizen is reached on the next channel, now.
        sms = (await outbox.wait_for(2))[0]  # newest first
        assert sms.channel == "sms" and sms.to == "+6281234567890"
        assert "Pajak D 1234 XY" in sms.body
        shown = (await harness.get(f"/v2/notifications/{sent['id']}")).json()
        first, next_one = shown["attempts"]
        assert (first["channel"], first["status"]) == ("email", "permanent-failure")
        assert next_one["channel"] == "sms"
        second = next_one["id"]
        await harness.wait_status(second, "delivered")

        # The agency hears of it: the delivery receipt again, with the new status (and
        # the SMS attempt's own receipt, in whichever order they come).
        await wait_requests(receiver, 3)
        assert statuses_of(receiver.requests, sent["id"]) == ["delivered", "permanent-failure"]
        assert statuses_of(receiver.requests, second) == ["delivered"]

        # The same bounce again changes nothing: no callback, no message, no status.
        assert await record(harness.app, hard(mail.notification_id)) == "repeated"
        await asyncio.sleep(0.5)
        assert len(receiver.requests) == 3
        assert len(outbox) == 2
        assert (await harness.row(sent["id"])).status == "permanent-failure"

    # The address is gone: routing stops choosing it, so the next message goes by SMS.
    async with harness.app.uow() as uow:
        contacts = (
            await uow.session.scalars(
                select(CitizenContact).where(CitizenContact.citizen_id == uuid.UUID(citizen["id"]))
            )
        ).all()
    gone = {c.kind: c.gone_at is not None for c in contacts}
    assert gone == {"email": True, "sms": False}
    after = await send(harness, multi_template, citizen_id=citizen["id"])
    assert after["channel"] == "sms"
    await harness.wait_status(after["id"], "delivered")

    # Erased, the citizen leaves the agency its bounce count, and nothing that finds them.
    await erasure.erase(harness.app, uuid.UUID(citizen["id"]))
    async with harness.app.uow() as uow:
        [kept] = (await uow.session.scalars(select(EmailFeedback))).all()
    assert (kept.kind, kept.agency_id, kept.recipient_hash, kept.reason) == (
        "hard",
        harness.agency_id,
        None,
        "",
    )


async def test_a_hard_bounce_of_a_digest_fails_every_message_it_carried(
    harness: Harness, outbox: Outbox, clock: Clock, multi_template: str
) -> None:
    citizen = await digest_citizen(harness, outbox, ["email", "sms"])
    samsat, _ = await second_agency(harness)
    low = await three_low(harness, citizen, multi_template, samsat)
    clock.set(wib(1, 18))
    await settled(harness, low, "delivered")
    [mail] = outbox.list("email")
    assert mail.subject == "Ringkasan pesan Anda hari ini (3)"
    assert mail.notification_id == low[0]  # the carrier: the digest's Return-Path names it

    assert await record(harness.app, hard(mail.notification_id)) == "matched"
    await settled(harness, low, "permanent-failure")
    # Each goes on to SMS as it would alone; the new attempts go as one SMS digest.
    sms = (await outbox.wait_for(2))[0]
    assert sms.channel == "sms" and sms.body.startswith("Ringkasan Warta (3 pesan):")
    for notification_id, key in zip(low, ["live", "samsat", "live"], strict=True):
        shown = (await harness.get(f"/v2/notifications/{notification_id}", key=key)).json()
        assert shown["failure_reason"] == f"bounced: {USER_UNKNOWN}"
        assert [a["channel"] for a in shown["attempts"]] == ["email", "sms"]
    async with harness.app.uow() as uow:
        kept = (await uow.session.scalars(select(EmailFeedback))).all()
    # One report, kept once for each message with its own agency (its health figures).
    assert sorted(str(k.notification_id) for k in kept) == sorted(low)
    assert {str(k.reported_id) for k in kept} == {low[0]}
    assert len({k.agency_id for k in kept}) == 2


async def test_a_late_bounce_of_an_email_sent_to_an_address(harness: Harness) -> None:
    # Not a citizen: no contact to mark, no next channel; the status and reason change.
    notification_id = await emailed(harness)
    assert await record(harness.app, hard(notification_id)) == "matched"
    got = (await harness.get(f"/v2/notifications/{notification_id}")).json()
    assert got["status"] == "permanent-failure"
    assert (await harness.row(notification_id)).failure_reason == f"bounced: {USER_UNKNOWN}"
    # A soft bounce or a complaint afterwards leaves the failure as it is.
    assert await record(harness.app, soft(notification_id)) == "matched"
    assert (await harness.row(notification_id)).status == "permanent-failure"


async def test_soft_bounces_fail_an_address_only_when_repeated_within_three_days(
    harness: Harness, clock: Clock
) -> None:
    old = await emailed(harness)
    assert await record(harness.app, soft(old)) == "matched"
    clock.advance(timedelta(days=4))  # out of the window
    first, second, third = [await emailed(harness) for _ in range(3)]
    other = await emailed(harness, "budi@contoh.id")  # another address: its own count
    assert await record(harness.app, soft(other)) == "matched"
    assert await record(harness.app, soft(first)) == "matched"
    assert await record(harness.app, soft(second)) == "matched"
    # A relay's second notice about the same email counts once.
    assert await record(harness.app, soft(second)) == "repeated"
    for each in (old, first, second, other):
        assert (await harness.row(each)).status == "delivered"
    assert await record(harness.app, soft(third)) == "matched"
    for each in (first, second, third):
        failed = await harness.row(each)
        assert failed.status == "temporary-failure"
        assert failed.failure_reason == (
            "soft-bounced 3 emails to this address in 3 days; last: 452 4.2.2 Mailbox full"
        )
    for each in (old, other):  # too long ago; another address
        assert (await harness.row(each)).status == "delivered"


async def test_a_complaint_opts_the_address_out_and_keeps_the_status(harness: Harness) -> None:
    notification_id = await emailed(harness)
    before = await scrape(harness)
    assert await record(harness.app, complaint(notification_id)) == "matched"
    assert await record(harness.app, complaint(notification_id)) == "repeated"
    assert (await harness.row(notification_id)).status == "delivered"  # it did arrive
    address = (await harness.row(notification_id)).recipient_hash
    async with harness.app.uow() as uow:
        stops = await uow.email_opt_outs.of_addresses([address])
    assert [(s.agency_id, s.topic, s.source) for s in stops] == [
        (harness.agency_id, "", "complaint")
    ]
    after = await scrape(harness)
    moved = metric_sample(after, "warta_email_complaints_total") - metric_sample(
        before, "warta_email_complaints_total"
    )
    assert moved == 1
    # The next non-urgent email to the address is not sent; an urgent one still is.
    stopped = await harness.send_email("ani@contoh.id")
    assert (await harness.wait_status(stopped.json()["id"], "cancelled")).failure_reason == (
        unsubscribe.STOPPED
    )
    urgent = await harness.send_email("ani@contoh.id", priority="urgent")
    await harness.wait_status(urgent.json()["id"], "delivered")


async def test_reports_that_match_no_email_are_counted_and_dropped(harness: Harness) -> None:
    texted = await harness.send_sms("081234567890")
    assert texted.status_code == 201
    await harness.wait_status(texted.json()["id"], "delivered")
    before = await scrape(harness)
    for feedback in (
        hard(None),  # no VERP, nothing in the returned headers
        hard(uuid.uuid4()),  # no such notification
        complaint(texted.json()["id"]),  # not an email
    ):
        assert await record(harness.app, feedback) == "unmatched"
    after = await scrape(harness)
    name = "warta_email_feedback_unmatched_total"
    assert metric_sample(after, name) - metric_sample(before, name) == 3
    async with harness.app.uow() as uow:
        kept = (await uow.session.scalars(select(EmailFeedback))).all()
    assert sorted(k.kind for k in kept) == ["complaint", "hard", "hard"]
    # Kept: the kind, the status code and the time; nothing of anyone.
    assert {(k.notification_id, k.agency_id, k.recipient_hash, k.reason) for k in kept} == {
        (None, None, None, "")
    }
    assert (await harness.row(texted.json()["id"])).status == "delivered"


async def test_the_dashboard_shows_each_days_rates_and_warns(
    harness: Harness, clock: Clock
) -> None:
    before = await scrape(harness)
    # 10 emails on the 1st: 1 hard bounce (10% > 2%), 1 complaint (10% > 0.3%).
    first_day = [await emailed(harness, f"warga{n}@contoh.id") for n in range(10)]
    assert await record(harness.app, hard(first_day[0])) == "matched"
    assert await record(harness.app, complaint(first_day[1])) == "matched"
    assert await record(harness.app, soft(first_day[2])) == "matched"
    # The 2nd: 2 emails, none bounced.
    clock.set(wib(2, 10))
    for n in range(2):
        await emailed(harness, f"lain{n}@contoh.id")
    # A bounce arriving on the 2nd for an email of the 1st counts on the 1st.
    assert await record(harness.app, hard(first_day[3])) == "matched"

    viewer = await sign_in(harness, "viewer")
    assert (await viewer.client.get("/console/?lang=en")).status_code == 200
    page = (await viewer.client.get("/console/")).text
    caption = "Email bounces and complaints per day (WIB)"
    # Day, sent, hard bounces, soft bounces, complaints, hard bounce rate, complaint rate.
    assert row(page, caption, "2026-12-01") == ["10", "2", "1", "1", "20.00%", "10.00%"]
    assert row(page, caption, "2026-12-02") == ["2", "0", "0", "0", "0.00%", "0.00%"]
    assert row(page, caption, "2026-11-30") == ["0", "0", "0", "0", "0.00%", "0.00%"]
    assert "Hard bounces passed 2% of the email sent on 2026-12-01 (20.00%)" in page
    assert "Complaints passed 0.3% of the email sent on 2026-12-01 (10.00%)" in page
    assert "2026-12-02 (" not in page  # a good day warns of nothing

    after = await scrape(harness)

    def moved(name: str, **labels: str) -> float:
        return metric_sample(after, name, **labels) - metric_sample(before, name, **labels)

    assert moved("warta_email_bounces_total", kind="hard") == 2
    assert moved("warta_email_bounces_total", kind="soft") == 1
    assert moved("warta_email_complaints_total") == 1
    assert str(harness.agency_id) not in after


async def test_the_indonesian_dashboard_says_the_same(harness: Harness) -> None:
    sent = await emailed(harness)
    assert await record(harness.app, complaint(sent)) == "matched"
    viewer = await sign_in(harness, "viewer")
    page = (await viewer.client.get("/console/?lang=id")).text
    assert "Pentalan dan aduan email per hari (WIB)" in page
    assert row(page, "Pentalan dan aduan email per hari (WIB)", "2026-12-01")[-1] == "100,00%"
