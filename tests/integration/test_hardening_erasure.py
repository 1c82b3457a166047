"""Issue 15, item 8: after "Delete my data" nothing of the citizen can be read back from
the SQLite files (``warta.db``, ``-wal``, ``-shm``), even by an attacker holding both the
disk and the key file.

The scan is the attacker's: every sealed value starts ``b"\\x01" | key id`` (see
``security/crypto.py``), so each place that prefix occurs is opened with the key read
from the key file. It is opened as a stream (AES-GCM is AES-CTR plus a tag), without the
tag, so a value torn in two by a page boundary, or half overwritten, still reads as far as
it goes; what was compressed (the content) is inflated. The plaintext and the keyed lookup
hashes are searched for too. The same scan before the erasure finds every value: the
scanner works.

The file scans are SQLite's: on PostgreSQL dead tuples and the write-ahead log keep old
bytes until the server reuses them, which no query can force (``docs/trust.md``); there
the last test checks the rows themselves.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import sqlite3
import uuid
import zlib
from collections.abc import AsyncIterator, Iterator
from contextlib import AbstractAsyncContextManager, suppress
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from tests.conftest import TEST_SECRET_KEY
from tests.integration.harness import Clock, Harness, make_settings, recording, running_warta
from tests.integration.portal_forms import (
    EMAIL,
    NIK,
    PHONE,
    multi_template,
    post_form,
    register,
    send,
    sign_in,
    wib,
)
from warta.cli import main
from warta.services import citizen_self
from warta.services.inbound import receive_text
from warta.store import scrub
from warta.store.outbox import Outbox

NAME = "Sri Wahyuni"
#: Personalisation only this citizen's messages carry (a number plate).
PLATE = "QZ 4242 WX"
#: The longest sealed value a scan reads on from one prefix.
SPAN = 8192


def _running(url: str, tmp_path: Path, outbox: Outbox) -> AbstractAsyncContextManager[Harness]:
    settings = make_settings(url, tmp_path)
    return running_warta(settings, channels=recording(outbox), clock=Clock(wib(10)))


@pytest.fixture
async def erasing(sqlite_url: str, tmp_path: Path, outbox: Outbox) -> AsyncIterator[Harness]:
    async with _running(sqlite_url, tmp_path, outbox) as running:
        yield running


@pytest.fixture
async def erasing_pg(postgres_url: str, tmp_path: Path, outbox: Outbox) -> AsyncIterator[Harness]:
    async with _running(postgres_url, tmp_path, outbox) as running:
        yield running


def _stream_key() -> tuple[bytes, bytes]:
    """(prefix of every sealed value, AES key): what the key file gives an attacker."""
    master = base64.b64decode(TEST_SECRET_KEY)
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"warta/encrypt/v1")
    return b"\x01" + hashlib.sha256(master).digest()[:4], hkdf.derive(master)


def _opened(data: bytes) -> Iterator[bytes]:
    """Every sealed value in ``data``, decrypted as far as the bytes go (and inflated)."""
    prefix, key = _stream_key()
    at = data.find(prefix)
    while at != -1:
        nonce = data[at + 5 : at + 17]
        if len(nonce) == 12:
            counter = modes.CTR(nonce + b"\x00\x00\x00\x02")  # GCM's first block of text
            plain = (
                Cipher(algorithms.AES(key), counter)
                .decryptor()
                .update(data[at + 17 : at + 17 + SPAN])
            )
            yield plain
            with suppress(zlib.error):  # not compressed: only the content is
                yield zlib.decompressobj().decompress(plain)
        at = data.find(prefix, at + 1)


def _database_files(tmp_path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in tmp_path.glob("warta.db*")}


def _readable(harness: Harness, tmp_path: Path) -> dict[str, set[str]]:
    """What of the citizen each database file gives away: by plaintext, by lookup hash,
    or by decrypting what is sealed."""
    secrets = {"nik": NIK, "name": NAME, "phone": PHONE, "email": EMAIL, "plate": PLATE}
    found: dict[str, set[str]] = {}
    for file, data in _database_files(tmp_path).items():
        opened = list(_opened(data))
        for what, value in secrets.items():
            hashes_ = harness.app.keyring.lookup_hashes(value)
            if value.encode() in data:
                found.setdefault(file, set()).add(f"{what} in the clear")
            if any(h.encode() in data for h in hashes_):
                found.setdefault(file, set()).add(f"{what} lookup hash")
            if any(value.encode() in plain for plain in opened):
                found.setdefault(file, set()).add(f"{what} decrypted")
    return found


async def test_delete_my_data_leaves_nothing_readable_in_the_database_files(
    erasing: Harness, outbox: Outbox, tmp_path: Path
) -> None:
    harness = erasing
    citizen = await register(harness, outbox)  # NIK, name, phone and address, all proven
    template = await multi_template(harness)
    personal = {"personalisation": {"nopol": PLATE}}
    sent = [
        await send(harness, citizen, template, **personal),
        await send(harness, citizen, template, all_channels=True, **personal),
        (await harness.send_sms(PHONE, personalisation={"nama": NAME, "nomor": PLATE})).json(),
    ]
    for notification in sent:
        await harness.wait_status(notification["id"], "delivered")
    await receive_text(harness.app, harness.agency_id, PHONE, f"Saya {NAME}, nopol {PLATE}")
    await sign_in(harness, outbox)

    before = _readable(harness, tmp_path)
    every = {f"{w} decrypted" for w in ("nik", "name", "phone", "email", "plate")}
    assert every <= set().union(*before.values()), before  # the scanner finds them

    erased = await post_form(harness, "/portal/data", "/portal/data/delete", confirm="HAPUS")
    assert (erased.status_code, erased.headers["location"]) == (303, "/portal/deleted")

    await _checkpoints_made(harness)
    assert _readable(harness, tmp_path) == {}
    # The agency's records stay, without the person: its notifications and the text.
    kept = (await harness.get(f"/v2/notifications/{sent[2]['id']}")).json()
    assert (kept["status"], kept["phone_number"], kept["body"]) == ("delivered", None, None)
    [text] = (await harness.get("/v2/received-text-messages")).json()["received_text_messages"]
    assert (text["user_number"], text["content"]) == ("", "")


async def test_a_checkpoint_a_long_read_blocks_is_made_by_the_sweeper(
    erasing: Harness, outbox: Outbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reader holding the log open makes the erasure's checkpoint wait; it is owed, and
    the sweeper makes it once the reader is gone."""
    monkeypatch.setattr(scrub, "WAIT_MS", 20)
    monkeypatch.setattr(scrub, "PAUSE", 0.01)
    harness = erasing
    citizen = await register(harness, outbox)
    reader = sqlite3.connect(tmp_path / "warta.db", isolation_level=None)
    try:
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM citizens").fetchall()  # a snapshot, held

        await citizen_self.erase(harness.app, uuid.UUID(citizen["id"]))

        assert "nik decrypted" in _readable(harness, tmp_path)["warta.db-wal"]
        async with harness.app.uow() as uow:
            assert len(await uow.citizens.checkpoints_owed()) == 1
    finally:
        reader.close()
    await _checkpoints_made(harness)
    assert _readable(harness, tmp_path) == {}


