"""The citizen portal's API against a running Warta (SQLite and PostgreSQL): sign-in by a
code read from the captured SMS or email, sessions by cookie and bearer, the inbox, read
ending escalation, and live events over a real socket."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.integration.harness import Clock, Harness, code_in, next_event
from tests.integration.portal_forms import own_contacts
from warta.channels.capture import RecordingChannel
from warta.channels.webpush import VapidKeys, WebPushChannel, WebPushConfig
from warta.devpeers.loopback import serve_asgi
from warta.devpeers.push_service import PushService
from warta.domain.channels import Channel
from warta.services.escalation import escalate_unanswered
from warta.store.models import CitizenContact, Notification
from warta.store.outbox import Outbox

PHONE = "0812-3456-7890"
NIK, NIK_2 = "3273014101900002", "3171020202850003"
VAPID = VapidKeys.generate()
PERSONAL = {"nama": "Sri", "nopol": "D 1234 XY", "tanggal": "5 Desember"}


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 12, 1, 3, 0, tzinfo=UTC))  # 10:00 WIB: not quiet hours


@pytest.fixture
async def push_service() -> AsyncIterator[PushService]:
    async with PushService().running() as running:
        yield running


@pytest.fixture
async def channels(outbox: Outbox) -> AsyncIterator[dict[str, Channel]]:
    """Email and SMS captured; push through the real Web Push protocol to a local push
    service that plays the browser."""
    async with httpx.AsyncClient() as http:
        push = WebPushChannel(
            VAPID, WebPushConfig(subject="mailto:ops@warta.test", allow_local=True), http
        )
        yield {
            "email": RecordingChannel("email", outbox),
            "sms": RecordingChannel("sms", outbox),
            "push": push,
        }


@pytest.fixture
def template(multi_template: str) -> str:
    """The conftest's template for citizens, under the name these tests give it."""
    return multi_template


async def register(
    harness: Harness,
    outbox: Outbox,
    nik: str = NIK,
    phone: str = PHONE,
    *,
    own: bool = True,
    **extra: Any,
) -> dict[str, Any]:
    """A citizen whose contacts are verified the way a citizen would: by the code sent.
    ``own``: made the citizen's own too, as if confirmed in the portal; else the
    registering agency's, and the first one signed in with becomes theirs."""
    body = {
        "nik": nik,
        "name": "Sri Wahyuni",
        "region_code": "32.73.01.1001",
        "phone_numbers": [phone],
        "email_addresses": [f"warga{nik[-4:]}@contoh.id"],
        **extra,
    }
    made = await harness.post("/v2/citizens", body)
    assert made.status_code == 201, made.text
    citizen = dict(made.json())
    for contact in citizen["contacts"]:
        outbox.clear()
        added = await harness.post(
            f"/v2/citizens/{citizen['id']}/contacts",
            {"type": contact["type"], "value": contact["value"]},
        )
        assert added.status_code == 201, added.text
        [sent] = await outbox.wait_for(1)
        url = f"/v2/citizens/{citizen['id']}/contacts/{contact['id']}/verify"
        assert (await harness.post(url, {"code": code_in(sent.body)})).status_code == 200
    if own:
        await own_contacts(harness, citizen["id"])
    outbox.clear()
    return citizen


async def challenge_for(harness: Harness, contact: str) -> str:
    answer = await harness.client.post("/portal/api/sign-in", json={"contact": contact})
    assert answer.status_code == 200, answer.text
    return str(answer.json()["challenge"])


async def verify(harness: Harness, challenge: str, code: str) -> httpx.Response:
    return await harness.client.post(
        "/portal/api/sign-in/verify", json={"challenge": challenge, "code": code}
    )


