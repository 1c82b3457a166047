"""Outages of real peers while a real `warta serve` sends: the SMTP relay down, then the
primary SMSC down (issue 15, "SMTP relay and SMSC down for 60 s: 0 lost, SMS failover to
the second provider within 60 s").

The peers are real and local (``tests.e2e.peers``): aiosmtpd as the relay and two of the
project's SMPP servers as two providers, ``utama`` (weight 100) and ``cadangan`` (weight
0, a pure backup). A peer that is down is stopped: its port refuses connections and every
open connection is cut, as a crashed relay or SMSC does.

Shortened on purpose, so both fit the suite's time budget, with the behaviour under test
unchanged (each shortening and why it does not matter is in the test's docstring):
pipeline retries (``WARTA_RETRY_BASE_DELAY``/``WARTA_RETRY_MAX_DELAY``), the sweep, the
SMSC's rebind backoff (``rebind_max``) and the outages themselves (seconds, not 60). The
failover itself runs with the default ``bind_wait`` and ``connect_timeout``, so the time
measured is the one a default installation has; ``test_the_default_settings_...`` checks
the arithmetic that makes a 60 s outage lose nothing with default settings.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import pytest
from notifications_python_client.notifications import NotificationsAPIClient

from tests.e2e.conftest import WARTA, Server, start_server
from tests.e2e.peers import Arrival, Peers
from warta.channels.sms_smpp_config import SmppConfig
from warta.domain.limits import backoff_delay
from warta.settings import Settings

#: SMPP window (the default): submits in flight on one bind, the most a cut can duplicate.
WINDOW = 10
#: Persistent SMTP connections (the default): emails in flight at once.
SMTP_POOL = 4
#: What a client may see for a message that has not reached its provider yet.
NOT_YET = {"created", "sending"}
#: SMS submitted to the primary and not yet answered when it dies (under ``WINDOW``).
IN_FLIGHT = 4

T = TypeVar("T")


@dataclass
class Rig:
    server: Server
    peers: Peers
    client: NotificationsAPIClient
    sms_template: str
    email_template: str
    sent_sms: int = 0
    sent_email: int = 0

    def send_email(self) -> tuple[str, datetime]:
        self.sent_email += 1
        sent = self.client.send_email_notification(
            f"warga{self.sent_email}@contoh-warga.id",
            self.email_template,
            personalisation={"nomor": str(self.sent_email)},
        )
        return sent["id"], datetime.now(UTC)

    def send_sms(self) -> tuple[str, str, datetime]:
        """Each SMS to its own number, so an SMSC's capture tells which one it was."""
        self.sent_sms += 1
        phone = f"+62812{self.sent_sms:08d}"
        at = datetime.now(UTC)
        sent = self.client.send_sms_notification(
            phone, self.sms_template, personalisation={"nomor": str(self.sent_sms)}
        )
        return sent["id"], phone, at

    def status(self, notification_id: str) -> str:
        got: dict[str, str] = self.client.get_notification_by_id(notification_id)
        return got["status"]

    def wait_statuses(self, ids: list[str], wanted: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        left = list(ids)
        while left:
            left = [i for i in left if self.status(i) != wanted]
            if not left:
                return
            if time.monotonic() > deadline:
                seen = Counter(self.status(i) for i in left)
                pytest.fail(f"{len(left)} of {len(ids)} not {wanted} after {timeout}s: {seen}")
            time.sleep(0.2)


def _start_server(folder: Path, peers: Peers) -> Server:
    # rebind_max=2 (default 30): the primary is bound again within ~2 s of its return, so
    # the traffic's way back fits the budget; bind_wait and connect_timeout stay default.
    smpp = ",".join(
        [
            peers.smpp_url("utama", weight=100, rebind_max=2),
            peers.smpp_url("cadangan", weight=0, rebind_max=2),
        ]
    )
    return start_server(
        folder,
        WARTA_LOG_LEVEL="INFO",
        WARTA_SMTP_URL=peers.smtp_url,
        WARTA_SMPP_URL=smpp,
        WARTA_SWEEP_INTERVAL="0.25",
        WARTA_RETRY_BASE_DELAY="0.5",
        WARTA_RETRY_MAX_DELAY="2",
    )


def _in_parallel(env: dict[str, str], *commands: list[str]) -> list[dict[str, str]]:
    """Run `warta ... --json` commands at once (each pays the CLI's start-up). Beside a
    running server, as an operator would: CLI processes coming and going must not break
    the server's SQLite (they once did: "disk I/O error" on its next write)."""
    running = [
        subprocess.Popen([WARTA, *args, "--json"], env=env, stdout=subprocess.PIPE)
        for args in commands
    ]
    printed = [process.communicate(timeout=60)[0] for process in running]
    assert [process.returncode for process in running] == [0] * len(running)
    return [json.loads(out) for out in printed]


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    base = tmp_path_factory.mktemp("outages")
    peers = Peers(("utama", "cadangan"))
    try:
        peers.start()
        server = _start_server(base, peers)
        try:
            agency = server.cli(
                "agency", "create", "Dinas Uji Gangguan", "--sms-sender", "DINASUJI"
            )
            body = base / "body.txt"
            body.write_text("Antrean Anda nomor ((nomor)).", encoding="utf-8")
            common = ["--agency", agency["id"], "--name", "Antrean", "--body-file", str(body)]
            sms, email = _in_parallel(
                server.env,
                ["template", "create", "--type", "sms", *common],
                ["template", "create", "--type", "email", "--subject", "Antrean", *common],
            )
            client = NotificationsAPIClient(agency["live_key"], base_url=server.url)
            yield Rig(server, peers, client, sms["id"], email["id"])
        finally:
            server.stop()
    finally:
        peers.close()


def _send_for(seconds: float, every: float, send: Callable[[], T]) -> list[T]:
    """Call ``send`` every ``every`` seconds for ``seconds``; what it returned."""
    results: list[T] = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        results.append(send())
        time.sleep(every)
    return results


def _duplicates(arrivals: list[Arrival]) -> int:
    return sum(n - 1 for n in Counter(a.key for a in arrivals).values())


def test_an_smtp_relay_outage_loses_no_email_and_fails_none(rig: Rig) -> None:
    """The relay stops (refusing connections) while emails keep coming; once it is back,
    every accepted email reaches it, none ended as a failure.

    Shortened: the outage lasts 5 s, not 60, and pipeline retries wait 0.5 s doubling to
    2 s (defaults 10 s to an hour), so the retries span the outage as they would span 60 s
    by default (see ``test_the_default_settings_ride_out_a_60_second_outage``)."""
    outage = 5.0
    before = [rig.send_email()[0] for _ in range(3)]
    rig.wait_statuses(before, "delivered", timeout=10)

    rig.peers.run(rig.peers.relay.stop)
    went_down = datetime.now(UTC)
    during = [i for i, _ in _send_for(outage, 0.2, rig.send_email)]
    # What a client sees while the relay is down: not yet sent, never a failure.
    seen = Counter(rig.status(i) for i in during)
    assert set(seen) <= NOT_YET, seen
    assert [a for a in rig.peers.emails() if a.at >= went_down] == []
    rig.peers.run(rig.peers.relay.start)

    after = [rig.send_email()[0] for _ in range(3)]
    every = before + during + after
    rig.wait_statuses(every, "delivered", timeout=20)
    arrivals = rig.peers.emails()
    counts = Counter(a.key for a in arrivals)
    lost = [i for i in every if counts[i] == 0]
    duplicated = _duplicates(arrivals)
    print(f"\nemail: {len(every)} sent, {len(during)} during the outage (seen then: "
          f"{dict(seen)}), lost {len(lost)}, duplicated {duplicated}")  # fmt: skip
    assert lost == []
    # At-least-once: only an email in flight as the relay died may go twice.
    assert duplicated <= SMTP_POOL


def test_a_primary_smsc_outage_fails_over_to_the_backup_and_traffic_comes_back(
    rig: Rig,
) -> None:
    """The primary SMSC dies with ``IN_FLIGHT`` SMS submitted and unanswered, and stays
    down (refusing connections) while SMS keep coming. The SMS it held wait ``bind_wait``
    (default 10 s) for it to bind again, then go to the backup; new SMS go to the backup at
    once, since the primary is known to be unbound. When the primary is back and bound,
    traffic goes back to it (the backup has weight 0). Nothing is lost or sent twice,
    nothing ends as a failure.

    Shortened: the outage lasts 14 s, not 60 (long enough for the SMS it held to wait out
    ``bind_wait`` and fail over), and ``rebind_max`` is 2 s (default 30), so the primary
    binds again soon after its return; ``bind_wait`` is the default."""
    outage = 14.0
    smpp = rig.peers
    deadline = time.monotonic() + 10
    while not (smpp.bound("utama") and smpp.bound("cadangan")):
        assert time.monotonic() < deadline, "the SMSCs were never bound"
        time.sleep(0.1)
    before = [rig.send_sms() for _ in range(3)]
    rig.wait_statuses([i for i, _, _ in before], "delivered", timeout=10)
    assert {a.peer for a in smpp.sms()} == {"utama"}

    # Some SMS are in flight when it dies: submitted, never answered.
    primary = smpp.smscs["utama"]
    smpp.read(primary.hold)
    caught = [rig.send_sms() for _ in range(IN_FLIGHT)]
    smpp.run(lambda: primary.wait_held(IN_FLIGHT, timeout=10))

    async def die() -> None:
        await primary.drop_connections()  # held submits are lost unanswered
        await primary.stop()

    smpp.run(die)
    went_down = datetime.now(UTC)
    during = caught + _send_for(outage, 0.5, rig.send_sms)
    seen = Counter(rig.status(i) for i, _, _ in during)
    assert set(seen) <= NOT_YET | {"delivered"}, seen  # never a failure
    smpp.run(smpp.smscs["utama"].start)
    came_back = time.monotonic()
    while not smpp.bound("utama"):
        assert time.monotonic() < came_back + 10, "the primary was never bound again"
        time.sleep(0.1)

    after = [rig.send_sms() for _ in range(5)]
    every = before + during + after
    rig.wait_statuses([i for i, _, _ in every], "delivered", timeout=30)
    arrivals = smpp.sms()
    first: dict[str, Arrival] = {}
    for arrival in arrivals:
        first.setdefault(arrival.key, arrival)
    lost = [phone for _, phone, _ in every if phone not in first]
    duplicated = _duplicates(arrivals)
    to_backup = [a for a in arrivals if a.peer == "cadangan"]
    failover = (min(a.at for a in to_backup) - went_down).total_seconds() if to_backup else None
    latency = max((first[phone].at - at).total_seconds() for _, phone, at in during)
    new = max((first[phone].at - at).total_seconds() for _, phone, at in during[IN_FLIGHT:])
    print(f"\nsms: {len(every)} sent, {len(during)} during the outage, lost {len(lost)}, "
          f"duplicated {duplicated}, {len(to_backup)} to the backup, first after "
          f"{failover}s, slowest {latency:.1f}s (sent after the failure: {new:.1f}s)")  # fmt: skip
    assert lost == []
    # The held submits were never answered, so the SMSC never took them: they are sent
    # again, to the backup, and nothing went twice.
    assert {first[phone].peer for _, phone, _ in caught} == {"cadangan"}
    assert duplicated == 0
    assert failover is not None, "no SMS went to the backup"
    assert failover <= 60 and latency <= 60
    assert new < 5  # not ``bind_wait`` per batch: the dead primary is passed over
    assert {first[phone].peer for _, phone, _ in after} == {"utama"}  # traffic is back


def test_the_default_settings_ride_out_a_60_second_outage() -> None:
    """What the tests above shorten, checked at the defaults for a 60 s outage: an SMS
    fails over within ``bind_wait`` (or ``connect_timeout`` when connecting hangs), and an
    email's retries neither give up during the outage nor wait long after it."""
    smpp = SmppConfig(provider="p", host="smsc.example", system_id="warta")
    assert max(smpp.bind_wait, smpp.connect_timeout) <= 60
    # An SMSC that hangs: a send waits up to bind_wait for a place in the window, then up
    # to smpp34's fixed 30 s for the answer (and 1 s to tell a hang from a drop).
    assert smpp.bind_wait + 30 + 1 <= 60
    fields = Settings.model_fields
    base, cap = fields["retry_base_delay"].default, fields["retry_max_delay"].default
    attempts = fields["retry_max_attempts"].default
    sweep = fields["sweep_interval"].default
    # Retrying before giving up takes, at the least (no jitter), far longer than 60 s.
    shortest = sum(backoff_delay(n, base=base, cap=cap, jitter=0.0) for n in range(1, attempts))
    assert shortest > 3600
    # The last try inside the outage starts before 60 s: the one after it waits at most
    # one backoff (full jitter) and a sweep.
    t, n = 0.0, 1
    while t + backoff_delay(n, base=base, cap=cap, jitter=0.0) < 60:
        t += backoff_delay(n, base=base, cap=cap, jitter=0.0)
        n += 1
    worst = 60 + backoff_delay(n, base=base, cap=cap, jitter=0.999) + sweep
    assert worst <= 180
