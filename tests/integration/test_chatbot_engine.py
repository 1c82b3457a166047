"""The conversation engine itself, channel aside: each intent's flow, the guided complaint,
what a chat address may see (trust), a question about the message just received, the
hand-off after two misunderstandings, and the conversation kept sealed."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.integration.harness import Harness, recording
from tests.integration.portal_forms import PHONE, register
from warta.domain.cases import new_tracking_id
from warta.domain.channels import Channel
from warta.services import citizen_self
from warta.services.admin import create_template
from warta.services.cases import catalogue, filing
from warta.services.cases.types import Actor, NewCase
from warta.services.chatbot import conversations, engine, faq, template_qa
from warta.services.chatbot.types import Answer, Incoming
from warta.store.models import ConversationMessage
from warta.store.outbox import Outbox


@pytest.fixture
def channels(outbox: Outbox) -> dict[str, Channel]:
    return recording(outbox)


async def say(
    harness: Harness, text: str = "", *, option: str | None = None, **kw: object
) -> Answer:
    incoming = Incoming(
        kw.pop("channel", "api"),  # type: ignore[arg-type]
        str(kw.pop("address", f"api:{harness.agency_id}:sesi-1")),
        text,
        option=option,
        agency_id=kw.pop("agency_id", harness.agency_id),  # type: ignore[arg-type]
        **kw,  # type: ignore[arg-type]
    )
    return await engine.handle(harness.app, incoming)


async def road(harness: Harness) -> None:
    await catalogue.create_service(
        harness.app, harness.agency_id, "JALAN-RUSAK", "Jalan rusak", kind="laporan"
    )


async def test_status_by_tracking_id_shows_only_what_the_public_page_does(
    harness: Harness,
) -> None:
    await road(harness)
    made = await filing.file_case(
        harness.app, Actor("reporter"), NewCase("JALAN-RUSAK", "Lubang di Jl. Kenanga 5")
    )
    shown = f"{made.tracking_id[:4]}-{made.tracking_id[4:]}"
    answer = await say(harness, f"gmn status laporan {shown.lower()} min?")
    assert answer.intent == "cek_status"
    assert shown in answer.text and "Diterima" in answer.text
    assert "Kenanga" not in answer.text  # what was reported stays with the agency
    nobody = new_tracking_id()
    unknown = await say(harness, f"cek status {nobody}")
    assert unknown.text.startswith(f"Laporan {nobody[:4]}-{nobody[4:]} tidak ditemukan")


async def test_a_guided_complaint_ends_with_its_tracking_id(harness: Harness) -> None:
    await road(harness)
    first = await say(harness, "saya mau buat pengaduan")
    assert first.intent == "buat_pengaduan"
    assert [o.id for o in first.options] == ["svc:JALAN-RUSAK"]
    await say(harness, option="svc:JALAN-RUSAK")
    await say(harness, "Jalan berlubang besar, sudah 2 minggu")
    confirm = await say(harness, "depan SDN 3 Cibeunying")
    assert "Jalan berlubang besar" in confirm.text and [o.id for o in confirm.options] == [
        "yes",
        "no",
    ]
    filed = await say(harness, option="yes")
    found = [w for w in filed.text.replace(".", " ").split() if len(w) == 9 and w[4] == "-"]
    assert found, filed.text
    async with harness.app.uow() as uow:
        case = await uow.cases.by_tracking_id(found[0].replace("-", ""))
    assert case is not None and case.source == "chat"


async def test_an_answer_comes_from_the_agencys_faq(harness: Harness) -> None:
    await faq.save(
        harness.app, harness.agency_id, "Apa syarat membuat KTP-el?",
        "Bawa fotokopi KK dan datang ke kantor Disdukcapil.",
    )  # fmt: skip
    answer = await say(harness, "apa syarat bikin ktp el?")
    assert "fotokopi KK" in answer.text


async def test_out_of_scope_chatter_gets_the_menu_and_two_in_a_row_a_person(
    harness: Harness,
) -> None:
    first = await say(harness, "siapa yang menang piala dunia 2022?", channel="sms",
                      address="+6281299990000")  # fmt: skip
    assert first.intent == "tidak_dikenal" and first.options
    second = await say(harness, "ramalan cuaca besok gimana", channel="sms",
                       address="+6281299990000")  # fmt: skip
    assert second.handed_off and second.intent == "hubungi_petugas"


async def test_a_question_about_the_message_just_received_is_answered_from_its_template(
    harness: Harness, outbox: Outbox
) -> None:
    made = await create_template(
        harness.app, harness.agency_id, kind="sms", name="pajak",
        subject=None, body="Pajak kendaraan ((nopol)) jatuh tempo ((tanggal)).",
    )  # fmt: skip
    await template_qa.set_qa(
        harness.app, harness.agency_id, made.id,
        {"deadline": "Batas bayar ((tanggal)) pukul 23.59.", "where": "Samsat terdekat."},
    )  # fmt: skip
    sent = await harness.post(
        "/v2/notifications/sms",
        {"phone_number": PHONE, "template_id": str(made.id),
         "personalisation": {"nopol": "D 1234 XY", "tanggal": "31 Desember"}},
    )  # fmt: skip
    assert sent.status_code == 201, sent.text
    await harness.wait_status(sent.json()["id"], "delivered")  # nothing left in flight
    answer = await say(harness, "kapan batasnya?", channel="sms", address=PHONE)
    assert answer.text == "Batas bayar 31 Desember pukul 23.59."
    where = await say(harness, "bayarnya di mana?", channel="sms", address=PHONE)
    assert where.text == "Samsat terdekat."


async def test_only_a_proven_address_sees_the_citizens_own_cases(
    harness: Harness, outbox: Outbox
) -> None:
    await road(harness)
    citizen = await register(harness, outbox)
    await filing.file_case(
        harness.app, Actor("citizen", uuid.UUID(citizen["id"])),
        NewCase("JALAN-RUSAK", "Lubang", source="portal"),
    )  # fmt: skip
    mine = await say(harness, "cek status laporan saya", channel="sms", address=PHONE)
    assert "Jalan rusak" in mine.text
    stranger = await say(harness, "cek status laporan saya", channel="sms",
                         address="+6281200001111")  # fmt: skip
    assert "Jalan rusak" not in stranger.text and "nomor pelacakan" in stranger.text


async def test_the_conversation_is_kept_sealed(harness: Harness, tmp_path: Path) -> None:
    await say(harness, "halo selamat pagi")
    async with harness.app.uow() as uow:
        rows = list(await uow.session.scalars(select(ConversationMessage)))
    assert len(rows) == 2 and all(b"selamat" not in r.text_enc for r in rows)


async def test_download_my_data_has_the_conversation_and_delete_my_data_removes_it(
    harness: Harness, outbox: Outbox
) -> None:
    person = await register(harness, outbox)
    citizen_id = uuid.UUID(person["id"])
    await say(harness, "halo, saya Sri dari Cibeunying", channel="sms", address=PHONE)
    exported = await citizen_self.export(harness.app, citizen_id)
    [chat] = exported["conversations"]
    assert chat["channel"] == "sms"
    assert [m["from"] for m in chat["messages"]] == ["citizen", "bot"]
    assert chat["messages"][0]["text"] == "halo, saya Sri dari Cibeunying"
    await citizen_self.erase(harness.app, citizen_id)
    async with harness.app.uow() as uow:
        assert list(await uow.session.scalars(select(ConversationMessage))) == []


async def test_messages_past_the_history_window_are_deleted(harness: Harness) -> None:
    await say(harness, "halo")
    async with harness.app.uow() as uow:
        for row in await uow.session.scalars(select(ConversationMessage)):
            row.at -= timedelta(days=harness.app.settings.chat_history_days + 1)
        await uow.commit()
    await say(harness, "terima kasih")
    conversations._forgot_at.clear()  # as if the last clean-up was an hour ago
    await conversations.forget_old(harness.app)
    async with harness.app.uow() as uow:
        kept = list(await uow.session.scalars(select(ConversationMessage)))
    assert len(kept) == 2  # the second exchange; the first is gone


async def test_a_proven_citizen_changes_how_they_are_reached_in_words(
    harness: Harness, outbox: Outbox
) -> None:
    person = await register(harness, outbox)
    stranger = await say(harness, "kirim lewat email aja", channel="sms", address="+6281200002222")
    assert "portal" in stranger.text  # an unproven address changes nothing
    done = await say(harness, "tolong ganti ke email saja", channel="sms", address=PHONE)
    assert done.intent == "ubah_preferensi", done
    capped = await say(harness, "ubah pengaturan, paling banyak 3 pesan sehari", channel="sms",
                       address=PHONE)  # fmt: skip
    assert "paling banyak 3 pesan sehari" in capped.text
    chosen = await citizen_self.choices(harness.app, uuid.UUID(person["id"]))
    assert chosen.preferences.channels[0] == "email" and chosen.preferences.max_per_day == 3
