"""Email throughput: Warta's accept and delivery rates, against a raw-SMTP ceiling and Apprise.

    .venv/bin/python bench/email_throughput.py [--n 1000] [--connections 4] [--repeat 3]

Every contender sends the same N emails (one recipient each, multipart/alternative with
the same plain-text and HTML parts, about 3.5 KB on the wire) over loopback to a fresh SMTP sink
(``bench/smtp_sink.py``, aiosmtpd) running in its own process, so the sink's CPU is never
charged to a contender and the sink is identical for all. The sink stamps each arrival
with the monotonic clock (shared by every process on Linux) and says when the N-th message
arrived; it also counts distinct ids, so lost and duplicated mail shows.

Rounds are interleaved (ceiling, warta, apprise, ceiling, ...), ``--repeat`` of them, so a
noisy moment on the machine hurts every contender; medians are reported, with min-max.
Five figures come out, each "N / seconds" over the window named:

ceiling
    The transport alone: raw aiosmtplib in this process, ``--connections`` persistent
    connections (the same number as Warta's pool, connected inside the timed window as
    Warta's lazily filled pool is), each message built per send with Warta's own
    ``warta.channels.email_smtp.build_email`` from Warta's own rendering of the same
    template, so the bytes on the wire match (the sink reports the average size per
    contender). On uvloop when installed, as Warta's processes are. Window: before the
    first connect -> the sink has all N. This is the fastest Warta could deliver with
    that pool while building messages the way its channel does.

warta accept (API only)
    Phase A of one run: ``warta serve --no-workers`` (fresh temp ``WARTA_VAR_DIR``,
    SQLite, ``WARTA_SMTP_POOL_SIZE`` = ``--connections``; the agency and the email
    template are created beforehand with the real CLI, under the same environment), then
    N ``POST /v2/notifications/email`` through the public API (httpx, ``--concurrency``
    requests in flight, Notify JWTs from the official client's ``create_jwt_token``).
    Window: first POST sent -> last 201 answered. That is authenticating, validating,
    rendering, encrypting and storing; every POST must get 201. With no workers, rows are
    stored already due and nothing is sent: the sink must still hold 0 messages when
    phase A ends (checked just before phase B starts).

warta deliver (accepted->delivered)
    Phase B of the same run, on the same database: ``warta worker`` as a separate process
    with the same environment plus ``WARTA_SWEEP_INTERVAL=0.05`` and
    ``WARTA_LOG_LEVEL=INFO``. Its stderr is piped to this script, and the window starts
    when the line "workers started" appears (logged once bootstrap is done, just before
    the first sweep), so Python start-up, imports and migrations are not timed, as the
    ceiling's are not. Window: worker ready -> the sink has all N. That is finding the
    accepted rows (sweeper), claiming them (UPDATE ... RETURNING), unsealing and
    decrypting, building, sending over the SMTP pool and recording the outcomes. This is
    the issue's "accepted-to-delivered" throughput and the figure held against the
    ceiling: target >= 80%. The sink must get exactly N, no duplicates. (If that line
    cannot be read, the window starts at the sink's first arrival instead, which leaves
    out the first sweep and claim; the table then says so.) The idle ``warta serve``
    keeps running beside the worker, as it would in production.

warta e2e (API+delivery in one process)
    A separate run of the old end-to-end shape: ``warta serve`` with its embedded workers
    in one process, the same N POSTs. Window: first POST sent -> the sink has all N, with
    the HTTP load generator (this process, about 2.5 CPU ms per request) competing for the
    same cores. Its API accept rate while delivering is reported beside it.

apprise
    What a developer would otherwise write: ``apprise.Apprise()`` built fresh per message
    (a reused instance would sleep ``request_rate_per_sec`` between sends), a ``mailto://``
    URL pointing at the sink (``mailto://`` is Apprise's plain SMTP: no STARTTLS, no AUTH
    without a password), body = the same HTML document, ``body_format=html`` (Apprise
    derives the text part). Apprise is synchronous and opens one SMTP connection per
    message, so it runs in a thread pool of ``--connections`` threads: the same number of
    simultaneous SMTP connections as the others. (Apprise 2.x also hands each notify() to
    its own shared worker pool and builds an SSL context per connection even for plain
    SMTP; that is its real cost, so it is left in.) Window: first send -> sink has all N.

Why deliver vs ceiling is the fair comparison: both start timing with the process already
running and no SMTP connection open, both end at the same sink's N-th arrival, both use
``--connections`` connections and send byte-identical messages built by the same
function, and in neither window does anything else load the machine (no HTTP clients:
phase A is over, the API is idle). The gap between them is exactly what Warta adds to
SMTP for a message it has already accepted: queueing through the database, claims,
decryption and outcome bookkeeping. The accept figure is Warta's API cost alone (it has
no raw counterpart: Apprise and the ceiling accept nothing), and the e2e figure shows what
one process doing both, with the load generator beside it, manages. Apprise is compared
with deliver and with e2e, since it has no accept step. Nothing leaves 127.0.0.1.

Beside the times, the CPU seconds (from /proc) each process used in its timed window are
reported per message: the contender's own ("cpu ms/msg": this process for the ceiling and
Apprise, ``warta serve`` for accept and e2e, ``warta worker`` for deliver), the sink's (to
show it was never the bottleneck) and the HTTP load generator's. On a small machine the
contenders are CPU-bound, so CPU per message says where a gap comes from more steadily
than msgs/s. ``--profile OUT`` runs the first round's ``warta worker`` (phase B) under
py-spy (all threads, 250 Hz, non-blocking) and writes OUT when it stops; the profile
covers the worker's whole life, start-up included (look below ``run_workers`` for the
delivery work), and that round's figures carry py-spy's CPU on the same cores.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import aiosmtplib

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
from warta.channels.base import OutboundMessage
from warta.channels.email_smtp import build_email as warta_build_email
from warta.domain.email import render_email
from warta.domain.templates import render

BENCH = Path(__file__).resolve().parent
SINK = BENCH / "smtp_sink.py"
CONTENDERS = ("ceiling", "warta", "apprise")
TARGET = 0.80

SENDER = "dinas@bench.go.id"
SUBJECT = "Dokumen ((jenis)) siap diambil"
BODY = """\
# Dokumen Anda siap

