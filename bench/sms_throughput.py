"""SMS throughput: Warta's accept and delivery rates, against a raw-SMPP ceiling.

    .venv/bin/python bench/sms_throughput.py [--n 1000] [--window 10] [--repeat 3]

Every contender sends the same N SMS (one recipient each, one GSM-7 part of 155
characters: the benchmark template rendered by Warta's own code) over loopback to a fresh
SMSC sink (``bench/smsc_sink.py``, smpp34's server) running in its own process, so the
sink's CPU is never charged to a contender and the sink is identical for all. The sink
accepts every ``submit_sm``, stamps its arrival with the monotonic clock (shared by every
process on Linux), says when the N-th part arrived, counts distinct parts (destination +
short message), so lost and duplicated SMS show, and sends a delivery receipt (DELIVRD,
receipt text) for every part back on the session that submitted it: Warta counts an SMS
delivered only on its receipt.

Rounds are interleaved (ceiling, warta, ceiling, ...), ``--repeat`` of them, so a noisy
moment on the machine hurts every contender; medians are reported, with min-max. Four
figures come out, each "N / seconds" over the window named:

ceiling
    The transport alone: a raw smpp34 client in this process (the library SmppChannel
    uses), bound as a transceiver with the same settings SmppChannel binds with
    (``window_size`` = ``--window``, system_id/password ``warta``), ``--window``
    coroutines so at most that many ``submit_sm`` are in flight, each message encoded per
    send with Warta's own ``warta.domain.sms.encode_parts`` and submitted with the fields
    SmppChannel uses (source address from ``source_address``, TON/NPI, esm_class,
    data_coding, ``registered_delivery=1``), so the PDUs match byte for byte (the sink
    reports the average short-message size per contender). A reader task drains the
    receipts (smpp34 acknowledges them; the ceiling counts them and reads nothing), so the
    client never pushes back on the SMSC. On uvloop, as Warta's processes are. Window:
    before the bind -> the sink has all N parts. This is the fastest Warta could submit
    with that window.

warta accept (API only)
    Phase A of one run: ``warta serve --no-workers`` (fresh temp ``WARTA_VAR_DIR``,
    SQLite, ``WARTA_SMPP_URL=smpp://warta:warta@127.0.0.1:PORT?name=bench&window=W``; the
    agency, with SMS sender id ``DUKCAPIL``, and the SMS template are created beforehand
    with the real CLI, under the same environment), then N
    ``POST /v2/notifications/sms`` through the public API (httpx, ``--concurrency``
    requests in flight, Notify JWTs from the official client's ``create_jwt_token``).
    Window: first POST sent -> last 201 answered. That is authenticating, validating the
    number, rendering, encrypting and storing; every POST must get 201. With no workers
    nothing is sent (the server binds to the SMSC all the same): the sink must still hold
    0 parts when phase A ends (checked just before phase B starts).

warta deliver (accepted->sent)
    Phase B of the same run, on the same database: ``warta worker`` as a separate process
    with the same environment plus ``WARTA_SWEEP_INTERVAL=0.05`` and
    ``WARTA_LOG_LEVEL=INFO``. The window starts when its stderr says "workers started"
    (logged once bootstrap is done, the SMPP bind included, just before the first sweep),
    so Python start-up, imports and migrations are not timed, as the ceiling's are not.
    Window: worker ready -> the sink has all N parts. That is finding the accepted rows
    (sweeper), claiming them, unsealing and decrypting, encoding, submitting within the
    window, recording the outcomes (``sending`` plus one ``sms_parts`` row per part) and,
    meanwhile, taking the receipts that come back on the same bind (one transaction
    each). This is the figure held against the ceiling: target >= 70%. The sink must get
    exactly N distinct parts, no duplicates. (If the ready line cannot be read, the window
    starts at the sink's first arrival instead; the table then says so.) The idle
    ``warta serve`` keeps running (and bound) beside the worker, as it would in production.

    Beside it, "all delivered": from the same start until the last of the N notifications
    is ``delivered`` in the database, i.e. every receipt processed. The bench polls the
    SQLite file read-only (every 20 ms, only once the sink has all N, so never inside the
    headline window) until N rows are ``delivered``, then takes the latest
    ``completed_at`` (written by Warta as it settles each receipt) as the end. For the
    ceiling the same column is the moment its client acknowledged the N-th receipt (as
    the sink saw it): the ceiling stores nothing, so it is only the transport's floor.

warta e2e (API+delivery in one process)
    A separate run: ``warta serve`` with its embedded workers in one process, the same N
    POSTs. Window: first POST sent -> the sink has all N, with the HTTP load generator
    (this process) competing for the same cores; "all delivered" as above. Its API
    accept rate while delivering is reported beside it.

Why deliver vs ceiling is the fair comparison: both start timing with the process already
running (the ceiling's window even includes its bind, the worker's does not), both end at
the same sink's N-th arrival, both have at most ``--window`` submit_sm in flight on one
bind of the same library, both send identical PDUs encoded by the same function and get
the same receipts back, and in neither window does anything else load the machine (phase A
is over, the API is idle). The gap is what Warta adds to SMPP for a message it has already
accepted: queueing through the database, claims, decryption, bookkeeping and receipt
processing. Nothing leaves 127.0.0.1.

Beside the times, the CPU seconds (from /proc) each process used in its window are
reported per message: the contender's own ("cpu ms/msg": this process for the ceiling,
``warta serve`` for accept and e2e, ``warta worker`` for deliver), the sink's and the HTTP
load generator's. smpp34 does its I/O on tokio threads inside the contender's process, so
that is counted too. ``--profile OUT`` runs the first round's ``warta worker`` under
py-spy (if installed), as in ``email_throughput.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import smpp34

from _common import (
    SECRET_KEY,
    WARTA,
    WORKER_ENV,
    CpuMeter,
    Resources,
    SinkProcess,
    Worker,
    cli,
    free_port,
    log,
    median,
    post_all,
    run_loop,
    stop_serve,
    user_env,
    wait_ready,
)
from warta.channels.sms_smpp_config import SmppConfig, source_address
from warta.domain import sms
from warta.domain.templates import render

BENCH = Path(__file__).resolve().parent
SINK = BENCH / "smsc_sink.py"
CONTENDERS = ("ceiling", "warta")
TARGET = 0.70
#: SmppChannel's own default window (``SmppConfig.window``), the benchmark's default.
DEFAULT_WINDOW: int = SmppConfig(provider="default", host="x", system_id="x").window
PROVIDER = "bench"

SENDER = "DUKCAPIL"  # the agency's SMS sender id: alphanumeric, TON 5
BODY = (
    "Halo ((nama)), dokumen ((jenis)) Anda nomor ((nomor)) sudah selesai dan dapat diambil "
    "di kantor Dinas Dukcapil pada hari kerja pukul 08.00-15.00 WIB."
)
PERSONALISATION = {"nama": "Budi Santoso", "jenis": "KTP elektronik", "nomor": "A-1234"}


def recipient(i: int) -> str:
    """A distinct, valid Indonesian mobile number per message (+62 812 1000 0000 on)."""
    return f"+62812{10_000_000 + i}"


# --------------------------------------------------------------------------- results


@dataclass
class Run:
    """One timed window of one contender (a split warta run yields two: accept, deliver)."""

    contender: str  # a key of LABELS
    n: int
    seconds: float | None = None  # None: the window never closed (not all N in time)
    window: str = ""  # what the clock measured, when it was not the usual start
    received: int = 0  # parts at the sink
    unique: int = 0  # distinct (destination, short message)
    multipart: int = 0  # parts with a UDH (there should be none: one part per SMS)
    bytes: int = 0  # short-message bytes at the sink
    receipts: int = 0  # receipts the sink sent and the ESME acknowledged
    receipts_lost: int = 0  # receipts the sink gave up on
    delivered: int | None = None  # rows `delivered` in the database (warta)
    delivered_seconds: float | None = None  # window start -> all N delivered (see docs)
    accept_seconds: float | None = None  # warta e2e: until the last POST was answered
    first_arrival: float | None = None  # window start -> first part at the sink
    http_statuses: dict[str, int] = field(default_factory=dict)
    cpu_seconds: dict[str, float] = field(default_factory=dict)  # bench, sink, warta, api
    exit_codes: dict[str, int | None] = field(default_factory=dict)  # warta processes
    errors: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float | None:
        return self.n / self.seconds if self.seconds else None

    @property
    def delivered_rate(self) -> float | None:
        return self.n / self.delivered_seconds if self.delivered_seconds else None

    @property
    def ok(self) -> bool:
        # The accept phase must leave the sink empty; every other window must fill it.
        expected = 0 if self.contender == "warta_accept" else self.n
        return (
            self.seconds is not None
            and self.received == expected
            and self.unique == expected
            and not self.errors
        )


class Sink(SinkProcess):
    """A running ``smsc_sink.py`` and a blocking client for its control port."""

    @classmethod
    def start(cls, res: Resources, args: argparse.Namespace) -> Sink:
        command = [sys.executable, str(SINK), "--receipt-delay", str(args.receipt_delay)]
        return cls.launch(res, command, "SMSC sink")

    def receipts(self, n: int, timeout: float) -> dict[str, Any]:
        return self.ask(f"RECEIPTS {n} {timeout}", timeout=timeout + 10.0)


def finish(
    run: Run,
    sink: Sink,
    t0: float | None,
    timeout: float,
    cpu: CpuMeter | None,
    got: dict[str, Any] | None = None,
) -> Run:
    """Wait for the sink to hold N parts (unless ``got`` is its answer already); time from
    ``t0`` to the N-th arrival. ``t0=None`` starts the clock at the sink's first arrival
    instead (a fallback)."""
    if got is None:
        got = sink.wait(run.n, timeout)
    answered = time.monotonic()
    if cpu is not None and not run.cpu_seconds:
        run.cpu_seconds = cpu.stop()
    nth, first = got.get("nth"), got.get("first")
    start = first if t0 is None else t0
    if nth is not None and start is not None:
        # The sink's clock is this process's clock on Linux; if that ever fails, use ours.
        run.seconds = (nth if start <= nth <= answered else answered) - start
        if t0 is not None and first is not None and first >= t0:
            run.first_arrival = first - t0
    else:
        run.errors.append(f"sink received {got['count']} of {run.n} parts within {timeout:.0f} s")
    time.sleep(0.5)  # anything arriving after the N-th is a duplicate (or a stray)
    read_sink(run, sink)
    return run


def read_sink(run: Run, sink: Sink) -> dict[str, Any]:
    """Counts from the sink, and the errors they show (loss, duplicates, stray parts)."""
    got = sink.ask("STATS")
    run.received, run.unique, run.multipart = got["count"], got["unique"], got["multipart"]
    run.bytes, run.receipts, run.receipts_lost = got["bytes"], got["receipts"], got["receipts_lost"]
    expected = 0 if run.contender == "warta_accept" else run.n
    if run.received > expected:
        run.errors.append(f"sink received {run.received} parts for {expected} SMS")
    if run.unique != run.received:
        run.errors.append(f"{run.received - run.unique} duplicate part(s) at the sink")
    if run.multipart:
        run.errors.append(f"{run.multipart} part(s) with a UDH: the text was meant to fit one")
    if run.receipts_lost:
        run.errors.append(f"the sink could not deliver {run.receipts_lost} receipt(s)")
    return got


# --------------------------------------------------------------------------- content


@dataclass(frozen=True)
class Content:
    text: str  # what Warta renders and stores for the template
    config: SmppConfig  # SmppChannel's settings for the sink (sender address, TON/NPI)


def warta_content(args: argparse.Namespace, port: int = 2775) -> Content:
    """The text Warta renders for the benchmark template (as ``services.sending`` does:
    render, sanitise, check the length) and the SmppConfig SmppChannel would use."""
    text = sms.sanitise(render(BODY, PERSONALISATION, channel="sms"))
    sms.check_length(text)
    config = SmppConfig(
        provider=PROVIDER,
        host="127.0.0.1",
        port=port,
        system_id="warta",
        password="warta",
        window=args.window,
    )
    return Content(text, config)


# --------------------------------------------------------------------------- ceiling


def run_ceiling(args: argparse.Namespace, content: Content, run: Run) -> None:
    with Resources() as res:
        sink = Sink.start(res, args)
        config = warta_content(args, sink.port).config
        source, ton, npi = source_address(SENDER, config)
        fields: dict[str, Any] = {
            "source_addr": source,
            "source_addr_ton": ton,
            "source_addr_npi": npi,
            "dest_addr_ton": config.dest_ton,
            "dest_addr_npi": config.dest_npi,
            "registered_delivery": 1,
        }
        jobs = iter(range(args.n))
        receipts = 0
        failures: list[str] = []
        reference = 0

        async def reader(smsc: smpp34.Smsc) -> None:
            nonlocal receipts
            while not isinstance(await smsc.next(), smpp34.Disconnected):
                receipts += 1

        async def sender(smsc: smpp34.Smsc) -> None:
            nonlocal reference
            for i in jobs:  # shared by all senders: each takes the next message
                reference = (reference + 1) % 256
                encoded = sms.encode_parts(content.text, reference)
                to = recipient(i).removeprefix("+")
                for part in encoded.parts:
                    response = await smsc.submit_sm(
                        to,
                        part,
                        esm_class=encoded.esm_class,
                        data_coding=encoded.data_coding,
                        **fields,
                    )
                    if response.command_status != 0 or not response.message_id:
                        failures.append(f"submit_sm answered 0x{response.command_status:08X}")

        async def main() -> tuple[float, dict[str, Any]]:
            cpu = CpuMeter({"sink": sink.proc.pid})
            t0 = time.monotonic()
            # The same bind SmppChannel._bind makes.
            client = smpp34.Client(
                config.host,
                config.port,
                config.system_id,
                config.password,
                bind_type="TRX",
                system_type=config.system_type,
                tls=config.tls,
                window_size=config.window,
                connect_timeout_ms=int(config.connect_timeout * 1000),
            )
            smsc = await client.connect()
            drain = asyncio.ensure_future(reader(smsc))
            try:
                await asyncio.gather(*(sender(smsc) for _ in range(config.window)))
                got = await asyncio.to_thread(sink.wait, args.n, args.timeout)
                run.cpu_seconds = cpu.stop()
                # Not timed: let every receipt come back before unbinding.
                acked = await asyncio.to_thread(sink.receipts, args.n, args.timeout)
                if acked.get("nth_receipt") is not None:
                    run.delivered_seconds = acked["nth_receipt"] - t0
                with contextlib.suppress(smpp34.SmppError, TimeoutError):
                    async with asyncio.timeout(2.0):
                        await smsc.unbind()
            finally:
                with contextlib.suppress(smpp34.SmppError):
                    await client.stop()
                drain.cancel()
                await asyncio.gather(drain, return_exceptions=True)
            return t0, got

        t0, got = run_loop(main())
        if failures:
            run.errors.append(f"{len(failures)} submit_sm refused, e.g. {failures[0]}")
        finish(run, sink, t0, args.timeout, None, got)
        if run.delivered_seconds is None:
            run.errors.append(f"only {run.receipts} of {args.n} receipts acknowledged")
        run.delivered = receipts  # what the client's reader saw (informative)


# --------------------------------------------------------------------------- warta


def warta_env(args: argparse.Namespace, var_dir: Path, smpp_port: int, port: int) -> dict[str, str]:
    """The environment of every warta command of one run (CLI, serve, worker)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WARTA_")}
    env.update(
        WARTA_VAR_DIR=str(var_dir),
        WARTA_HOST="127.0.0.1",
        WARTA_PORT=str(port),
        WARTA_SECRET_KEY=SECRET_KEY,
        WARTA_SMPP_URL=(
            f"smpp://warta:warta@127.0.0.1:{smpp_port}?name={PROVIDER}&window={args.window}"
        ),
        WARTA_RATE_LIMIT_PER_MINUTE="100000000",
        WARTA_DAILY_MESSAGE_LIMIT="100000000",
        WARTA_LOG_LEVEL="WARNING",
    )
    return env | user_env(args)


