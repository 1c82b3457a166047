"""An urgent message sent while a broadcast to 1,000,000 citizens fans out on the Celery
engine (real RabbitMQ and PostgreSQL, one ``warta worker`` taking every queue) reaches its
recipient before the fan-out ends, ahead of the broadcast's messages queued before it.

The broadcast is the worst case for the urgent message: every citizen is due at once (no
quiet hours), so besides the fan-out task, the worker's pool is busy delivering the
broadcast's SMS to the SMPP peer, with thousands of tasks waiting behind. The urgent
email goes to the ``urgent`` queue, which no broadcast uses, so it waits for one pool
thread to come free (a task of 100 of the broadcast's SMS: well under a second on an idle
machine, 13 s when four other test runs shared its two cores), not for the backlog.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from tests.conftest import TEST_SECRET_KEY
from tests.e2e.test_celery_crash import Process, celery_env, namespace  # noqa: F401
from tests.integration.harness import make_settings, message_to, recording, running_warta
from tests.integration.test_celery_pipeline import BROKER
from warta.channels.capture import CaptureHandler, CaptureSmtpServer
from warta.channels.smsc import LocalSmsc
from warta.deps import Warta
from warta.services import broadcasts
from warta.services.admin import create_template
from warta.services.sending import Caller
from warta.store.models import Broadcast
from warta.store.outbox import Outbox

CITIZENS = 1_000_000
#: Fanned out to this many before the urgent message is sent: well under way.
UNDER_WAY = 50_000
PHONE = "+6281200000001"


async def seed(app: Warta, n: int) -> None:
    """``n`` citizens in West Java with one verified phone each, written by PostgreSQL
    itself (generate_series): seeding is not what this test measures. Ids and keys in
    order, so each index grows at its end (random ones cost several times as long)."""
    keyring, now = app.keyring, app.clock()
    values: dict[str, Any] = {
        "n": n,
        "now": now,
        "nik": keyring.encrypt("3273014101900002", field="citizen.nik"),
        "name": keyring.encrypt("Warga Sintetis", field="citizen.name"),
        "phone": keyring.encrypt(PHONE, field="contact.value"),
        "phone_hash": keyring.lookup_hash(PHONE),
    }
    async with app.engine.begin() as connection:
        await connection.execute(
            text(
                "WITH made AS (INSERT INTO citizens (id, nik_hash, nik_enc, name_enc, "
                "region_code, zone, language, channel_order, quiet_start, quiet_end, digest, "
                "digest_at, created_at, updated_at) "
                "SELECT lpad(to_hex(i), 32, '0')::uuid, 'nik-' || lpad(i::text, 8, '0'), "
                ":nik, :name, "
                "'32.73.01.' || (1001 + i % 50), 'WIB', 'id', 'sms', '00:00', '00:00', "
                "false, '18:00', :now, :now FROM generate_series(1, :n) AS i RETURNING id) "
                "INSERT INTO citizen_contacts (id, citizen_id, kind, value_enc, value_hash, "
                "verified_at, code_attempts, created_at, scope) "
                "SELECT id, id, 'sms', :phone, :phone_hash, :now, 0, :now, "
                "'citizen' FROM made"
            ),
            values,
        )
        await connection.exec_driver_sql("ANALYZE")


async def still_waiting(app: Warta, broadcast_id: uuid.UUID) -> int:
    """The broadcast's messages not yet taken by a worker."""
    async with app.engine.connect() as connection:
        query = text(
            "SELECT count(*) FROM notifications WHERE broadcast_id = :id AND status = 'created'"
        )
        return int((await connection.execute(query, {"id": broadcast_id})).scalar_one())


async def progress(app: Warta, broadcast_id: uuid.UUID) -> tuple[str, int]:
    async with app.uow() as uow:
        found = await uow.session.get(Broadcast, broadcast_id)
        assert found is not None
        return found.status, found.recipients


@pytest.mark.timeout(420)
async def test_an_urgent_message_is_delivered_while_a_million_fan_out(
    tmp_path: Path,
    postgres_url: str,
    namespace: str,  # noqa: F811
) -> None:
    mail, texts = Outbox(), Outbox(maxlen=1000)
    settings = make_settings(postgres_url, tmp_path, broker_url=BROKER, namespace=namespace)
    async with (
        CaptureSmtpServer(CaptureHandler(mail)) as smtp,
        running_warta(settings, channels=recording(Outbox())) as h,
    ):
        smsc = LocalSmsc(texts)
        await smsc.start()
        env = {k: v for k, v in os.environ.items() if not k.startswith("WARTA_")} | {
            "WARTA_VAR_DIR": str(tmp_path),
            "WARTA_DATABASE_URL": postgres_url,
            "WARTA_SECRET_KEY": TEST_SECRET_KEY,
            "WARTA_LOG_LEVEL": "INFO",
            "WARTA_SMTP_URL": f"smtp://{smtp.host}:{smtp.port}",
            "WARTA_SMPP_URL": f"smpp://warta:rahasia@{smsc.host}:{smsc.port}?name=operator",
        }
        worker = Process(celery_env(env, namespace, "u1"), tmp_path / "worker.log", "worker")
        try:
            started = time.monotonic()
            await asyncio.gather(seed(h.app, CITIZENS), worker.start())
            seeded = time.monotonic() - started
            template = await create_template(
                h.app, h.agency_id, kind="multi", name="pajak", subject="Pajak",
                body="Pajak kendaraan Anda jatuh tempo.", sms_body="Pajak jatuh tempo. Bapenda",
            )  # fmt: skip
            async with h.app.uow() as uow:
                agency = await uow.agencies.get(h.agency_id)
            caller = Caller(agency=agency, key_id=None, key_type="normal")  # type: ignore[arg-type]
            made = await broadcasts.create(
                h.app, caller, broadcasts.NewBroadcast(template_id=template.id, region="32")
            )
            created = time.monotonic()
            while (await progress(h.app, made.id))[1] < UNDER_WAY:
                assert time.monotonic() - created < 120, worker.tail()
                await asyncio.sleep(0.2)
            sent_at = time.monotonic()
            answer = await h.send_email("siaga@contoh.id", priority="urgent")
            assert answer.status_code == 201, answer.text
            await message_to(mail, "siaga@contoh.id", timeout=30)
            took = time.monotonic() - sent_at
            status, fanned = await progress(h.app, made.id)
            waiting = await still_waiting(h.app, made.id)
        finally:
            await worker.stop()
            await smsc.stop()
    print(
        f"\nurgent email delivered {took:.2f} s after it was sent, with the broadcast fanned "
        f"out to {fanned:,} of {CITIZENS:,} ({status}) and {waiting:,} of its messages, "
        f"queued before it, still waiting; seeding took {seeded:.0f} s"
    )
    assert status != "done" and fanned < CITIZENS  # before the fan-out ends
    assert waiting > 0  # and ahead of the broadcast's backlog, queued before it
