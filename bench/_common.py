"""What the throughput benchmarks' runs are made of: the timed window (``Run``) and
``finish``, which closes it at the sink; a running sink with a client for its control port
(``SinkProcess``); child processes and their clean-up, CPU meters, the warta CLI,
``warta serve`` with its agency and template (``WartaApi``, ``Channel``), the HTTP load
(``wrk``, which signs the Notify JWTs too) and the ``warta worker`` wrapper.

Imported by ``_throughput.py`` (the runner) and by ``email_throughput.py`` and
``sms_throughput.py`` (run as scripts, so this folder is on ``sys.path``); not by the sinks,
whose share is in ``_sink.py``. Nothing here knows a channel: a benchmark describes its own
with ``Channel``.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import httpx
import jwt

from _sink import free_port

WARTA = Path(sys.executable).parent / "warta"
# A fixed master key (base64 of 32 bytes), so every run encrypts the same way.
SECRET_KEY = base64.b64encode(b"warta-bench-fixed-secret-key-32b").decode()
# ``warta worker``'s extra environment: sweep for accepted rows every 50 ms, and log at
# INFO so that run_workers' "workers started" line reaches us.
WORKER_ENV = {"WARTA_SWEEP_INTERVAL": "0.05", "WARTA_LOG_LEVEL": "INFO"}
WORKER_READY = "workers started"


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
        # "bench": this script and what it waited for (wrk, the HTTP load).
        times = os.times()
        bench = times.user + times.system + times.children_user + times.children_system
        return {"bench": bench} | {n: proc_cpu(p) for n, p in self.pids.items()}

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


#: wrk's script for ``post_with_wrk``: POST each line of the bodies file once, then stop
#: when all are answered. Connections with nothing left to post ask for ``/_status``
#: meanwhile (answered 200, not counted), and so does wrk's own first call, which only
#: checks the script (wrk 4 runs it on the first thread's state before the load starts).
#: At the end it writes "first-sent last-answered status:count..." to the done file, on
#: the CLOCK_MONOTONIC that Python's time.monotonic() reads, and the first answers that
#: were not 201 to the errors file. The Notify JWT changes every 20 s (``tokens``, made
#: ahead with iat 20 s apart): Warta takes one within 30 s either side of its iat.
WRK_POSTS = """
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } warta_timespec;
int clock_gettime(int clk_id, warta_timespec *tp);
]]
local ts = ffi.new("warta_timespec")
local function monotonic()
  ffi.C.clock_gettime(1, ts)
  return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) * 1e-9
end
local tokens = {%(tokens)s}
local made = %(made)f
local bodies, sent, answered, statuses, complaints = {}, 0, 0, {}, 0
local checked, first = false, nil
for line in io.lines("%(bodies)s") do bodies[#bodies + 1] = line end
function request()
  local now = monotonic()
  local token = tokens[math.min(#tokens, math.floor((now - made + 10) / 20) + 1)]
  local headers = {["Content-Type"] = "application/json", Authorization = "Bearer " .. token}
  if checked and sent < #bodies then
    first = first or now
    sent = sent + 1
    return wrk.format("POST", "%(path)s", headers, bodies[sent])
  end
  checked = true
  return wrk.format("GET", "/_status", headers)
end
function response(status, headers, body)
  if status == 200 then return end
  answered = answered + 1
  statuses[status] = (statuses[status] or 0) + 1
  if status ~= 201 and complaints < 5 then
    complaints = complaints + 1
    local f = io.open("%(errors)s", "a")
    f:write(string.format("HTTP %%d: %%s\\n", status, string.sub(body, 1, 200)))
    f:close()
  end
  if answered == #bodies then
    local line = string.format("%%.6f %%.6f", first, monotonic())
    for code, count in pairs(statuses) do
      line = line .. string.format(" %%d:%%d", code, count)
    end
    local f = io.open("%(done)s", "w")
    f:write(line .. "\\n")
    f:close()
    wrk.thread:stop()
  end
end
"""


def post_with_wrk(
    url: str, key: str, path: str, bodies: list[str], concurrency: int, run: Run
) -> tuple[float, float]:
    """POST each body once to ``path`` with ``wrk`` (in C, so the load costs Warta's
    machine next to nothing: one thread), ``concurrency`` connections; return (first
    POST sent, last answer) as monotonic times. Every answer must be 201."""
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is missing: `make bench` installs it (apt-get install wrk)")
    tmp = Path(tempfile.mkdtemp(prefix="warta-wrk-"))
    try:
        (tmp / "bodies").write_text("".join(b + "\n" for b in bodies), encoding="utf-8")
        secret, client = key[-36:], key[-73:-37]
        now = time.time()
        tokens = [
            jwt.encode({"iss": client, "iat": int(now) + 20 * k}, secret, algorithm="HS256")
            for k in range(WRK_TIMEOUT // 20 + 2)
        ]
        script = tmp / "posts.lua"
        script.write_text(
            WRK_POSTS
            % {
                "tokens": ", ".join(f'"{t}"' for t in tokens),
                "made": time.monotonic(),
                "bodies": tmp / "bodies",
                "errors": tmp / "errors",
                "done": tmp / "done",
                "path": path,
            }
        )
        command = ["wrk", "-t1", f"-c{concurrency}", f"-d{WRK_TIMEOUT}s", "-s", str(script), url]
        wrk = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        done = ""
        deadline = time.monotonic() + WRK_TIMEOUT
        while not done and wrk.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
            with contextlib.suppress(FileNotFoundError):
                done = (tmp / "done").read_text().strip()
        wrk.send_signal(signal.SIGINT)  # it would sleep out its -d otherwise
        out = wrk.communicate(timeout=30)[0].decode(errors="replace")
        with contextlib.suppress(FileNotFoundError):
            run.errors += (tmp / "errors").read_text().splitlines()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    words = done.split()
    statuses = {c: int(n) for c, _, n in (w.partition(":") for w in words[2:])}
    run.http_statuses = statuses
    # wrk's "Socket errors: ..." line, and any error its script ran into.
    run.errors += [x.strip() for x in out.splitlines() if "error" in x.lower()][:5]
    if statuses.get("201") != len(bodies):
        got = f"{statuses.get('201', 0)} of {len(bodies)}"
        run.errors.append(f"only {got} POSTs got 201 (within {WRK_TIMEOUT} s): {statuses}")
    if not words:
        return time.monotonic(), time.monotonic()
    return float(words[0]), float(words[1])


#: The longest a bench's POSTs may take before wrk is stopped (then they count as failed).
WRK_TIMEOUT = 600


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
        bodies = [json.dumps(body(i)) for i in range(args.n)]
        return post_with_wrk(self.url, self.key, path, bodies, args.concurrency, run)

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
