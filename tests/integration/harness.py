"""A running Warta (API, embedded workers, real database, capture sinks) for tests."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import socket
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI
from notifications_python_client.authentication import create_jwt_token
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import TEST_SECRET_KEY
from warta.api.app import create_app
from warta.bootstrap import Warta, bootstrap
from warta.channels.capture import RecordingChannel
from warta.domain.channels import Channel
from warta.services.admin import create_agency, create_template
from warta.settings import Settings
from warta.store.models import Notification
from warta.store.outbox import CapturedMessage, Outbox

SMS_BODY = "Halo ((nama)), antrean Anda nomor ((nomor))."
EMAIL_SUBJECT = "Dokumen ((jenis)) siap"
EMAIL_BODY = "Halo ((nama)),\n\nDokumen ((jenis)) Anda siap diambil."


def make_settings(database_url: str, var_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "var_dir": var_dir,
        "secret_key": TEST_SECRET_KEY,
        "sweep_interval": 0.2,
        "stuck_after": 2.0,
        "retry_base_delay": 0.05,
        "retry_max_delay": 0.2,
        "callback_base_delay": 0.05,
        "workers": 4,
    }
    values.update(overrides)
    return Settings(**values)


class Clock:
    """Real time, moved to a chosen start; ``advance`` jumps ahead (leases, quiet hours,
    escalation windows, code and session expiry)."""

    def __init__(self, start: datetime) -> None:
        self._start, self._t0 = start, time.monotonic()

    def __call__(self) -> datetime:
        return self._start + timedelta(seconds=time.monotonic() - self._t0)

    def set(self, when: datetime) -> None:
        self._start, self._t0 = when, time.monotonic()

    def advance(self, by: timedelta) -> None:
        self.set(self() + by)


def wib(day: int, hour: int, minute: int = 0) -> datetime:
    """A wall-clock time in Jakarta (UTC+7) on a day of December 2026, as UTC."""
    return datetime(2026, 12, day, hour, minute, tzinfo=UTC) - timedelta(hours=7)


def recording(outbox: Outbox) -> dict[str, Channel]:
    """Email and SMS channels that put what they send in ``outbox``, for a test to read."""
    return {"email": RecordingChannel("email", outbox), "sms": RecordingChannel("sms", outbox)}


def code_in(text: str) -> str:
    """The 6-digit one-time code in a message a citizen received."""
    found = re.search(r"\b(\d{6})\b", text)
    assert found, "no code in the message"
    return found.group(1)


def auth_header(key: str) -> dict[str, str]:
    # The official Notify client's own token maker: what agencies really send.
    token = create_jwt_token(secret=key[-36:], client_id=key[-73:-37])
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Harness:
    api: FastAPI
    app: Warta
    client: httpx.AsyncClient
    agency_id: uuid.UUID
    keys: dict[str, str]
    sms_template: uuid.UUID
    email_template: uuid.UUID

    async def post(self, path: str, body: Any, key: str = "live") -> httpx.Response:
        return await self.client.post(path, json=body, headers=auth_header(self.keys[key]))

    async def get(self, path: str, key: str = "live", **params: Any) -> httpx.Response:
        return await self.client.get(
            path, params=params or None, headers=auth_header(self.keys[key])
        )

    async def send_sms(
        self, phone: str = "081234567890", key: str = "live", **extra: Any
    ) -> httpx.Response:
        body = {
            "phone_number": phone,
            "template_id": str(self.sms_template),
            "personalisation": {"nama": "Budi", "nomor": "7"},
            **extra,
        }
        return await self.post("/v2/notifications/sms", body, key)

    async def send_email(
        self, address: str = "budi@example.com", key: str = "live", **extra: Any
    ) -> httpx.Response:
        body = {
            "email_address": address,
            "template_id": str(self.email_template),
            "personalisation": {"nama": "Budi", "jenis": "KTP"},
            **extra,
        }
        return await self.post("/v2/notifications/email", body, key)

    async def row(self, notification_id: str | uuid.UUID) -> Notification:
        async with self.app.uow() as uow:
            found = await uow.session.get(Notification, uuid.UUID(str(notification_id)))
        assert found is not None
        return found

    async def wait_status(
        self, notification_id: str, *wanted: str, timeout: float = 10.0
    ) -> Notification:
        return await self.wait_until(
            notification_id, lambda row: row.status in wanted, timeout, f"status in {wanted}"
        )

    async def wait_until(
        self,
        notification_id: str,
        check: Callable[[Notification], bool],
        timeout: float = 10.0,
        wanted: str = "the condition",
    ) -> Notification:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            row = await self.row(notification_id)
            if check(row):
                return row
            if loop.time() > deadline:
                raise AssertionError(f"status stayed {row.status!r}, wanted {wanted}")
            await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def running_warta(
    settings: Settings,
    *,
    channels: Mapping[str, Channel] | None = None,
    agency_name: str = "Dinas Uji",
    sms_sender: str = "DINASUJI",
    clock: Callable[[], datetime] | None = None,
) -> AsyncIterator[Harness]:
    async def build(s: Settings) -> Warta:
        if clock is not None:
            return await bootstrap(s, channels=channels, clock=clock)
        return await bootstrap(s, channels=channels)

    api = create_app(settings, build=build)
    async with api.router.lifespan_context(api):
        app: Warta = api.state.warta
        made = await create_agency(
            app, agency_name, email_from="dinas@uji.go.id", sms_sender=sms_sender
        )
        sms = await create_template(
            app, made.id, kind="sms", name="antrean", subject=None, body=SMS_BODY
        )
        email = await create_template(
            app, made.id, kind="email", name="dokumen", subject=EMAIL_SUBJECT, body=EMAIL_BODY
        )
        transport = httpx.ASGITransport(app=api)
        async with httpx.AsyncClient(transport=transport, base_url="http://warta.test") as client:
            yield Harness(
                api=api,
                app=app,
                client=client,
                agency_id=made.id,
                keys={"live": made.live_key, "team": made.team_key, "test": made.test_key},
                sms_template=sms.id,
                email_template=email.id,
            )


class Receiver:
    """A real HTTP server (uvicorn) that records callbacks and answers from a script."""

    def __init__(self, answers: list[int]) -> None:
        self.answers = answers
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.arrived = asyncio.Event()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        self.requests.append((headers, body))
        status = self.answers.pop(0) if self.answers else 200
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b""})
        self.arrived.set()


@contextlib.asynccontextmanager
async def serving(asgi: Any) -> AsyncIterator[str]:
    """An ASGI app over real HTTP, its base URL: uvicorn on a free port in this event loop
    (as ``warta serve`` runs the API: it and every request share one loop)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(asgi, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await task
        sock.close()


@contextlib.asynccontextmanager
async def receiver_running(receiver: Receiver) -> AsyncIterator[str]:
    async with serving(receiver) as url:
        yield f"{url}/receipts"


async def wait_requests(receiver: Receiver, count: int, timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while len(receiver.requests) < count:
            await asyncio.sleep(0.02)


async def message_to(outbox: Outbox, address: str, timeout: float = 15.0) -> CapturedMessage:
    """The newest message to ``address``, once one has arrived."""
    deadline = time.monotonic() + timeout
    while not (found := [m for m in outbox.list() if m.to == address]):
        assert time.monotonic() < deadline, f"nothing reached {address}"
        await asyncio.sleep(0.02)
    return found[0]


async def next_event(lines: AsyncIterator[str]) -> tuple[str, dict[str, Any]]:
    """The next Server-Sent Event's name and data, skipping keep-alive comments."""
    kind, data = "message", ""
    async with asyncio.timeout(10):
        async for line in lines:
            if line.startswith("event:"):
                kind = line.partition(":")[2].strip()
            elif line.startswith("data:"):
                data += line.partition(":")[2].strip()
            elif line == "" and data:
                return kind, dict(json.loads(data))
    raise AssertionError("the stream ended")


def metric_sample(text: str, name: str, **labels: str) -> float:
    """The value of the metric ``name`` in a /metrics page whose labels include
    ``labels``, summed over the rest; 0 if absent."""
    return sum(
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name and labels.items() <= s.labels.items()
    )
