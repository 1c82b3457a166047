"""A real `warta serve` whose SQLite files turn read-only under it, then writable again
(issue 15, item 6): sends answer 503 while they cannot be stored, nothing accepted is
lost, and once the files are writable the next sends succeed without a restart.

How the files are made read-only, honestly for root (tests run as root, and root ignores
file modes, so ``chmod 0444`` would change nothing): ``chattr +i`` on ``warta.db`` and
``warta.db-wal``. An immutable file refuses every write, even through the descriptors
the server opened before; a connection opened meanwhile finds it cannot open the file
for writing and SQLite opens it read-only, as it would for an unprivileged server after
``chmod``. ``warta.db-shm`` stays writable: SQLite maps it into memory, and a write to an
immutable mapping kills the process with SIGBUS, a crash, which is not what is tested.

A worker that meets the read-only files cannot record anything: a row it could not claim
stays ``created`` and is handed out again once unclaimed for ``WARTA_STUCK_AFTER``; a row it
had claimed (and perhaps sent) keeps its lease and is sent again when the lease ends
(``WARTA_LEASE_SECONDS``). Both are shortened here to 3 seconds (from 60 and 300) so the
test waits seconds, not minutes; the behaviour is the same.

Delivery receipts the SMSC sends meanwhile cannot be refused for a resend (the SMPP
library acknowledges a deliver_sm before Warta sees it): they wait in memory until the
database takes them, so every accepted SMS ends ``delivered``.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from notifications_python_client.authentication import create_jwt_token

from tests.e2e.conftest import Server, start_server

UNWRITABLE = {
    "status_code": 503,
    "errors": [
        {
            "error": "ServiceUnavailableError",
            "message": "The database cannot be written; try again later",
        }
    ],
}


class Agency:
    def __init__(self, server: Server, tmp_path: Path) -> None:
        made = server.cli("agency", "create", "Dinas Uji Sakit", "--sms-sender", "DINASUJI")
        body = tmp_path / "sms.txt"
        body.write_text("Antrean Anda nomor ((nomor)).", encoding="utf-8")
        template = server.cli(
            "template", "create", "--agency", made["id"], "--type", "sms",
            "--name", "antrean", "--body-file", str(body),
        )  # fmt: skip
        self.key, self.template = made["live_key"], template["id"]
        self.http = httpx.Client(base_url=server.url, timeout=30)

    def close(self) -> None:
        self.http.close()

    def headers(self) -> dict[str, str]:
        token = create_jwt_token(secret=self.key[-36:], client_id=self.key[-73:-37])
        return {"Authorization": f"Bearer {token}"}

    def send(self, n: int) -> httpx.Response:
        body = {
            "phone_number": "081234567890",
            "template_id": self.template,
            "personalisation": {"nomor": str(n)},
        }
        return self.http.post("/v2/notifications/sms", json=body, headers=self.headers())

    def status(self, notification_id: str) -> str:
        got = self.http.get(f"/v2/notifications/{notification_id}", headers=self.headers())
        assert got.status_code == 200, got.text
        status: str = got.json()["status"]
        return status

    def listed(self) -> set[str]:
        got = self.http.get("/v2/notifications", headers=self.headers())
        return {n["id"] for n in got.json()["notifications"]}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    """`warta serve` as ``tests/e2e/conftest.py`` starts it, with 3-second leases."""
    running = start_server(tmp_path, WARTA_LEASE_SECONDS="3", WARTA_STUCK_AFTER="3")
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def immutable(server: Server) -> Iterator[list[Path]]:
    if shutil.which("chattr") is None:
        pytest.fail(
            "chattr (e2fsprogs) is not installed: it makes the SQLite files read-only for root"
        )
    files = [server.var_dir / "warta.db", server.var_dir / "warta.db-wal"]
    try:
        yield files
    finally:  # else pytest cannot delete the folder
        for path in files:
            subprocess.run(["chattr", "-i", str(path)], check=False, capture_output=True)


def chattr(files: list[Path], flag: str) -> None:
    for path in files:
        assert path.exists(), f"{path.name} missing: a write would simply create it"
        subprocess.run(["chattr", flag, str(path)], check=True, capture_output=True)


def test_read_only_files_answer_503_lose_nothing_and_heal_without_restart(
    server: Server, tmp_path: Path, immutable: list[Path]
) -> None:
    agency = Agency(server, tmp_path)
    try:
        check(server, agency, immutable)
    finally:
        agency.close()


def check(server: Server, agency: Agency, immutable: list[Path]) -> None:
    ready = server.url + "/health/ready"
    assert agency.http.get(ready).status_code == 200
    accepted = [agency.send(n) for n in range(20)]  # some still in the workers' hands
    assert {r.status_code for r in accepted} == {201}

    chattr(immutable, "+i")
    refused = [agency.send(100 + n) for n in range(10)]
    assert [r.status_code for r in refused] == [503] * 10
    assert all(r.json() == UNWRITABLE for r in refused)
    assert agency.http.get(ready).status_code == 503
    time.sleep(1.0)  # the workers and the sweeper (every 0.5 s) meet it too

    chattr(immutable, "-i")
    healed = [agency.send(200 + n) for n in range(10)]
    assert [r.status_code for r in healed] == [201] * 10, healed[0].text
    assert agency.http.get(ready).status_code == 200
    assert server.process.poll() is None  # the same process throughout

    ids = {r.json()["id"] for r in accepted + healed}
    deadline = time.monotonic() + 30
    while pending := [i for i in ids if agency.status(i) != "delivered"]:
        assert time.monotonic() < deadline, f"{len(pending)} of {len(ids)} not delivered"
        time.sleep(0.2)
    assert agency.listed() == ids  # every accepted send stored; no refused one
    texts = [m["body"] for m in agency.http.get("/dev/outbox.json?channel=sms").json()]
    numbers = {int(t.removeprefix("Antrean Anda nomor ").rstrip(".")) for t in texts}
    assert numbers == set(range(20)) | set(range(200, 210))  # all reached the SMSC
