"""Issue 15, item 7: a push subscription is a URL Warta's workers POST to, handed in by a
citizen's browser. Only https endpoints on public addresses are taken (checked when the
citizen subscribes and again before every send), and no endpoint reaches the logs.

Names are resolved by a resolver injected into the channel, so a public-looking name can be
made to resolve to 127.0.0.1 (as DNS rebinding would) without touching /etc/hosts.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Sequence
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from tests.integration.harness import Harness
from tests.integration.test_portal_api import bearer, register, sign_in
from warta import logs
from warta.channels.capture import RecordingChannel
from warta.channels.webpush import VapidKeys, WebPushChannel, WebPushConfig
from warta.devpeers.push_service import PushService
from warta.domain.channels import Channel, OutboundMessage
from warta.errors import ContactGone, ProviderUnavailable
from warta.store.models import CitizenContact
from warta.store.outbox import Outbox

VAPID = VapidKeys.generate()
PUBLIC = "93.184.216.34"
#: What the injected resolver answers; a name missing from it does not resolve.
DNS: dict[str, list[str]] = {
    "push.example.com": [PUBLIC],
    "rebound.example.com": ["127.0.0.1"],
    "mixed.example.com": [PUBLIC, "10.1.2.3"],
}


async def fake_resolver(host: str, port: int) -> Sequence[str]:
    if host not in DNS:
        raise OSError(f"cannot resolve {host}")
    return DNS[host]


def subscription(endpoint: str) -> dict[str, Any]:
    """A browser's subscription with real keys and the given endpoint."""
    made = PushService(url="http://127.0.0.1:1").subscribe(VAPID.public_key_b64url)
    return made | {"endpoint": endpoint}


@pytest.fixture
async def channels(outbox: Outbox) -> AsyncIterator[dict[str, Channel]]:
    """Production rules: the push channel as bootstrap builds it without local peers."""
    async with httpx.AsyncClient() as http:
        push = WebPushChannel(VAPID, WebPushConfig(), http, resolver=fake_resolver)
        yield {
            "email": RecordingChannel("email", outbox),
            "sms": RecordingChannel("sms", outbox),
            "push": push,
        }


async def push_contacts(harness: Harness) -> int:
    async with harness.app.uow() as uow:
        count = (
            select(func.count()).select_from(CitizenContact).where(CitizenContact.kind == "push")
        )
        return int(await uow.session.scalar(count) or 0)


@pytest.mark.parametrize(
    ("endpoint", "message"),
    [
        # The report's own case: plain http to a port on the worker's own host.
        ("http://127.0.0.1:9999/push/abc", " must be an https:// URL"),
        ("https://10.0.0.1/push/abc", " must be on a public address"),
        ("https://[::1]/push/abc", " must be on a public address"),
        ("https://169.254.169.254/latest/meta-data", " must be on a public address"),
        ("https://[::ffff:127.0.0.1]/push/abc", " must be on a public address"),
        ("https://localhost/push/abc", " must be on a public address"),
        ("https://rebound.example.com/push/abc", " must be on a public address"),
        ("https://mixed.example.com/push/abc", " must be on a public address"),
        ("https://nowhere.example.com/push/abc", "'s host cannot be found"),
    ],
)
async def test_a_subscription_to_a_private_address_is_refused_and_not_stored(
    harness: Harness, outbox: Outbox, endpoint: str, message: str
) -> None:
    await register(harness, outbox)
    token = await sign_in(harness, outbox)
    answer = await harness.client.post(
        "/portal/api/push/subscriptions", json=subscription(endpoint), headers=bearer(token)
    )
    assert answer.status_code == 400
    assert answer.json() == {
        "status_code": 400,
        "errors": [{"error": "ValidationError", "message": f"Push subscription endpoint{message}"}],
    }
    assert await push_contacts(harness) == 0


async def test_a_subscription_to_a_public_push_service_is_stored(
    harness: Harness, outbox: Outbox
) -> None:
    await register(harness, outbox)
    token = await sign_in(harness, outbox)
    answer = await harness.client.post(
        "/portal/api/push/subscriptions",
        json=subscription("https://push.example.com/push/abc"),
        headers=bearer(token),
    )
    assert answer.status_code == 201, answer.text
    assert await push_contacts(harness) == 1


# -- at send time ---------------------------------------------------------------------------


