"""The pipeline's ordinary behaviours on the Celery engine, over the real RabbitMQ: email
and SMS delivered, a retry after a provider's refusal, a signed callback, a broadcast.

The API side is the test's Warta, built with ``WARTA_BROKER_URL`` set (so its queue
publishes to RabbitMQ); a Celery worker and beat run in threads of this process with
the same tasks ``warta worker`` runs, on this test's event loop. Each test has its own
namespace (queue names), deleted afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from celery.beat import EmbeddedService
from celery.contrib.testing.worker import start_worker
from kombu import Connection
from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import select

from tests.integration.harness import (
    Clock,
    Harness,
    Receiver,
    make_settings,
    receiver_running,
    recording,
    running_warta,
    wait_requests,
)
from tests.integration.test_broadcast_fan_out import NOW
from tests.integration.test_broadcast_fan_out import start as start_broadcast
from tests.integration.test_pipeline import FlakyRcpt, warta_with_smtp
from warta.deps import Warta
from warta.pipeline import celery_tasks
from warta.pipeline.celery_queue import QUEUES, CeleryQueue, make_celery, queue_name
from warta.services.admin import set_callback
from warta.settings import Settings
from warta.store.models import Broadcast, Notification
from warta.store.outbox import Outbox

BROKER = os.environ.get("WARTA_TEST_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//")
REDIS = os.environ.get("WARTA_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def broker_reachable() -> None:
    try:
        with Connection(BROKER, connect_timeout=3) as connection:
            connection.ensure_connection(max_retries=1)
    except Exception as exc:
        pytest.fail(f"RabbitMQ at {BROKER.rpartition('@')[2]} is not reachable: {exc}")


def redis_reachable(namespace: str) -> str:
    """Redis's URL, once it answers; the namespace's keys are removed after the test (by
    ``celery_env``)."""
    try:
        Redis.from_url(REDIS, socket_connect_timeout=3).ping()
    except Exception as exc:
        pytest.fail(f"Redis at {REDIS} is not reachable: {exc}")
    return REDIS


def delete_namespace(namespace: str) -> None:
    """Remove a test's queues and exchange from the shared broker."""
    with Connection(BROKER) as connection:
        channel = connection.default_channel
        for short in QUEUES:
            channel.queue_delete(f"{namespace}.{short}")
        channel.exchange_delete(namespace)
    with (
        contextlib.closing(Redis.from_url(REDIS, socket_connect_timeout=3)) as redis,
        contextlib.suppress(RedisError),  # Redis down: nothing of ours is there
    ):
        for found in redis.scan_iter(f"{namespace}:*"):
            redis.delete(found)


@pytest.fixture
def celery_env() -> Iterator[dict[str, Any]]:
    """Settings of a Celery deployment of its own: the broker and a fresh namespace."""
    broker_reachable()
    namespace = f"t{uuid.uuid4().hex[:10]}"
    try:
        yield {"broker_url": BROKER, "namespace": namespace}
    finally:
        delete_namespace(namespace)


@contextlib.asynccontextmanager
async def celery_worker(app: Warta, name: str = "celery-test") -> AsyncIterator[None]:
    """What ``warta worker`` and ``warta beat`` run, in threads of this process: tasks go
    to ``app`` on the running loop, as a worker's go to its own Warta and loop."""
    settings: Settings = app.settings
    celery = make_celery(settings)
    celery_tasks.register(celery)
    runtime = celery_tasks.Runtime(app, asyncio.get_running_loop(), name, celery)
    await runtime.start()
    celery_tasks.RUNTIME = runtime
    worker = start_worker(
        celery,
        pool="threads",
        concurrency=4,
        perform_ping_check=False,
        queues=[queue_name(settings, q) for q in QUEUES],
        loglevel="WARNING",
        shutdown_timeout=30,
    )
    await asyncio.to_thread(worker.__enter__)
    beat = EmbeddedService(
        celery, thread=True, schedule_filename=str(settings.var_dir / "beat-schedule")
    )
    beat.start()
    try:
        yield
    finally:
        await runtime.stop_tasks()
        # Beat's messages wake the worker's idle loop, which only then sees it must stop.
        await asyncio.to_thread(worker.__exit__, None, None, None)
        await asyncio.to_thread(beat.stop)
        await runtime.stop()
        celery_tasks.RUNTIME = None


