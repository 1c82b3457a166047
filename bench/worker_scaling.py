"""Worker scaling: do 2 ``warta worker`` processes deliver 1.7x what one does?

    .venv/bin/python bench/worker_scaling.py [--n 2000] [--repeat 3] [--latency 0,0.05]
                                             [--connections 4] [--engine embedded,celery]

The step ``docs/capacity.md`` rests on: delivery grows with worker processes. The same N
emails, accepted once, are delivered by 1 and by 2 ``warta worker`` processes (each its
own ``WARTA_WORKER_NAME``) on PostgreSQL, to the same SMTP sink (``bench/smtp_sink.py``,
its own process), in interleaved rounds, with each engine: ``embedded`` (each process's
sweeper finds the due rows) and ``celery`` (RabbitMQ, one ``warta beat`` whose sweep
queues them; the workers take every queue).

Seeding is not timed and no load generator runs while anything is timed: ``warta serve
--no-workers`` accepts N emails through the API once, into a seed database whose rows are
then leased an hour ahead (no worker may take them). Each round copies it
(``CREATE DATABASE ... TEMPLATE``: the very same rows), starts the workers, waits until
each says it takes work, then ends the lease of every row in one UPDATE. Window: that
commit -> the N-th message at the sink (its clock is this process's). Every round must
deliver exactly N distinct messages. PostgreSQL's own counters give the rows written and
the transactions per message.

``--latency`` runs the comparison once per sink answer time: 0 is a sink that answers at
once, where a worker is bound by its CPU (on a 2-core machine two workers also share the
cores with the sink and PostgreSQL, so this shows the cores' limit, not Warta's); 0.05 is
a relay that takes 50 ms a message, as real providers do, where a worker is bound by its
connections (``WARTA_SMTP_POOL_SIZE``, 4: at most 80 msgs/s) and a second process adds
its own.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import jwt
import psycopg

from _common import (
    SECRET_KEY,
    WARTA,
    WORKER_ENV,
    WORKER_READY,
    Channel,
    CpuMeter,
    Resources,
    SinkProcess,
    WartaApi,
    Worker,
    log,
    stop_process,
    user_env,
)
from _sink import run_loop

SINK = Path(__file__).parent / "smtp_sink.py"
POSTGRES = os.environ.get(
    "WARTA_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
ADMIN = POSTGRES.replace("postgresql+psycopg://", "postgresql://")
BROKER = os.environ.get("WARTA_TEST_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//")
READY = (WORKER_READY, " ready.")  # ``warta worker``'s line; Celery's "celery@host ready."
TARGET = 1.7
CHANNEL = Channel(
    kind="email",
    sender=("--email-from", "dinas@bench.go.id"),
    body="# Dokumen Anda siap\n\nHalo ((nama)), dokumen ((jenis)) Anda siap diambil.",
    body_file="body.md",
    address="email_address",
    recipient=lambda i: f"warga{i}@example.com",
    personalisation={"nama": "Budi Santoso", "jenis": "KTP elektronik"},
    template=("--subject", "Dokumen ((jenis)) siap diambil"),
)


@dataclass
class Round:
    engine: str
    latency: float
    workers: int
    repeat: int
    seconds: float | None = None
    received: int = 0
    unique: int = 0
    cpu_seconds: dict[str, float] = field(default_factory=dict)
    writes: dict[str, float] = field(default_factory=dict)  # per message, from pg_stat
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.seconds is not None and not self.errors

    @property
    def rate(self) -> float | None:
        return self.received / self.seconds if self.seconds and self.ok else None


def database_url(name: str) -> str:
    return POSTGRES.rsplit("/", 1)[0] + "/" + name


def admin(sql: str) -> None:
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(sql)  # names made here, never input


def in_database(name: str, sql: str) -> None:
    with psycopg.connect(database_url(name).replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute(sql)


def database_writes(name: str, n: int) -> dict[str, float]:
    """Rows written and transactions committed per message in database ``name`` since it
    was made, less the one UPDATE that released the rows. Commits include read-only
    transactions (the sweeps)."""
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        time.sleep(1.0)  # backends report their counts at most once a second
        row = conn.execute(
            "SELECT tup_inserted, tup_updated, tup_deleted, xact_commit"
            " FROM pg_stat_database WHERE datname = %s",
            (name,),
        ).fetchone()
    assert row is not None
    inserted, updated, deleted, commits = row
    return {
        "rows_inserted": inserted / n,
        "rows_updated": (updated - n) / n,
        "rows_deleted": deleted / n,
        "commits": (commits - 1) / n,
    }


def seed(args: argparse.Namespace, res: Resources, sink: SinkProcess, name: str) -> None:
    """N emails accepted by ``warta serve --no-workers`` into database ``name``, then
    leased an hour ahead, by no one."""
    admin(f'CREATE DATABASE "{name}"')
    res.callback(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    env = {"WARTA_DATABASE_URL": database_url(name), **channel_env(args, sink)}
    api = WartaApi.start(args, res, CHANNEL, env, workers=False)
    log(f"seeding {args.n} emails through the API (not timed)")
    refused = run_loop(post_all(api, args.n))
    stop_process(api.proc)
    if refused or sink.ask("STATS")["count"]:
        raise SystemExit(f"seeding failed: {refused or 'serve --no-workers sent mail'}")
    in_database(
        name,
        "UPDATE notifications SET lease_until = now() + interval '1 hour', lease_owner = NULL",
    )
    args.var_dir = api.var_dir


async def post_all(api: WartaApi, n: int, concurrency: int = 16) -> list[str]:
    """POST N emails (not timed: plain httpx is enough); the answers that were not 201."""
    secret, client_id = api.key[-36:], api.key[-73:-37]
    refused: list[str] = []
    jobs = iter(range(n))

    async def poster(client: httpx.AsyncClient) -> None:
        for i in jobs:
            token = jwt.encode({"iss": client_id, "iat": int(time.time())}, secret, "HS256")
            body = {
                "email_address": CHANNEL.recipient(i),
                "template_id": api.template_id,
                "personalisation": CHANNEL.personalisation,
            }
            headers = {"Authorization": f"Bearer {token}"}
            answer = await client.post("/v2/notifications/email", json=body, headers=headers)
            if answer.status_code != 201:
                refused.append(f"HTTP {answer.status_code}: {answer.text[:200]}")

    async with httpx.AsyncClient(base_url=api.url, timeout=60) as client:
        await asyncio.gather(*(poster(client) for _ in range(concurrency)))
    return refused


def channel_env(args: argparse.Namespace, sink: SinkProcess) -> dict[str, str]:
    return {
        "WARTA_SMTP_URL": f"smtp://127.0.0.1:{sink.port}",
        "WARTA_SMTP_POOL_SIZE": str(args.connections),
    }


def run_round(
    args: argparse.Namespace, sink: SinkProcess, seed_name: str, run: Round, number: int
) -> None:
    name = f"{seed_name}_r{number}"
    admin(f'CREATE DATABASE "{name}" TEMPLATE "{seed_name}"')
    sink.ask("RESET")
    env = {k: v for k, v in os.environ.items() if not k.startswith("WARTA_")}
    env.update(
        WARTA_VAR_DIR=str(args.var_dir),
        WARTA_DATABASE_URL=database_url(name),
        WARTA_SECRET_KEY=SECRET_KEY,  # the seed's: the rows are sealed with it
        **channel_env(args, sink),
        **WORKER_ENV,
    )
    # Every sweep costs the process that runs it a dozen queries: 4 a second keeps that
    # small, and the wait for the first one after the release (at most 0.25 s) is the same
    # for both contenders.
    env["WARTA_SWEEP_INTERVAL"] = "0.25"
    namespace = f"wscale{uuid.uuid4().hex[:10]}"
    if run.engine == "celery":
        env |= {"WARTA_BROKER_URL": BROKER, "WARTA_NAMESPACE": namespace}
    env |= user_env(args)
    try:
        with Resources() as res:
            if run.engine == "celery":  # its queues go when the round ends; one scheduler
                res.callback(delete_namespace, namespace)
                quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
                res.process([str(WARTA), "beat"], env=env, **quiet)
            named = [env | {"WARTA_WORKER_NAME": f"scale-{i}"} for i in range(run.workers)]
            workers = [Worker(args, res, each, {"sink": sink.proc.pid}) for each in named]
            for worker in workers:
                wait_ready(worker, args.timeout)
            meters = CpuMeter({f"worker{i}": w.pid for i, w in enumerate(workers)})
            in_database(name, "UPDATE notifications SET lease_until = now()")
            t0 = time.monotonic()
            got = sink.wait(args.n, args.timeout)
            run.cpu_seconds = meters.stop()
            run.received, run.unique = got["count"], got["unique"]
            if got.get("nth") is None:
                run.errors.append(f"sink got {got['count']} of {args.n} in {args.timeout:.0f} s")
            else:
                run.seconds = got["nth"] - t0
            time.sleep(0.5)  # anything after the N-th is a duplicate
            final = sink.ask("STATS")
            run.received, run.unique = final["count"], final["unique"]
            if run.received != args.n or run.unique != args.n:
                run.errors.append(f"sink got {run.received} ({run.unique} distinct) of {args.n}")
            for worker in workers:
                worker.stop()  # closing their connections flushes their statistics
            run.writes = database_writes(name, args.n)
    finally:
        admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def wait_ready(worker: Worker, timeout: float) -> None:
    """Until the worker logs that it takes work: the embedded pool's line or Celery's."""
    deadline = time.monotonic() + timeout
    while not any(mark in line for line in list(worker.lines) for mark in READY):
        if worker.proc.poll() is not None or time.monotonic() > deadline:
            tail = "\n".join(worker.lines[-30:])
            raise RuntimeError(f"warta worker did not get ready:\n{tail}")
        time.sleep(0.1)


def delete_namespace(namespace: str) -> None:
    """Remove a Celery round's queues and exchange from the broker."""
    from kombu import Connection

    from warta.pipeline.celery_queue import QUEUES

    with Connection(BROKER) as connection:
        channel = connection.default_channel
        for short in QUEUES:
            channel.queue_delete(f"{namespace}.{short}")
        channel.exchange_delete(namespace)


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def summarise(args: argparse.Namespace, runs: list[Round]) -> list[dict[str, Any]]:
    rows = []
    for engine in args.engine:
        for latency in args.latency:
            mine = [r for r in runs if r.engine == engine and r.latency == latency]
            rate = {(r.repeat, r.workers): r.rate for r in mine if r.rate}
            one = [v for (_, k), v in rate.items() if k == 1]
            two = [v for (_, k), v in rate.items() if k == 2]
            # Each repeat's two runs ran back to back: their ratio saw the same machine.
            paired = [
                rate[(i, 2)] / rate[(i, 1)]
                for i in range(args.repeat)
                if (i, 1) in rate and (i, 2) in rate
            ]
            good = [r for r in mine if r.ok]
            cpu = {
                k: median([sum(r.cpu_seconds.values()) * 1000 / args.n
                           for r in good if r.workers == k])
                for k in (1, 2)
            }  # fmt: skip
            written = [r.writes["rows_inserted"] + r.writes["rows_updated"] for r in good]
            rows.append(
                {
                    "engine": engine,
                    "latency_ms": latency * 1000,
                    "one_msgs_per_s": median(one),
                    "two_msgs_per_s": median(two),
                    "ratio": median(paired),
                    "ratio_min_max": (min(paired), max(paired)) if paired else None,
                    "cpu_ms_per_msg": cpu,
                    "rows_written_per_msg": median(written),
                    "commits_per_msg": median([r.writes["commits"] for r in good]),
                    "rounds_ok": f"{len(good)}/{len(mine)}",
                }
            )
    return rows