READY_WINDOW = "worker ready -> N-th at sink"


@dataclass
class WartaApi:
    """A running ``warta serve`` with an agency and the benchmark's SMS template."""

    proc: subprocess.Popen[bytes]
    url: str
    env: dict[str, str]
    log_path: Path
    database: Path
    key: str
    template_id: str

    @classmethod
    def start(
        cls, args: argparse.Namespace, res: Resources, sink: Sink, *, workers: bool
    ) -> WartaApi:
        tmp = res.temp_dir("warta-bench-")
        port = free_port()
        env = warta_env(args, tmp / "var", sink.port, port)
        agency = cli(env, "agency", "create", "Dinas Bench", "--sms-sender", SENDER)
        # The schema exists now, so the server can start while the template is created.
        log_path = tmp / "serve.log"
        command = [str(WARTA), "serve", "--workers" if workers else "--no-workers"]
        with log_path.open("wb") as out:
            proc = res.process(command, env=env, stdout=out, stderr=out)
        body_file = tmp / "body.txt"
        body_file.write_text(BODY, encoding="utf-8")
        template = cli(
            env,
            "template",
            "create",
            "--agency",
            agency["id"],
            "--type",
            "sms",
            "--name",
            "dokumen",
            "--body-file",
            str(body_file),
        )
        url = f"http://127.0.0.1:{port}"
        wait_ready(proc, url, log_path)
        database = tmp / "var" / "warta.db"
        return cls(proc, url, env, log_path, database, agency["live_key"], template["id"])

    def post(self, args: argparse.Namespace, run: Run) -> tuple[float, float]:
        """POST N SMS; (first POST sent, last answer), as monotonic times."""

        def body(i: int) -> dict[str, Any]:
            return {
                "phone_number": recipient(i),
                "template_id": self.template_id,
                "personalisation": PERSONALISATION,
                "reference": f"bench-{i}",
            }

        path = "/v2/notifications/sms"
        return run_loop(post_all(self.url, self.key, path, body, args.n, args.concurrency, run))

    def stop(self, run: Run) -> None:
        stop_serve(self.proc, self.log_path, run)


