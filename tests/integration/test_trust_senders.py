"""Attacks on who a message reaches and whom a reply reaches (issue 14, items 6 and 7),
tried as an agency or a citizen would: team keys on every send route, sender ids taken
twice or the platform's own, and citizens' replies to the shared ``WARTA`` sender.

Three agencies share one Warta: Dinas Uji (the harness's, with its own sender id
``DINASUJI``), and Dinas Kesehatan and Dinas Pendidikan, which have none and send from
``WARTA``. SMS go over real SMPP to the local SMSC; citizens' texts come back through it,
or through an HTTP gateway's signed webhook. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from tests.integration.harness import Clock, Harness, auth_header, make_settings, running_warta, wib
from tests.peers.twilio_like import ACCOUNT_SID, AUTH_TOKEN, twilio_signature
from warta.channels.smsc import LocalSmsc
from warta.errors import BadRequest
from warta.services import citizens
from warta.services.admin import add_to_guest_list, create_agency, create_template
from warta.services.demo import DEMO_NAME, ensure_demo
from warta.services.sending import Caller
from warta.store.models import Broadcast, Job, Notification, ReceivedText

PHONE = "+6281234567890"
OTHER_PHONE = "+6281299990000"
EMAIL = "sri@contoh.id"
NIK = "3273014101900002"
NIK_2 = "3171020202850003"
TEAM_KEY_REFUSED = "Can’t send to this recipient using a team-only API key"
GATEWAY = "aggregator"
#: Citizens reachable at any hour (no quiet hours), SMS first.
ANY_TIME = citizens.Preferences(channels=("sms", "email"), quiet_start=None, quiet_end=None)


@dataclass
class Agency:
    """An agency as its systems see Warta: its name, keys and templates."""

    harness: Harness
    id: uuid.UUID
    name: str
    keys: dict[str, str]
    sms_template: uuid.UUID
    multi_template: uuid.UUID

    async def post(self, path: str, body: Any, key: str = "live") -> httpx.Response:
        return await self.harness.client.post(path, json=body, headers=auth_header(self.keys[key]))

    async def get(self, path: str, key: str = "live") -> httpx.Response:
        return await self.harness.client.get(path, headers=auth_header(self.keys[key]))

    async def text(self, phone: str, priority: str = "normal", key: str = "live") -> str:
        """An SMS to ``phone``; its notification id."""
        body = {
            "phone_number": phone,
            "template_id": str(self.sms_template),
            "personalisation": {"nama": "Budi", "nomor": "7"},
            "priority": priority,
        }
        response = await self.post("/v2/notifications/sms", body, key)
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    async def received(self) -> list[str]:
        """The texts GET /v2/received-text-messages shows this agency."""
        page = (await self.get("/v2/received-text-messages")).json()
        return [t["content"] for t in page["received_text_messages"]]

    async def citizen(self, nik: str, phones: Sequence[str], emails: Sequence[str] = ()) -> str:
        """A citizen this agency registered from its own checked records (contacts
        usable at once, as an import with them trusted makes them)."""
        async with self.harness.app.uow() as uow:
            row = await uow.agencies.get(self.id)
        assert row is not None
        view, _ = await citizens.register(
            self.harness.app,
            Caller(agency=row, key_id=None, key_type="normal"),
            citizens.NewCitizen(
                nik=nik,
                name="Sri Wahyuni",
                region_code="32.73.01.1001",
                phone_numbers=list(phones),
                email_addresses=list(emails),
                preferences=ANY_TIME,
                contacts_verified=True,
            ),
        )
        return str(view.citizen.id)

    async def send_to_citizen(self, citizen_id: str, key: str = "live", **extra: Any) -> Any:
        body = {
            "template_id": str(self.multi_template),
            "citizen_id": citizen_id,
            "personalisation": {"nama": "Sri"},
            **extra,
        }
        return await self.post("/v2/notifications", body, key)


async def agency(harness: Harness, name: str, sms_sender: str | None = None) -> Agency:
    made = await create_agency(harness.app, name, sms_sender=sms_sender)
    return await with_templates(
        harness,
        made.id,
        name,
        {"live": made.live_key, "team": made.team_key, "test": made.test_key},
    )


async def with_templates(
    harness: Harness, agency_id: uuid.UUID, name: str, keys: dict[str, str]
) -> Agency:
    app = harness.app
    sms = await create_template(
        app,
        agency_id,
        kind="sms",
        name="pesan",
        subject=None,
        body="Halo ((nama)), antrean Anda nomor ((nomor)).",
    )
    multi = await create_template(
        app,
        agency_id,
        kind="multi",
        name="jadwal",
        subject="Jadwal ((nama))",
        body="Halo ((nama)), jadwal Anda sudah terbit.",
        sms_body="Halo ((nama)), jadwal Anda sudah terbit.",
    )
    return Agency(harness, agency_id, name, keys, sms.id, multi.id)


@pytest.fixture
async def smsc() -> AsyncIterator[LocalSmsc]:
    server = LocalSmsc()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def clock() -> Clock:
    return Clock(wib(1, 10))  # a Tuesday, 10:00 WIB


@pytest.fixture
async def harness(
    database_url: str, tmp_path: Path, smsc: LocalSmsc, clock: Clock
) -> AsyncIterator[Harness]:
    settings = make_settings(
        database_url,
        tmp_path,
        smpp_url=f"smpp://warta:rahasia@{smsc.host}:{smsc.port}?name=operator",
        # A Twilio-shaped gateway kept as a pure backup (weight 0): SMS go over SMPP, and
        # its signed webhook is a second way citizens' texts come in.
        sms_http_url=f"http://{ACCOUNT_SID}:{AUTH_TOKEN}@127.0.0.1:9/?name={GATEWAY}&weight=0",
    )
    async with running_warta(settings, clock=clock) as running:
        yield running


@pytest.fixture
async def uji(harness: Harness) -> Agency:
    """The harness's agency, with its own sender id DINASUJI."""
    keys = dict(harness.keys)
    return await with_templates(harness, harness.agency_id, "Dinas Uji", keys)