def print_table(args: argparse.Namespace, rows: list[dict[str, Any]]) -> None:
    print(
        f"Worker scaling, median of {args.repeat} (N={args.n} emails, PostgreSQL, "
        f"{args.connections} SMTP connections per worker, {os.cpu_count()} CPUs)"
    )
    print(
        f"{'engine':>8} | {'sink':>6} | {'1 worker':>8} | {'2 workers':>9} | "
        "2/1 (min-max)       | cpu ms/msg 1 / 2 | rows, commits /msg | rounds ok"
    )
    for row in rows:
        ratio, spread, cpu = row["ratio"], row["ratio_min_max"], row["cpu_ms_per_msg"]
        verdict = "" if ratio is None else (" ok" if ratio >= TARGET else " MISS")
        figure = "-" if ratio is None else f"{ratio:.2f} ({spread[0]:.2f}-{spread[1]:.2f})"
        print(
            f"{row['engine']:>8} | {row['latency_ms']:>3.0f} ms | "
            f"{fmt(row['one_msgs_per_s']):>8} | {fmt(row['two_msgs_per_s']):>9} | "
            f"{figure + verdict:<19} | {fmt(cpu[1], '.2f'):>7} / {fmt(cpu[2], '.2f'):<6} | "
            f"{fmt(row['rows_written_per_msg'], '.2f'):>8}, "
            f"{fmt(row['commits_per_msg'], '.2f'):<8} | {row['rounds_ok']}"
        )
    print(
        f"target: 2 workers >= {TARGET}x one. msgs/s: releasing the rows -> the N-th at the "
        "sink; cpu: all\nworker processes in that window; rows and commits: PostgreSQL's "
        "own counts (commits include\nthe sweeps' reads)"
    )


