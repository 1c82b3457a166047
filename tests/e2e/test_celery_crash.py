"""The Celery engine over the real RabbitMQ and PostgreSQL: 20,000 messages (half SMS,
half email) accepted by ``warta serve`` and delivered by two ``warta worker`` processes,
one of them killed with SIGKILL part-way and started again under the same name, as a
supervisor would; ``warta beat`` schedules the sweep.

What a user would notice, asserted (counted at the peers, the benchmarks' SMTP and SMPP
sinks in processes of their own, by the reference in each message):
- nothing accepted is lost: every message reaches its peer at least once;
- duplicates stay within the in-flight bound: a process has at most
  ``WARTA_DELIVERY_IN_FLIGHT`` sends per channel whose outcome is not yet written, and
  nothing else can go out twice (a redelivered task's ids that the dead worker had
  claimed are skipped by the other worker's conditional claim). One more cause is by
  design and counted apart: when an SMPP bind drops (under the suite's load on 2 cores
  the sink's binds sometimes do), the parts that got no ``submit_sm_resp`` are submitted
  again (``channels/sms_smpp.py``: losing them would be worse), at most a window each;
- the restarted worker takes back exactly what its dead boot held (it is killed while it
  holds rows), so everything arrives without waiting for the lease (300 s);
- SIGTERM stops both workers cleanly.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from tests.e2e.conftest import WARTA, free_port
from tests.e2e.test_crash import make_templates, rows_by_state, send_bulk
from tests.integration.test_celery_pipeline import BROKER, broker_reachable, delete_namespace

BENCH = Path(__file__).resolve().parents[2] / "bench"
TOTAL = 20_000
IN_FLIGHT = 64  # WARTA_DELIVERY_IN_FLIGHT, the default
WINDOW = 64  # the SMPP URL's window
#: From accepting to the last arrival; about 60 s on an idle 2-core machine.
FINISH_LIMIT = 200.0


class Process:
    """A ``warta`` command as a supervisor runs it: its log kept, killed or stopped."""

    def __init__(self, env: dict[str, str], log: Path, *args: str) -> None:
        self.env, self.log, self.args = env, log, args
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = await asyncio.create_subprocess_exec(
                WARTA, *self.args, env=self.env, stdout=out, stderr=out
            )

    async def kill(self) -> None:
        assert self.process is not None and self.process.returncode is None, self.tail()
        self.process.send_signal(signal.SIGKILL)
        await asyncio.wait_for(self.process.wait(), 10)

    async def stop(self) -> int | None:
        if self.process is None or self.process.returncode is not None:
            return None if self.process is None else self.process.returncode
        self.process.send_signal(signal.SIGTERM)
        try:
            return await asyncio.wait_for(self.process.wait(), 30)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
            raise AssertionError(f"{self.args[0]} did not stop on SIGTERM\n{self.tail()}") from None

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]


class Api(Process):
    """``warta serve``; started once it answers (a loaded machine starts slowly)."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        super().__init__(env, log, "serve")
        self.url = f"http://127.0.0.1:{env['WARTA_PORT']}"

    async def start(self) -> None:
        await super().start()
        assert self.process is not None
        deadline = time.monotonic() + 90
        async with httpx.AsyncClient() as client:
            while True:
                assert self.process.returncode is None, self.tail()
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(self.url + "/_status", timeout=1)).status_code == 200:
                        return
                assert time.monotonic() < deadline, "warta serve did not start"
                await asyncio.sleep(0.1)


@pytest.fixture
def namespace() -> Iterator[str]:
    broker_reachable()
    name = f"t{uuid.uuid4().hex[:10]}"
    try:
        yield name
    finally:
        delete_namespace(name)


def celery_env(env: dict[str, str], namespace: str, worker: str) -> dict[str, str]:
    return env | {
        "WARTA_BROKER_URL": BROKER,
        "WARTA_NAMESPACE": namespace,
        "WARTA_WORKER_NAME": worker,
        "WARTA_WORKERS": "8",
    }


class Sink:
    """A bench sink (``bench/smtp_sink.py``, ``bench/smsc_sink.py``) in its own process,
    so the peers' CPU is not this test's event loop: counts every arrival and the
    distinct keys among them (the reference in each message)."""

    def __init__(self, script: str, *args: str) -> None:
        self.command = [sys.executable, str(BENCH / script), *args]
        self.process: asyncio.subprocess.Process | None = None
        self.port = self.control = 0

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            *self.command, stdout=asyncio.subprocess.PIPE
        )
        assert self.process.stdout is not None
        ready = await asyncio.wait_for(self.process.stdout.readline(), 60)
        _, port, control = ready.decode().split()
        self.port, self.control = int(port), int(control)

    async def stats(self) -> dict[str, Any]:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.control)
        writer.write(b"STATS\n")
        answer: dict[str, Any] = json.loads(await reader.readline())
        writer.close()
        await writer.wait_closed()
        return answer

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            await self.process.wait()


async def arrivals(sinks: Sequence[Sink]) -> tuple[int, int]:
    """Messages received (repeats included) and distinct ones, at both peers."""
    stats = [await sink.stats() for sink in sinks]
    return sum(s["count"] for s in stats), sum(s["unique"] for s in stats)