Halo ((nama)),

Dokumen ((jenis)) Anda sudah selesai dan dapat diambil di kantor kami.

## Yang perlu dibawa

* KTP asli
* Bukti pendaftaran nomor ((nomor))
* Pas foto 3x4

^ Pengambilan hanya pada hari kerja, pukul 08.00 sampai 15.00 WIB.

Cek status permohonan di https://layanan.contoh.go.id/status

Terima kasih,
Dinas Kependudukan dan Pencatatan Sipil
"""
PERSONALISATION = {"nama": "Budi Santoso", "jenis": "KTP elektronik", "nomor": "A-1234"}


def recipient(i: int) -> str:
    return f"warga{i}@example.com"


# --------------------------------------------------------------------------- results


@dataclass
class Run:
    """One timed window of one contender (a split warta run yields two: accept, deliver)."""

    contender: str  # a key of VARIANTS
    n: int
    seconds: float | None = None  # None: the window never closed (not all N in time)
    window: str = ""  # what the clock measured, when it was not the usual start
    received: int = 0
    unique: int = 0
    missing_key: int = 0
    bytes: int = 0
    accept_seconds: float | None = None  # warta e2e: until the last POST was answered
    first_arrival: float | None = None  # window start -> first message at the sink
    http_statuses: dict[str, int] = field(default_factory=dict)
    cpu_seconds: dict[str, float] = field(default_factory=dict)  # bench, sink, warta, api
    exit_codes: dict[str, int | None] = field(default_factory=dict)  # warta processes
    errors: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float | None:
        return self.n / self.seconds if self.seconds else None

    @property
    def ok(self) -> bool:
        # The accept phase must leave the sink empty; every other window must fill it.
        expected = 0 if self.contender == "warta_accept" else self.n
        return self.seconds is not None and self.received == expected and not self.errors


# --------------------------------------------------------------------------- processes


class Sink(SinkProcess):
    """A running ``smtp_sink.py`` and a blocking client for its control port."""

    @property
    def smtp_port(self) -> int:
        return self.port

    @classmethod
    def start(cls, res: Resources, key_header: str) -> Sink:
        command = [sys.executable, str(SINK), "--key-header", key_header]
        return cls.launch(res, command, "SMTP sink")


def finish(run: Run, sink: Sink, t0: float | None, timeout: float, cpu: CpuMeter | None) -> Run:
    """Wait for the sink to hold N messages; time from ``t0`` to the N-th arrival.

    ``t0=None`` starts the clock at the sink's first arrival instead (a fallback).
    """
    got = sink.wait(run.n, timeout)
    answered = time.monotonic()
    if cpu is not None:
        run.cpu_seconds = cpu.stop()
    nth, first = got.get("nth"), got.get("first")
    start = first if t0 is None else t0
    if nth is not None and start is not None:
        # The sink's clock is this process's clock on Linux; if that ever fails, use ours.
        run.seconds = (nth if start <= nth <= answered else answered) - start
        if t0 is not None and first is not None and first >= t0:
            run.first_arrival = first - t0
    else:
        run.errors.append(f"sink received {got['count']} of {run.n} within {timeout:.0f} s")
    time.sleep(0.5)  # anything arriving after the N-th is a duplicate (or a stray)
    got = sink.ask("STATS")
    run.received, run.unique = got["count"], got["unique"]
    run.missing_key, run.bytes = got["missing_key"], got["bytes"]
    if run.received > run.n:
        run.errors.append(f"sink received {run.received} messages for {run.n} sends")
    if run.missing_key:
        run.errors.append(f"{run.missing_key} message(s) without the id header")
    if run.unique != run.received - run.missing_key:
        run.errors.append(f"{run.received - run.missing_key - run.unique} duplicate message(s)")
    return run


# --------------------------------------------------------------------------- content


@dataclass(frozen=True)
class Content:
    subject: str
    text: str
    html: str


def warta_content() -> Content:
    """The subject, text and HTML Warta renders for the benchmark template."""
    subject = render(SUBJECT, PERSONALISATION, channel="sms")
    rendered = render_email(subject, render(BODY, PERSONALISATION, channel="email"))
    return Content(rendered.subject, rendered.text, rendered.html)


def build_email(content: Content, to: str) -> bytes:
    """Byte for byte what ``SmtpChannel`` sends: the ceiling uses Warta's own builder, so
    the two differ only in what happens around the SMTP conversation."""
    message = OutboundMessage(
        notification_id=str(uuid.uuid4()),
        attempt=1,
        channel="email",
        to=to,
        sender=SENDER,
        body=content.text,
        subject=content.subject,
        html=content.html,
    )
    return warta_build_email(message)[0]


# --------------------------------------------------------------------------- ceiling


def run_ceiling(args: argparse.Namespace, content: Content, run: Run) -> None:
    with Resources() as res:
        sink = Sink.start(res, "Message-ID")
        jobs = iter(range(args.n))

        async def sender() -> None:
            # The same connection settings SmtpChannel.from_url("smtp://host:port") uses.
            smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=sink.smtp_port, timeout=30.0)
            await smtp.connect()
            try:
                for i in jobs:  # shared by all senders: each takes the next message
                    to = recipient(i)
                    email = build_email(content, to)
                    await smtp.sendmail(SENDER, [to], email)
            except BaseException:  # cancelled mid-message: QUIT would wait for nothing
                smtp.close()
                raise
            await smtp.quit()

        async def main() -> float:
            t0 = time.monotonic()
            await asyncio.gather(*(sender() for _ in range(args.connections)))
            return t0

        cpu = CpuMeter({"sink": sink.proc.pid})
        t0 = run_loop(main())
        finish(run, sink, t0, args.timeout, cpu)


# --------------------------------------------------------------------------- warta


def warta_env(args: argparse.Namespace, var_dir: Path, smtp_port: int, port: int) -> dict[str, str]:
    """The environment of every warta command of one run (CLI, serve, worker)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WARTA_")}
    env.update(
        WARTA_VAR_DIR=str(var_dir),
        WARTA_HOST="127.0.0.1",
        WARTA_PORT=str(port),
        WARTA_SECRET_KEY=SECRET_KEY,
        WARTA_SMTP_URL=f"smtp://127.0.0.1:{smtp_port}",
        WARTA_SMTP_POOL_SIZE=str(args.connections),
        WARTA_RATE_LIMIT_PER_MINUTE="100000000",
        WARTA_DAILY_MESSAGE_LIMIT="100000000",
        WARTA_LOG_LEVEL="WARNING",
    )
    return env | user_env(args)