async def sign_in(harness: Harness, outbox: Outbox, contact: str = "+62 812 3456 7890") -> str:
    outbox.clear()
    challenge = await challenge_for(harness, contact)
    [sms] = await outbox.wait_for(1)
    signed = await verify(harness, challenge, code_in(sms.body))
    assert signed.status_code == 200, signed.text
    outbox.clear()
    return str(signed.json()["token"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def refused(response: httpx.Response, status: int, message: str) -> bool:
    error = "BadRequestError" if status == 400 else "AuthError"
    return response.status_code == status and response.json() == {
        "status_code": status,
        "errors": [{"error": error, "message": message}],
    }


async def send(harness: Harness, template: str, citizen: dict[str, Any], **extra: Any) -> str:
    body = {"citizen_id": citizen["id"], "template_id": template, "personalisation": PERSONAL}
    made = await harness.post("/v2/notifications", {**body, **extra})
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


# -- sign-in -------------------------------------------------------------------------------


async def test_a_code_by_sms_signs_in_with_a_cookie_or_a_bearer_token(
    harness: Harness, outbox: Outbox, clock: Clock
) -> None:
    citizen = await register(harness, outbox, own=False)  # both the agency's, none theirs
    challenge = await challenge_for(harness, "+62 812 3456 7890")  # another spelling
    [sms] = await outbox.wait_for(1)
    assert (sms.channel, sms.to, sms.sender) == ("sms", "+6281234567890", "WARTA")
    assert sms.body.startswith("Kode masuk Warta Anda: ") and "10 menit" in sms.body
    signed = await verify(harness, challenge, code_in(sms.body))
    assert signed.status_code == 200, signed.text
    # The registering agency's phone was the citizen's first: signing in made it theirs.
    contacts = (await harness.get(f"/v2/citizens/{citizen['id']}")).json()["contacts"]
    assert {(c["type"], c["owner"]) for c in contacts} == {("sms", "citizen"), ("email", "agency")}
    token = signed.json()["token"]
    expires = datetime.fromisoformat(signed.json()["expires_at"])
    assert timedelta(days=29, hours=23) < expires - clock() <= timedelta(days=30)
    cookie = signed.headers["set-cookie"]
    assert cookie.startswith(f"warta_session={token};")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/portal" in cookie
    assert "Secure" not in cookie  # plain http here; https requests get Secure
    # The cookie the client now holds works, and so does the token as a bearer.
    assert (await harness.client.get("/portal/api/inbox")).status_code == 200
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=harness.api), base_url="http://warta.test"
    ) as fresh:
        assert (await fresh.get("/portal/api/inbox")).status_code == 401
        assert (await fresh.get("/portal/api/inbox", headers=bearer(token))).status_code == 200
        broken = bearer(token[:-4] + "AAAA")
        assert refused(
            await fresh.get("/portal/api/inbox", headers=broken),
            401,
            "The session is not valid or has ended: sign in again",
        )
    # Signing out forgets the cookie; a session lasts 30 days.
    out = await harness.client.post("/portal/api/sign-out")
    assert out.status_code == 204 and 'warta_session=""' in out.headers["set-cookie"]
    assert refused(
        await harness.client.get("/portal/api/inbox"), 401, "Sign in first: this needs a session"
    )
    clock.advance(timedelta(days=30, seconds=1))
    assert (await harness.client.get("/portal/api/inbox", headers=bearer(token))).status_code == 401


async def test_a_code_by_email_signs_in_too(harness: Harness, outbox: Outbox) -> None:
    await register(harness, outbox, own=False, language="en")
    challenge = await challenge_for(harness, f" warga{NIK[-4:]}@CONTOH.ID ")
    [email] = await outbox.wait_for(1)
    assert (email.channel, email.to, email.subject) == (
        "email",
        f"warga{NIK[-4:]}@contoh.id",
        "Your Warta sign-in code",
    )
    assert (await verify(harness, challenge, code_in(email.body))).status_code == 200


async def test_an_unknown_or_unverified_contact_gets_a_challenge_that_never_verifies(
    harness: Harness, outbox: Outbox
) -> None:
    await register(harness, outbox)
    known = await challenge_for(harness, PHONE)
    await outbox.wait_for(1)
    outbox.clear()
    # Unverified: registered by an agency, never proven by its owner.
    unverified = {"nik": NIK_2, "name": "Budi", "region_code": "31.71.02.1001"}
    extra = await harness.post("/v2/citizens", {**unverified, "phone_numbers": ["0813 1111 2222"]})
    assert extra.status_code == 201
    for contact in ("0899 0000 1111", "0813 1111 2222", "orang@lain.id"):
        challenge = await challenge_for(harness, contact)
        assert len(challenge) == len(known)  # nothing tells who is registered
        for guess in ("000000", "123456"):
            assert refused(await verify(harness, challenge, guess), 400, "The code is not right")
    await asyncio.sleep(0.1)
    assert len(outbox) == 0  # and nothing was sent
    bad = await harness.client.post("/portal/api/sign-in", json={"contact": "budi@contoh"})
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["message"] == "contact Not a valid email address"


