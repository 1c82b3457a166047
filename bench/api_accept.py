"""The accept path: how many sends one API process takes, against its framework's ceiling.

    .venv/bin/python bench/api_accept.py [--duration 10] [--connections 32] [--repeat 3]

Load comes from ``wrk`` (Debian's; ``make bench`` installs it when missing), written in
C, so the figure is Warta's and not a Python load generator's: each POST's CPU cost on
the client side is a few microseconds, not the 2.5-3.5 ms the httpx client of the email
and SMS benches paid on the same two cores (they use ``wrk`` now too).

Two contenders, rounds interleaved (ceiling, warta, ceiling, ...), ``--repeat`` each:

ceiling
    A bare FastAPI endpoint (``bench/_bare_api.py``) under the same uvicorn, parsing a body
    of the same shape into a pydantic model and answering 201: the most one process of
    this framework does on this machine.

warta
    ``warta serve --no-workers`` (fresh SQLite in a temp ``WARTA_VAR_DIR``), ``POST
    /v2/notifications/sms`` with a Notify JWT, a real template and a different phone
    number on every request: authenticating, validating, rendering, sealing and storing
    each. Every answer must be 201 (a non-2xx is reported) and the database must hold
    exactly the rows answered.

Printed: requests/s (median, min-max), p50 and p99 latency (medians), the server
process's CPU milliseconds per request (median), and ``accept/ceiling`` (the issue's bar:
>= 0.35, p99 <= 50 ms at 32 connections). On a busy machine the rates swing with what
else runs; the CPU per request does not, and its ratio (``cpu ceiling/warta``) is what
``accept/ceiling`` would be with a core to each: quote both.

``--profile out.txt`` runs py-spy (``pip install py-spy``) on ``warta serve`` during its
first round, sampling only while it holds the GIL (``--gil``): where its CPU goes.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from notifications_python_client.authentication import create_jwt_token

from _common import Channel, Resources, WartaApi, log, proc_cpu
from _sink import free_port

BENCH = Path(__file__).parent
PATH = "/v2/notifications/sms"
BODY = "Yth. ((nama)), antrean Anda nomor ((nomor)). Datang 15 menit sebelumnya."
CHANNEL = Channel(
    kind="sms",
    sender=("--sms-sender", "DINASBENCH"),
    body=BODY,
    body_file="body.txt",
    address="phone_number",
    recipient=lambda i: f"0812{i:08d}",
    personalisation={"nama": "Budi", "nomor": "7"},
)
#: wrk's script: a different phone number on every request, and the figures as JSON.
SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer %(token)s"
local n = 0
request = function()
  n = n + 1
  local body = string.format(
    '{"phone_number": "0813%%08d", "template_id": "%(template)s", '
    .. '"personalisation": {"nama": "Budi", "nomor": "%%d"}}', n, n)
  return wrk.format(nil, "%(path)s", nil, body)
end
done = function(summary, latency, requests)
  io.write(string.format(
    '{"requests": %%d, "seconds": %%f, "non2xx": %%d, "socket_errors": %%d, '
    .. '"p50_ms": %%f, "p99_ms": %%f}\\n',
    summary.requests, summary.duration / 1e6, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
"""


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="Seconds per round.")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2, help="wrk's threads.")
    parser.add_argument("--repeat", type=int, default=3, help="Rounds per contender.")
    parser.add_argument(
        "--warta-env", action="append", default=[], metavar="KEY=VALUE",
        help="A WARTA_* setting for warta serve (repeatable).",
    )  # fmt: skip
    parser.add_argument(
        "--profile", metavar="OUT.txt",
        help="py-spy's raw profile of warta serve (its first round) to this file.",
    )  # fmt: skip
    return parser.parse_args()


def wrk(url: str, script: Path, args: argparse.Namespace, server: int) -> dict[str, Any]:
    """One round of ``wrk``; its figures, and the CPU the ``server`` process spent."""
    command = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{args.duration}s"]
    command += ["--latency", "-s", str(script), url]
    before = proc_cpu(server)
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=args.duration + 60, check=True
    )
    after = proc_cpu(server)
    line = next(x for x in done.stdout.splitlines() if x.startswith('{"requests"'))
    found: dict[str, Any] = json.loads(line)
    found["rate"] = found["requests"] / found["seconds"]
    if before is not None and after is not None and found["requests"]:
        found["cpu_ms"] = 1000 * (after - before) / found["requests"]
    return found