def wait_delivered(run: Run, database: Path, t0: float | None, timeout: float) -> None:
    """Poll the SQLite file (read-only) until N notifications are ``delivered``; the time
    from ``t0`` to the latest ``completed_at`` among them (Warta's own clock, UTC, mapped
    to the monotonic clock here)."""
    offset = time.time() - time.monotonic()  # wall clock = monotonic + offset
    deadline = time.monotonic() + timeout
    uri = f"file:{database}?mode=ro"
    count, last = 0, None
    with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=10)) as db:
        while True:
            count, last = db.execute(
                "SELECT count(*), max(completed_at) FROM notifications WHERE status = 'delivered'"
            ).fetchone()
            if count >= run.n or time.monotonic() > deadline:
                break
            time.sleep(0.02)
        seen = time.monotonic()
        statuses = dict(db.execute("SELECT status, count(*) FROM notifications GROUP BY status"))
    run.delivered = count
    if count < run.n:
        run.errors.append(
            f"only {count} of {run.n} delivered in the database within {timeout:.0f} s "
            f"(statuses: {statuses})"
        )
        return
    if t0 is None or last is None:
        return
    done = datetime.fromisoformat(last).replace(tzinfo=UTC).timestamp() - offset
    # Warta's clock is this machine's wall clock; if the mapping is off, use when we saw it.
    run.delivered_seconds = (done if t0 <= done <= seen else seen) - t0