def fmt(value: float | None, spec: str = ".0f") -> str:
    return "-" if value is None else format(value, spec)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="Emails per round.")
    parser.add_argument("--repeat", type=int, default=3, help="Rounds per contender.")
    parser.add_argument(
        "--latency",
        type=lambda s: [float(x) for x in s.split(",")],
        default=[0.0, 0.05],
        help="Sink answer times to compare at, seconds, comma-separated (default 0,0.05).",
    )
    parser.add_argument(
        "--engine",
        type=lambda s: s.split(","),
        default=["embedded", "celery"],
        help="embedded (the sweeper feeds each process) and/or celery (RabbitMQ at "
        "WARTA_TEST_BROKER_URL, one `warta beat`); default both.",
    )
    parser.add_argument("--connections", type=int, default=4, help="WARTA_SMTP_POOL_SIZE.")
    parser.add_argument("--timeout", type=float, default=300.0, help="Seconds per round.")
    parser.add_argument("--json", action="store_true", help="Print JSON instead of a table.")
    parser.add_argument(
        "--warta-env", action="append", default=[], metavar="KEY=VALUE",
        help="Extra WARTA_* settings for every warta process.",
    )  # fmt: skip
    args = parser.parse_args(argv)
    args.profile, args.profiled = None, False  # what ``Worker`` reads
    seed_name = f"warta_scale_{uuid.uuid4().hex[:8]}"
    runs: list[Round] = []
    with Resources() as res:
        try:
            admin("SELECT 1")
        except psycopg.OperationalError as exc:
            raise SystemExit(f"PostgreSQL is not reachable at {ADMIN}: {exc}") from exc
        for latency in args.latency:
            command = [sys.executable, str(SINK), "--key-header", "X-Warta-Notification-Id"]
            sink = SinkProcess.launch(res, [*command, "--latency", str(latency)], "SMTP sink")
            name = f"{seed_name}_{int(latency * 1000)}"
            seed(args, res, sink, name)
            number = 0
            for engine in args.engine:
                for repeat in range(args.repeat):
                    for workers in (1, 2) if repeat % 2 == 0 else (2, 1):
                        number += 1
                        run = Round(engine, latency, workers, repeat)
                        run_round(args, sink, name, run, number)
                        runs.append(run)
                        rate = f"{run.rate:.0f} msgs/s" if run.rate else f"failed: {run.errors}"
                        log(f"{engine}, sink {latency * 1000:.0f} ms, {workers} worker(s): {rate}")
            with contextlib.suppress(Exception):
                stop_process(sink.proc)
    rows = summarise(args, runs)
    if args.json:
        print(json.dumps({"rows": rows, "runs": [vars(r) for r in runs]}, indent=2))
    else:
        print_table(args, rows)
    return 0 if all(r.ok for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