async def test_five_wrong_codes_lock_the_contact_whatever_the_challenge(
    harness: Harness, outbox: Outbox, clock: Clock
) -> None:
    await register(harness, outbox)
    challenge = await challenge_for(harness, PHONE)
    code = code_in((await outbox.wait_for(1))[0].body)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(5):
        assert refused(await verify(harness, challenge, wrong), 400, "The code is not right")
    # Locked for 15 minutes: the right code is refused like a wrong one, and a new
    # challenge does not start the count afresh.
    assert refused(await verify(harness, challenge, code), 400, "The code is not right")
    outbox.clear()
    fresh = await challenge_for(harness, PHONE)
    fresh_code = code_in((await outbox.wait_for(1))[0].body)
    assert refused(await verify(harness, fresh, fresh_code), 400, "The code is not right")
    clock.advance(timedelta(minutes=15))
    outbox.clear()
    after = await challenge_for(harness, PHONE)
    assert (await verify(harness, after, code_in((await outbox.wait_for(1))[0].body))).is_success


async def test_a_code_expires_after_ten_minutes_and_works_once(
    harness: Harness, outbox: Outbox, clock: Clock
) -> None:
    await register(harness, outbox)
    late = await challenge_for(harness, PHONE)
    late_code = code_in((await outbox.wait_for(1))[0].body)
    outbox.clear()
    once = await challenge_for(harness, PHONE)
    once_code = code_in((await outbox.wait_for(1))[0].body)
    assert (await verify(harness, once, once_code)).status_code == 200
    assert refused(
        await verify(harness, once, once_code), 400, "This code was already used: ask for a new one"
    )
    tampered = once[:20] + ("A" if once[20] != "A" else "B") + once[21:]
    assert refused(
        await verify(harness, tampered, once_code),
        400,
        "This sign-in is not valid: ask for a new code",
    )
    clock.advance(timedelta(minutes=10))
    assert refused(
        await verify(harness, late, late_code), 400, "The code has expired: ask for a new one"
    )


# -- inbox ---------------------------------------------------------------------------------


async def test_the_inbox_lists_newest_first_with_agency_and_text_and_marks_seen(
    harness: Harness, outbox: Outbox, template: str, clock: Clock
) -> None:
    citizen = await register(harness, outbox, preferences={"channels": ["email", "sms"]})
    first = await send(harness, template, citizen)
    second = await send(harness, template, citizen, priority="urgent")
    later = (clock() + timedelta(days=1)).isoformat()
    waiting = await send(harness, template, citizen, scheduled_for=later)
    for sent in (first, second):
        await harness.wait_status(sent, "delivered")
    token = await sign_in(harness, outbox)

    listed = await harness.client.get("/portal/api/inbox", headers=bearer(token))
    assert listed.status_code == 200, listed.text
    messages = listed.json()["messages"]
    assert [m["id"] for m in messages] == [second, first]  # not the one not yet sent
    shown = messages[1]
    assert shown["agency"] == "Dinas Uji"
    assert shown["subject"] == "Pajak kendaraan D 1234 XY"
    assert shown["body"].startswith("Yth. Sri, pajak kendaraan D 1234 XY jatuh tempo")
    assert (shown["channel"], shown["status"], shown["read_at"]) == ("email", "delivered", None)
    assert shown["seen_at"] is not None
    assert (await harness.row(first)).seen_at is not None
    assert (await harness.row(waiting)).seen_at is None

    older = await harness.client.get(
        "/portal/api/inbox", params={"older_than": second}, headers=bearer(token)
    )
    assert [m["id"] for m in older.json()["messages"]] == [first]
    one = await harness.client.get(f"/portal/api/inbox/{first}", headers=bearer(token))
    assert one.json() == shown
    hidden = await harness.client.get(f"/portal/api/inbox/{waiting}", headers=bearer(token))
    assert hidden.status_code == 404


async def test_another_citizens_message_is_not_found(
    harness: Harness, outbox: Outbox, template: str
) -> None:
    await register(harness, outbox, preferences={"channels": ["sms"]})
    other = await register(harness, outbox, NIK_2, "0813 9999 8888")
    theirs = await send(harness, template, other)
    await harness.wait_status(theirs, "delivered")
    token = await sign_in(harness, outbox)
    got = await harness.client.get(f"/portal/api/inbox/{theirs}", headers=bearer(token))
    assert got.status_code == 404
    read = await harness.client.post(
        "/portal/api/inbox/read", json={"id": theirs}, headers=bearer(token)
    )
    assert read.status_code == 404 and read.json()["errors"][0]["message"] == "Message not found"
    assert (await harness.row(theirs)).read_at is None
    assert (await harness.client.get("/portal/api/inbox", headers=bearer(token))).json()[
        "messages"
    ] == []


