"""A real `warta serve` process on a free port, set up through the real CLI."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

WARTA = str(Path(sys.executable).parent / "warta")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def warta_cli(env: dict[str, str], *args: str) -> dict[str, str]:
    """Run a `warta ... --json` command and return what it printed."""
    done = subprocess.run(
        [WARTA, *args, "--json"], env=env, capture_output=True, check=True, timeout=60
    )
    result: dict[str, str] = json.loads(done.stdout)
    return result


def wait_until_serving(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while True:
        if process.poll() is not None:
            pytest.fail(f"warta serve exited early:\n{log.read_text(errors='replace')}")
        try:
            if httpx.get(url + "/_status", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"warta serve did not start:\n{log.read_text(errors='replace')}")
        time.sleep(0.1)


@dataclass
class Server:
    url: str
    env: dict[str, str]
    var_dir: Path
    process: subprocess.Popen[bytes]
    log_path: Path

    def cli(self, *args: str) -> dict[str, str]:
        return warta_cli(self.env, *args)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            return self.process.wait(timeout=30)
        return self.process.returncode

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def start_server(folder: Path, **settings: str) -> Server:
    """`warta serve` on a free port with its data in ``folder/var`` and its log in
    ``folder/server.log``; ``settings`` are ``WARTA_*`` variables over the defaults here.
    Stopped again if it does not come up."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("WARTA_")}
    env.update(
        WARTA_VAR_DIR=str(folder / "var"),
        WARTA_PORT=str(port),
        WARTA_LOG_LEVEL="DEBUG",
        WARTA_SWEEP_INTERVAL="0.5",
    )
    env.update(settings)
    log_path = folder / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen([WARTA, "serve"], env=env, stdout=log, stderr=log)
    running = Server(f"http://127.0.0.1:{port}", env, folder / "var", process, log_path)
    try:
        wait_until_serving(running.url, process, log_path)
    except BaseException:
        running.stop()
        raise
    return running


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    running = start_server(tmp_path)
    try:
        yield running
    finally:
        running.stop()