async def post_emails(
    url: str, key: str, template_id: str, n: int, concurrency: int, run: Run
) -> tuple[float, float]:
    """POST N emails with ``concurrency`` in flight; return (t0, time of the last answer)."""

    def body(i: int) -> dict[str, Any]:
        return {
            "email_address": recipient(i),
            "template_id": template_id,
            "personalisation": PERSONALISATION,
            "reference": f"bench-{i}",
        }

    return await post_all(url, key, "/v2/notifications/email", body, n, concurrency, run)


KEY_HEADER = "X-Warta-Notification-Id"  # SmtpChannel stamps every message with it
READY_WINDOW = "worker ready -> N-th at sink"


@dataclass
class WartaApi:
    """A running ``warta serve`` with an agency and the benchmark's email template."""

    proc: subprocess.Popen[bytes]
    url: str
    env: dict[str, str]
    log_path: Path
    key: str
    template_id: str

    @classmethod
    def start(
        cls, args: argparse.Namespace, res: Resources, sink: Sink, *, workers: bool
    ) -> WartaApi:
        tmp = res.temp_dir("warta-bench-")
        port = free_port()
        env = warta_env(args, tmp / "var", sink.smtp_port, port)
        agency = cli(env, "agency", "create", "Dinas Bench", "--email-from", SENDER)
        # The schema exists now, so the server can start while the template is created.
        log_path = tmp / "serve.log"
        command = [str(WARTA), "serve", "--workers" if workers else "--no-workers"]
        with log_path.open("wb") as out:
            proc = res.process(command, env=env, stdout=out, stderr=out)
        body_file = tmp / "body.md"
        body_file.write_text(BODY, encoding="utf-8")
        template = cli(
            env,
            "template",
            "create",
            "--agency",
            agency["id"],
            "--type",
            "email",
            "--name",
            "dokumen",
            "--subject",
            SUBJECT,
            "--body-file",
            str(body_file),
        )
        url = f"http://127.0.0.1:{port}"
        wait_ready(proc, url, log_path)
        return cls(proc, url, env, log_path, agency["live_key"], template["id"])

    def post(self, args: argparse.Namespace, run: Run) -> tuple[float, float]:
        """POST N emails; (first POST sent, last answer), as monotonic times."""
        coroutine = post_emails(self.url, self.key, self.template_id, args.n, args.concurrency, run)
        return run_loop(coroutine)

    def stop(self, run: Run) -> None:
        """SIGTERM. Uvicorn shuts down gracefully, then re-raises the signal it caught, so
        a clean stop ends by SIGTERM (-15); a hang would end by SIGKILL. Shows anything it
        logged (WARNING and up)."""
        stop_serve(self.proc, self.log_path, run)


