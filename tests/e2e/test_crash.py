"""``kill -9`` a real ``warta serve`` five times while it delivers a mixed SMS and email
send to real local peers, and count what the peers received.

The peers run in this test's event loop: the project's SMPP server (``LocalSmsc``, with
its delivery receipts) and an aiosmtpd server (``CaptureSmtpServer``). Each counts what
it receives by the reference written into the message (``crash-00042``). After every
kill the server is started again with the same worker name, as a supervisor would.

What a user would notice, asserted:
- nothing accepted is lost: every row of both bulk sends reaches its peer at least once
  and ends ``delivered``;
- duplicates stay within the in-flight bound the design makes true: a process has at most
  ``WARTA_DELIVERY_IN_FLIGHT`` sends per channel whose outcome is not yet written, so
  one crash can send at most that many per channel again (provider acceptances are
  written as they come, not at the end of a batch);
- after the last restart the rest is done in seconds: the restarted worker takes its dead
  predecessor's leases at once instead of waiting ``WARTA_LEASE_SECONDS`` (300 s).

SQLite and PostgreSQL run side by side, 5,000 messages each (about 40 s on an idle
2-core machine, most of it ``warta serve`` starting six times).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from tests.e2e.conftest import WARTA, free_port
from tests.integration.harness import auth_header
from warta.channels.capture import CaptureHandler, CaptureSmtpServer
from warta.channels.smsc import LocalSmsc
from warta.settings import Settings
from warta.store.outbox import Outbox

KILLS = 5
IN_FLIGHT = 16  # WARTA_DELIVERY_IN_FLIGHT for the server under test
CHANNELS = 2  # SMS and email
#: At most this many sends may be repeated per crash (see the module docstring).
BOUND_PER_CRASH = IN_FLIGHT * CHANNELS
#: "Seconds, not the lease": the lease is 300 s and a queued row's lease 60 s.
RECOVERY_LIMIT = 30.0
#: smpp34 acknowledges a deliver_sm before Warta sees it, so receipts a killed process had
#: read (up to its read-ahead of 100, and the group being stored) are lost with it; their
#: SMS stay ``sending`` until the no-receipt expiry ends them (docs/architecture.md).
RECEIPTS_LOST_PER_CRASH = 200
REF = re.compile(r"crash-\d{5}")


@dataclass
class Peers:
    smsc: LocalSmsc
    smtp: CaptureSmtpServer
    mail: Outbox

    def arrivals(self) -> int:
        """Messages received, repeats included (cheap: no parsing)."""
        return len(self.smsc.outbox) + len(self.mail)

    def received(self) -> Counter[str]:
        texts = [m.body for m in self.smsc.outbox.list()]
        texts += [m.subject or "" for m in self.mail.list()]
        return Counter(match.group() for text in texts if (match := REF.search(text)))


@contextlib.asynccontextmanager
async def running_peers() -> AsyncIterator[Peers]:
    smsc = LocalSmsc(Outbox(maxlen=50_000))
    mail = Outbox(maxlen=50_000)
    smtp = CaptureSmtpServer(CaptureHandler(mail))
    await smsc.start()
    await smtp.start()
    try:
        yield Peers(smsc, smtp, mail)
    finally:
        await smtp.stop()
        await smsc.stop()


class Warta:
    """``warta serve`` as a supervisor runs it: started again after each kill."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env, self.log = env, log
        self.url = f"http://127.0.0.1:{env['WARTA_PORT']}"
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = await asyncio.create_subprocess_exec(
                WARTA, "serve", env=self.env, stdout=out, stderr=out
            )
        deadline = time.monotonic() + 30
        async with httpx.AsyncClient() as client:
            while True:
                assert self.process.returncode is None, self.log.read_text(errors="replace")
                try:
                    if (await client.get(self.url + "/_status", timeout=1)).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, "warta serve did not start"
                await asyncio.sleep(0.05)

    async def kill(self) -> None:
        assert self.process is not None and self.process.returncode is None, "died by itself"
        self.process.send_signal(signal.SIGKILL)
        await asyncio.wait_for(self.process.wait(), 10)

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(self.process.wait(), 30)


