"""What the throughput benchmarks share: the round loop, summary, table and command line
(``Throughput``), child processes, CPU meters, the warta CLI, ``warta serve`` with its agency
and template, Notify JWTs, the HTTP load generator, the ``warta worker`` wrapper, and the
sinks' control port.

Imported by ``email_throughput.py``, ``sms_throughput.py`` and their sinks (run as scripts,
so this folder is on ``sys.path``). Nothing here knows a channel: each benchmark subclasses
``Throughput`` with its own sink, ceiling, channel settings and report wording.
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
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Generic, Protocol, TypeVar

import httpx
from notifications_python_client.authentication import create_jwt_token

T = TypeVar("T")

WARTA = Path(sys.executable).parent / "warta"
# A fixed master key (base64 of 32 bytes), so every run encrypts the same way.
SECRET_KEY = base64.b64encode(b"warta-bench-fixed-secret-key-32b").decode()
# ``warta worker``'s extra environment: sweep for accepted rows every 50 ms, and log at
# INFO so that run_workers' "workers started" line reaches us.
WORKER_ENV = {"WARTA_SWEEP_INTERVAL": "0.05", "WARTA_LOG_LEVEL": "INFO"}
WORKER_READY = "workers started"
READY_WINDOW = "worker ready -> N-th at sink"
TARGET_RATIO = "deliver/ceiling"


@dataclass
class Run(ABC):
    """One timed window of one contender (a split warta run yields two: accept, deliver).
    Each benchmark adds what its sink counts, and reads it in ``read``."""

    # What the sink counts, as the log names it: one ("first part 12 ms after ready"), and
    # after a count ("3 of 5 parts"; empty where the sink counts whole messages).
    ITEM: ClassVar[str]
    UNIT: ClassVar[str]

    contender: str  # a key of the benchmark's LABELS
    n: int
    seconds: float | None = None  # None: the window never closed (not all N in time)
    window: str = ""  # what the clock measured, when it was not the usual start
    received: int = 0
    unique: int = 0
    bytes: int = 0
    accept_seconds: float | None = None  # warta e2e: until the last POST was answered
    first_arrival: float | None = None  # window start -> first arrival at the sink
    http_statuses: dict[str, int] = field(default_factory=dict)
    cpu_seconds: dict[str, float] = field(default_factory=dict)  # bench, sink, warta, api
    exit_codes: dict[str, int | None] = field(default_factory=dict)  # warta processes
    errors: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float | None:
        return self.n / self.seconds if self.seconds else None

    @property
    def expected(self) -> int:
        """What the sink must hold: the accept phase must leave it empty; every other
        window must fill it."""
        return 0 if self.contender == "warta_accept" else self.n

    @property
    def ok(self) -> bool:
        return self.seconds is not None and self.received == self.expected and not self.errors

    @abstractmethod
    def read(self, stats: dict[str, Any]) -> None:
        """Take the sink's counts (its answer to STATS) and note the errors they show."""

    def rate_note(self) -> str:
        """The rate as the log shows it."""
        return f"{self.rate:.1f} msgs/s" if self.rate else "no figure"

    def as_json(self) -> dict[str, Any]:
        return asdict(self) | {"msgs_per_s": self.rate, "ok": self.ok}


R = TypeVar("R", bound=Run)


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


@dataclass
class SinkProcess:
    """A running sink (``smtp_sink.py``, ``smsc_sink.py``) and a blocking client for its
    control port. The sink prints ``READY <port> <control port>`` once it listens."""

    proc: subprocess.Popen[bytes]
    port: int
    control_port: int

    @classmethod
    def launch(cls: type[S], res: Resources, command: list[str], what: str) -> S:
        proc = res.process(command, stdout=subprocess.PIPE)
        assert proc.stdout is not None
        line = readline_with_timeout(proc, 30.0)
        words = line.split()
        if words[:1] != ["READY"]:
            raise RuntimeError(f"{what} did not start: {line!r}")
        return cls(proc, int(words[1]), int(words[2]))

    def ask(self, command: str, timeout: float = 10.0) -> dict[str, Any]:
        with socket.create_connection(("127.0.0.1", self.control_port), timeout=timeout) as s:
            s.sendall(command.encode() + b"\n")
            with s.makefile("rb") as reply:
                data: dict[str, Any] = json.loads(reply.readline())
        return data

    def wait(self, n: int, timeout: float) -> dict[str, Any]:
        return self.ask(f"WAIT {n} {timeout}", timeout=timeout + 10.0)