def worker_env(database_url: str, var_dir: Path, smtp: Sink, smsc: Sink) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WARTA_")}
    return env | {
        "WARTA_VAR_DIR": str(var_dir),
        "WARTA_DATABASE_URL": database_url,
        "WARTA_PORT": str(free_port()),
        "WARTA_LOG_LEVEL": "INFO",
        "WARTA_SWEEP_INTERVAL": "0.5",
        "WARTA_DELIVERY_IN_FLIGHT": str(IN_FLIGHT),
        "WARTA_SMPP_URL": f"smpp://warta:rahasia@127.0.0.1:{smsc.port}?name=operator&window={WINDOW}",
        "WARTA_SMTP_URL": f"smtp://127.0.0.1:{smtp.port}",
        "WARTA_SMTP_POOL_SIZE": "16",
        "WARTA_RATE_LIMIT_PER_MINUTE": "1000000",
        "WARTA_DAILY_MESSAGE_LIMIT": "1000000",
    }


async def held_by(database: AsyncEngine, name: str) -> int:
    """Rows a worker of this name holds under a lease (claimed, or queued by it)."""
    query = text(
        "SELECT count(*) FROM notifications WHERE status IN ('created', 'sending') "
        "AND lease_until IS NOT NULL AND lease_owner LIKE :owner"
    )
    async with database.connect() as connection:
        return int((await connection.execute(query, {"owner": f"{name}#%"})).scalar_one())


@pytest.mark.timeout(360)
async def test_two_celery_workers_one_killed_lose_nothing_and_repeat_at_most_in_flight(
    tmp_path: Path, postgres_url: str, namespace: str
) -> None:
    (tmp_path / "body.txt").write_text("Pesan uji ((ref)).", encoding="utf-8")
    smtp, smsc = Sink("smtp_sink.py", "--key-header", "Subject"), Sink("smsc_sink.py")
    await asyncio.gather(smtp.start(), smsc.start())
    sinks = (smtp, smsc)
    env = worker_env(postgres_url, tmp_path / "var", smtp, smsc)
    api = Api(celery_env(env, namespace, "api"), tmp_path / "serve.log")
    workers = [
        Process(celery_env(env, namespace, name), tmp_path / f"{name}.log", "worker")
        for name in ("w1", "w2")
    ]
    beat = Process(celery_env(env, namespace, "beat"), tmp_path / "beat.log", "beat")
    database = create_async_engine(postgres_url)
    try:
        key, sms, email = await make_templates(env, tmp_path / "body.txt")
        await asyncio.gather(api.start(), beat.start(), *(w.start() for w in workers))
        began = time.monotonic()
        await send_bulk(api, key, (sms, email), TOTAL)  # type: ignore[arg-type]
        # Killed part-way and while it holds rows: a worker between tasks at that moment
        # would leave the restart nothing to take back (RabbitMQ does not split work evenly).
        while (killed_at := (await arrivals(sinks))[0]) < TOTAL * 2 // 5 or not await held_by(
            database, "w1"
        ):
            assert time.monotonic() - began < 120, (killed_at, workers[0].tail())
            await asyncio.sleep(0.05)
        await workers[0].kill()
        await asyncio.sleep(1)  # PostgreSQL ends the dead connections' transactions
        held_at_death = await held_by(database, "w1")
        await workers[0].start()
        while (got := await arrivals(sinks))[1] < TOTAL or (await rows_by_state(database))[
            "leased"
        ]:
            assert time.monotonic() - began < FINISH_LIMIT, (
                f"{TOTAL - got[1]} not received {FINISH_LIMIT} s after accepting; rows "
                f"{await rows_by_state(database)}\n{workers[0].tail()}"
            )
            await asyncio.sleep(0.25)
        finished = time.monotonic() - began
        by_channel = {
            name: (found["count"], found["unique"])
            for name, found in zip(("email", "sms"), [await s.stats() for s in sinks], strict=True)
        }
        stopped = await asyncio.gather(*(w.stop() for w in workers))
    finally:
        await asyncio.gather(*(p.stop() for p in (*workers, beat, api)), return_exceptions=True)
        await asyncio.gather(*(sink.stop() for sink in sinks))
        await database.dispose()
    received, distinct = got
    print(
        f"\ncelery: {TOTAL} sent, worker killed at {killed_at} arrivals, "
        f"{received - distinct} duplicates (bound {IN_FLIGHT} a channel and a window a "
        f"dropped SMPP bind: "
        f"{ {c: n - u for c, (n, u) in by_channel.items()} }), all received "
        f"{finished:.1f} s after accepting"
    )
    taken_back = re.search(r"took back (\d+) notifications", workers[0].log.read_text())
    assert taken_back, f"the restarted worker took nothing back of the {held_at_death} it held"
    assert int(taken_back[1]) == held_at_death
    assert distinct == TOTAL  # every reference arrived (the sinks count only ours)
    # The bound is per channel: what one process had sent and not yet written on each,
    # and for SMS a window more for each bind that dropped (see the module docstring).
    drops = sum(w.log.read_text().count(" lost, rebinding") for w in workers)
    bounds = {"email": IN_FLIGHT, "sms": IN_FLIGHT + WINDOW * drops}
    for channel, (count, unique) in by_channel.items():
        assert count - unique <= bounds[channel], (channel, count - unique, drops)
    assert stopped == [0, 0]