@pytest.fixture
async def kesehatan(harness: Harness) -> Agency:
    return await agency(harness, "Dinas Kesehatan")


@pytest.fixture
async def pendidikan(harness: Harness) -> Agency:
    return await agency(harness, "Dinas Pendidikan")


async def texted_back(smsc: LocalSmsc, phone: str, text: str, to: str = "WARTA") -> None:
    """A citizen's text to ``to``, through the operator's SMSC."""
    await smsc.play_inbound(phone, text, recipient=to)


async def texted_back_by_gateway(harness: Harness, phone: str, text: str, to: str) -> None:
    """A citizen's text to ``to``, as the HTTP gateway posts it (signed)."""
    path = f"/providers/sms/{GATEWAY}/inbound"
    params = {"AccountSid": ACCOUNT_SID, "MessageSid": "SM" + uuid.uuid4().hex}
    params |= {"From": phone, "To": to, "Body": text, "NumSegments": "1"}
    signature = twilio_signature(AUTH_TOKEN, f"http://warta.test{path}", params)
    response = await harness.client.post(
        path, data=params, headers={"X-Twilio-Signature": signature}
    )
    assert response.status_code == 200, response.text


async def replies_to(smsc: LocalSmsc, phone: str, count: int) -> list[Any]:
    """The SMS ``phone`` got that are not agencies' messages (Warta's automatic replies)."""
    await smsc.outbox.wait_for(count)
    return [m for m in smsc.messages if m.to == phone and not m.body.startswith("Halo")]


async def stored(harness: Harness, model: Any) -> int:
    async with harness.app.uow() as uow:
        return int(await uow.session.scalar(select(func.count()).select_from(model)) or 0)


# -- team keys ------------------------------------------------------------------------


async def _sms(uji: Agency) -> httpx.Response:
    body = {
        "phone_number": PHONE,
        "template_id": str(uji.sms_template),
        "personalisation": {"nama": "Budi", "nomor": "7"},
    }
    return await uji.post("/v2/notifications/sms", body, "team")


async def _email(uji: Agency) -> httpx.Response:
    body = {
        "email_address": EMAIL,
        "template_id": str(uji.harness.email_template),
        "personalisation": {"nama": "Budi", "jenis": "KTP"},
    }
    return await uji.post("/v2/notifications/email", body, "team")


async def _bulk(uji: Agency) -> httpx.Response:
    rows = [["phone number", "nama", "nomor"], [PHONE, "Budi", "7"]]
    body = {"name": "uji coba", "template_id": str(uji.sms_template), "rows": rows}
    return await uji.post("/v2/notifications/bulk", body, "team")


async def _citizen(uji: Agency) -> httpx.Response:
    citizen_id = await uji.citizen(NIK, [PHONE], [EMAIL])
    response: httpx.Response = await uji.send_to_citizen(citizen_id, key="team")
    return response


async def _broadcast(uji: Agency) -> httpx.Response:
    await uji.citizen(NIK, [PHONE], [EMAIL])
    body = {
        "template_id": str(uji.multi_template),
        "region": "32.73",
        "personalisation": {"nama": "Warga"},
    }
    return await uji.post("/v2/broadcasts", body, "team")