def make_env(tmp_path: Path, database_url: str, peers: Peers) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WARTA_")}
    smsc = peers.smsc
    env.update(
        WARTA_VAR_DIR=str(tmp_path / "var"),
        WARTA_DATABASE_URL=database_url,
        WARTA_PORT=str(free_port()),
        WARTA_LOG_LEVEL="INFO",
        WARTA_SWEEP_INTERVAL="0.5",
        WARTA_WORKER_NAME="crash-test",
        WARTA_DELIVERY_IN_FLIGHT=str(IN_FLIGHT),
        WARTA_SMPP_URL=f"smpp://warta:rahasia@{smsc.host}:{smsc.port}?name=operator&window=10",
        WARTA_SMTP_URL=f"smtp://{peers.smtp.host}:{peers.smtp.port}",
        WARTA_SMTP_POOL_SIZE="4",
        WARTA_RATE_LIMIT_PER_MINUTE="100000",
    )
    return env


async def cli(env: dict[str, str], *args: str) -> dict[str, str]:
    """``warta_cli`` without blocking the event loop the other run's peers share."""
    process = await asyncio.create_subprocess_exec(
        WARTA, *args, "--json", env=env, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, args
    result: dict[str, str] = json.loads(out)
    return result


async def make_templates(env: dict[str, str], body: Path) -> tuple[str, str, str]:
    agency = await cli(env, "agency", "create", "Dinas Uji Crash", "--sms-sender", "UJICRASH")
    common = ["template", "create", "--agency", agency["id"], "--body-file", str(body)]
    sms = await cli(env, *common, "--type", "sms", "--name", "sms")
    email = await cli(env, *common, "--type", "email", "--name", "email", "--subject", "((ref))")
    return agency["live_key"], sms["id"], email["id"]


async def send_bulk(warta: Warta, key: str, templates: tuple[str, str], total: int) -> list[str]:
    """Two bulk sends, half SMS and half email; returns the two job ids."""
    sms, email = templates
    half = total // 2
    phones = [["phone number", "ref"]] + [[f"+62812{n:07d}", f"crash-{n:05d}"] for n in range(half)]
    mails = [["email address", "ref"]] + [
        [f"warga{n}@contoh.id", f"crash-{n:05d}"] for n in range(half, total)
    ]
    jobs = []
    async with httpx.AsyncClient(base_url=warta.url, timeout=60) as client:
        for template, rows in ((sms, phones), (email, mails)):
            body = {"name": "crash", "template_id": template, "rows": rows}
            answer = await client.post(
                "/v2/notifications/bulk", json=body, headers=auth_header(key)
            )
            assert answer.status_code == 201, answer.text
            jobs.append(answer.json()["data"]["id"])
    return jobs


async def rows_by_state(database: AsyncEngine) -> Counter[str]:
    """``delivered``, ``leased`` (the pipeline still holds it: queued, claimed or due for a
    retry) and ``awaiting receipt`` (sent; the SMSC's receipt will settle it)."""
    query = text(
        "SELECT CASE WHEN status = 'delivered' THEN 'delivered' "
        "WHEN status = 'sending' AND lease_until IS NULL THEN 'awaiting receipt' "
        "WHEN status IN ('created', 'sending') THEN 'leased' ELSE status END, count(*) "
        "FROM notifications GROUP BY 1"
    )
    async with database.connect() as connection:
        return Counter({state: count for state, count in await connection.execute(query)})


async def crash_five_times(
    tmp_path: Path, database_url: str, peers: Peers, total: int
) -> dict[str, Any]:
    env = make_env(tmp_path, database_url, peers)
    # The lease the restart must not wait for: the default, 300 s.
    assert Settings.model_fields["lease_seconds"].default >= 300
    key, sms, email = await make_templates(env, tmp_path.parent / "body.txt")
    database = create_async_engine(database_url)
    warta = Warta(env, tmp_path / "serve.log")
    began = time.monotonic()
    await warta.start()
    try:
        await send_bulk(warta, key, (sms, email), total)
        accepted = time.monotonic()
        for kill in range(1, KILLS + 1):
            # Kill at 1/6, 2/6 ... 5/6 of the way, so every crash lands mid-delivery.
            while peers.arrivals() < total * kill // (KILLS + 1):
                assert time.monotonic() - accepted < 120, f"stalled before kill {kill}"
                await asyncio.sleep(0.02)
            await warta.kill()
            await warta.start()
        restarted = time.monotonic()
        while (missing := total - len(peers.received())) or (
            state := await rows_by_state(database)
        )["leased"]:
            assert time.monotonic() - restarted < RECOVERY_LIMIT, (
                f"not finished {RECOVERY_LIMIT} s after the last restart: "
                f"{missing} not received, rows {await rows_by_state(database)}"
            )
            await asyncio.sleep(0.25)
        recovery = time.monotonic() - restarted
        # Receipts on their way settle within moments; what stays is RECEIPTS_LOST.
        while state["awaiting receipt"]:
            await asyncio.sleep(0.5)
            if (now := await rows_by_state(database)) == state:
                break
            state = now
    finally:
        await warta.stop()
        await database.dispose()
    got = peers.received()
    expected = {f"crash-{n:05d}" for n in range(total)}
    return {
        "lost": expected - set(got),
        "unknown": set(got) - expected,
        "duplicates": sum(count - 1 for count in got.values()),
        "recovery": recovery,
        "rows": state,
        "timing": f"accepted in {accepted - began:.1f} s, kills done "
        f"{restarted - accepted:.1f} s later",
    }


@pytest.mark.timeout(300)
async def test_five_kills_mid_send_lose_nothing_and_repeat_at_most_what_was_in_flight(
    tmp_path: Path, postgres_url: str
) -> None:
    """SQLite and PostgreSQL side by side, each with its own server and peers: most of
    the time is ``warta serve`` starting six times, which the two then share."""
    runs = {"sqlite": 5_000, "postgresql": 5_000}
    urls = {"sqlite": f"sqlite+aiosqlite:///{tmp_path}/warta.db", "postgresql": postgres_url}
    for database in runs:
        (tmp_path / database).mkdir()
    (tmp_path / "body.txt").write_text("Pesan uji ((ref)).", encoding="utf-8")
    async with running_peers() as on_sqlite, running_peers() as on_postgresql:
        peers = {"sqlite": on_sqlite, "postgresql": on_postgresql}
        seen = dict(
            zip(
                runs,
                await asyncio.gather(
                    *(
                        crash_five_times(tmp_path / db, urls[db], peers[db], n)
                        for db, n in runs.items()
                    )
                ),
                strict=True,
            )
        )
    for database, total in runs.items():
        got = seen[database]
        print(
            f"\n{database}: {total} sent, {KILLS} kills, {got['duplicates']} duplicates "
            f"(bound {KILLS * BOUND_PER_CRASH}), finished {got['recovery']:.1f} s after the "
            f"last restart; rows {dict(got['rows'])}; {got['timing']}"
        )
    for database, total in runs.items():
        got = seen[database]
        assert got["lost"] == set(), database
        assert got["unknown"] == set(), database
        assert got["duplicates"] <= KILLS * BOUND_PER_CRASH, database
        assert got["recovery"] < RECOVERY_LIMIT, database
        assert got["rows"]["delivered"] + got["rows"]["awaiting receipt"] == total, database
        assert got["rows"]["awaiting receipt"] <= KILLS * RECEIPTS_LOST_PER_CRASH, database