S = TypeVar("S", bound=SinkProcess)


def finish(
    run: Run,
    sink: SinkProcess,
    t0: float | None,
    timeout: float,
    cpu: CpuMeter | None,
    got: dict[str, Any] | None = None,
) -> None:
    """Wait for the sink to hold N (unless ``got`` is its answer already); time from ``t0``
    to the N-th arrival, then read the sink's counts. ``t0=None`` starts the clock at the
    sink's first arrival instead (a fallback)."""
    if got is None:
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
        run.errors.append(
            f"sink received {got['count']} of {run.n}{run.UNIT} within {timeout:.0f} s"
        )
    time.sleep(0.5)  # anything arriving after the N-th is a duplicate (or a stray)
    run.read(sink.ask("STATS"))


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class Resources(contextlib.ExitStack):
    """Everything a run starts; closing it (also on error or Ctrl-C) ends and removes it."""

    def process(self, args: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
        # Own session: Ctrl-C reaches only this script, which then stops children in order.
        proc = subprocess.Popen(args, start_new_session=True, **kwargs)
        self.callback(stop_process, proc)
        return proc

    def temp_dir(self, prefix: str) -> Path:
        path = Path(tempfile.mkdtemp(prefix=prefix))
        self.callback(shutil.rmtree, path, ignore_errors=True)
        return path


def stop_process(proc: subprocess.Popen[bytes], grace: float = 20.0) -> int | None:
    """SIGTERM, wait up to ``grace``, then SIGKILL the whole session; the exit code."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()
    return proc.returncode


def readline_with_timeout(proc: subprocess.Popen[bytes], timeout: float) -> str:
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


def proc_cpu(pid: int) -> float | None:
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
        return {"bench": time.process_time()} | {n: proc_cpu(p) for n, p in self.pids.items()}

    def stop(self) -> dict[str, float]:
        end = self._read()
        return {
            name: round(after - before, 3)
            for name, before in self.begin.items()
            if before is not None and (after := end[name]) is not None
        }


def user_env(args: argparse.Namespace) -> dict[str, str]:
    """``--warta-env KEY=VALUE`` items; they win over everything this script sets."""
    return dict(item.partition("=")[::2] for item in args.warta_env)


def warta_env(
    args: argparse.Namespace, var_dir: Path, port: int, channel: dict[str, str]
) -> dict[str, str]:
    """The environment of every warta command of one run (CLI, serve, worker); ``channel``
    points Warta at the sink."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WARTA_")}
    env.update(
        WARTA_VAR_DIR=str(var_dir),
        WARTA_HOST="127.0.0.1",
        WARTA_PORT=str(port),
        WARTA_SECRET_KEY=SECRET_KEY,
        WARTA_RATE_LIMIT_PER_MINUTE="100000000",
        WARTA_DAILY_MESSAGE_LIMIT="100000000",
        WARTA_LOG_LEVEL="WARNING",
    )
    return env | channel | user_env(args)


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


