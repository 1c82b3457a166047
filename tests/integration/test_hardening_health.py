"""A sick database and silent providers (issue 15, item 6): health checks, 503 while the
store cannot write, recovery without a restart, SMS whose receipt never comes.

How the database is made sick, for real and for root (tests run as root, and root
ignores file modes, so ``chmod`` would prove nothing):

* SQLite: ``chattr +i`` on ``warta.db`` and ``warta.db-wal``. An immutable file refuses
  every write, even through a descriptor opened before (a pooled connection), and a new
  connection finds it cannot open the file for writing, so SQLite opens it read-only,
  exactly as with a read-only file for an unprivileged server. ``warta.db-shm`` is left
  alone: SQLite maps it into memory, and a write to an immutable mapping kills the
  process with SIGBUS, a crash rather than a sick database.
* PostgreSQL: the test's own role gets ``default_transaction_read_only = on`` and its
  open connections are terminated (``pg_terminate_backend``), so Warta must reconnect and
  the new connections cannot write; the setting is only on that role, so other tests
  sharing the server are untouched. ``RESET`` makes it well again: connections opened
  meanwhile would stay read-only for good if kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import POSTGRES_URL
from tests.integration.harness import (
    Clock,
    Harness,
    Receiver,
    make_settings,
    receiver_running,
    running_warta,
    wait_requests,
)
from warta.channels.capture import RecordingChannel
from warta.channels.sms_router import SmsRouter
from warta.domain.channels import OutboundMessage, Receipt, SendResult
from warta.domain.failover import Balancer
from warta.pipeline.worker import sweep
from warta.services import health
from warta.services.admin import set_callback
from warta.store.db import check_writable
from warta.store.models import Notification
from warta.store.outbox import Outbox

UNWRITABLE = {
    "status_code": 503,
    "errors": [
        {
            "error": "ServiceUnavailableError",
            "message": "The database cannot be written; try again later",
        }
    ],
}


# -- /health/live and /health/ready -----------------------------------------------------


class FakeSmpp:
    """An SMPP provider as the router sees it: ``bound`` or not."""

    name = "sms"

    def __init__(self, provider: str) -> None:
        self.provider, self.bound = provider, True

    async def send(self, message: OutboundMessage) -> SendResult:
        return SendResult("sending", f"{self.provider}-{uuid.uuid4()}", provider=self.provider)

    async def start(self) -> None:
        return None

    async def aclose(self) -> None:
        return None


class FakeGateway(FakeSmpp):
    """An HTTP gateway: no standing connection, so no ``bound``."""

    def __init__(self, provider: str) -> None:
        self.provider = provider


@dataclass
class Providers:
    router: SmsRouter
    smpp: FakeSmpp
    gateway: FakeGateway


@pytest.fixture
def providers() -> Providers:
    smpp, gateway = FakeSmpp("telco-smpp"), FakeGateway("gateway-http")
    router = SmsRouter([smpp, gateway], Balancer({"telco-smpp": 1, "gateway-http": 1}))
    return Providers(router, smpp, gateway)


@pytest.fixture
async def with_providers(
    sqlite_url: str, tmp_path: Path, providers: Providers
) -> AsyncIterator[Harness]:
    channels = {"email": RecordingChannel("email", Outbox()), "sms": providers.router}
    async with running_warta(make_settings(sqlite_url, tmp_path), channels=channels) as h:  # type: ignore[arg-type]
        yield h


async def test_health_answers_without_a_key_in_json_never_cached(
    with_providers: Harness,
) -> None:
    live = await with_providers.client.get("/health/live")
    assert (live.status_code, live.json()) == (200, {"status": "ok"})
    ready = await with_providers.client.get("/health/ready")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok", "checks": {"database": "ok", "sms": "ok"}}
    assert ready.headers["cache-control"] == live.headers["cache-control"] == "no-store"


async def test_parallel_ready_calls_share_one_write(
    with_providers: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    writes = 0

    async def counted(engine: AsyncEngine, *, within: float) -> None:
        nonlocal writes
        writes += 1
        await asyncio.sleep(0.2)  # a slow disk: the others arrive while it runs
        await check_writable(engine, within=within)

    monkeypatch.setattr(health, "check_writable", counted)
    answers = await asyncio.gather(*(with_providers.client.get("/health/ready") for _ in range(20)))
    assert {a.status_code for a in answers} == {200}
    assert writes == 1
    assert (await with_providers.client.get("/health/ready")).status_code == 200
    assert writes == 2  # a call after the probe ended probes again: no stale answer


async def test_ready_fails_only_when_every_sms_provider_is_down(
    with_providers: Harness, providers: Providers
) -> None:
    client = with_providers.client
    providers.smpp.bound = False  # the SMSC dropped the bind; the gateway still takes SMS
    assert (await client.get("/health/ready")).status_code == 200
    balancer, now = providers.router.balancer, providers.router._clock()
    for _ in range(5):  # five failed sends in the window: failover demotes the gateway
        balancer.record_send("gateway-http", False, now)
    ready = await client.get("/health/ready")
    assert ready.status_code == 503
    assert ready.json() == {
        "status_code": 503,
        "errors": [
            {
                "error": "ServiceUnavailableError",
                "message": "sms: None of the 2 SMS providers can take a message now",
            }
        ],
    }
    providers.smpp.bound = True  # rebound
    assert (await client.get("/health/ready")).status_code == 200
    assert (await client.get("/health/live")).status_code == 200  # live never asked


# -- A database that cannot be written ------------------------------------------------


@dataclass
class Sickness:
    url: str
    make_sick: Callable[[], None]
    make_well: Callable[[], None]


@contextlib.contextmanager
def immutable_sqlite(tmp_path: Path) -> Iterator[Sickness]:
    if shutil.which("chattr") is None:
        pytest.fail(
            "chattr (e2fsprogs) is not installed: it makes the SQLite files read-only for root"
        )
    files = [tmp_path / "warta.db", tmp_path / "warta.db-wal"]

    def chattr(flag: str) -> None:
        for path in files:
            assert path.exists(), f"{path.name} missing: a write would simply create it"
            subprocess.run(["chattr", flag, str(path)], check=True, capture_output=True)

    try:
        yield Sickness(
            f"sqlite+aiosqlite:///{tmp_path}/warta.db", lambda: chattr("+i"), lambda: chattr("-i")
        )
    finally:  # else pytest cannot delete tmp_path
        for path in files:
            subprocess.run(["chattr", "-i", str(path)], check=False, capture_output=True)


@contextlib.contextmanager
def read_only_postgres_role(admin_dsn: str) -> Iterator[Sickness]:
    name = f"t_sick_{uuid.uuid4().hex[:10]}"

    def admin(*statements: str) -> None:
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            for statement in statements:
                conn.execute(statement)

    terminate = (
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        f"WHERE usename = '{name}' AND pid <> pg_backend_pid()"
    )
    admin(f'CREATE ROLE "{name}" LOGIN', f'CREATE SCHEMA "{name}" AUTHORIZATION "{name}"')
    url = make_url(POSTGRES_URL).set(username=name, query={"options": f"-csearch_path={name}"})
    try:
        yield Sickness(
            url.render_as_string(hide_password=False),
            lambda: admin(f'ALTER ROLE "{name}" SET default_transaction_read_only = on', terminate),
            lambda: admin(f'ALTER ROLE "{name}" RESET default_transaction_read_only'),
        )
    finally:
        admin(terminate, f'DROP SCHEMA "{name}" CASCADE', f'DROP ROLE "{name}"')


@pytest.fixture(params=["sqlite", "postgresql"])
def sickness(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Sickness]:
    if request.param == "sqlite":
        with immutable_sqlite(tmp_path) as sick:
            yield sick
    else:
        with read_only_postgres_role(request.getfixturevalue("postgres_admin_dsn")) as sick:
            yield sick


async def stored_ids(harness: Harness) -> set[str]:
    async with harness.app.uow() as uow:
        return {str(i) for i in await uow.session.scalars(select(Notification.id))}


async def test_sends_answer_503_while_the_database_cannot_be_written_then_201_at_once(
    sickness: Sickness, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    outbox = Outbox()
    channels = {"email": RecordingChannel("email", outbox), "sms": RecordingChannel("sms", outbox)}
    async with running_warta(make_settings(sickness.url, tmp_path), channels=channels) as h:
        before = await h.send_sms()
        assert before.status_code == 201
        await h.wait_status(before.json()["id"], "delivered")

        sickness.make_sick()
        refused = [await h.send_sms(), await h.send_email()]
        assert [r.status_code for r in refused] == [503, 503]
        assert all(r.json() == UNWRITABLE for r in refused)
        assert refused[0].headers["retry-after"] == "30"
        ready = await h.client.get("/health/ready")
        assert ready.status_code == 503
        assert ready.json()["errors"][0]["message"] == (
            "database: The database cannot be written; try again later"
        )
        assert (await h.client.get("/health/live")).status_code == 200
        # Reads still work, and open more connections than the pool held: opened now, they
        # are read-only (SQLite) or in read-only transactions (PostgreSQL) for good.
        reads = [h.get(f"/v2/notifications/{before.json()['id']}") for _ in range(20)]
        assert {r.status_code for r in await asyncio.gather(*reads)} == {200}
        # The sweeper says so in one line a sweep, not a traceback each time.
        with caplog.at_level(logging.WARNING, logger="warta.pipeline.worker"):
            await asyncio.sleep(1.0)  # a few sweeps (every 0.2 s)
        swept = [r for r in caplog.records if r.name == "warta.pipeline.worker"]
        assert swept and all(r.getMessage().startswith("sweep skipped: ") for r in swept)
        assert not [r for r in swept if r.exc_info]

        sickness.make_well()  # no restart: the very next requests succeed
        after = await h.send_sms()
        assert after.status_code == 201, after.text
        assert (await h.client.get("/health/ready")).status_code == 200
        await h.wait_status(after.json()["id"], "delivered")
        # Exactly the accepted sends are stored: nothing refused slipped in.
        assert await stored_ids(h) == {before.json()["id"], after.json()["id"]}
        assert len(outbox) == 2


# -- SMS whose receipt never comes ----------------------------------------------------


class SilentSmsc:
    """Takes every SMS ("sending", one part) and never sends a receipt."""

    name = "sms"
    provider = "silent"

    async def send(self, message: OutboundMessage) -> SendResult:
        ref = str(uuid.uuid4())
        return SendResult("sending", ref, provider=self.provider, parts=(ref,))

    async def aclose(self) -> None:
        return None


async def test_an_sms_without_a_receipt_ends_temporary_failure_after_72_hours(
    database_url: str, tmp_path: Path
) -> None:
    clock = Clock(datetime(2026, 12, 5, 3, 0, tzinfo=UTC))
    channels = {"email": RecordingChannel("email", Outbox()), "sms": SilentSmsc()}
    settings = make_settings(database_url, tmp_path, sweep_interval=60.0)  # swept by hand
    receiver = Receiver(answers=[])
    async with (
        running_warta(settings, channels=channels, clock=clock) as h,  # type: ignore[arg-type]
        receiver_running(receiver) as url,
    ):
        await set_callback(h.app, h.agency_id, url, "rahasia-callback-dinas-uji")
        sent = (await h.send_sms()).json()
        row = await h.wait_until(sent["id"], lambda r: r.provider_reference is not None)
        assert row.status == "sending"

        clock.advance(timedelta(hours=71, minutes=59))
        await sweep(h.app)
        assert (await h.row(sent["id"])).status == "sending"  # not yet: 72 hours

        clock.advance(timedelta(minutes=2))
        await sweep(h.app)
        row = await h.row(sent["id"])
        assert (row.status, row.failure_reason) == (
            "temporary-failure",
            "No delivery receipt within 72 hours",
        )
        api = (await h.get(f"/v2/notifications/{sent['id']}")).json()
        assert api["status"] == "temporary-failure"
        await wait_requests(receiver, 1)
        payload = json.loads(receiver.requests[0][1])
        assert (payload["id"], payload["status"]) == (sent["id"], "temporary-failure")

        # A receipt that comes after all changes nothing.
        assert h.app.events is not None
        await h.app.events.receipt(Receipt("silent", row.provider_reference or "", "delivered"))
        assert (await h.row(sent["id"])).status == "temporary-failure"
        await asyncio.sleep(0.2)
        assert len(receiver.requests) == 1