def run_warta_split(args: argparse.Namespace, content: Content, accept: Run, deliver: Run) -> None:
    """Phase A: ``warta serve --no-workers`` accepts N. Phase B: ``warta worker`` delivers
    them from the same database."""
    with Resources() as res:
        sink = Sink.start(res, KEY_HEADER)
        api = WartaApi.start(args, res, sink, workers=False)

        # Phase A: the API alone.
        cpu = CpuMeter({"sink": sink.proc.pid, "warta": api.proc.pid})
        t0, accepted = api.post(args, accept)
        accept.cpu_seconds = cpu.stop()
        accept.seconds = accepted - t0
        # Nothing may have been sent (checked now, just before the worker starts).
        early = sink.ask("STATS")
        accept.received, accept.unique, accept.bytes = early["count"], early["unique"], 0
        if early["count"]:
            accept.errors.append(
                f"the sink got {early['count']} message(s) from warta serve --no-workers"
            )
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
        worker.stop(deliver)
        api.stop(accept)


def run_warta_e2e(args: argparse.Namespace, content: Content, run: Run) -> None:
    """``warta serve`` with its embedded workers: first POST -> sink has all N."""
    with Resources() as res:
        sink = Sink.start(res, KEY_HEADER)
        api = WartaApi.start(args, res, sink, workers=True)
        cpu = CpuMeter({"sink": sink.proc.pid, "warta": api.proc.pid})
        t0, accepted = api.post(args, run)
        run.accept_seconds = accepted - t0
        finish(run, sink, t0, args.timeout, cpu)
        api.stop(run)