def child_pid(parent: int, timeout: float = 10.0) -> int:
    """The pid of the one child ``parent`` (py-spy) started."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            for task in Path(f"/proc/{parent}/task").iterdir():
                children = (task / "children").read_text().split()
                if children:
                    return int(children[0])
        time.sleep(0.02)
    raise RuntimeError("py-spy did not start warta worker")


class Worker:
    """``warta worker`` (phase B), under py-spy with ``--profile`` in the first round.

    A thread reads its stderr to the end (so it never blocks on a full pipe) and, the
    moment the ready line appears, notes the time and starts the CPU meter, so that
    neither includes the worker's start-up.
    """

    def __init__(
        self,
        args: argparse.Namespace,
        res: Resources,
        env: dict[str, str],
        other_pids: dict[str, int],
    ) -> None:
        command = [str(WARTA), "worker"]
        self.profile: str | None = None
        if args.profile and not args.profiled:
            args.profiled = True
            self.profile = args.profile
            command = [*py_spy_record(self.profile), "--", *command]
        self.proc = res.process(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            self.pid = child_pid(self.proc.pid) if self.profile else self.proc.pid
        except RuntimeError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)  # py-spy's session, child and all
            raise
        self.pids = other_pids | {"warta": self.pid}
        self.lines: list[str] = []
        self.ready_at: float | None = None
        self.cpu: CpuMeter | None = None
        self._ready = threading.Event()
        self._reader = threading.Thread(target=self._read, name="worker-stderr", daemon=True)
        self._reader.start()
        res.callback(self.stop)  # runs before the plain stop_process: SIGTERMs the worker

    def _read(self) -> None:
        stream = self.proc.stderr
        assert stream is not None
        with contextlib.suppress(ValueError, OSError):  # closed under us on an error path
            for raw in stream:
                line = raw.decode(errors="replace").rstrip()
                if self.ready_at is None and WORKER_READY in line:
                    self.ready_at = time.monotonic()
                    self.cpu = CpuMeter(self.pids)
                    self._ready.set()
                self.lines.append(line)
        self._ready.set()  # EOF: the worker is gone

    def wait_ready(self, sink: SinkProcess, timeout: float = 60.0) -> float | None:
        """When the worker said it was ready; None if mail reached the sink before that
        line did (it is missing, or late): the caller then times from the first arrival."""
        deadline = time.monotonic() + timeout
        while not self._ready.wait(0.25):
            if sink.ask("STATS")["count"]:
                return None
            if time.monotonic() > deadline:
                raise RuntimeError(f"warta worker not ready after {timeout:.0f} s")
        if self.ready_at is None:
            tail = "\n".join(self.lines[-30:])
            raise RuntimeError(f"warta worker exited before it was ready:\n{tail}")
        return self.ready_at

    def stop(self, run: Run | None = None) -> None:
        """SIGTERM the worker (also under py-spy, which then writes the profile)."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=30)
        self._reader.join(timeout=5)
        code = stop_process(self.proc)  # SIGKILLs the session if it is still there
        if run is None:
            return
        name = "py-spy (warta worker)" if self.profile else "warta worker"
        run.exit_codes[name] = code
        if code != 0:
            run.errors.append(f"{name} exited with {code} on SIGTERM")
        noteworthy = [
            line for line in self.lines if " INFO " not in line and not line.startswith("py-spy")
        ]
        if len(noteworthy) > 14:  # a traceback: its first lines say who logged it
            noteworthy = [*noteworthy[:4], "...", *noteworthy[-10:]]
        if noteworthy:
            log("warta worker logged:\n  " + "\n  ".join(noteworthy))
        if self.profile:
            log(f"profile of warta worker (phase B) written to {self.profile}")


def py_spy_record(out: str) -> list[str]:
    spy = shutil.which("py-spy", path=str(WARTA.parent)) or shutil.which("py-spy")
    if spy is None:
        raise RuntimeError("--profile needs py-spy (pip install py-spy)")
    fmt = "speedscope" if out.endswith(".json") else "raw"
    record = ["record", "--rate", "250", "--threads", "--nonblocking"]
    return [spy, *record, "--format", fmt, "--output", out]


