"""The delivery pipeline against a real SMTP server that misbehaves on purpose:
retries, outages, crashes, shutdown, and delivery-receipt callbacks."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.integration.harness import (
    Harness,
    Receiver,
    make_settings,
    receiver_running,
    running_warta,
    wait_requests,
)
from warta.bootstrap import bootstrap
from warta.channels.capture import CaptureHandler, CaptureSmtpServer, RecordingChannel
from warta.channels.email_smtp import SmtpChannel
from warta.domain.channels import Channel, OutboundMessage, SendResult
from warta.pipeline.queue import EmbeddedQueue
from warta.pipeline.worker import WorkerPool
from warta.services.admin import set_callback
from warta.store.outbox import Outbox


class FlakyRcpt(CaptureHandler):
    """Answers RCPT with ``reply`` for the first ``failures`` attempts, then accepts."""

    def __init__(self, outbox: Outbox, reply: str, failures: int) -> None:
        super().__init__(outbox)
        self.reply, self.failures, self.seen = reply, failures, 0

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        self.seen += 1
        if self.seen <= self.failures:
            return self.reply
        envelope.rcpt_tos.append(address)
        return "250 OK"


@contextlib.asynccontextmanager
async def warta_with_smtp(
    database_url: str, tmp_path: Path, handler: CaptureHandler, **settings: Any
) -> AsyncIterator[tuple[Harness, CaptureSmtpServer]]:
    async with CaptureSmtpServer(handler) as server:
        channels: dict[str, Channel] = {
            "email": SmtpChannel(
                host=server.host,
                port=server.port,
                start_tls=False,
                local_hostname="localhost",
                timeout=5,
            ),
            "sms": RecordingChannel("sms", Outbox()),
        }
        async with running_warta(
            make_settings(database_url, tmp_path, **settings), channels=channels
        ) as harness:
            yield harness, server


async def test_temporary_refusals_are_retried_until_delivered(
    database_url: str, tmp_path: Path
) -> None:
    outbox = Outbox()
    handler = FlakyRcpt(outbox, "451 4.7.1 Greylisted, try again", failures=2)
    async with warta_with_smtp(database_url, tmp_path, handler) as (h, _server):
        sent = (await h.send_email()).json()
        row = await h.wait_status(sent["id"], "delivered")
    assert row.attempts == 3
    assert len(outbox.list()) == 1


async def test_refusals_that_never_end_become_temporary_failure(
    database_url: str, tmp_path: Path
) -> None:
    handler = FlakyRcpt(Outbox(), "452 4.2.2 Mailbox full", failures=100)
    async with warta_with_smtp(database_url, tmp_path, handler, retry_max_attempts=3) as (h, _):
        sent = (await h.send_email()).json()
        row = await h.wait_status(sent["id"], "temporary-failure")
        assert row.attempts == 3
        got = (await h.get(f"/v2/notifications/{sent['id']}")).json()
    assert got["status"] == "temporary-failure"
    assert got["completed_at"] is not None


async def test_permanent_refusal_is_not_retried(database_url: str, tmp_path: Path) -> None:
    handler = FlakyRcpt(Outbox(), "550 5.1.1 No such user", failures=100)
    async with warta_with_smtp(database_url, tmp_path, handler) as (h, _):
        sent = (await h.send_email()).json()
        row = await h.wait_status(sent["id"], "permanent-failure")
    assert row.attempts == 1
    assert handler.seen == 1
    assert row.failure_reason is not None and "budi@example.com" not in row.failure_reason


async def test_relay_outage_loses_nothing(sqlite_url: str, tmp_path: Path) -> None:
    """The relay is down when messages are accepted; once it is back, every one arrives once."""
    outbox = Outbox()
    server = CaptureSmtpServer(CaptureHandler(outbox))
    host, port = await server.start()
    await server.stop()  # the port is now closed: connection refused
    channels: dict[str, Channel] = {
        "email": SmtpChannel(
            host=host, port=port, start_tls=False, local_hostname="localhost", timeout=2
        ),
        "sms": RecordingChannel("sms", Outbox()),
    }
    settings = make_settings(sqlite_url, tmp_path, retry_max_attempts=1000)
    async with running_warta(settings, channels=channels) as h:
        ids = [(await h.send_email(f"warga{n}@example.com")).json()["id"] for n in range(5)]
        for notification_id in ids:
            row = await h.wait_status(notification_id, "sending")
        await asyncio.sleep(0.5)
        assert (await h.row(ids[0])).attempts >= 2  # it kept trying
        assert outbox.list() == []
        await server.start()
        try:
            for notification_id in ids:
                row = await h.wait_status(notification_id, "delivered")
                assert row.status == "delivered"
        finally:
            await server.stop()
    assert sorted(m.to for m in outbox.list()) == sorted(f"warga{n}@example.com" for n in range(5))


class Stalls:
    """A channel whose provider never answers, to catch work in flight at shutdown."""

    name = "sms"

    def __init__(self) -> None:
        self.started = asyncio.Event()

    async def send(self, message: OutboundMessage) -> SendResult:
        self.started.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def aclose(self) -> None:
        return None


async def test_shutdown_hands_back_work_and_the_next_start_sends_it(
    database_url: str, tmp_path: Path
) -> None:
    stalls = Stalls()
    settings = make_settings(
        database_url, tmp_path, lease_seconds=600, stuck_after=600, shutdown_grace=0.2
    )
    async with running_warta(settings, channels={"sms": stalls, "email": stalls}) as h:  # type: ignore[dict-item]
        ids = [(await h.send_sms()).json()["id"] for _ in range(3)]
        await asyncio.wait_for(stalls.started.wait(), 5)
        app = h.app
    # The lifespan above ended: its pool stopped with sends in flight (grace expired).
    outbox = Outbox()
    again = await bootstrap(
        settings,
        channels={
            "sms": RecordingChannel("sms", outbox),
            "email": RecordingChannel("email", outbox),
        },
    )
    assert isinstance(again.queue, EmbeddedQueue)
    pool = WorkerPool(again, again.queue)
    pool.start()
    try:
        await outbox.wait_for(3, timeout=10)
    finally:
        await pool.stop()
        await again.aclose()
    assert sorted(m.notification_id or "" for m in outbox.list()) == sorted(ids)
    assert app is not again


async def test_rows_a_crashed_worker_held_are_taken_again_after_the_lease(
    sqlite_url: str, tmp_path: Path
) -> None:
    settings = make_settings(sqlite_url, tmp_path, run_workers=False)
    async with running_warta(settings) as h:
        ids = [(await h.send_sms()).json()["id"] for _ in range(2)]
        # A worker claims them and dies before sending: the rows stay leased.
        now = h.app.clock()
        async with h.app.uow() as uow:
            claimed = await uow.notifications.claim(
                [(await h.row(i)).id for i in ids], now=now, lease_until=now + timedelta(seconds=1)
            )
            await uow.commit()
        assert len(claimed) == 2
    outbox = Outbox()
    restarted = make_settings(sqlite_url, tmp_path)
    channels: dict[str, Channel] = {
        "sms": RecordingChannel("sms", outbox),
        "email": RecordingChannel("email", outbox),
    }
    async with running_warta(
        restarted, channels=channels, agency_name="Dinas Lain", sms_sender="DINASLAIN"
    ) as h2:
        await outbox.wait_for(2, timeout=10)
        for notification_id in ids:
            row = await h2.wait_status(notification_id, "delivered")
            assert row.attempts == 2
    assert sorted(m.notification_id or "" for m in outbox.list()) == sorted(ids)


async def test_a_restarted_worker_takes_back_its_own_dead_leases_at_once_not_others(
    database_url: str, tmp_path: Path
) -> None:
    """Item 5 of issue 15: recovery after a crash takes seconds, not the lease."""
    settings = make_settings(database_url, tmp_path, run_workers=False)
    async with running_warta(settings) as h:
        ids = [(await h.send_sms()).json()["id"] for _ in range(2)]
        now = h.app.clock()
        lease = now + timedelta(seconds=600)
        async with h.app.uow() as uow:  # two workers claim one each and die
            for notification_id, owner in zip(
                ids, ["pekerja-1#boot-lama", "pekerja-2#boot"], strict=True
            ):
                row = await h.row(notification_id)
                await uow.notifications.claim([row.id], now=now, lease_until=lease, owner=owner)
            await uow.commit()
    outbox = Outbox()
    channels: dict[str, Channel] = {
        "sms": RecordingChannel("sms", outbox),
        "email": RecordingChannel("email", outbox),
    }
    restarted = make_settings(database_url, tmp_path, worker_name="pekerja-1")
    async with running_warta(
        restarted, channels=channels, agency_name="Dinas Lain", sms_sender="DINASLAIN"
    ) as h2:
        await h2.wait_status(ids[0], "delivered", timeout=5)
        await asyncio.sleep(0.5)  # two more sweeps: the other worker's row stays its own
        other = await h2.row(ids[1])
        assert (other.status, other.lease_owner) == ("sending", "pekerja-2#boot")
    assert [m.notification_id for m in outbox.list()] == [ids[0]]


async def test_a_second_running_process_with_the_same_name_takes_nothing_back(
    sqlite_url: str, tmp_path: Path
) -> None:
    """Two live processes misconfigured with one name: neither takes the other's rows."""
    settings = make_settings(sqlite_url, tmp_path, worker_name="pekerja", stuck_after=600)
    async with running_warta(settings) as h:  # the first process, running
        sent = (await h.send_sms()).json()["id"]
        await h.wait_status(sent, "delivered")
        lease = h.app.clock() + timedelta(seconds=600)
        async with h.app.uow() as uow:  # as if the first process held it now
            await uow.notifications.save_outcomes(
                [
                    {
                        "id": (await h.row(sent)).id,
                        "status": "sending",
                        "lease_until": lease,
                        "lease_owner": "pekerja#live",
                    }
                ]
            )
            await uow.commit()
        second = WorkerPool(h.app, EmbeddedQueue())  # started beside it, same name and folder
        assert await second.reclaim() == 0
        await second.stop()
        assert (await h.row(sent)).lease_owner == "pekerja#live"