# --------------------------------------------------------------------------- apprise


def run_apprise(args: argparse.Namespace, content: Content, run: Run) -> None:
    import apprise

    with Resources() as res:
        sink = Sink.start(res, "Message-ID")
        local_part, _, domain = SENDER.partition("@")

        def url(to: str) -> str:
            # mailto:// is plain SMTP (mode=insecure); the URL's host only names the From
            # domain, smtp= is the server; no password, so no AUTH.
            return f"mailto://{local_part}@{domain}:{sink.smtp_port}?smtp=127.0.0.1&to={to}"

        def send(i: int) -> bool:
            notifier = apprise.Apprise()
            notifier.add(url(recipient(i)))
            return bool(
                notifier.notify(
                    body=content.html,
                    title=content.subject,
                    body_format=apprise.NotifyFormat.HTML,
                )
            )

        apprise.Apprise().add(url(recipient(0)))  # load the plugins outside the timed window
        pool = ThreadPoolExecutor(max_workers=args.connections, thread_name_prefix="apprise")
        try:
            cpu = CpuMeter({"sink": sink.proc.pid})
            t0 = time.monotonic()
            results = list(pool.map(send, range(args.n)))
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
        failed = results.count(False)
        if failed:
            run.errors.append(f"Apprise reported {failed} failed notifications")
        finish(run, sink, t0, args.timeout, cpu)


# --------------------------------------------------------------------------- report


Runner = Callable[..., None]  # (args, content, *runs): fills in the runs it is given