ROUTES = {
    "sms": _sms,
    "email": _email,
    "bulk": _bulk,
    "citizen": _citizen,
    "broadcast": _broadcast,
}


@pytest.mark.parametrize("route", list(ROUTES))
async def test_a_team_key_reaches_no_one_off_the_guest_list_on_any_route(
    uji: Agency, smsc: LocalSmsc, route: str
) -> None:
    # The guest list holds someone else: the team key is real, the recipient is not on it.
    await add_to_guest_list(uji.harness.app, uji.id, OTHER_PHONE)
    refused = await ROUTES[route](uji)
    assert refused.status_code == 400, refused.text
    [error] = refused.json()["errors"]
    # Notify's message; a bulk send names the row, as GC Notify's does.
    assert error["message"].endswith(TEAM_KEY_REFUSED)
    assert error["message"] == (
        f"Some rows have errors. Row 1 - {TEAM_KEY_REFUSED}"
        if route == "bulk"
        else TEAM_KEY_REFUSED
    )
    # Nothing stored: the agency lists no notification, no job or broadcast was kept,
    # and nobody got a text.
    listed = (await uji.get("/v2/notifications")).json()["notifications"]
    assert listed == []
    assert (await stored(uji.harness, Notification), await stored(uji.harness, Job)) == (0, 0)
    assert await stored(uji.harness, Broadcast) == 0
    assert smsc.messages == []


@pytest.mark.parametrize("route", ["sms", "email", "bulk", "citizen"])
async def test_a_team_key_reaches_the_guest_list(uji: Agency, smsc: LocalSmsc, route: str) -> None:
    for recipient in (PHONE, EMAIL):
        await add_to_guest_list(uji.harness.app, uji.id, recipient)
    allowed = await ROUTES[route](uji)
    assert allowed.status_code == 201, allowed.text


async def test_a_broadcast_is_never_sent_with_a_team_key(uji: Agency) -> None:
    # Everyone in the segment on the guest list changes nothing: a segment is not a list.
    for recipient in (PHONE, EMAIL):
        await add_to_guest_list(uji.harness.app, uji.id, recipient)
    refused = await _broadcast(uji)
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["message"] == TEAM_KEY_REFUSED
    assert await stored(uji.harness, Broadcast) == 0


async def test_a_team_key_sends_to_a_citizen_only_where_routing_meets_the_guest_list(
    uji: Agency, smsc: LocalSmsc
) -> None:
    # The citizen prefers SMS; only their email address is on the guest list. Routing
    # would choose the phone: refused, not quietly moved to another channel.
    await add_to_guest_list(uji.harness.app, uji.id, EMAIL)
    citizen_id = await uji.citizen(NIK, [PHONE], [EMAIL])
    refused = await uji.send_to_citizen(citizen_id, key="team")
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["message"] == TEAM_KEY_REFUSED
    assert await stored(uji.harness, Notification) == 0
    # Every channel at once would reach the phone too: refused as well.
    everywhere = await uji.send_to_citizen(citizen_id, key="team", all_channels=True)
    assert everywhere.status_code == 400

    # With the phone on the list it goes there, and escalates nowhere else.
    await add_to_guest_list(uji.harness.app, uji.id, PHONE)
    sent = await uji.send_to_citizen(citizen_id, key="team")
    assert sent.status_code == 201, sent.text
    assert (sent.json()["channel"], sent.json()["routing"]["fallbacks"]) == ("sms", [])
    await uji.harness.wait_status(sent.json()["id"], "delivered")
    assert [m.to for m in smsc.messages] == [PHONE]
    # The live key still escalates as the citizen's preferences say.
    live = await uji.send_to_citizen(citizen_id)
    assert live.json()["routing"]["fallbacks"] == ["email"]


# -- sender ids -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sender", "message"),
    [
        pytest.param(
            "dinasuji", "The SMS sender id DINASUJI is already another agency's", id="lower"
        ),
        pytest.param(
            "DinasUji", "The SMS sender id DINASUJI is already another agency's", id="mixed"
        ),
        pytest.param("WARTA", "The SMS sender id WARTA is Warta's own", id="platform"),
        pytest.param("warta", "The SMS sender id WARTA is Warta's own", id="platform-lower"),
    ],
)
async def test_a_sender_id_taken_or_the_platforms_is_refused(
    harness: Harness, sender: str, message: str
) -> None:
    with pytest.raises(BadRequest) as refused:
        await create_agency(harness.app, "Dinas Penyamar", sms_sender=sender)
    assert str(refused.value) == message
    async with harness.app.uow() as uow:
        assert await uow.agencies.by_name("Dinas Penyamar") is None
        # Texts to the sender id still reach the agency that holds it.
        holder = await uow.agencies.by_sms_sender(sender)
    assert (holder.name if holder else None) == ("Dinas Uji" if "uji" in sender.lower() else None)