class StallsOnOne:
    """Takes every message at once except the first, which it never answers."""

    name = "sms"

    def __init__(self) -> None:
        self.stalled: str | None = None
        self.taken: list[str] = []

    async def send(self, message: OutboundMessage) -> SendResult:
        if self.stalled is None:
            self.stalled = message.notification_id
            await asyncio.Event().wait()
        self.taken.append(message.notification_id)
        return SendResult(status="sending", provider="operator", provider_reference="ref")

    async def aclose(self) -> None:
        return None


async def test_each_acceptance_is_recorded_at_once_not_when_the_batch_ends(
    sqlite_url: str, tmp_path: Path
) -> None:
    """A crash mid-batch then resends only what was in flight, not the whole batch."""
    async with running_warta(make_settings(sqlite_url, tmp_path, run_workers=False)) as h:
        ids = [(await h.send_sms()).json()["id"] for _ in range(5)]
    channel = StallsOnOne()  # the sweeper hands all five to one worker, in one batch
    settings = make_settings(sqlite_url, tmp_path, workers=1, shutdown_grace=0.1)
    async with running_warta(
        settings,
        channels={"sms": channel, "email": channel},  # type: ignore[dict-item]
        agency_name="Dinas Lain",
        sms_sender="DINASLAIN",
    ) as h2:
        for _ in range(50):
            if len(channel.taken) == 4:
                break
            await asyncio.sleep(0.1)
        for notification_id in ids:
            if notification_id != channel.stalled:
                row = await h2.wait_until(
                    notification_id, lambda row: row.provider_reference == "ref", 5, "recorded"
                )
                assert (row.status, row.lease_until, row.lease_owner) == ("sending", None, None)
        stalled = await h2.row(channel.stalled or "")
        assert stalled.status == "sending" and stalled.lease_until is not None
        assert stalled.lease_owner is not None and "#" in stalled.lease_owner