@contextlib.asynccontextmanager
async def on_celery(harness: Harness) -> AsyncIterator[Harness]:
    assert isinstance(harness.app.queue, CeleryQueue)  # bootstrap chose Celery
    async with celery_worker(harness.app):
        yield harness


async def test_email_and_sms_are_delivered(
    sqlite_url: str, tmp_path: Path, celery_env: dict[str, Any]
) -> None:
    outbox = Outbox()
    settings = make_settings(sqlite_url, tmp_path, **celery_env)
    async with (
        running_warta(settings, channels=recording(outbox)) as started,
        on_celery(started) as h,
    ):
        email = (await h.send_email()).json()
        sms = (await h.send_sms(phone="081234567891")).json()
        await h.wait_status(email["id"], "delivered")
        await h.wait_status(sms["id"], "delivered")
    assert sorted(m.to for m in outbox.list()) == ["+6281234567891", "budi@example.com"]


async def test_a_temporary_refusal_is_retried_until_delivered(
    postgres_url: str, tmp_path: Path, celery_env: dict[str, Any]
) -> None:
    """The retry waits as a row (no countdown task); beat's sweep releases it."""
    outbox = Outbox()
    handler = FlakyRcpt(outbox, "451 4.7.1 Greylisted, try again", failures=2)
    async with (
        warta_with_smtp(postgres_url, tmp_path, handler, **celery_env) as (started, _server),
        on_celery(started) as h,
    ):
        sent = (await h.send_email()).json()
        row = await h.wait_status(sent["id"], "delivered")
    assert row.attempts == 3
    assert len(outbox.list()) == 1


async def test_a_callback_is_signed_and_sent_once_delivered(
    sqlite_url: str, tmp_path: Path, celery_env: dict[str, Any]
) -> None:
    receiver = Receiver(answers=[503, 200])  # the first is retried
    settings = make_settings(sqlite_url, tmp_path, **celery_env)
    async with (
        running_warta(settings, channels=recording(Outbox())) as started,
        on_celery(started) as h,
        receiver_running(receiver) as url,
    ):
        await set_callback(h.app, h.agency_id, url, "rahasia-callback")
        sent = (await h.send_sms(reference="ref-cb")).json()
        await wait_requests(receiver, 2)
    headers, body = receiver.requests[-1]
    assert json.loads(body)["id"] == sent["id"]
    assert json.loads(body)["status"] == "delivered"
    assert headers["authorization"] == "Bearer rahasia-callback"


@pytest.mark.parametrize("split", [False, True], ids=["one task", "in ranges, with Redis"])
async def test_a_broadcast_fans_out_and_reaches_citizens(
    sqlite_url: str,
    tmp_path: Path,
    celery_env: dict[str, Any],
    split: bool,
    caplog: pytest.LogCaptureFixture,
) -> None:
    outbox = Outbox()
    redis = {"redis_url": redis_reachable(celery_env["namespace"])} if split else {}
    settings = make_settings(sqlite_url, tmp_path, **celery_env, **redis)
    caplog.set_level(logging.INFO, logger="warta.pipeline.celery_tasks")
    async with (
        running_warta(
            settings,
            channels=recording(outbox),
            agency_name="Dinas Lain",
            sms_sender="DINASLAIN",
            clock=Clock(NOW),
        ) as started,
        on_celery(started) as h,
    ):
        broadcast, _ids = await start_broadcast(h.app, topic=False)
        async with asyncio.timeout(15):
            while (done := await _broadcast(h.app, broadcast.id)).status != "done":
                await asyncio.sleep(0.05)
            while "+6281200000001" not in {m.to for m in outbox.list()}:
                await asyncio.sleep(0.05)
    assert done.recipients == 14  # everyone in region 32 (PEOPLE), not Jakarta
    rows = await _rows_per_citizen(h.app, broadcast.id)
    assert len(rows) == 14 and set(rows.values()) == {1}
    ranges = f"broadcast {broadcast.id} fanned out in {celery_tasks.RANGES} ranges"
    assert (ranges in caplog.text) is split


async def _rows_per_citizen(app: Warta, broadcast_id: uuid.UUID) -> Counter[uuid.UUID]:
    async with app.uow() as uow:
        query = select(Notification.citizen_id).where(Notification.broadcast_id == broadcast_id)
        return Counter((await uow.session.scalars(query)).all())


async def _broadcast(app: Warta, broadcast_id: uuid.UUID) -> Broadcast:
    async with app.uow() as uow:
        found = await uow.session.get(Broadcast, broadcast_id)
    assert found is not None
    return found