def run_warta_split(args: argparse.Namespace, content: Content, accept: Run, deliver: Run) -> None:
    """Phase A: ``warta serve --no-workers`` accepts N. Phase B: ``warta worker`` delivers
    them from the same database."""
    with Resources() as res:
        sink = Sink.start(res, args)
        api = WartaApi.start(args, res, sink, workers=False)

        # Phase A: the API alone.
        cpu = CpuMeter({"sink": sink.proc.pid, "warta": api.proc.pid})
        t0, accepted = api.post(args, accept)
        accept.cpu_seconds = cpu.stop()
        accept.seconds = accepted - t0
        # Nothing may have been sent (checked now, just before the worker starts).
        read_sink(accept, sink)
        if accept.received:
            accept.errors.append(f"the sink got {accept.received} part(s) from serve --no-workers")
        if accept.errors:
            deliver.errors.append("phase B not run: phase A failed")
            api.stop(accept)
            return

        # Phase B: a worker process takes the accepted rows from the database.
        env = api.env | WORKER_ENV | user_env(args)
        worker = Worker(args, res, env, {"sink": sink.proc.pid, "api": api.proc.pid})
        ready = worker.wait_ready(sink)
        if ready is None:
            deliver.window = "sink's first arrival -> N-th (worker's ready line not seen)"
        finish(deliver, sink, ready, args.timeout, worker.cpu if ready is not None else None)
        if ready is not None:
            wait_delivered(deliver, api.database, ready, args.timeout)
        worker.stop(deliver)
        api.stop(accept)