async def test_the_demo_agency_sends_from_the_platform_sender_without_claiming_it(
    harness: Harness, smsc: LocalSmsc
) -> None:
    demo = await ensure_demo(harness.app)
    async with harness.app.uow() as uow:
        found = await uow.agencies.by_name(DEMO_NAME)
    assert found is not None and found.sms_sender is None
    # So another agency still cannot take WARTA after the demo was made.
    with pytest.raises(BadRequest):
        await create_agency(harness.app, "Dinas Lain", sms_sender="WARTA")
    sent = await harness.client.post(
        "/v2/notifications/sms",
        json={
            "phone_number": PHONE,
            "template_id": demo["sms_template_id"],
            "personalisation": {"nama": "Budi", "nomor polisi": "B 1", "tanggal": "1 Des"},
        },
        headers=auth_header(demo["live_key"]),
    )
    await harness.wait_status(sent.json()["id"], "delivered")
    assert [(m.to, m.sender) for m in smsc.messages] == [(PHONE, "WARTA")]


# -- replies --------------------------------------------------------------------------


async def test_berhenti_to_warta_stops_only_the_agency_that_texted_last(
    harness: Harness, uji: Agency, kesehatan: Agency, pendidikan: Agency, smsc: LocalSmsc
) -> None:
    # Both agencies text the phone from WARTA; Dinas Kesehatan last.
    await harness.wait_status(await pendidikan.text(PHONE), "delivered")
    await harness.wait_status(await kesehatan.text(PHONE), "delivered")
    assert {m.sender for m in smsc.messages} == {"WARTA"}

    await texted_back(smsc, PHONE, "BERHENTI")
    [reply] = await replies_to(smsc, PHONE, 3)
    assert reply.sender == "WARTA"
    assert "tidak akan lagi menerima SMS dari Dinas Kesehatan" in reply.body
    # The text is Dinas Kesehatan's alone.
    assert await kesehatan.received() == ["BERHENTI"]
    assert (await pendidikan.received(), await uji.received()) == ([], [])

    # Only Dinas Kesehatan's next SMS is stopped; an urgent one still goes.
    stopped = await kesehatan.text(PHONE)
    flowing = await pendidikan.text(PHONE)
    urgent = await kesehatan.text(PHONE, priority="urgent")
    await harness.wait_status(stopped, "cancelled")
    await harness.wait_status(flowing, "delivered")
    await harness.wait_status(urgent, "delivered")

    # A reply to an agency's own sender id is that agency's, as before.
    await texted_back(smsc, PHONE, "INFO", to="DINASUJI")
    replies = await replies_to(smsc, PHONE, 6)
    assert replies[-1].sender == "DINASUJI"
    assert "dari Dinas Uji" in replies[-1].body
    assert await uji.received() == ["INFO"]
    assert await kesehatan.received() == ["BERHENTI"]


async def test_a_reply_to_warta_nobody_texted_is_kept_for_no_agency(
    harness: Harness,
    uji: Agency,
    kesehatan: Agency,
    pendidikan: Agency,
    smsc: LocalSmsc,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="warta")
    demo = await ensure_demo(harness.app)
    await harness.wait_status(await kesehatan.text(PHONE), "delivered")  # not OTHER_PHONE

    words = f"Pak, NIK saya {NIK_2}, tolong dicek"
    await texted_back_by_gateway(harness, OTHER_PHONE, words, to="WARTA")
    # No agency sees it, the demo agency included.
    for each in (uji, kesehatan, pendidikan):
        assert await each.received() == []
    demo_texts = await harness.client.get(
        "/v2/received-text-messages", headers=auth_header(demo["live_key"])
    )
    assert demo_texts.json()["received_text_messages"] == []
    # It is kept, for the platform only, and the citizen is told nobody reads it.
    async with harness.app.uow() as uow:
        rows = (await uow.session.scalars(select(ReceivedText))).all()
    assert [(r.agency_id, r.notify_number) for r in rows] == [(None, "WARTA")]
    [reply] = await replies_to(smsc, OTHER_PHONE, 2)
    assert reply.sender == "WARTA"
    assert "tidak diteruskan ke instansi mana pun" in reply.body
    assert "BERHENTI SEMUA" in reply.body
    # Neither the text nor the number is in Warta's logs.
    assert NIK_2 not in caplog.text and OTHER_PHONE not in caplog.text

    # A second text the same day is kept too, unanswered: no ping-pong with a machine.
    await texted_back_by_gateway(harness, OTHER_PHONE, "Halo?", to="WARTA")
    assert await stored(harness, ReceivedText) == 2
    await texted_back_by_gateway(harness, PHONE, "INFO", to="WARTA")  # answered: wait for it
    [answer] = await replies_to(smsc, PHONE, 3)
    assert "dari Dinas Kesehatan" in answer.body
    assert len([m for m in smsc.messages if m.to == OTHER_PHONE]) == 1