def profiler(args: argparse.Namespace, pid: int) -> subprocess.Popen[bytes] | None:
    """py-spy recording ``pid`` for the round about to start (the first warta round)."""
    if not args.profile:
        return None
    spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if spy is None:
        raise RuntimeError("--profile needs py-spy (pip install py-spy)")
    args.profile, out = None, args.profile  # one round only
    command = [spy, "record", "--pid", str(pid), "--gil", "--rate", "200", "--format", "raw"]
    command += ["--duration", str(max(1, args.duration - 1)), "--output", out, "--nonblocking"]
    log(f"py-spy: warta serve's first round to {out}")
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def bare_api(res: Resources, tmp: Path) -> tuple[str, int]:
    port = free_port()
    log_path = tmp / "bare.log"
    with log_path.open("wb") as out:
        command = [sys.executable, "-m", "uvicorn", "_bare_api:app", "--port", str(port)]
        command += ["--log-level", "warning", "--no-access-log"]
        proc = res.process(command, cwd=BENCH, stdout=out, stderr=out)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/ready", timeout=1).status_code == 200:
                return url, proc.pid
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"the bare API did not start:\n{log_path.read_text()[-2000:]}")


def script_for(tmp: Path, name: str, token: str, template: str) -> Path:
    path = tmp / f"{name}.lua"
    path.write_text(SCRIPT % {"token": token, "template": template, "path": PATH})
    return path


def main() -> int:
    args = parse()
    if shutil.which("wrk") is None:
        log("wrk is missing: `make bench` installs it (apt-get install wrk)")
        return 2
    rounds: dict[str, list[dict[str, Any]]] = {"ceiling": [], "warta": []}
    with Resources() as res:
        tmp = Path(tempfile.mkdtemp(prefix="warta-accept-"))
        res.callback(shutil.rmtree, tmp, ignore_errors=True)
        api = WartaApi.start(args, res, CHANNEL, {}, workers=False)
        ceiling, ceiling_pid = bare_api(res, tmp)
        secret, client = api.key[-36:], api.key[-73:-37]
        for i in range(args.repeat):
            for name in ("ceiling", "warta"):
                # A fresh token each round: Notify's are good for 30 s.
                token = create_jwt_token(secret=secret, client_id=client)
                script = script_for(tmp, name, token, api.template_id)
                url, pid = (ceiling, ceiling_pid) if name == "ceiling" else (api.url, api.proc.pid)
                spy = profiler(args, pid) if name == "warta" else None
                got = wrk(url + PATH, script, args, pid)
                if spy is not None:
                    spy.wait(timeout=60)
                rounds[name].append(got)
                log(f"round {i + 1} {name}: {got['rate']:.0f}/s p99 {got['p99_ms']:.1f} ms, "
                    f"{got.get('cpu_ms', 0):.3f} CPU ms/request")  # fmt: skip
        stored = sqlite3.connect(api.database).execute("select count(*) from notifications")
        rows = stored.fetchone()[0]
    report(args, rounds, rows)
    return 0


def report(args: argparse.Namespace, rounds: dict[str, list[dict[str, Any]]], rows: int) -> None:
    def median(name: str, key: str) -> float:
        return statistics.median(r[key] for r in rounds[name])

    print(f"accept path, {args.connections} connections, {args.duration} s x {args.repeat} "
          f"rounds each, wrk {args.threads} threads")  # fmt: skip
    print(f"{'contender':<28}{'req/s median':>14}{'min-max':>16}{'p50 ms':>9}{'p99 ms':>9}"
          f"{'CPU ms/req':>12}")  # fmt: skip
    for name, label in (("ceiling", "ceiling (bare FastAPI)"), ("warta", "warta accept")):
        rates = [r["rate"] for r in rounds[name]]
        print(f"{label:<28}{median(name, 'rate'):>14.0f}"
              f"{f'{min(rates):.0f}-{max(rates):.0f}':>16}"
              f"{median(name, 'p50_ms'):>9.1f}{median(name, 'p99_ms'):>9.1f}"
              f"{median(name, 'cpu_ms'):>12.3f}")  # fmt: skip
    ratio = median("warta", "rate") / median("ceiling", "rate")
    cpu_ratio = median("ceiling", "cpu_ms") / median("warta", "cpu_ms")
    print(f"accept/ceiling {ratio:.2f} (bar 0.35); cpu ceiling/warta {cpu_ratio:.2f}; "
          f"warta p99 {median('warta', 'p99_ms'):.1f} ms (bar 50)")  # fmt: skip
    answered = sum(r["requests"] - r["non2xx"] for r in rounds["warta"])
    bad = sum(r["non2xx"] + r["socket_errors"] for r in rounds["warta"])
    print(
        f"warta: {answered} answered 2xx, {bad} non-2xx or socket errors, {rows} rows stored "
        f"(a few more than answered: requests in flight when wrk stopped counting)"
    )


if __name__ == "__main__":
    sys.exit(main())