def run_warta_e2e(args: argparse.Namespace, content: Content, run: Run) -> None:
    """``warta serve`` with its embedded workers: first POST -> sink has all N."""
    with Resources() as res:
        sink = Sink.start(res, args)
        api = WartaApi.start(args, res, sink, workers=True)
        cpu = CpuMeter({"sink": sink.proc.pid, "warta": api.proc.pid})
        t0, accepted = api.post(args, run)
        run.accept_seconds = accepted - t0
        finish(run, sink, t0, args.timeout, cpu)
        wait_delivered(run, api.database, t0, args.timeout)
        api.stop(run)


# --------------------------------------------------------------------------- report


Runner = Callable[..., None]  # (args, content, *runs): fills in the runs it is given

# Contender (--contenders) -> its runners, each with the variants (Run.contender) it fills.
RUNNERS: dict[str, list[tuple[tuple[str, ...], Runner]]] = {
    "ceiling": [(("ceiling",), run_ceiling)],
    "warta": [
        (("warta_accept", "warta_deliver"), run_warta_split),
        (("warta_e2e",), run_warta_e2e),
    ],
}
LABELS = {
    "ceiling": "ceiling (raw smpp34)",
    "warta_accept": "warta accept (API only)",
    "warta_deliver": "warta deliver (accepted->sent)",
    "warta_e2e": "warta e2e (API+delivery in one process)",
}
# Whose CPU is the contender's own: the ceiling runs inside this process; "warta" is
# warta serve for accept and e2e, warta worker for deliver.
OWN_CPU = {name: "bench" if name == "ceiling" else "warta" for name in LABELS}
NOTES = {
    "ceiling": "window {w}, Warta's encode_parts and submit fields; bind -> N-th at sink; "
    "all delivered = N-th receipt acked",
    "warta_accept": "serve --no-workers; first POST -> last 201; {h} requests in flight; "
    "sink got 0",
    "warta_deliver": "separate warta worker, window {w}; {window}; first part {first} after "
    "ready; all delivered = N `delivered` in the DB",
    "warta_e2e": "serve with workers; first POST -> N-th at sink; API accept {accept} "
    "meanwhile; all delivered = N `delivered` in the DB",
}
RATIOS = (
    ("warta_deliver", "ceiling"),
    ("warta_e2e", "ceiling"),
)
TARGET_RATIO = "deliver/ceiling"