async def attempts(harness: Harness, message_id: str) -> list[Notification]:
    async with harness.app.uow() as uow:
        return list(await uow.notifications.attempts(uuid.UUID(message_id)))


async def wait_attempts(harness: Harness, message_id: str, count: int) -> list[Notification]:
    async with asyncio.timeout(10):
        while len(found := await attempts(harness, message_id)) < count:
            await asyncio.sleep(0.05)
    return found


async def test_reading_a_push_message_stops_its_escalation(
    harness: Harness, outbox: Outbox, template: str, clock: Clock, push_service: PushService
) -> None:
    citizen = await register(harness, outbox, preferences={"channels": ["push", "sms"]})
    # Linked as the portal will link it: the browser's subscription, verified by use.
    subscription = json.dumps(push_service.subscribe(VAPID.public_key_b64url))
    async with harness.app.uow() as uow:
        uow.citizens.add(
            CitizenContact(
                id=uuid.uuid4(),
                citizen_id=uuid.UUID(citizen["id"]),
                kind="push",
                value_enc=harness.app.keyring.encrypt(subscription, field="contact.value"),
                value_hash=harness.app.keyring.lookup_hash(subscription),
                verified_at=clock(),
                code_attempts=0,
                created_at=clock(),
            )
        )
        await uow.commit()
    read_one, unread = (
        await send(harness, template, citizen),
        await send(harness, template, citizen),
    )
    for sent in (read_one, unread):
        row = await harness.wait_until(sent, lambda r: r.escalate_at is not None)
        assert (row.type, row.status) == ("push", "delivered")
    token = await sign_in(harness, outbox)

    # What the service worker does when the notification is tapped: post the push's id.
    [payload] = [d.payload for d in push_service.deliveries if d.payload["id"] == read_one]
    assert payload["url"].endswith(f"/portal/inbox/{read_one}")
    tapped = await harness.client.post(
        "/portal/api/inbox/read", json={"id": payload["id"]}, headers=bearer(token)
    )
    assert tapped.status_code == 200, tapped.text
    assert tapped.json()["read_at"] is not None
    [row] = await attempts(harness, read_one)
    assert row.read_at is not None and row.escalate_at is None

    clock.advance(timedelta(minutes=31))  # past the 30-minute window
    await escalate_unanswered(harness.app, clock())  # the sweeper does it too
    [push, sms] = await wait_attempts(harness, unread, 2)  # unread: on to SMS
    assert (push.type, sms.type) == ("push", "sms")
    assert len(await attempts(harness, read_one)) == 1  # read: no new attempt

    # Reading by the later attempt's id marks every attempt; again changes nothing.
    for _ in range(2):
        again = await harness.client.post(
            "/portal/api/inbox/read", json={"id": str(sms.id)}, headers=bearer(token)
        )
        assert again.status_code == 200 and again.json()["id"] == unread
    marked = await attempts(harness, unread)
    assert all(a.read_at == marked[0].read_at is not None for a in marked)
    assert all(a.escalate_at is None for a in marked)


async def test_events_stream_new_and_read_messages(
    harness: Harness, outbox: Outbox, template: str
) -> None:
    citizen = await register(harness, outbox, preferences={"channels": ["sms"]})
    token = await sign_in(harness, outbox)
    async with (
        serve_asgi(harness.api) as base,
        httpx.AsyncClient(base_url=base, headers=bearer(token)) as client,
        client.stream("GET", "/portal/api/inbox/events", params={"poll": 0.5}) as stream,
    ):
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        lines = stream.aiter_lines()
        sent = await send(harness, template, citizen)
        kind, data = await next_event(lines)
        assert (kind, data["id"], data["agency"]) == ("message", sent, "Dinas Uji")
        assert data["body"] == "Pajak D 1234 XY jatuh tempo 5 Desember. Bapenda"
        read = await harness.client.post(
            "/portal/api/inbox/read", json={"id": sent}, headers=bearer(token)
        )
        assert read.status_code == 200
        kind, data = await next_event(lines)
        assert (kind, data["id"]) == ("read", sent) and data["read_at"] is not None
