"""Email throughput: Warta end to end, against a raw-SMTP ceiling and Apprise, in one run.

    .venv/bin/python bench/email_throughput.py [--n 1000] [--connections 4] [--repeat 3]

Every contender sends the same N emails (one recipient each, multipart/alternative with
the same plain-text and HTML parts, about 2.8 KB on the wire) over loopback to a fresh SMTP sink
(``bench/smtp_sink.py``, aiosmtpd) running in its own process, so the sink's CPU is never
charged to a contender and the sink is identical for all three. The sink stamps each
arrival with the monotonic clock (shared by every process on Linux) and says when the
N-th message arrived; it also counts distinct ids, so lost and duplicated mail shows.

Contenders, each run ``--repeat`` times in interleaved rounds (ceiling, warta, apprise,
ceiling, ...), so a noisy moment on the machine hurts all of them; medians are reported.

warta
    ``warta serve`` as its own process (fresh temp ``WARTA_VAR_DIR``, SQLite, SMTP pool of
    ``--connections``), an agency and an email template created with the real CLI; then N
    ``POST /v2/notifications/email`` through the public API (httpx, ``--concurrency``
    requests in flight, Notify JWTs made by the official client's ``create_jwt_token``).
    Figure: N / (first POST sent -> sink has all N), i.e. accepted-to-delivered, which
    includes authenticating, validating, rendering the markdown, encrypting, storing,
    queueing, claiming and recording every message. The API accept rate (N / time until
    the last 201) is reported beside it. Every POST must get 201 and the sink exactly N.

ceiling
    The transport alone: raw aiosmtplib in this process, ``--connections`` persistent
    connections (the same number as Warta's pool, connected inside the timed window as
    Warta's lazily filled pool is), each message built per send with
    ``email.message.EmailMessage`` exactly as ``warta.channels.email_smtp`` builds it
    (same headers, ``set_content`` + ``add_alternative``) from Warta's own rendering of
    the same template, so the bytes on the wire match (the sink reports the average size
    per contender). This is the fastest Warta could be with that pool while building
    messages the way its channel does: Warta's extra work is everything but SMTP. It runs
    on uvloop when installed, as ``warta serve`` (uvicorn) does.

apprise
    What a developer would otherwise write: ``apprise.Apprise()`` built fresh per message
    (a reused instance would sleep ``request_rate_per_sec`` between sends), a ``mailto://``
    URL pointing at the sink (``mailto://`` is Apprise's plain SMTP: no STARTTLS, no AUTH
    without a password), body = the same HTML document, ``body_format=html`` (Apprise
    derives the text part). Apprise is synchronous and opens one SMTP connection per
    message, so it runs in a thread pool of ``--connections`` threads: the same number of
    simultaneous SMTP connections as the others. (Apprise 2.x also hands each notify() to
    its own shared worker pool and builds an SSL context per connection even for plain
    SMTP; that is its real cost, so it is left in.)

Fairness notes: the HTTP load generator runs in this process and shares the machine's
cores with ``warta serve`` and the sink, as a real agency's client would not; that load
handicaps Warta's figure only. All three wait for the same sink, built fresh for every
run; no contender is timed while starting up. Nothing leaves 127.0.0.1.

Beside the times, the CPU seconds (from /proc) each process used in the timed window are
reported per message: the contender's own ("cpu ms/msg": this process for the ceiling and
Apprise, the ``warta serve`` process for Warta), the sink's (to show it was never the
bottleneck) and the HTTP load generator's. On a small machine the contenders are
CPU-bound, so CPU per message says where a gap comes from more steadily than msgs/s.
``--profile OUT`` samples the first ``warta serve`` run with py-spy, if installed.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import aiosmtplib
import httpx
from notifications_python_client.authentication import create_jwt_token

from warta.channels.base import OutboundMessage
from warta.channels.email_smtp import build_email as warta_build_email
from warta.domain.email import render_email
from warta.domain.templates import render

T = TypeVar("T")

BENCH = Path(__file__).resolve().parent
SINK = BENCH / "smtp_sink.py"
WARTA = Path(sys.executable).parent / "warta"
CONTENDERS = ("ceiling", "warta", "apprise")
TARGET = 0.80

# A fixed master key (base64 of 32 bytes), so every run encrypts the same way.
SECRET_KEY = base64.b64encode(b"warta-bench-fixed-secret-key-32b").decode()
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


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- results


@dataclass
class Run:
    contender: str
    n: int
    seconds: float | None = None  # None: not every message arrived in time
    received: int = 0
    unique: int = 0
    missing_key: int = 0
    bytes: int = 0
    accept_seconds: float | None = None  # warta only: until the last POST answered
    http_statuses: dict[str, int] = field(default_factory=dict)
    cpu_seconds: dict[str, float] = field(default_factory=dict)  # bench, sink, warta
    errors: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float | None:
        return self.n / self.seconds if self.seconds else None

    @property
    def ok(self) -> bool:
        return self.seconds is not None and self.received == self.n and not self.errors


# --------------------------------------------------------------------------- processes


class Resources(contextlib.ExitStack):
    """Everything a run starts; closing it (also on error or Ctrl-C) ends and removes it."""

    def process(self, args: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
        # Own session: Ctrl-C reaches only this script, which then stops children in order.
        proc = subprocess.Popen(args, start_new_session=True, **kwargs)
        self.callback(_stop, proc)
        return proc

    def temp_dir(self, prefix: str) -> Path:
        path = Path(tempfile.mkdtemp(prefix=prefix))
        self.callback(shutil.rmtree, path, ignore_errors=True)
        return path


def _stop(proc: subprocess.Popen[bytes], grace: float = 20.0) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()


@dataclass
class Sink:
    """A running ``smtp_sink.py`` and a blocking client for its control port."""

    proc: subprocess.Popen[bytes]
    smtp_port: int
    control_port: int

    @classmethod
    def start(cls, res: Resources, key_header: str) -> Sink:
        proc = res.process(
            [sys.executable, str(SINK), "--key-header", key_header], stdout=subprocess.PIPE
        )
        assert proc.stdout is not None
        line = _readline_with_timeout(proc, 30.0)
        words = line.split()
        if words[:1] != ["READY"]:
            raise RuntimeError(f"SMTP sink did not start: {line!r}")
        return cls(proc, int(words[1]), int(words[2]))

    def ask(self, command: str, timeout: float = 10.0) -> dict[str, Any]:
        with socket.create_connection(("127.0.0.1", self.control_port), timeout=timeout) as s:
            s.sendall(command.encode() + b"\n")
            with s.makefile("rb") as reply:
                data: dict[str, Any] = json.loads(reply.readline())
        return data

    def wait(self, n: int, timeout: float) -> dict[str, Any]:
        return self.ask(f"WAIT {n} {timeout}", timeout=timeout + 10.0)


def _readline_with_timeout(proc: subprocess.Popen[bytes], timeout: float) -> str:
    stream = proc.stdout
    assert stream is not None
    out: list[bytes] = []
    reader = threading.Thread(target=lambda: out.append(stream.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    return out[0].decode().strip() if out else ""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_loop(main: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine on uvloop when installed (as uvicorn does), else on asyncio."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    return uvloop.run(main)


def _proc_cpu(pid: int) -> float | None:
    """User + system CPU seconds of a process, from /proc (None where there is no /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


class CpuMeter:
    """CPU seconds used from now until ``stop()`` by this process ("bench", all threads)
    and by the named child processes; shows who was busy, and that the sink was not."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self.begin = self._read()

    def _read(self) -> dict[str, float | None]:
        return {"bench": time.process_time()} | {n: _proc_cpu(p) for n, p in self.pids.items()}

    def stop(self) -> dict[str, float]:
        end = self._read()
        return {
            name: round(after - before, 3)
            for name, before in self.begin.items()
            if before is not None and (after := end[name]) is not None
        }


def finish(run: Run, sink: Sink, t0: float, timeout: float, cpu: CpuMeter) -> Run:
    """Wait for the sink to hold N messages; time from ``t0`` to the N-th arrival."""
    got = sink.wait(run.n, timeout)
    answered = time.monotonic()
    run.cpu_seconds = cpu.stop()
    nth = got.get("nth")
    if nth is not None:
        # The sink's clock is this process's clock on Linux; if that ever fails, use ours.
        run.seconds = (nth if t0 <= nth <= answered else answered) - t0
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


def run_ceiling(args: argparse.Namespace, content: Content) -> Run:
    run = Run("ceiling", args.n)
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
        return finish(run, sink, t0, args.timeout, cpu)


# --------------------------------------------------------------------------- warta


def warta_env(args: argparse.Namespace, var_dir: Path, smtp_port: int, port: int) -> dict[str, str]:
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
    for item in args.warta_env:
        key, _, value = item.partition("=")
        env[key] = value
    return env


def cli(env: dict[str, str], *words: str) -> dict[str, Any]:
    done = subprocess.run(
        [str(WARTA), *words, "--json"], env=env, capture_output=True, timeout=120, check=False
    )
    if done.returncode:
        raise RuntimeError(f"warta {' '.join(words[:2])} failed: {done.stderr.decode()[-2000:]}")
    data: dict[str, Any] = json.loads(done.stdout)
    return data


def wait_ready(proc: subprocess.Popen[bytes], url: str, log_path: Path) -> None:
    deadline = time.monotonic() + 60
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"warta serve exited:\n{log_path.read_text()[-3000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url + "/_status", timeout=1).status_code == 200:
                return
        if time.monotonic() > deadline:
            raise RuntimeError(f"warta serve did not start:\n{log_path.read_text()[-3000:]}")
        time.sleep(0.1)


class Tokens:
    """Notify JWTs from the official client, each reused for 10 s (valid for 30)."""

    def __init__(self, key: str) -> None:
        self.secret, self.client_id = key[-36:], key[-73:-37]
        self.made = -1e9
        self.header: dict[str, str] = {}

    def __call__(self) -> dict[str, str]:
        now = time.monotonic()
        if now - self.made > 10:
            token = create_jwt_token(secret=self.secret, client_id=self.client_id)
            self.header, self.made = {"Authorization": f"Bearer {token}"}, now
        return self.header


async def post_all(
    url: str, key: str, template_id: str, n: int, concurrency: int, run: Run
) -> tuple[float, float]:
    """POST N emails with ``concurrency`` in flight; return (t0, time of the last answer)."""
    tokens = Tokens(key)
    statuses: Counter[str] = Counter()
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=120.0) as client:
        await client.get("/_status")  # warm the client up outside the timed window
        jobs = iter(range(n))

        async def poster() -> None:
            for i in jobs:
                body = {
                    "email_address": recipient(i),
                    "template_id": template_id,
                    "personalisation": PERSONALISATION,
                    "reference": f"bench-{i}",
                }
                try:
                    response = await client.post(
                        "/v2/notifications/email", json=body, headers=tokens()
                    )
                except httpx.HTTPError as exc:
                    statuses[type(exc).__name__] += 1
                    continue
                statuses[str(response.status_code)] += 1
                if response.status_code != 201 and len(run.errors) < 5:
                    run.errors.append(f"HTTP {response.status_code}: {response.text[:200]}")

        t0 = time.monotonic()
        await asyncio.gather(*(poster() for _ in range(concurrency)))
        accepted = time.monotonic()
    run.http_statuses = dict(statuses)
    if statuses["201"] != n:
        run.errors.append(f"only {statuses['201']} of {n} POSTs got 201: {dict(statuses)}")
    return t0, accepted


def run_warta(args: argparse.Namespace, content: Content) -> Run:
    run = Run("warta", args.n)
    with Resources() as res:
        sink = Sink.start(res, "X-Warta-Notification-Id")
        tmp = res.temp_dir("warta-bench-")
        port = free_port()
        env = warta_env(args, tmp / "var", sink.smtp_port, port)
        agency = cli(env, "agency", "create", "Dinas Bench", "--email-from", SENDER)
        # The schema exists now, so the server can start while the template is created.
        log_path = tmp / "serve.log"
        with log_path.open("wb") as out:
            serve = res.process([str(WARTA), "serve"], env=env, stdout=out, stderr=out)
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
        wait_ready(serve, url, log_path)
        with profiler(args, res, serve.pid):
            cpu = CpuMeter({"sink": sink.proc.pid, "warta": serve.pid})
            t0, accepted = run_loop(
                post_all(url, agency["live_key"], template["id"], args.n, args.concurrency, run)
            )
            run.accept_seconds = accepted - t0
            finish(run, sink, t0, args.timeout, cpu)
        warnings = log_path.read_text(errors="replace").strip()
        if warnings:
            log("warta serve logged:\n  " + "\n  ".join(warnings.splitlines()[-10:]))
        return run


@contextlib.contextmanager
def profiler(args: argparse.Namespace, res: Resources, pid: int) -> Iterator[None]:
    """With ``--profile OUT``: py-spy samples ``warta serve`` (all threads) while timed."""
    if not args.profile or args.profiled:
        yield
        return
    args.profiled = True  # the first warta run only
    spy = shutil.which("py-spy", path=str(WARTA.parent)) or shutil.which("py-spy")
    if spy is None:
        raise RuntimeError("--profile needs py-spy (pip install py-spy)")
    fmt = "speedscope" if args.profile.endswith(".json") else "raw"
    record = ["record", "--pid", str(pid), "--rate", "250", "--threads"]
    proc = res.process(
        [spy, *record, "--nonblocking", "--format", fmt, "--output", args.profile],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1.0)  # let py-spy attach before the clock starts
    try:
        yield
    finally:
        proc.send_signal(signal.SIGINT)  # py-spy writes its output on SIGINT
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=30)
        log(f"profile of warta serve written to {args.profile}")


# --------------------------------------------------------------------------- apprise


def run_apprise(args: argparse.Namespace, content: Content) -> Run:
    import apprise

    run = Run("apprise", args.n)
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
        return finish(run, sink, t0, args.timeout, cpu)


# --------------------------------------------------------------------------- report


RUNNERS: dict[str, Callable[[argparse.Namespace, Content], Run]] = {
    "ceiling": run_ceiling,
    "warta": run_warta,
    "apprise": run_apprise,
}


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def summarise(args: argparse.Namespace, runs: list[Run]) -> dict[str, Any]:
    contenders: dict[str, Any] = {}
    for name in args.contenders:
        mine = [r for r in runs if r.contender == name]
        rates = [r.rate for r in mine if r.ok and r.rate]
        entry: dict[str, Any] = {
            "n": args.n,
            "runs": len(mine),
            "ok_runs": len(rates),
            "seconds": median([r.seconds for r in mine if r.ok and r.seconds]),
            "msgs_per_s": median(rates),
            "min_msgs_per_s": min(rates, default=None),
            "max_msgs_per_s": max(rates, default=None),
            "avg_message_bytes": median([r.bytes / r.received for r in mine if r.received]),
            "cpu_ms_per_msg": {
                who: median([r.cpu_seconds[who] * 1000 / r.n for r in good])
                for who in ("bench", "sink", "warta")
                if (good := [r for r in mine if r.ok and who in r.cpu_seconds])
            },
        }
        if name == "warta":
            accepts = [r.accept_seconds for r in mine if r.ok and r.accept_seconds]
            entry["api_accept_seconds"] = median(accepts)
            entry["api_accept_per_s"] = median([args.n / s for s in accepts])
        contenders[name] = entry

    def ratio(a: str, b: str) -> float | None:
        x = contenders.get(a, {}).get("msgs_per_s")
        y = contenders.get(b, {}).get("msgs_per_s")
        return x / y if x and y else None

    vs_ceiling = ratio("warta", "ceiling")
    return {
        "n": args.n,
        "connections": args.connections,
        "http_concurrency": args.concurrency,
        "repeat": args.repeat,
        "cpus": os.cpu_count(),
        "contenders": contenders,
        "warta_over_ceiling": vs_ceiling,
        "warta_over_apprise": ratio("warta", "apprise"),
        "target": TARGET,
        "target_met": None if vs_ceiling is None else vs_ceiling >= TARGET,
        "runs": [asdict(r) | {"msgs_per_s": r.rate, "ok": r.ok} for r in runs],
    }


# Whose CPU is the contender's own: the ceiling and Apprise run inside this process.
OWN_CPU = {"ceiling": "bench", "warta": "warta", "apprise": "bench"}
NOTES = {
    "ceiling": "raw aiosmtplib, {c} persistent connections",
    "warta": "POST -> sink; API accept {accept}; {h} requests in flight",
    "apprise": "Apprise() per message, {c} threads, 1 connection per message",
}


def print_table(summary: dict[str, Any]) -> None:
    def num(value: float | None, fmt: str) -> str:
        return "-" if value is None else format(value, fmt)

    print(
        f"\nEmail throughput, median of {summary['repeat']} "
        f"(N={summary['n']}, {summary['connections']} SMTP connections, "
        f"{summary['cpus']} CPUs, sink in its own process)\n"
    )
    print(
        f"{'contender':<10} {'N':>6} {'seconds':>8} {'msgs/s':>8} {'min-max':>11} "
        f"{'cpu ms/msg':>10}  notes"
    )
    for name, c in summary["contenders"].items():
        spread = f"{num(c['min_msgs_per_s'], '.0f')}-{num(c['max_msgs_per_s'], '.0f')}"
        accept = "-"
        if c.get("api_accept_per_s"):
            accept = f"{c['api_accept_per_s']:.0f}/s ({c['api_accept_seconds']:.2f} s)"
        note = NOTES[name].format(
            c=summary["connections"], h=summary["http_concurrency"], accept=accept
        )
        if c["ok_runs"] < c["runs"]:
            note += f"; {c['runs'] - c['ok_runs']} run(s) FAILED"
        own = c["cpu_ms_per_msg"].get(OWN_CPU[name])
        print(
            f"{name:<10} {c['n']:>6} {num(c['seconds'], '.2f'):>8} "
            f"{num(c['msgs_per_s'], '.1f'):>8} {spread:>11} {num(own, '.2f'):>10}  {note}"
        )
    sink = ", ".join(
        f"{name} {num(c['cpu_ms_per_msg'].get('sink'), '.2f')}"
        for name, c in summary["contenders"].items()
    )
    print(f"\nsink CPU ms/msg (same sink for all): {sink}")
    if "warta" in summary["contenders"]:
        client = summary["contenders"]["warta"]["cpu_ms_per_msg"].get("bench")
        print(f"warta's HTTP load generator (this process): {num(client, '.2f')} CPU ms/msg")
    print()
    for key, label in (
        ("warta_over_ceiling", "warta/ceiling"),
        ("warta_over_apprise", "warta/apprise"),
    ):
        print(f"{label:<14} {num(summary[key], '.2f')}")
    vs = summary["warta_over_ceiling"]
    verdict = "-" if vs is None else ("PASS" if vs >= TARGET else "MISS") + f" ({vs:.0%})"
    print(f"target: warta >= {TARGET:.0%} of ceiling: {verdict}")


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
        help="Comma-separated subset of ceiling,warta,apprise.",
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
        help="py-spy the first warta run into OUT (.json: speedscope, else raw collapsed).",
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
                try:
                    run = RUNNERS[name](args, content)
                except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
                    run = Run(name, args.n, errors=[f"{type(exc).__name__}: {exc}"])
                runs.append(run)
                rate = f"{run.rate:.1f} msgs/s" if run.rate else "no figure"
                extra = (
                    f", API accept {args.n / run.accept_seconds:.1f}/s"
                    if run.accept_seconds
                    else ""
                )
                log(f"round {round_no}/{args.repeat} {name:<8} {rate}{extra}")
                for error in run.errors:
                    log(f"  ! {error}")
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