def ratio_name(a: str, b: str) -> str:
    return f"{a.removeprefix('warta_')}/{b}"


def summarise(args: argparse.Namespace, runs: list[Run]) -> dict[str, Any]:
    contenders: dict[str, Any] = {}
    for name in LABELS:
        mine = [r for r in runs if r.contender == name]
        if not mine:
            continue
        good = [r for r in mine if r.ok and r.rate]
        rates = [r.n / r.seconds for r in good if r.seconds]
        delivered = [r.n / r.delivered_seconds for r in good if r.delivered_seconds]
        entry: dict[str, Any] = {
            "label": LABELS[name],
            "n": args.n,
            "runs": len(mine),
            "ok_runs": len(good),
            "seconds": median([r.seconds for r in good if r.seconds]),
            "msgs_per_s": median(rates),
            "min_msgs_per_s": min(rates, default=None),
            "max_msgs_per_s": max(rates, default=None),
            "delivered_seconds": median([r.delivered_seconds for r in good if r.delivered_seconds]),
            "delivered_per_s": median(delivered),
            "avg_message_bytes": median([r.bytes / r.received for r in mine if r.received]),
            "cpu_ms_per_msg": {
                who: median([r.cpu_seconds[who] * 1000 / r.n for r in have])
                for who in ("bench", "sink", "warta", "api")
                if (have := [r for r in good if who in r.cpu_seconds])
            },
        }
        if name == "warta_e2e":
            accepts = [r.accept_seconds for r in good if r.accept_seconds]
            entry["api_accept_seconds"] = median(accepts)
            entry["api_accept_per_s"] = median([args.n / s for s in accepts])
        if name == "warta_deliver":
            firsts = [r.first_arrival for r in good if r.first_arrival is not None]
            entry["first_arrival_seconds"] = median(firsts)
            entry["windows"] = sorted({r.window or READY_WINDOW for r in good})
        contenders[name] = entry

    ratios: dict[str, float | None] = {}
    for a, b in RATIOS:
        x = contenders.get(a, {}).get("msgs_per_s")
        y = contenders.get(b, {}).get("msgs_per_s")
        ratios[ratio_name(a, b)] = x / y if x and y else None
    vs = ratios[TARGET_RATIO]
    return {
        "n": args.n,
        "window": args.window,
        "http_concurrency": args.concurrency,
        "repeat": args.repeat,
        "receipt_delay": args.receipt_delay,
        "cpus": os.cpu_count(),
        "contenders": contenders,
        "ratios": ratios,
        "target": {
            "ratio": TARGET_RATIO,
            "at_least": TARGET,
            "met": None if vs is None else vs >= TARGET,
        },
        "runs": [
            asdict(r) | {"msgs_per_s": r.rate, "delivered_per_s": r.delivered_rate, "ok": r.ok}
            for r in runs
        ],
    }