async def post_all(
    url: str,
    key: str,
    path: str,
    body_of: Callable[[int], dict[str, Any]],
    n: int,
    concurrency: int,
    run: Run,
) -> tuple[float, float]:
    """POST ``body_of(i)`` for i < N to ``path`` with ``concurrency`` in flight; return
    (t0, time of the last answer). Every answer must be 201."""
    tokens = Tokens(key)
    statuses: Counter[str] = Counter()
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=120.0) as client:
        await client.get("/_status")  # warm the client up outside the timed window
        jobs = iter(range(n))

        async def poster() -> None:
            for i in jobs:
                body = body_of(i)
                try:
                    response = await client.post(path, json=body, headers=tokens())
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


@dataclass(frozen=True)
class Channel:
    """What a benchmark's warta runs send: an agency with a sender on one channel, one
    template, and N POSTs of it, each to its own recipient."""

    kind: str  # "email" or "sms": the template's type and the API's path
    sender: tuple[str, str]  # ``agency create``'s option and value, e.g. --email-from
    body: str
    body_file: str  # the file name ``template create --body-file`` reads the body from
    address: str  # the POST body's recipient field
    recipient: Callable[[int], str]  # the i-th POST's recipient
    personalisation: dict[str, str]
    template: tuple[str, ...] = ()  # more ``template create`` options (the subject)


@dataclass
class WartaApi:
    """A running ``warta serve`` (fresh temp ``WARTA_VAR_DIR``) with an agency and the
    benchmark's template."""

    proc: subprocess.Popen[bytes]
    url: str
    env: dict[str, str]
    log_path: Path
    var_dir: Path
    key: str
    template_id: str
    channel: Channel

    @classmethod
    def start(
        cls,
        args: argparse.Namespace,
        res: Resources,
        channel: Channel,
        channel_env: dict[str, str],
        *,
        workers: bool,
    ) -> WartaApi:
        tmp = res.temp_dir("warta-bench-")
        port = free_port()
        var_dir = tmp / "var"
        env = warta_env(args, var_dir, port, channel_env)
        agency = cli(env, "agency", "create", "Dinas Bench", *channel.sender)
        # The schema exists now, so the server can start while the template is created.
        log_path = tmp / "serve.log"
        command = [str(WARTA), "serve", "--workers" if workers else "--no-workers"]
        with log_path.open("wb") as out:
            proc = res.process(command, env=env, stdout=out, stderr=out)
        body_file = tmp / channel.body_file
        body_file.write_text(channel.body, encoding="utf-8")
        template = cli(
            env,
            "template",
            "create",
            "--agency",
            agency["id"],
            "--type",
            channel.kind,
            "--name",
            "dokumen",
            *channel.template,
            "--body-file",
            str(body_file),
        )
        url = f"http://127.0.0.1:{port}"
        wait_ready(proc, url, log_path)
        return cls(proc, url, env, log_path, var_dir, agency["live_key"], template["id"], channel)

    @property
    def database(self) -> Path:
        return self.var_dir / "warta.db"

    def post(self, args: argparse.Namespace, run: Run) -> tuple[float, float]:
        """POST N notifications; (first POST sent, last answer), as monotonic times."""
        channel = self.channel

        def body(i: int) -> dict[str, Any]:
            return {
                channel.address: channel.recipient(i),
                "template_id": self.template_id,
                "personalisation": channel.personalisation,
                "reference": f"bench-{i}",
            }

        path = f"/v2/notifications/{channel.kind}"
        return run_loop(post_all(self.url, self.key, path, body, args.n, args.concurrency, run))

    def stop(self, run: Run) -> None:
        """SIGTERM. Uvicorn shuts down gracefully, then re-raises the signal it caught, so
        a clean stop ends by SIGTERM (-15); a hang would end by SIGKILL. Shows anything it
        logged (WARNING and up)."""
        code = run.exit_codes["warta serve"] = stop_process(self.proc)
        if code not in (0, -signal.SIGTERM):
            run.errors.append(f"warta serve exited with {code} on SIGTERM")
        logged = self.log_path.read_text(errors="replace").strip()
        if logged:
            log("warta serve logged:\n  " + "\n  ".join(logged.splitlines()[-10:]))