async def test_a_reply_a_week_after_the_last_text_reaches_no_agency(
    harness: Harness, kesehatan: Agency, smsc: LocalSmsc, clock: Clock
) -> None:
    await harness.wait_status(await kesehatan.text(PHONE), "delivered")
    clock.advance(timedelta(days=7, minutes=1))
    await texted_back(smsc, PHONE, "BERHENTI")
    [reply] = await replies_to(smsc, PHONE, 2)
    assert "tidak diteruskan ke instansi mana pun" in reply.body
    assert await kesehatan.received() == []
    # Nothing was stopped: its next SMS goes.
    await harness.wait_status(await kesehatan.text(PHONE), "delivered")


async def test_berhenti_semua_stops_every_agency_until_mulai_semua(
    harness: Harness, uji: Agency, kesehatan: Agency, pendidikan: Agency, smsc: LocalSmsc
) -> None:
    citizen_id = await pendidikan.citizen(NIK, [PHONE])
    await harness.wait_status(await kesehatan.text(PHONE), "delivered")

    await texted_back(smsc, PHONE, "berhenti semua")
    [reply] = await replies_to(smsc, PHONE, 2)
    assert "dari instansi mana pun" in reply.body and "MULAI SEMUA" in reply.body
    assert await kesehatan.received() == ["berhenti semua"]

    # Every agency's ordinary SMS stops: by number, to the citizen, and in a broadcast.
    ordinary = [await each.text(PHONE) for each in (kesehatan, pendidikan, uji)]
    for notification_id in ordinary:
        await harness.wait_status(notification_id, "cancelled")
    to_citizen = await pendidikan.send_to_citizen(citizen_id)
    assert to_citizen.json()["status"] == "cancelled"
    assert "sms: the citizen opted out of this channel" in to_citizen.json()["routing"]["reasons"]
    # A broadcast routes the phone's owner nowhere, and a family member who shares the
    # phone but has an email address to email, as the fan-out decides (never an SMS
    # attempt cancelled later).
    await pendidikan.citizen(NIK_2, [PHONE], ["budi@contoh.id"])
    broadcast = await pendidikan.post(
        "/v2/broadcasts",
        {"template_id": str(pendidikan.multi_template), "region": "32.73",
         "personalisation": {"nama": "Warga"}},
    )  # fmt: skip
    assert broadcast.status_code == 201, broadcast.text
    progress = await _finished(pendidikan, broadcast.json()["id"], 2)
    assert progress["counts"] == {"cancelled": 1, "delivered": 1}
    # Urgent messages still reach the phone.
    await harness.wait_status(await pendidikan.text(PHONE, priority="urgent"), "delivered")
    urgent = await pendidikan.send_to_citizen(citizen_id, priority="urgent")
    assert urgent.json()["channel"] == "sms"
    await harness.wait_status(urgent.json()["id"], "delivered")

    await texted_back(smsc, PHONE, "MULAI SEMUA")
    await smsc.outbox.wait_for(5)  # two earlier, the urgent two, and this reply
    assert "kembali menerima SMS" in smsc.messages[-1].body
    for each in (kesehatan, pendidikan, uji):
        await harness.wait_status(await each.text(PHONE), "delivered")
    again = await pendidikan.send_to_citizen(citizen_id)
    assert again.json()["channel"] == "sms"
    await harness.wait_status(again.json()["id"], "delivered")


async def _finished(agency: Agency, broadcast_id: str, settled: int) -> dict[str, Any]:
    """The broadcast once fanned out and ``settled`` of its messages are final."""
    for _ in range(200):
        progress: dict[str, Any] = (await agency.get(f"/v2/broadcasts/{broadcast_id}")).json()
        final = {k: v for k, v in progress["counts"].items() if k not in ("created", "sending")}
        if progress["status"] == "done" and sum(final.values()) >= settled:
            return progress
        await asyncio.sleep(0.05)
    raise AssertionError(f"the broadcast did not finish: {progress}")