def print_table(summary: dict[str, Any]) -> None:
    def num(value: float | None, fmt: str) -> str:
        return "-" if value is None else format(value, fmt)

    print(
        f"\nSMS throughput, median of {summary['repeat']} "
        f"(N={summary['n']}, SMPP window {summary['window']}, "
        f"{summary['cpus']} CPUs, SMSC sink in its own process)\n"
    )
    width = max(len(label) for label in LABELS.values())
    print(
        f"{'':<{width}} {'msgs/s':>8} {'min-max':>11} {'seconds':>8} "
        f"{'all delivered/s':>15} {'cpu ms/msg':>10} {'sink ms/msg':>11}"
    )
    notes = []
    for name, c in summary["contenders"].items():
        spread = f"{num(c['min_msgs_per_s'], '.0f')}-{num(c['max_msgs_per_s'], '.0f')}"
        cpu = c["cpu_ms_per_msg"]
        print(
            f"{c['label']:<{width}} {num(c['msgs_per_s'], '.1f'):>8} {spread:>11} "
            f"{num(c['seconds'], '.2f'):>8} {num(c['delivered_per_s'], '.1f'):>15} "
            f"{num(cpu.get(OWN_CPU[name]), '.2f'):>10} {num(cpu.get('sink'), '.2f'):>11}"
        )
        accept = first = "-"
        if c.get("api_accept_per_s"):
            accept = f"{c['api_accept_per_s']:.0f}/s"
        if c.get("first_arrival_seconds") is not None:
            first = f"{c['first_arrival_seconds'] * 1000:.0f} ms"
        windows = c.get("windows") or [READY_WINDOW]
        note = NOTES[name].format(
            w=summary["window"],
            h=summary["http_concurrency"],
            accept=accept,
            first=first,
            window=" or ".join(windows),
        )
        if c["ok_runs"] < c["runs"]:
            note += f"; {c['runs'] - c['ok_runs']} run(s) FAILED"
        notes.append(f"  {name:<14} {note}")
    print(
        "\nmsgs/s: N / (window start -> the sink has all N parts). all delivered/s: N / "
        "(same start ->\n  all N receipts processed: `delivered` in Warta's database; "
        "the ceiling's client only acks them).\n"
        "cpu ms/msg: the contender's own process in its window (this script for the "
        "ceiling,\n  warta serve for accept and e2e, warta worker for deliver)"
    )
    print("\n".join(notes))
    load = [
        f"{name.removeprefix('warta_')} {num(c['cpu_ms_per_msg'].get('bench'), '.2f')}"
        for name, c in summary["contenders"].items()
        if name in ("warta_accept", "warta_e2e")
    ]
    if load:
        print(f"HTTP load generator (this script), CPU ms/msg: {', '.join(load)}")
    deliver = summary["contenders"].get("warta_deliver")
    if deliver and "api" in deliver["cpu_ms_per_msg"]:
        idle = deliver["cpu_ms_per_msg"]["api"]
        print(f"idle warta serve during deliver, CPU ms/msg: {idle:.2f}")
    sizes = {
        name: c["avg_message_bytes"]
        for name, c in summary["contenders"].items()
        if c["avg_message_bytes"] is not None
    }
    if sizes:
        shown = ", ".join(f"{name} {size:.0f}" for name, size in sizes.items())
        print(f"short message bytes per part at the sink: {shown}")
    print()
    for key, value in summary["ratios"].items():
        print(f"{key:<16} {num(value, '.2f')}")
    vs = summary["ratios"][TARGET_RATIO]
    verdict = "-" if vs is None else ("PASS" if vs >= TARGET else "FAIL") + f" ({vs:.0%})"
    print(f"target: warta deliver (accepted->sent) >= {TARGET:.0%} of ceiling: {verdict}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Warta SMS throughput vs a raw smpp34 ceiling.")
    parser.add_argument("--n", type=int, default=1000, help="SMS per run (default 1000).")
    parser.add_argument(
        "--window",
        type=int,
        default=DEFAULT_WINDOW,
        help=f"submit_sm in flight, for Warta (window= in the URL) and the ceiling "
        f"(default {DEFAULT_WINDOW}, SmppChannel's default).",
    )
    parser.add_argument("--repeat", type=int, default=3, help="Runs per contender (median).")
    parser.add_argument(
        "--concurrency", type=int, default=32, help="Warta API requests in flight (default 32)."
    )
    parser.add_argument(
        "--contenders",
        default=",".join(CONTENDERS),
        help="Comma-separated subset of ceiling,warta (warta: accept and deliver in one run, "
        "then e2e in another).",
    )
    parser.add_argument(
        "--receipt-delay",
        type=float,
        default=0.0,
        help="Seconds the sink waits before each receipt (default 0).",
    )
    parser.add_argument(
        "--warta-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="Extra environment for warta (e.g. WARTA_WORKERS=4); repeatable.",
    )
    parser.add_argument(
        "--timeout", type=float, default=120.0, help="Seconds to wait for all N to arrive."
    )
    parser.add_argument(
        "--profile",
        metavar="OUT",
        help="Run the first round's warta worker (phase B, deliver) under py-spy and write "
        "OUT (.json: speedscope, else raw collapsed stacks); covers the worker's start-up too.",
    )
    parser.add_argument("--json", action="store_true", help="Print JSON results only.")
    args = parser.parse_args(argv)
    args.contenders = [c.strip() for c in args.contenders.split(",") if c.strip()]
    unknown = set(args.contenders) - set(CONTENDERS)
    if unknown:
        parser.error(f"unknown contender(s): {', '.join(sorted(unknown))}")
    if args.n < 1 or args.window < 1 or args.repeat < 1 or args.concurrency < 1:
        parser.error("--n, --window, --repeat and --concurrency must be positive")
    args.profiled = False
    return args