async def _checkpoints_made(harness: Harness) -> None:
    """None owed: made by the erasure itself as a rule, else by the sweeper (a reader of
    the log held it; under a loaded CI too), which the test above shows."""
    async with asyncio.timeout(5):
        while True:
            async with harness.app.uow() as uow:
                if not await uow.citizens.checkpoints_owed():
                    return
            await asyncio.sleep(0.05)


async def test_on_postgresql_texts_and_code_limits_lose_the_person_too(
    erasing_pg: Harness, outbox: Outbox
) -> None:
    """The rows are emptied on PostgreSQL as on SQLite; what its pages and WAL keep is
    beyond a query's reach (docs/trust.md)."""
    harness = erasing_pg
    citizen = await register(harness, outbox)  # codes to the phone and address: limits
    await receive_text(harness.app, harness.agency_id, PHONE, f"Saya {NAME}")
    assert await _codes_sent_to(harness, PHONE, EMAIL) == {PHONE, EMAIL}

    await citizen_self.erase(harness.app, uuid.UUID(citizen["id"]))

    assert await _codes_sent_to(harness, PHONE, EMAIL) == set()
    [text] = (await harness.get("/v2/received-text-messages")).json()["received_text_messages"]
    assert (text["user_number"], text["content"]) == ("", "")
    assert (await harness.get(f"/v2/citizens/{citizen['id']}")).status_code == 404


async def _codes_sent_to(harness: Harness, *contacts: str) -> set[str]:
    """Which of these contacts the code limits still know (by their keyed hash)."""
    async with harness.app.uow() as uow:
        return {
            contact
            for contact in contacts
            if await uow.code_events.happened(harness.app.keyring.lookup_hash(contact), "sent")
        }


async def test_after_a_restore_the_cli_erases_again_whom_the_log_names(
    erasing: Harness, outbox: Outbox, sqlite_url: str, tmp_path: Path
) -> None:
    """A backup from before an erasure brings the citizen back: ``warta citizen erase``
    with the ids the log named erases them again, and skips those already gone."""
    harness = erasing
    citizen = await register(harness, outbox)
    gone = "6a0f4f9e-1d1c-4c55-9a4e-6c0d2f6b8e11"
    env = {
        "WARTA_DATABASE_URL": sqlite_url,
        "WARTA_VAR_DIR": str(tmp_path),
        "WARTA_SECRET_KEY": TEST_SECRET_KEY,
    }
    args = ["citizen", "erase", citizen["id"], gone]

    result = await asyncio.to_thread(CliRunner().invoke, main, args, env=env)

    assert (result.exit_code, result.output) == (0, "1 erased, 1 already gone\n")
    assert (await harness.get(f"/v2/citizens/{citizen['id']}")).status_code == 404
    await _checkpoints_made(harness)
    assert _readable(harness, tmp_path) == {}
