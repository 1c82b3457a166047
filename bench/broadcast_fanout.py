"""Broadcast fan-out: one broadcast to N registered citizens, routed and persisted.

    .venv/bin/python bench/broadcast_fanout.py [--n 1000000] [--db sqlite,postgresql] [--repeat 3]

For each database: a child process seeds N synthetic citizens (each with one verified
phone; a tenth prefer email and have a verified address too; spread over the regencies of
West Java, so a broadcast to province 32 reaches all of them), an agency and a
multi-channel template. Seeding is not timed. Then a fresh child process creates one
broadcast to region ``32`` through Warta's service and runs the fan-out task
(``warta.pipeline.broadcasts.fan_out``) to the end: every citizen read in batches, routed
by the policy (preferences, verified contacts, consent, quiet hours, caps), and one
notification row written with its routing decision and encrypted recipient. Timed: the
fan-out call. Peak RSS: the child's ``ru_maxrss``, so it covers everything that process
did (imports, bootstrap, fan-out), and nothing of the seeding.

Ceiling: the database writing the same number of notification rows with one
``INSERT ... SELECT`` from the citizens table (no routing, no encryption, no Python per
row), timed in the same child after Warta's run and then rolled back. That is the
fastest the database could persist a fan-out of this size; the ratio says what routing
each citizen in Python costs on top. Each database is seeded once; the rounds (a fresh
child each, the notifications emptied after it) alternate between the databases, and the
table gives each one's medians. There is no peer: the notification services we
compare with elsewhere (Apprise) have no citizen registry to fan out over.

Targets (issue 18's): at most 40 s on PostgreSQL (60 s on SQLite) and 500 MB for
1,000,000 citizens, and at least 0.7 of the ceiling on both.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
POSTGRES = os.environ.get(
    "WARTA_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
#: 10:00 WIB on a Tuesday: outside quiet hours, so most citizens are due at once.
NOW = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
REGENCIES = ["32.01", "32.04", "32.73", "32.74", "32.75", "32.76", "32.77", "32.78"]
SECRET = "bGV0LXRoaXMtYmUtYS0zMi1ieXRlLWJlbmNoLWtleSE="  # 32 bytes, benchmark only


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def settings_for(url: str, var_dir: str) -> Any:
    from warta.settings import Settings

    return Settings(
        database_url=url,
        var_dir=Path(var_dir),
        secret_key=SECRET,
        run_workers=False,
        dev_outbox=False,
        log_level="WARNING",
    )


async def seed(url: str, var_dir: str, n: int) -> dict[str, str]:
    """N citizens with verified contacts, written with Core executemany in batches."""
    from warta.bootstrap import bootstrap
    from warta.services.admin import create_agency, create_template
    from warta.store.models import Citizen, CitizenContact

    app = await bootstrap(settings_for(url, var_dir), channels={})
    try:
        agency = await create_agency(
            app, f"Bapenda Jabar {uuid.uuid4().hex[:6]}", sms_sender="BAPENDA"
        )
        template = await create_template(
            app,
            agency.id,
            kind="multi",
            name="pajak",
            subject="Pajak kendaraan jatuh tempo",
            body="Pajak kendaraan Anda jatuh tempo ((tanggal)). Bayar di Samsat terdekat.",
            sms_body="Pajak kendaraan Anda jatuh tempo ((tanggal)). Bapenda Jabar",
        )
        keyring = app.keyring
        nik_blob = keyring.encrypt("3273014101900002", field="citizen.nik")
        name_blob = keyring.encrypt("Warga Sintetis", field="citizen.name")
        phones = [f"+62812{i:08d}" for i in range(1000)]
        phone_blobs = [
            (keyring.encrypt(p, field="contact.value"), keyring.lookup_hash(p)) for p in phones
        ]
        email_blob = keyring.encrypt("warga@contoh.id", field="contact.value")
        email_hash = keyring.lookup_hash("warga@contoh.id")
        citizens_table = Citizen.__table__
        contacts_table = CitizenContact.__table__
        batch = 10_000
        started = time.monotonic()
        for offset in range(0, n, batch):
            citizens: list[dict[str, Any]] = []
            contacts: list[dict[str, Any]] = []
            for i in range(offset, min(n, offset + batch)):
                cid = uuid.uuid4()
                prefers_email = i % 10 == 0
                citizens.append(
                    {
                        "id": cid,
                        "nik_hash": keyring.lookup_hash(f"nik-{i}"),
                        "nik_enc": nik_blob,
                        "name_enc": name_blob,
                        "region_code": f"{REGENCIES[i % len(REGENCIES)]}.01.{1001 + i % 50}",
                        "zone": "WIB",
                        "language": "id",
                        "channel_order": "email,sms" if prefers_email else "sms",
                        "quiet_start": "21:00",
                        "quiet_end": "06:00",
                        "max_per_day": 3 if i % 7 == 0 else None,
                        "max_per_week": None,
                        "digest": False,
                        "digest_at": "18:00",
                        "created_at": NOW,
                        "updated_at": NOW,
                    }
                )
                blob, phone_hash = phone_blobs[i % len(phone_blobs)]
                contacts.append(_contact(cid, "sms", blob, phone_hash))
                if prefers_email:
                    contacts.append(_contact(cid, "email", email_blob, email_hash))
            async with app.engine.begin() as connection:
                await connection.execute(citizens_table.insert(), citizens)
                await connection.execute(contacts_table.insert(), contacts)
            if offset and offset % 200_000 == 0:
                log(f"  seeded {offset:,} citizens ({time.monotonic() - started:.0f} s)")
        # A table loaded in one go has no planner statistics until autovacuum gets to it;
        # a registry that grew over months has them. Without them PostgreSQL reads each
        # batch through the region index and sorts it, which no real deployment would do.
        async with app.engine.begin() as connection:
            await connection.exec_driver_sql("ANALYZE")
        return {"agency": str(agency.id), "template": str(template.id)}
    finally:
        await app.aclose()


def _contact(citizen_id: uuid.UUID, kind: str, blob: bytes, value_hash: str) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "citizen_id": citizen_id,
        "kind": kind,
        "value_enc": blob,
        "value_hash": value_hash,
        "verified_at": NOW,
        "code_hash": None,
        "code_expires_at": None,
        "code_attempts": 0,
        "created_at": NOW,
    }


async def fan_out(url: str, var_dir: str, agency_id: str, template_id: str) -> dict[str, Any]:
    from sqlalchemy import func, select, text

    from warta.bootstrap import bootstrap
    from warta.channels.capture import RecordingChannel
    from warta.pipeline.broadcasts import fan_out as run_fan_out
    from warta.services import broadcasts
    from warta.services.sending import Caller
    from warta.store.models import Agency, Notification
    from warta.store.outbox import Outbox

    clock_start, t0 = NOW, time.monotonic()
    outbox = Outbox()  # nothing is sent: the channels only say what can be routed to
    app = await bootstrap(
        settings_for(url, var_dir),
        channels={
            "sms": RecordingChannel("sms", outbox),
            "email": RecordingChannel("email", outbox),
        },
        clock=lambda: clock_start + timedelta(seconds=time.monotonic() - t0),
        run_migrations=False,
    )
    try:
        async with app.uow() as uow:
            agency = await uow.session.get(Agency, uuid.UUID(agency_id))
        assert agency is not None
        caller = Caller(agency=agency, key_id=None, key_type="normal")  # type: ignore[arg-type]
        made = await broadcasts.create(
            app,
            caller,
            broadcasts.NewBroadcast(
                template_id=uuid.UUID(template_id),
                region="32",
                personalisation={"tanggal": "5 Desember"},
            ),
        )
        started = time.perf_counter()
        await run_fan_out(app, [made.id])
        seconds = time.perf_counter() - started
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        async with app.uow() as uow:
            progress = await uow.broadcasts.counts(made.id)
            rows = await uow.session.scalar(
                select(func.count()).where(Notification.broadcast_id == made.id)
            )
        # Ceiling: the same number of rows, written by the database alone.
        columns = (
            "id, agency_id, key_type, template_id, template_version, type, status, "
            "recipient_enc, recipient_hash, priority, billable_units, attempts, created_at, "
            "citizen_id, broadcast_id"
        )
        uuid_expr = (
            "gen_random_uuid()"
            if app.engine.dialect.name == "postgresql"
            else ("lower(hex(randomblob(16)))")
        )
        async with app.engine.connect() as connection:
            transaction = await connection.begin()
            ceiling_started = time.perf_counter()
            await connection.execute(
                text(
                    f"INSERT INTO notifications ({columns}) SELECT {uuid_expr}, :agency, "
                    "'normal', :template, 1, 'sms', 'created', c.nik_enc, c.nik_hash, "
                    "'normal', 1, 0, c.created_at, c.id, :broadcast FROM citizens c"
                ),
                {
                    "agency": _db_uuid(app, agency.id),
                    "template": _db_uuid(app, uuid.UUID(template_id)),
                    "broadcast": _db_uuid(app, made.id),
                },
            )
            ceiling = time.perf_counter() - ceiling_started
            await transaction.rollback()
        # The next round starts from the same table.
        async with app.engine.begin() as connection:
            await connection.exec_driver_sql("DELETE FROM notifications")
            await connection.exec_driver_sql("DELETE FROM broadcasts")
        async with app.engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.exec_driver_sql("VACUUM")
        return {
            "seconds": seconds,
            "peak_rss_mb": peak_mb,
            "rows": rows,
            "counts": progress,
            "ceiling_seconds": ceiling,
        }
    finally:
        await app.aclose()


def _db_uuid(app: Any, value: uuid.UUID) -> Any:
    # SQLAlchemy's Uuid stores 32 hex digits on SQLite and a native uuid on PostgreSQL.
    return value.hex if app.engine.dialect.name == "sqlite" else value


def child(args: list[str]) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run(
        [sys.executable, __file__, *args], env=env, capture_output=True, text=True, check=False
    )
    sys.stderr.write(done.stderr)
    if done.returncode != 0:
        raise SystemExit(f"child {args[:2]} failed with exit code {done.returncode}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def postgres_schema() -> tuple[str, str]:
    import psycopg

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = POSTGRES.replace("postgresql+psycopg://", "postgresql://")
    try:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
    except psycopg.OperationalError as exc:
        raise SystemExit(f"PostgreSQL is not reachable at {POSTGRES}: {exc}") from exc
    return f"{POSTGRES}?options=-csearch_path%3D{schema}", schema


def drop_schema(schema: str) -> None:
    import psycopg

    admin = POSTGRES.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def run_all(dbs: list[str], n: int, repeat: int) -> dict[str, list[dict[str, Any]]]:
    """Seed each database once, then ``repeat`` rounds, each fanning out on every one."""
    results: dict[str, list[dict[str, Any]]] = {db: [] for db in dbs}
    with contextlib.ExitStack() as cleanup:
        places: dict[str, tuple[str, str, dict[str, str]]] = {}
        for db in dbs:
            var_dir = cleanup.enter_context(tempfile.TemporaryDirectory(prefix="warta-fanout-"))
            if db == "sqlite":
                url = f"sqlite+aiosqlite:///{var_dir}/warta.db"
            else:
                url, schema = postgres_schema()
                cleanup.callback(drop_schema, schema)
            log(f"{db}: seeding {n:,} citizens (not timed)")
            seeded = child(["--role", "seed", "--url", url, "--var-dir", var_dir, "--n", str(n)])
            places[db] = (url, var_dir, seeded)
        for round_ in range(1, repeat + 1):
            for db, (url, var_dir, seeded) in places.items():
                log(f"{db}: fanning out one broadcast (round {round_} of {repeat})")
                result = child(
                    [
                        "--role", "fanout", "--url", url, "--var-dir", var_dir,
                        "--agency", seeded["agency"], "--template", seeded["template"],
                    ]
                )  # fmt: skip
                log(
                    f"  {result['seconds']:.1f} s, ceiling {result['ceiling_seconds']:.1f} s, "
                    f"ratio {result['ceiling_seconds'] / result['seconds']:.2f}"
                )
                results[db].append(result)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--db", default="sqlite,postgresql")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--role", choices=["seed", "fanout"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--var-dir", help=argparse.SUPPRESS)
    parser.add_argument("--agency", help=argparse.SUPPRESS)
    parser.add_argument("--template", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role == "seed":
        print(json.dumps(asyncio.run(seed(args.url, args.var_dir, args.n))))
        return
    if args.role == "fanout":
        print(json.dumps(asyncio.run(fan_out(args.url, args.var_dir, args.agency, args.template))))
        return
    dbs = [db.strip() for db in args.db.split(",") if db.strip()]
    results = run_all(dbs, args.n, args.repeat)
    print(
        f"\nBroadcast fan-out, N = {args.n:,} citizens, median of {args.repeat} interleaved "
        "rounds (targets: PostgreSQL <= 40 s, SQLite <= 60 s, <= 500 MB, >= 0.7 of ceiling)\n"
    )
    columns = ["database", "seconds (min-max)", "citizens/s", "peak RSS MB"]
    columns += ["ceiling s (INSERT ... SELECT)", "vs ceiling (min-max)", "verdict"]
    print("| " + " | ".join(columns) + " |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for db, rounds in results.items():
        seconds = [r["seconds"] for r in rounds]
        ratios = [r["ceiling_seconds"] / r["seconds"] for r in rounds]
        at, ratio = statistics.median(seconds), statistics.median(ratios)
        rss = max(r["peak_rss_mb"] for r in rounds)
        limit = (40 if db == "postgresql" else 60) * args.n / 1_000_000
        ok = at <= limit and rss <= 500 and ratio >= 0.7
        ok = ok and all(r["rows"] == args.n for r in rounds)
        print(
            f"| {db} | {at:.1f} ({min(seconds):.1f}-{max(seconds):.1f}) | {args.n / at:,.0f} | "
            f"{rss:.0f} | {statistics.median(r['ceiling_seconds'] for r in rounds):.1f} | "
            f"{ratio:.2f} ({min(ratios):.2f}-{max(ratios):.2f}) | {'PASS' if ok else 'FAIL'} |"
        )
        print(f"  {db}: rows {[r['rows'] for r in rounds]}", file=sys.stderr)
    print(json.dumps({"n": args.n, "results": results}))


if __name__ == "__main__":
    main()