class Listener:
    """A TCP port on 127.0.0.1 that counts the connections made to it."""

    def __init__(self) -> None:
        self.connections = 0
        self.port = 0

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        writer.close()


@pytest.fixture
async def listener() -> AsyncIterator[Listener]:
    found = Listener()
    server = await asyncio.start_server(found._accept, "127.0.0.1", 0)
    found.port = server.sockets[0].getsockname()[1]
    async with server:
        yield found


def push(endpoint: str) -> OutboundMessage:
    return OutboundMessage(
        "n-1", 1, "push", json.dumps(subscription(endpoint)), "Dinas", "Halo", subject="Info"
    )


@pytest.mark.parametrize(
    "endpoint",
    [
        # Stored when it resolved to a public address; now it resolves to the worker's host.
        "https://rebound.example.com:{port}/push/abc",
        # Stored before this check existed.
        "http://127.0.0.1:{port}/push/abc",
    ],
)
async def test_an_endpoint_that_now_points_inside_is_not_contacted(
    listener: Listener, endpoint: str
) -> None:
    async with httpx.AsyncClient() as http:
        channel = WebPushChannel(VAPID, WebPushConfig(), http, resolver=fake_resolver)
        with pytest.raises(ContactGone) as caught:
            await channel.send(push(endpoint.format(port=listener.port)))
    await asyncio.sleep(0.05)
    assert listener.connections == 0
    assert "/push/abc" not in str(caught.value)


async def test_an_endpoint_that_does_not_resolve_now_is_retried_later() -> None:
    async with httpx.AsyncClient() as http:
        channel = WebPushChannel(VAPID, WebPushConfig(), http, resolver=fake_resolver)
        with pytest.raises(ProviderUnavailable, match=r"^cannot resolve push service nowhere"):
            await channel.send(push("https://nowhere.example.com/push/abc"))


async def test_an_allow_list_keeps_to_its_push_services() -> None:
    config = WebPushConfig(hosts=frozenset({"fcm.googleapis.com"}))
    async with httpx.AsyncClient() as http:
        channel = WebPushChannel(VAPID, config, http, resolver=fake_resolver)
        with pytest.raises(ContactGone, match="not a push service this Warta accepts"):
            await channel.send(push("https://push.example.com/push/abc"))


async def test_no_endpoint_reaches_the_logs(caplog: pytest.LogCaptureFixture) -> None:
    """A real push through the local push service (the development switch on), with the
    logging Warta's entry points set up: httpx would log the URL at INFO."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level, {n: logging.getLogger(n).level for n in logs.QUIETED}
    logs.configure("DEBUG")
    root.addHandler(caplog.handler)
    caplog.set_level(logging.DEBUG)
    try:
        async with PushService().running() as service, httpx.AsyncClient() as http:
            made = service.subscribe(VAPID.public_key_b64url)
            channel = WebPushChannel(VAPID, WebPushConfig(allow_local=True), http)
            message = OutboundMessage(
                "n-2", 1, "push", json.dumps(made), "Dinas", "Halo", subject="Info"
            )
            assert (await channel.send(message)).status == "delivered"
            assert len(service.deliveries) == 1
    finally:
        root.handlers[:], level, quieted = saved
        root.setLevel(level)
        for name, was in quieted.items():
            logging.getLogger(name).setLevel(was)
    secret_path = made["endpoint"].split("/push/", 1)[1]
    assert secret_path not in caplog.text
    assert not [r for r in caplog.records if r.name.startswith(("httpx", "httpcore"))]


async def test_the_request_goes_to_the_address_checked_with_tls_by_name() -> None:
    """No second lookup between the check and the connection (DNS rebinding): the URL is
    the checked address; the Host header and TLS (SNI, certificate) keep the name."""
    seen: list[httpx.Request] = []

    def push_service(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201)

    transport = httpx.MockTransport(push_service)
    async with httpx.AsyncClient(transport=transport) as http:
        channel = WebPushChannel(VAPID, WebPushConfig(), http, resolver=fake_resolver)
        sent = await channel.send(push("https://push.example.com:8443/push/abc"))
    assert sent.status == "delivered"
    [request] = seen
    assert str(request.url) == f"https://{PUBLIC}:8443/push/abc"
    assert request.headers["Host"] == "push.example.com:8443"
    assert request.extensions["sni_hostname"] == "push.example.com"