# --- delivery-receipt callbacks -----------------------------------------------------------


TOKEN = "rahasia-callback-dinas-uji"


async def test_callback_is_signed_and_retried_after_server_errors(harness: Harness) -> None:
    receiver = Receiver(answers=[503, 500, 200])
    async with receiver_running(receiver) as url:
        await set_callback(harness.app, harness.agency_id, url, TOKEN)
        sent = (await harness.send_sms(reference="ref-cb")).json()
        await wait_requests(receiver, 3)
        await asyncio.sleep(0.3)  # nothing more should come after the 200
    assert len(receiver.requests) == 3
    headers, body = receiver.requests[-1]
    payload = json.loads(body)
    assert payload["id"] == sent["id"]
    assert payload["reference"] == "ref-cb"
    assert payload["to"] == "+6281234567890"
    assert payload["status"] == "delivered"
    assert payload["notification_type"] == "sms"
    assert payload["template_id"] == str(harness.sms_template)
    assert payload["template_version"] == 1
    assert payload["completed_at"].endswith("Z")
    assert headers["authorization"] == f"Bearer {TOKEN}"
    stamp, mac = dict(p.split("=", 1) for p in headers["x-warta-signature"].split(",")).values()
    expected = hmac.new(TOKEN.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(mac, expected)


async def test_a_callback_found_by_several_workers_at_once_is_posted_once(
    harness: Harness,
) -> None:
    """A queued task and a sweep (or two Celery deliveries of one task) can both find a
    callback due: the agency still gets one POST."""
    from sqlalchemy import select, update

    from warta.pipeline.callbacks import send_callbacks
    from warta.store.models import Callback

    receiver = Receiver(answers=[503])
    async with receiver_running(receiver) as url:
        await set_callback(harness.app, harness.agency_id, url, TOKEN)
        await harness.send_sms()
        await wait_requests(receiver, 1)  # the 503: the row waits for its retry
        async with harness.app.uow() as uow:
            (callback_id,) = (await uow.session.scalars(select(Callback.id))).all()
            await uow.session.execute(
                update(Callback)
                .where(Callback.id == callback_id)
                .values(next_attempt_at=harness.app.clock())
            )
            await uow.commit()
        await asyncio.gather(*(send_callbacks(harness.app, [callback_id]) for _ in range(4)))
        await asyncio.sleep(0.3)
    assert len(receiver.requests) == 2
    async with harness.app.uow() as uow:
        callback = await uow.callbacks.get(callback_id)
        assert callback is not None
        assert (callback.status, callback.attempts) == ("sent", 2)


async def test_callback_refused_with_client_error_is_not_retried(harness: Harness) -> None:
    receiver = Receiver(answers=[400])
    async with receiver_running(receiver) as url:
        await set_callback(harness.app, harness.agency_id, url, TOKEN)
        await harness.send_sms()
        await wait_requests(receiver, 1)
        await asyncio.sleep(0.5)
    assert len(receiver.requests) == 1


@pytest.mark.parametrize(
    ("url", "token", "message"),
    [
        ("ftp://x", TOKEN, "A callback URL must start with https://"),
        (
            "https://dinas.go.id/cb",
            "short",
            "A callback needs a bearer token of at least 10 characters",
        ),
    ],
)
async def test_callback_settings_are_checked(
    sqlite_harness: Harness, url: str, token: str, message: str
) -> None:
    from warta.errors import BadRequest

    with pytest.raises(BadRequest, match=message):
        await set_callback(sqlite_harness.app, sqlite_harness.agency_id, url, token)