# --------------------------------------------------------------------------- benchmark

Runner = Callable[..., None]  # fills in the runs it is given, one per variant


class Throughput(ABC, Generic[R]):
    """One throughput benchmark: its contenders in interleaved rounds, ``--repeat`` of
    them, then medians in a table (or JSON). Warta is always run twice a round: accept then
    deliver in one run (``run_warta_split``), end to end in another (``run_warta_e2e``).

    A subclass says what differs: its sink and ceiling, the channel Warta is pointed at,
    and the words and extra figures of its report (the class attributes below).
    """

    RUN: type[R]  # what one window records
    # The command line: --help's description, what --n counts ("Emails"), the option that
    # sizes the channel (name, default, help), and the contenders --contenders takes.
    DESCRIPTION: ClassVar[str]
    NOUN: ClassVar[str]
    POOL: ClassVar[tuple[str, int, str]]
    CONTENDERS: ClassVar[tuple[str, ...]]
    # What a runner may end with: charged to the windows it cut short (or to the last one).
    FAILURES: ClassVar[tuple[type[Exception], ...]] = (
        RuntimeError,
        OSError,
        subprocess.SubprocessError,
    )
    CHANNEL: ClassVar[Channel]
    # The report. LABELS: each variant (Run.contender) in table order, with its row's label.
    # NOTES: a line per variant, formatted with the summary and {accept}, {first} and
    # {windows}. HEADING: the table's title, formatted with the summary. LEGEND: what its
    # columns mean. COLUMNS: more columns after "seconds" (title, key of the contender's
    # summary). SIZES: the label of a line with the average size at the sink, if shown.
    LABELS: ClassVar[dict[str, str]]
    NOTES: ClassVar[dict[str, str]]
    RATIOS: ClassVar[tuple[tuple[str, str], ...]]
    TARGET: ClassVar[float]  # deliver/ceiling at least
    MISS: ClassVar[str]  # the verdict when it is not met
    HEADING: ClassVar[str]
    LEGEND: ClassVar[str]
    COLUMNS: ClassVar[tuple[tuple[str, str], ...]] = ()
    SIZES: ClassVar[str | None] = None

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args

    # -- the contenders ----------------------------------------------------------------

    def runners(self) -> dict[str, list[tuple[tuple[str, ...], Runner]]]:
        """Contender (--contenders) -> its runners, each with the variants it fills."""
        return {
            "ceiling": [(("ceiling",), self.run_ceiling)],
            "warta": [
                (("warta_accept", "warta_deliver"), self.run_warta_split),
                (("warta_e2e",), self.run_warta_e2e),
            ],
        }

    @abstractmethod
    def run_ceiling(self, run: R) -> None:
        """The transport alone, straight to a fresh sink."""

    @abstractmethod
    def start_sink(self, res: Resources) -> SinkProcess:
        """A fresh sink for a warta run."""

    @abstractmethod
    def channel_env(self, sink: SinkProcess) -> dict[str, str]:
        """Warta's settings that point its channel at ``sink``."""

    @abstractmethod
    def check_nothing_sent(self, run: R, sink: SinkProcess) -> None:
        """Read the sink after phase A, which must have left it empty."""

    def wait_delivered(self, run: R, api: WartaApi, t0: float) -> None:
        """Once the sink has all N: wait for anything else the benchmark times from ``t0``
        (nothing here)."""

    def start_warta(self, res: Resources, *, workers: bool) -> tuple[SinkProcess, WartaApi]:
        """A fresh sink, and ``warta serve`` (with or without its workers) sending to it."""
        sink = self.start_sink(res)
        channel_env = self.channel_env(sink)
        return sink, WartaApi.start(self.args, res, self.CHANNEL, channel_env, workers=workers)

    def run_warta_split(self, accept: R, deliver: R) -> None:
        """Phase A: ``warta serve --no-workers`` accepts N. Phase B: ``warta worker`` delivers
        them from the same database."""
        args = self.args
        with Resources() as res:
            sink, api = self.start_warta(res, workers=False)

            # Phase A: the API alone.
            cpu = CpuMeter({"sink": sink.proc.pid, "warta": api.proc.pid})
            t0, accepted = api.post(args, accept)
            accept.cpu_seconds = cpu.stop()
            accept.seconds = accepted - t0
            # Nothing may have been sent (checked now, just before the worker starts).
            self.check_nothing_sent(accept, sink)
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
                self.wait_delivered(deliver, api, ready)
            worker.stop(deliver)
            api.stop(accept)

    def run_warta_e2e(self, run: R) -> None:
        """``warta serve`` with its embedded workers: first POST -> sink has all N."""
        args = self.args
        with Resources() as res:
            sink, api = self.start_warta(res, workers=True)
            cpu = CpuMeter({"sink": sink.proc.pid, "warta": api.proc.pid})
            t0, accepted = api.post(args, run)
            run.accept_seconds = accepted - t0
            finish(run, sink, t0, args.timeout, cpu)
            self.wait_delivered(run, api, t0)
            api.stop(run)

    # -- the report --------------------------------------------------------------------

    def settings(self) -> dict[str, Any]:
        """The run's settings, as the summary lists them first."""
        args, pool = self.args, self.POOL[0]
        return {
            "n": args.n,
            pool: getattr(args, pool),
            "http_concurrency": args.concurrency,
            "repeat": args.repeat,
        }

    def more_figures(self, good: list[R]) -> dict[str, Any]:
        """A contender's figures beside its rates in the summary (none here)."""
        return {}

    def summarise(self, runs: list[R]) -> dict[str, Any]:
        n = self.args.n
        contenders: dict[str, Any] = {}
        for name, label in self.LABELS.items():
            mine = [r for r in runs if r.contender == name]
            if not mine:
                continue
            good = [r for r in mine if r.ok and r.rate]
            rates = [r.n / r.seconds for r in good if r.seconds]
            entry: dict[str, Any] = {
                "label": label,
                "n": n,
                "runs": len(mine),
                "ok_runs": len(good),
                "seconds": median([r.seconds for r in good if r.seconds]),
                "msgs_per_s": median(rates),
                "min_msgs_per_s": min(rates, default=None),
                "max_msgs_per_s": max(rates, default=None),
            }
            entry.update(self.more_figures(good))
            entry["avg_message_bytes"] = median([r.bytes / r.received for r in mine if r.received])
            entry["cpu_ms_per_msg"] = {
                who: median([r.cpu_seconds[who] * 1000 / r.n for r in have])
                for who in ("bench", "sink", "warta", "api")
                if (have := [r for r in good if who in r.cpu_seconds])
            }
            if name == "warta_e2e":
                accepts = [r.accept_seconds for r in good if r.accept_seconds]
                entry["api_accept_seconds"] = median(accepts)
                entry["api_accept_per_s"] = median([n / s for s in accepts])
            if name == "warta_deliver":
                firsts = [r.first_arrival for r in good if r.first_arrival is not None]
                entry["first_arrival_seconds"] = median(firsts)
                entry["windows"] = sorted({r.window or READY_WINDOW for r in good})
            contenders[name] = entry

        ratios: dict[str, float | None] = {}
        for a, b in self.RATIOS:
            x = contenders.get(a, {}).get("msgs_per_s")
            y = contenders.get(b, {}).get("msgs_per_s")
            ratios[f"{a.removeprefix('warta_')}/{b}"] = x / y if x and y else None
        vs = ratios[TARGET_RATIO]
        return self.settings() | {
            "cpus": os.cpu_count(),
            "contenders": contenders,
            "ratios": ratios,
            "target": {
                "ratio": TARGET_RATIO,
                "at_least": self.TARGET,
                "met": None if vs is None else vs >= self.TARGET,
            },
            "runs": [r.as_json() for r in runs],
        }

    def print_table(self, summary: dict[str, Any]) -> None:
        def num(value: float | None, fmt: str) -> str:
            return "-" if value is None else format(value, fmt)

        print(f"\n{self.HEADING.format(**summary)}\n")
        width = max(len(label) for label in self.LABELS.values())
        widths = [8, 11, 8, *(len(title) for title, _ in self.COLUMNS), 10, 11]

        def row(label: str, *cells: str) -> None:
            aligned = (f"{cell:>{w}}" for cell, w in zip(cells, widths, strict=True))
            print(" ".join([f"{label:<{width}}", *aligned]))

        extra = [title for title, _ in self.COLUMNS]
        row("", "msgs/s", "min-max", "seconds", *extra, "cpu ms/msg", "sink ms/msg")
        notes = []
        for name, c in summary["contenders"].items():
            spread = f"{num(c['min_msgs_per_s'], '.0f')}-{num(c['max_msgs_per_s'], '.0f')}"
            cpu = c["cpu_ms_per_msg"]
            # The contender's own CPU: the ceiling (and Apprise) run inside this process;
            # "warta" is warta serve for accept and e2e, warta worker for deliver.
            own = "warta" if name.startswith("warta_") else "bench"
            row(
                c["label"],
                num(c["msgs_per_s"], ".1f"),
                spread,
                num(c["seconds"], ".2f"),
                *(num(c[key], ".1f") for _, key in self.COLUMNS),
                num(cpu.get(own), ".2f"),
                num(cpu.get("sink"), ".2f"),
            )
            accept = first = "-"
            if c.get("api_accept_per_s"):
                accept = f"{c['api_accept_per_s']:.0f}/s"
            if c.get("first_arrival_seconds") is not None:
                first = f"{c['first_arrival_seconds'] * 1000:.0f} ms"
            windows = " or ".join(c.get("windows") or [READY_WINDOW])
            note = self.NOTES[name].format(**summary, accept=accept, first=first, windows=windows)
            if c["ok_runs"] < c["runs"]:
                note += f"; {c['runs'] - c['ok_runs']} run(s) FAILED"
            notes.append(f"  {name:<14} {note}")
        print(self.LEGEND)
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
        if self.SIZES:
            sizes = [
                f"{name} {c['avg_message_bytes']:.0f}"
                for name, c in summary["contenders"].items()
                if c["avg_message_bytes"] is not None
            ]
            if sizes:
                print(f"{self.SIZES}: {', '.join(sizes)}")
        print()
        for key, value in summary["ratios"].items():
            print(f"{key:<16} {num(value, '.2f')}")
        vs = summary["ratios"][TARGET_RATIO]
        verdict = (
            "-" if vs is None else ("PASS" if vs >= self.TARGET else self.MISS) + f" ({vs:.0%})"
        )
        target = self.LABELS["warta_deliver"]
        print(f"target: {target} >= {self.TARGET:.0%} of ceiling: {verdict}")

    def log_run(self, round_no: int, run: R) -> None:
        rate = run.rate_note()
        if run.accept_seconds:
            rate += f", API accept {run.n / run.accept_seconds:.1f}/s"
        if run.contender == "warta_deliver" and run.first_arrival is not None:
            rate += f", first {run.ITEM} {run.first_arrival * 1000:.0f} ms after ready"
        if run.window:
            rate += f" (timed from {run.window})"
        log(f"round {round_no}/{self.args.repeat} {run.contender:<13} {rate}")
        for error in run.errors:
            log(f"  ! {error}")

    # -- the command line --------------------------------------------------------------

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        """Options of this benchmark's own, listed after --contenders (none here)."""

    @classmethod
    def parse_args(cls, argv: list[str] | None = None) -> argparse.Namespace:
        parser = argparse.ArgumentParser(description=cls.DESCRIPTION)
        parser.add_argument(
            "--n", type=int, default=1000, help=f"{cls.NOUN} per run (default 1000)."
        )
        pool, default, pool_help = cls.POOL
        parser.add_argument(f"--{pool}", type=int, default=default, help=pool_help)
        parser.add_argument("--repeat", type=int, default=3, help="Runs per contender (median).")
        parser.add_argument(
            "--concurrency", type=int, default=32, help="Warta API requests in flight (default 32)."
        )
        names = ",".join(cls.CONTENDERS)
        parser.add_argument(
            "--contenders",
            default=names,
            help=f"Comma-separated subset of {names} (warta: accept and deliver in one run, "
            "then e2e in another).",
        )
        cls.add_arguments(parser)
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
            "OUT (.json: speedscope, else raw collapsed stacks); covers the worker's start-up "
            "too.",
        )
        parser.add_argument("--json", action="store_true", help="Print JSON results only.")
        args = parser.parse_args(argv)
        args.contenders = [c.strip() for c in args.contenders.split(",") if c.strip()]
        unknown = set(args.contenders) - set(cls.CONTENDERS)
        if unknown:
            parser.error(f"unknown contender(s): {', '.join(sorted(unknown))}")
        if min(args.n, getattr(args, pool), args.repeat, args.concurrency) < 1:
            parser.error(f"--n, --{pool}, --repeat and --concurrency must be positive")
        args.profiled = False
        return args

    @classmethod
    def main(cls, argv: list[str] | None = None) -> int:
        args = cls.parse_args(argv)
        # Ctrl-C (even when started in the background, where SIGINT is inherited as ignored)
        # and SIGTERM unwind the stack, so every ``with Resources()`` stops what it started.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
        bench = cls(args)
        runners = bench.runners()
        runs: list[R] = []
        try:
            for round_no in range(1, args.repeat + 1):
                for name in args.contenders:
                    for variants, runner in runners[name]:
                        mine = [bench.RUN(variant, args.n) for variant in variants]
                        try:
                            runner(*mine)
                        except cls.FAILURES as exc:
                            open_ = [r for r in mine if r.seconds is None] or mine[-1:]
                            for run in open_:
                                run.errors.append(f"{type(exc).__name__}: {exc}")
                        runs.extend(mine)
                        for run in mine:
                            bench.log_run(round_no, run)
        except KeyboardInterrupt:
            log("interrupted; everything started has been stopped")
            return 130
        summary = bench.summarise(runs)
        if args.json:
            print(json.dumps(summary, indent=2))
        else:
            bench.print_table(summary)
        return 0 if all(r.ok for r in runs) else 1