def log_run(round_no: int, args: argparse.Namespace, run: Run) -> None:
    rate = f"{run.rate:.1f} msgs/s" if run.rate else "no figure"
    if run.delivered_rate:
        rate += f", all delivered {run.delivered_rate:.1f}/s"
    if run.accept_seconds:
        rate += f", API accept {args.n / run.accept_seconds:.1f}/s"
    if run.contender == "warta_deliver" and run.first_arrival is not None:
        rate += f", first part {run.first_arrival * 1000:.0f} ms after ready"
    if run.window:
        rate += f" (timed from {run.window})"
    log(f"round {round_no}/{args.repeat} {run.contender:<13} {rate}")
    for error in run.errors:
        log(f"  ! {error}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # Ctrl-C (even when started in the background, where SIGINT is inherited as ignored)
    # and SIGTERM unwind the stack, so every ``with Resources()`` stops what it started.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    content = warta_content(args)
    runs: list[Run] = []
    try:
        for round_no in range(1, args.repeat + 1):
            for name in args.contenders:
                for variants, runner in RUNNERS[name]:
                    mine = [Run(variant, args.n) for variant in variants]
                    try:
                        runner(args, content, *mine)
                    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
                        # Charged to the windows it cut short (or to the last one).
                        open_ = [r for r in mine if r.seconds is None] or mine[-1:]
                        for run in open_:
                            run.errors.append(f"{type(exc).__name__}: {exc}")
                    except smpp34.SmppError as exc:
                        mine[-1].errors.append(f"SmppError: {exc}")
                    runs.extend(mine)
                    for run in mine:
                        log_run(round_no, args, run)
    except KeyboardInterrupt:
        log("interrupted; everything started has been stopped")
        return 130
    summary = summarise(args, runs)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print_table(summary)
    return 0 if all(r.ok for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