# Contender (--contenders) -> its runners, each with the variants (Run.contender) it fills.
RUNNERS: dict[str, list[tuple[tuple[str, ...], Runner]]] = {
    "ceiling": [(("ceiling",), run_ceiling)],
    "warta": [
        (("warta_accept", "warta_deliver"), run_warta_split),
        (("warta_e2e",), run_warta_e2e),
    ],
    "apprise": [(("apprise",), run_apprise)],
}
LABELS = {
    "ceiling": "ceiling (raw aiosmtplib)",
    "warta_accept": "warta accept (API only)",
    "warta_deliver": "warta deliver (accepted->delivered)",
    "warta_e2e": "warta e2e (API+delivery in one process)",
    "apprise": "apprise",
}
# Whose CPU is the contender's own: the ceiling and Apprise run inside this process;
# "warta" is warta serve for accept and e2e, warta worker for deliver.
OWN_CPU = {name: "bench" if name in ("ceiling", "apprise") else "warta" for name in LABELS}
NOTES = {
    "ceiling": "{c} persistent connections, Warta's build_email; connect -> N-th at sink",
    "warta_accept": "serve --no-workers; first POST -> last 201; {h} requests in flight; "
    "sink got 0",
    "warta_deliver": "separate warta worker, pool {c}; {window}; first mail {first} after ready",
    "warta_e2e": "serve with workers; first POST -> N-th at sink; API accept {accept} meanwhile",
    "apprise": "Apprise() per message, {c} threads, 1 connection per message",
}
RATIOS = (
    ("warta_deliver", "ceiling"),
    ("warta_e2e", "ceiling"),
    ("warta_deliver", "apprise"),
    ("warta_e2e", "apprise"),
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
        entry: dict[str, Any] = {
            "label": LABELS[name],
            "n": args.n,
            "runs": len(mine),
            "ok_runs": len(good),
            "seconds": median([r.seconds for r in good if r.seconds]),
            "msgs_per_s": median(rates),
            "min_msgs_per_s": min(rates, default=None),
            "max_msgs_per_s": max(rates, default=None),
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
        "connections": args.connections,
        "http_concurrency": args.concurrency,
        "repeat": args.repeat,
        "cpus": os.cpu_count(),
        "contenders": contenders,
        "ratios": ratios,
        "target": {
            "ratio": TARGET_RATIO,
            "at_least": TARGET,
            "met": None if vs is None else vs >= TARGET,
        },
        "runs": [asdict(r) | {"msgs_per_s": r.rate, "ok": r.ok} for r in runs],
    }


def print_table(summary: dict[str, Any]) -> None:
    def num(value: float | None, fmt: str) -> str:
        return "-" if value is None else format(value, fmt)

    print(
        f"\nEmail throughput, median of {summary['repeat']} "
        f"(N={summary['n']}, {summary['connections']} SMTP connections, "
        f"{summary['cpus']} CPUs, sink in its own process)\n"
    )
    width = max(len(label) for label in LABELS.values())
    print(
        f"{'':<{width}} {'msgs/s':>8} {'min-max':>11} {'seconds':>8} "
        f"{'cpu ms/msg':>10} {'sink ms/msg':>11}"
    )
    notes = []
    for name, c in summary["contenders"].items():
        spread = f"{num(c['min_msgs_per_s'], '.0f')}-{num(c['max_msgs_per_s'], '.0f')}"
        cpu = c["cpu_ms_per_msg"]
        print(
            f"{c['label']:<{width}} {num(c['msgs_per_s'], '.1f'):>8} {spread:>11} "
            f"{num(c['seconds'], '.2f'):>8} {num(cpu.get(OWN_CPU[name]), '.2f'):>10} "
            f"{num(cpu.get('sink'), '.2f'):>11}"
        )
        accept = first = "-"
        if c.get("api_accept_per_s"):
            accept = f"{c['api_accept_per_s']:.0f}/s"
        if c.get("first_arrival_seconds") is not None:
            first = f"{c['first_arrival_seconds'] * 1000:.0f} ms"
        windows = c.get("windows") or [READY_WINDOW]
        note = NOTES[name].format(
            c=summary["connections"],
            h=summary["http_concurrency"],
            accept=accept,
            first=first,
            window=" or ".join(windows),
        )
        if c["ok_runs"] < c["runs"]:
            note += f"; {c['runs'] - c['ok_runs']} run(s) FAILED"
        notes.append(f"  {name:<14} {note}")
    print(
        "\ncpu ms/msg: the contender's own process in its window (this script for ceiling "
        "and apprise,\n  warta serve for accept and e2e, warta worker for deliver)"
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
    print()
    for key, value in summary["ratios"].items():
        print(f"{key:<16} {num(value, '.2f')}")
    vs = summary["ratios"][TARGET_RATIO]
    verdict = "-" if vs is None else ("PASS" if vs >= TARGET else "MISS") + f" ({vs:.0%})"
    print(f"target: warta deliver (accepted->delivered) >= {TARGET:.0%} of ceiling: {verdict}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Warta email throughput vs a raw aiosmtplib ceiling and Apprise."
    )
    parser.add_argument("--n", type=int, default=1000, help="Emails per run (default 1000).")
    parser.add_argument(
        "--connections",
        type=int,
        default=4,
        help="SMTP connections: WARTA_SMTP_POOL_SIZE, ceiling connections, Apprise threads.",
    )
    parser.add_argument("--repeat", type=int, default=3, help="Runs per contender (median).")
    parser.add_argument(
        "--concurrency", type=int, default=32, help="Warta API requests in flight (default 32)."
    )
    parser.add_argument(
        "--contenders",
        default=",".join(CONTENDERS),
        help="Comma-separated subset of ceiling,warta,apprise (warta: accept and deliver "
        "in one run, then e2e in another).",
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
    if args.n < 1 or args.connections < 1 or args.repeat < 1 or args.concurrency < 1:
        parser.error("--n, --connections, --repeat and --concurrency must be positive")
    args.profiled = False
    return args


def log_run(round_no: int, args: argparse.Namespace, run: Run) -> None:
    rate = f"{run.rate:.1f} msgs/s" if run.rate else "no figure"
    if run.accept_seconds:
        rate += f", API accept {args.n / run.accept_seconds:.1f}/s"
    if run.contender == "warta_deliver" and run.first_arrival is not None:
        rate += f", first mail {run.first_arrival * 1000:.0f} ms after ready"
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
    content = warta_content()
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