# --------------------------------------------------------------------------- sinks


class Counts(Protocol):
    """What a sink has seen."""

    def reset(self) -> None: ...

    def stats(self) -> dict[str, Any]: ...


Wait = Callable[[int, float], Awaitable[float | None]]


async def control_server(counts: Counts, waits: dict[str, tuple[str, Wait]]) -> asyncio.Server:
    """A sink's control port on 127.0.0.1 (the OS picks the port): a line protocol, one
    JSON object per reply. Every sink answers ``STATS`` and ``RESET`` (zero everything,
    answer STATS); ``waits`` maps a command ``NAME <n> <secs>`` to the key its answer adds
    to STATS and the wait for that value."""

    async def session(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while line := await reader.readline():
                words = line.decode().split()
                reply: dict[str, Any]
                if len(words) == 3 and words[0] in waits:
                    key, wait = waits[words[0]]
                    nth = await wait(int(words[1]), float(words[2]))
                    reply = counts.stats() | {key: nth}
                elif words == ["RESET"]:
                    counts.reset()
                    reply = counts.stats()
                elif words == ["STATS"]:
                    reply = counts.stats()
                else:
                    reply = {"error": f"unknown command {line!r}"}
                writer.write(json.dumps(reply).encode() + b"\n")
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    return await asyncio.start_server(session, host="127.0.0.1", port=0)
