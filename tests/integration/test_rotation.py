"""`warta keys rotate`: every personal field re-encrypted, nothing unreadable after."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from tests.integration.harness import make_settings, running_warta
from warta.security.crypto import load_keyring
from warta.services.admin import add_to_guest_list
from warta.services.rotation import rotate
from warta.store.models import Notification


async def test_rotation_re_encrypts_everything_and_drops_the_old_key(
    database_url: str, tmp_path: Path
) -> None:
    settings = make_settings(database_url, tmp_path, secret_key="")
    key_file = tmp_path / "keys" / "secret.key"
    async with running_warta(settings) as h:
        sent = (await h.send_sms("081298765432")).json()["id"]
        await h.wait_status(sent, "delivered")
        await add_to_guest_list(h.app, h.agency_id, "081277778888")
        old_key = json.loads(key_file.read_text())["current"]

        count = await rotate(h.app, settings)

        stored = json.loads(key_file.read_text())
        assert stored["current"] != old_key and stored["previous"] == []
        assert count >= 6  # 3 key secrets, a guest, a recipient and its content
    # A fresh process with only the new key reads everything and finds by hash.
    async with running_warta(settings, agency_name="Dinas Kedua") as h2:
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
