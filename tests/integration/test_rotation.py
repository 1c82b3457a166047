"""`warta keys rotate`: every personal field re-encrypted, nothing unreadable after."""

from __future__ import annotations

import io
import json
from pathlib import Path

from PIL import Image
from sqlalchemy import select

from tests.integration.harness import make_settings, running_warta
from warta.security.crypto import load_keyring
from warta.services import staff
from warta.services.admin import add_to_guest_list
from warta.services.cases import catalogue, filing, open311_keys, photos, reads
from warta.services.cases.types import Actor, Location, NewCase
from warta.services.chatbot import engine
from warta.services.chatbot.types import Incoming
from warta.services.citizens import NewCitizen, register
from warta.services.rotation import rotate
from warta.services.sending import Caller
from warta.store.models import Notification

NIK = "3273014101900002"


async def test_rotation_re_encrypts_everything_and_drops_the_old_key(
    database_url: str, tmp_path: Path
) -> None:
    settings = make_settings(database_url, tmp_path, secret_key="")
    key_file = tmp_path / "keys" / "secret.key"
    async with running_warta(settings) as h:
        sent = (await h.send_sms("081298765432")).json()["id"]
        await h.wait_status(sent, "delivered")
        await add_to_guest_list(h.app, h.agency_id, "081277778888")
        async with h.app.uow() as uow:
            agency = await uow.agencies.get(h.agency_id)
        assert agency is not None
        await register(
            h.app,
            Caller(agency=agency, key_id=None, key_type="normal"),
            NewCitizen(NIK, "Sri Wahyuni", "32.73", phone_numbers=["081255556666"]),
        )
        old_key = json.loads(key_file.read_text())["current"]

        count = await rotate(h.app, settings)

        stored = json.loads(key_file.read_text())
        assert stored["current"] != old_key and stored["previous"] == []
        assert count >= 9  # 3 key secrets, a guest, a recipient, its content, a citizen
    # A fresh process with only the new key reads everything and finds by hash.
    async with running_warta(settings, agency_name="Dinas Kedua", sms_sender="DINASDUA") as h2:
        fresh = load_keyring(secret_key="", previous_keys="", key_file=key_file)
        async with h2.app.uow() as uow:
            rows = (await uow.session.scalars(select(Notification))).all()
        assert [fresh.decrypt(r.recipient_enc, field="notification.recipient") for r in rows] == [
            "+6281298765432"
        ]
        assert rows[0].recipient_hash == fresh.lookup_hash("+6281298765432")
        # The first agency's team key now checks the guest list under the new hash key.
        async with h2.app.uow() as uow:
            assert await uow.agencies.on_guest_list(
                rows[0].agency_id, fresh.lookup_hashes("+6281277778888")
            )
        # The citizen is found by NIK and the contact by number, under the new hash key.
        async with h2.app.uow() as uow:
            citizen = await uow.citizens.by_nik_hash(fresh.lookup_hash(NIK))
            assert citizen is not None
            assert fresh.decrypt(citizen.name_enc, field="citizen.name") == "Sri Wahyuni"
            [contact] = await uow.citizens.contacts([citizen.id])
        assert contact.value_hash == fresh.lookup_hash("+6281255556666")


async def test_rotation_keeps_cases_staff_and_open311_keys_usable(
    sqlite_url: str, tmp_path: Path
) -> None:
    settings = make_settings(sqlite_url, tmp_path, secret_key="")
    key_file = tmp_path / "keys" / "secret.key"
    async with running_warta(settings) as h:
        await catalogue.create_service(h.app, h.agency_id, "JALAN", "Jalan rusak")
        _, api_key = await open311_keys.create(h.app, "FixMyStreet")
        await staff.add(
            h.app, h.agency_id, email="kepala@uji.go.id", name="Kepala",
            role="admin", password="kuda-laut-berenang-jauh",
        )  # fmt: skip
        new = NewCase(
            "JALAN",
            "Lubang di depan sekolah",
            location=Location(-6.9, 107.6, "Jl. Asia Afrika 1"),
            photos=[photo_bytes()],
        )
        case = await filing.file_case(h.app, Actor("reporter"), new)
        address = f"api:{h.agency_id}:sesi-9"
        await engine.handle(h.app, Incoming("api", address, "halo", agency_id=h.agency_id))
        await rotate(h.app, settings)
    async with running_warta(settings, agency_name="Dinas Kedua", sms_sender="DINASDUA") as h2:
        kept = await reads.for_agency(h2.app, h.agency_id, case.id)
        assert kept.description == "Lubang di depan sekolah"
        assert kept.location.address == "Jl. Asia Afrika 1"
        _, path = await reads.agency_photo(h2.app, h.agency_id, case.id, kept.photos[0].id)
        assert (await photos.read(h2.app, path))[:2] == b"\xff\xd8"  # still opens: a JPEG
        assert await open311_keys.check(h2.app, api_key)
        fresh = load_keyring(secret_key="", previous_keys="", key_file=key_file)
        async with h2.app.uow() as uow:
            chat = await uow.conversations.by_address("api", fresh.lookup_hash(address))
            assert chat is not None
            [said, _] = await uow.conversations.messages(chat.id)
        assert fresh.decrypt(said.text_enc, field="conversation.text") == "halo"
        _, stage = await staff.check_password(h2.app, "kepala@uji.go.id", "kuda-laut-berenang-jauh")
        assert stage == "enrol"  # signed in (first time: set up the second factor)


def photo_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 10, 10)).save(out, "JPEG")
    return out.getvalue()
