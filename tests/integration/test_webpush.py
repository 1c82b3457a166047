"""WebPushChannel against a push service on 127.0.0.1 that also plays the browser.

No mocks: every send crosses a loopback socket to ``warta.devpeers.push_service``, which checks
the VAPID JWT itself and decrypts the payload with the subscriber's private key. Being on
127.0.0.1 over http, it is reached with ``allow_local=True``, the development switch (the
address rules themselves are tested in ``test_hardening_ssrf``).
"""

from __future__ import annotations

import base64
import json
import re
import socket
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from warta.channels.webpush import (
    MAX_PLAINTEXT,
    VapidKeys,
    WebPushChannel,
    WebPushConfig,
    parse_subscription,
)
from warta.devpeers.push_service import PushService
from warta.domain.channels import Channel, OutboundMessage, SendResult
from warta.errors import (
    ConfigurationError,
    ContactGone,
    DeliveryError,
    InvalidInput,
    ProviderUnavailable,
    TechnicalFailure,
    TemporaryFailure,
)

NOTIFICATION_ID = "0d5b6a1e-0000-4000-8000-000000000001"
BODY = "Jadwal vaksinasi Anda: Senin, 14 Juli, pukul 09.00 di Puskesmas Menteng."
INBOX_URL = "https://warta.example.go.id/portal/inbox/0d5b6a1e"
SUBJECT = "mailto:ops@warta.example.go.id"


def push(to: dict[str, Any] | str, **changes: Any) -> OutboundMessage:
    fields: dict[str, Any] = {
        "notification_id": NOTIFICATION_ID,
        "attempt": 1,
        "channel": "push",
        "to": to if isinstance(to, str) else json.dumps(to),
        "sender": "Dinas Kesehatan DKI",
        "body": BODY,
        "subject": "Pengingat vaksinasi",
        "url": INBOX_URL,
    }
    return OutboundMessage(**(fields | changes))


def claims_of(authorization: str) -> dict[str, Any]:
    token = authorization.removeprefix("vapid t=").split(",")[0]
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
async def service() -> AsyncIterator[PushService]:
    async with PushService().running() as running:
        yield running


@pytest.fixture
def keys() -> VapidKeys:
    return VapidKeys.generate()


@pytest.fixture
def channel(keys: VapidKeys, http: httpx.AsyncClient) -> WebPushChannel:
    return WebPushChannel(keys, WebPushConfig(subject=SUBJECT, allow_local=True), http)


@pytest.fixture
def subscription(service: PushService, keys: VapidKeys) -> dict[str, Any]:
    return service.subscribe(keys.public_key_b64url)


# -- sending ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "title"),
    [
        pytest.param({}, "Pengingat vaksinasi", id="subject-is-the-title"),
        pytest.param({"subject": None}, "Dinas Kesehatan DKI", id="sender-when-no-subject"),
    ],
)
async def test_a_push_arrives_and_the_browser_decrypts_it(
    service: PushService,
    channel: WebPushChannel,
    subscription: dict[str, Any],
    changes: dict[str, Any],
    title: str,
) -> None:
    result = await channel.send(push(subscription, **changes))

    [delivered] = service.deliveries
    assert delivered.subscription_id == service.id_of(subscription)
    assert delivered.payload == {
        "title": title,
        "body": BODY,
        "url": INBOX_URL,
        "id": NOTIFICATION_ID,
    }
    assert result == SendResult(
        status="delivered", provider_reference=result.provider_reference, provider="webpush"
    )
    assert str(result.provider_reference).startswith(f"{service.url}/m/")


@pytest.mark.parametrize(
    ("changes", "urgency", "ttl"),
    [
        pytest.param({}, "normal", "86400", id="default"),
        pytest.param({"urgent": True, "ttl": 600}, "high", "600", id="urgent"),
        pytest.param({"ttl": 0}, "normal", "0", id="now-or-never"),
    ],
)
async def test_push_headers_say_how_to_hold_the_message(
    service: PushService,
    channel: WebPushChannel,
    subscription: dict[str, Any],
    changes: dict[str, Any],
    urgency: str,
    ttl: str,
) -> None:
    await channel.send(push(subscription, **changes))
    headers = service.deliveries[0].headers
    assert (headers["urgency"], headers["ttl"]) == (urgency, ttl)
    assert headers["content-encoding"] == "aes128gcm"


async def test_a_resend_carries_the_same_topic_so_it_replaces_the_first(
    service: PushService, channel: WebPushChannel, subscription: dict[str, Any]
) -> None:
    await channel.send(push(subscription))
    await channel.send(push(subscription, attempt=2))
    await channel.send(push(subscription, notification_id="another-notification"))
    first, resend, other = (d.headers["topic"] for d in service.deliveries)
    assert first == resend != other
    assert len(first) <= 32  # the peer also checked the base64url alphabet
    assert NOTIFICATION_ID.split("-")[0] not in first  # the push service never sees our id


async def test_a_long_body_is_cut_to_fit_one_push(
    service: PushService, channel: WebPushChannel, subscription: dict[str, Any]
) -> None:
    long_body = "Pemberitahuan pajak kendaraan ✅ " * 400  # multi-byte, far over 4 KiB
    await channel.send(push(subscription, body=long_body))
    body = service.deliveries[0].payload["body"]
    assert body.endswith("…")
    assert long_body.startswith(body[:-1])
    assert len(json.dumps(service.deliveries[0].payload, ensure_ascii=False).encode()) > (
        MAX_PLAINTEXT - 80  # cut close to the limit, not to a fraction of it
    )


@pytest.mark.parametrize(
    ("extra", "cut"),
    [
        pytest.param(0, False, id="exactly-4096-bytes-on-the-wire"),
        pytest.param(1, True, id="one-byte-more-is-cut"),
    ],
)
async def test_a_payload_just_at_the_limit_goes_whole(
    service: PushService,
    channel: WebPushChannel,
    subscription: dict[str, Any],
    extra: int,
    cut: bool,
) -> None:
    base = push(subscription, body="")
    room = MAX_PLAINTEXT - len(json.dumps(service_payload(base), separators=(",", ":")))
    body = "x" * (room + extra)
    await channel.send(push(subscription, body=body))
    delivered = service.deliveries[0]
    assert (delivered.payload["body"] != body) is cut
    wire = int(delivered.headers["content-length"])
    assert wire == 4096 if not cut else wire <= 4096  # MAX_PLAINTEXT's arithmetic is exact
    assert service.refusals == []  # the peer answers 413 over 4096 bytes


def service_payload(message: OutboundMessage) -> dict[str, Any]:
    return {
        "title": message.subject,
        "body": message.body,
        "url": message.url,
        "id": message.notification_id,
    }


# -- the peer checks VAPID for real -----------------------------------------------------


async def test_a_subscription_made_for_another_vapid_key_is_refused(
    service: PushService, http: httpx.AsyncClient
) -> None:
    subscription = service.subscribe(VapidKeys.generate().public_key_b64url)
    channel = WebPushChannel(VapidKeys.generate(), WebPushConfig(allow_local=True), http)
    with pytest.raises(TechnicalFailure) as caught:
        await channel.send(push(subscription))
    host = service.url.removeprefix("http://")
    assert str(caught.value) == (
        f"push service {host} answered HTTP 403: it refused our VAPID key or token"
    )
    assert service.refusals == [(403, "k is not the key this subscription was made with")]
    assert service.deliveries == []


def forged(keys: VapidKeys, audience: str, **changes: Any) -> str | None:
    """A hand-made Authorization header: valid, but for the fields in ``changes``."""
    fields: dict[str, Any] = {
        "scheme": "vapid",
        "signer": keys,
        "aud": audience,
        "exp": int(time.time()) + 60,
        "sub": SUBJECT,
    } | changes
    if fields["scheme"] is None:
        return None
    claims = {name: fields[name] for name in ("aud", "exp", "sub") if fields[name] is not None}
    token = jwt.encode(claims, fields["signer"].private_key, algorithm="ES256")
    if fields["scheme"] == "WebPush":  # the pre-RFC draft: token only, key elsewhere
        return f"WebPush {token}"
    return f"vapid t={token}, k={keys.public_key_b64url}"


@pytest.mark.parametrize(
    ("changes", "status", "reason"),
    [
        pytest.param({"scheme": None}, 401, "no vapid authorization", id="no-header"),
        pytest.param({"scheme": "WebPush"}, 401, "no vapid authorization", id="draft-scheme"),
        pytest.param(
            {"signer": VapidKeys.generate()}, 403, "bad signature", id="signed-by-another-key"
        ),
        pytest.param(
            {"aud": "https://fcm.googleapis.com"},
            403,
            "aud is not this push service",
            id="other-audience",
        ),
        pytest.param({"exp": int(time.time()) - 1}, 403, "exp not within 24 hours", id="expired"),
        pytest.param(
            {"exp": int(time.time()) + 90_000},
            403,
            "exp not within 24 hours",
            id="more-than-24h",
        ),
        pytest.param({"sub": None}, 403, "sub missing", id="no-sub"),
        # The control: right VAPID gets past the check, to fail on the garbage body.
        pytest.param({}, 400, "cannot decrypt", id="valid-vapid-garbage-body"),
    ],
)
async def test_the_peer_checks_vapid_itself(
    service: PushService,
    keys: VapidKeys,
    subscription: dict[str, Any],
    http: httpx.AsyncClient,
    changes: dict[str, Any],
    status: int,
    reason: str,
) -> None:
    headers = {"TTL": "60", "Content-Encoding": "aes128gcm"}
    authorization = forged(keys, service.url, **changes)
    if authorization is not None:
        headers["Authorization"] = authorization
    response = await http.post(subscription["endpoint"], content=b"\0" * 200, headers=headers)
    assert (response.status_code, service.refusals) == (status, [(status, reason)])


@pytest.mark.parametrize(
    ("headers", "content", "status", "reason"),
    [
        pytest.param({"TTL": ""}, b"", 400, "TTL header missing or not a number", id="no-ttl"),
        pytest.param(
            {"Content-Encoding": "aesgcm"},
            b"",
            415,
            "Content-Encoding must be aes128gcm",
            id="old-encoding",
        ),
        pytest.param({"Urgency": "urgent"}, b"", 400, "bad Urgency", id="bad-urgency"),
        pytest.param({"Topic": "a" * 33}, b"", 400, "bad Topic", id="long-topic"),
        pytest.param({"Topic": "a/b"}, b"", 400, "bad Topic", id="topic-alphabet"),
        pytest.param({}, b"\0" * 4097, 413, "payload too large", id="over-4096"),
    ],
)
async def test_the_peer_checks_the_push_headers_itself(
    service: PushService,
    keys: VapidKeys,
    subscription: dict[str, Any],
    http: httpx.AsyncClient,
    headers: dict[str, str],
    content: bytes,
    status: int,
    reason: str,
) -> None:
    sent = {
        "TTL": "60",
        "Content-Encoding": "aes128gcm",
        "Authorization": str(forged(keys, service.url)),
    } | headers
    response = await http.post(subscription["endpoint"], content=content, headers=sent)
    assert (response.status_code, service.refusals) == (status, [(status, reason)])


# -- what the push service says, as Warta errors ----------------------------------------


@pytest.mark.parametrize(
    ("status", "error", "said"),
    [
        pytest.param(429, TemporaryFailure, "", id="429"),
        pytest.param(500, ProviderUnavailable, "", id="500"),
        pytest.param(503, ProviderUnavailable, "", id="503"),
        pytest.param(413, TechnicalFailure, ": the payload is too large", id="413"),
        pytest.param(400, TechnicalFailure, "", id="400"),
        pytest.param(401, TechnicalFailure, ": it refused our VAPID key or token", id="401"),
        pytest.param(403, TechnicalFailure, ": it refused our VAPID key or token", id="403"),
        pytest.param(
            404, ContactGone, ": the subscription has expired or was unsubscribed", id="404"
        ),
        pytest.param(
            410, ContactGone, ": the subscription has expired or was unsubscribed", id="410"
        ),
        # Only 201/202 mean "accepted"; a redirect or a bare 200 is not a push service.
        pytest.param(200, TechnicalFailure, "", id="200"),
        pytest.param(301, TechnicalFailure, "", id="301"),
    ],
)
async def test_push_service_answers_become_warta_errors(
    service: PushService,
    channel: WebPushChannel,
    subscription: dict[str, Any],
    status: int,
    error: type[DeliveryError],
    said: str,
) -> None:
    service.fail_next(status=status)
    with pytest.raises(DeliveryError) as caught:
        await channel.send(push(subscription))
    assert type(caught.value) is error
    host = service.url.removeprefix("http://")
    assert str(caught.value) == f"push service {host} answered HTTP {status}{said}"
    assert service.id_of(subscription) not in str(caught.value)


@pytest.mark.parametrize(
    "gone",
    [
        pytest.param(lambda service, sub: service.expire(sub) or sub, id="410-unsubscribed"),
        pytest.param(
            lambda service, sub: sub | {"endpoint": f"{service.url}/push/never-made"},
            id="404-unknown",
        ),
    ],
)
async def test_a_dead_subscription_is_contact_gone(
    service: PushService, channel: WebPushChannel, subscription: dict[str, Any], gone: Any
) -> None:
    with pytest.raises(ContactGone):
        await channel.send(push(gone(service, subscription)))
    assert service.deliveries == []


async def test_a_closed_port_is_provider_unavailable(
    keys: VapidKeys, http: httpx.AsyncClient
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    subscription = PushService(url=f"http://127.0.0.1:{port}").subscribe(keys.public_key_b64url)
    with pytest.raises(ProviderUnavailable) as caught:
        await WebPushChannel(keys, WebPushConfig(allow_local=True), http).send(push(subscription))
    assert str(caught.value) == f"cannot reach push service 127.0.0.1:{port}: ConnectError"


async def test_a_push_service_that_does_not_answer_in_time_is_provider_unavailable(
    service: PushService, keys: VapidKeys, subscription: dict[str, Any], http: httpx.AsyncClient
) -> None:
    service.fail_next(status=201, stall=True)
    channel = WebPushChannel(keys, WebPushConfig(timeout=0.2, allow_local=True), http)
    with pytest.raises(ProviderUnavailable) as caught:
        await channel.send(push(subscription))
    host = service.url.removeprefix("http://")
    assert str(caught.value) == f"cannot reach push service {host}: ReadTimeout"


@pytest.mark.parametrize(
    ("to", "changes", "message"),
    [
        pytest.param(
            "fcm:dQw4w9WgXcQ:APA91b", {}, "FCM token routed to the Web Push channel", id="fcm"
        ),
        pytest.param(
            '{"endpoint": "https://push.example/x", "keys": {"p256dh": "AAAA", "auth": "x"}}',
            {},
            "stored Push subscription keys.p256dh must be a base64url uncompressed P-256 "
            "point (65 bytes)",
            id="corrupt-stored-subscription",
        ),
        pytest.param(
            "budi@contoh.id",
            {"channel": "email"},
            "email message routed to the Web Push channel",
            id="email",
        ),
    ],
)
async def test_what_is_no_push_subscription_is_a_technical_failure(
    channel: WebPushChannel, to: str, changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(TechnicalFailure) as caught:
        await channel.send(push(to, **changes))
    assert str(caught.value) == message


# -- the VAPID JWT ----------------------------------------------------------------------


async def test_the_vapid_jwt_is_reused_per_push_service_and_names_it(
    service: PushService, channel: WebPushChannel, keys: VapidKeys, subscription: dict[str, Any]
) -> None:
    await channel.send(push(subscription))
    await channel.send(push(subscription, notification_id="second"))
    async with PushService().running() as other:
        await channel.send(push(other.subscribe(keys.public_key_b64url)))

    first, second = (d.headers["authorization"] for d in service.deliveries)
    elsewhere = other.deliveries[0].headers["authorization"]
    assert first == second != elsewhere
    assert first.endswith(f", k={keys.public_key_b64url}")
    claims = claims_of(first)
    assert (claims["aud"], claims["sub"]) == (service.url, SUBJECT)
    assert time.time() < claims["exp"] <= time.time() + 24 * 3600
    assert claims_of(elsewhere)["aud"] == other.url


async def test_a_jwt_close_to_expiry_is_renewed(
    service: PushService, keys: VapidKeys, subscription: dict[str, Any], http: httpx.AsyncClient
) -> None:
    offset = [-11.5 * 3600]  # the first token then has half an hour left in real time
    channel = WebPushChannel(
        keys, WebPushConfig(allow_local=True), http, clock=lambda: time.time() + offset[0]
    )
    await channel.send(push(subscription))
    offset[0] = 0
    await channel.send(push(subscription))
    old, new = (claims_of(d.headers["authorization"]) for d in service.deliveries)
    assert new["exp"] - old["exp"] == pytest.approx(11.5 * 3600, abs=5)


# -- subscriptions and keys: pure -------------------------------------------------------

P256DH = "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM"
AUTH = "tBHItJI5svbpez7KI4CCXg"
ENDPOINT = "https://fcm.googleapis.com/fcm/send/c1KkTuDwA:APA91bE"


def subscription_json(**changes: Any) -> str:
    keys = changes.pop("keys", {})
    if keys is not None:
        keys = {"p256dh": P256DH, "auth": AUTH} | keys
    return json.dumps({"endpoint": ENDPOINT, "expirationTime": None, "keys": keys} | changes)


def test_a_browsers_subscription_parses() -> None:
    parsed = parse_subscription(subscription_json())
    assert parsed.endpoint == ENDPOINT
    assert (len(parsed.p256dh), len(parsed.auth)) == (65, 16)
    assert repr(parsed) == "Subscription(origin='https://fcm.googleapis.com')"


FLIPPED_POINT = base64.urlsafe_b64encode(
    b"\x04" + b"\x01" * 64  # the right shape, but not on the curve
).decode()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("{not json", "Push subscription is not valid JSON", id="not-json"),
        pytest.param("[]", "Push subscription must be a JSON object", id="array"),
        pytest.param(
            subscription_json(endpoint=None),
            "Push subscription endpoint must be an https:// or http:// URL",
            id="no-endpoint",
        ),
        pytest.param(
            subscription_json(endpoint="javascript:alert(1)"),
            "Push subscription endpoint must be an https:// or http:// URL",
            id="javascript-endpoint",
        ),
        pytest.param(
            subscription_json(endpoint="https:///no-host"),
            "Push subscription endpoint must be an https:// or http:// URL",
            id="no-host",
        ),
        pytest.param(
            subscription_json(endpoint="https://push.example:99999/x"),
            "Push subscription endpoint must be an https:// or http:// URL",
            id="bad-port",
        ),
        pytest.param(
            subscription_json(keys=None),
            "Push subscription keys must be an object with p256dh and auth",
            id="no-keys",
        ),
        pytest.param(
            subscription_json(keys={"p256dh": P256DH[:-4]}),
            "Push subscription keys.p256dh must be a base64url uncompressed P-256 point (65 bytes)",
            id="p256dh-short",
        ),
        pytest.param(
            subscription_json(keys={"p256dh": P256DH.replace("_", "/")}),
            "Push subscription keys.p256dh must be a base64url uncompressed P-256 point (65 bytes)",
            id="p256dh-standard-base64",
        ),
        pytest.param(
            subscription_json(keys={"p256dh": FLIPPED_POINT}),
            "Push subscription keys.p256dh must be a base64url uncompressed P-256 point (65 bytes)",
            id="p256dh-off-curve",
        ),
        pytest.param(
            subscription_json(keys={"auth": AUTH + "AA"}),
            "Push subscription keys.auth must be 16 bytes in base64url",
            id="auth-17-bytes",
        ),
        pytest.param(
            subscription_json(keys={"auth": 16}),
            "Push subscription keys.auth must be 16 bytes in base64url",
            id="auth-number",
        ),
    ],
)
def test_a_malformed_subscription_names_the_field_and_no_secret(text: str, message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_subscription(text)
    assert str(caught.value) == message
    for secret in (P256DH, AUTH, "c1KkTuDwA"):
        assert secret not in str(caught.value)


def test_vapid_keys_survive_a_pem_round_trip() -> None:
    keys = VapidKeys.generate()
    pem = keys.to_pem()
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    assert VapidKeys.from_pem(pem).public_key_b64url == keys.public_key_b64url


def test_the_application_server_key_is_an_uncompressed_point() -> None:
    keys = VapidKeys.generate()
    raw = base64.urlsafe_b64decode(keys.public_key_b64url + "=")
    assert (len(raw), raw[0]) == (65, 4)
    assert "=" not in keys.public_key_b64url and len(keys.public_key_b64url) == 87
    assert keys.private_key.private_numbers().private_value.to_bytes(32, "big").hex() not in (
        repr(keys)
    )


def _pem(key: Any) -> bytes:
    return bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


@pytest.mark.parametrize(
    ("pem", "message"),
    [
        pytest.param(b"not a key", "VAPID key is not an unencrypted PEM private key", id="junk"),
        pytest.param(
            _pem(rsa.generate_private_key(public_exponent=65537, key_size=1024)),
            "VAPID key must be an EC (P-256) private key",
            id="rsa",
        ),
        pytest.param(
            _pem(ec.generate_private_key(ec.SECP384R1())),
            "VAPID key must be on the P-256 curve",
            id="p384",
        ),
    ],
)
def test_a_pem_that_is_no_vapid_key_is_refused(pem: bytes, message: str) -> None:
    with pytest.raises(ConfigurationError, match=f"^{re.escape(message)}$"):
        VapidKeys.from_pem(pem)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        pytest.param({"subject": "ops@warta.id"}, "must be a mailto: or https: URL", id="sub"),
        pytest.param({"timeout": 0}, "timeout must be positive", id="timeout"),
    ],
)
def test_a_config_that_cannot_work_is_refused(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        WebPushConfig(**changes)


# -- lifecycle --------------------------------------------------------------------------


async def test_a_closed_channel_refuses_retryably_and_closes_only_its_own_client(
    service: PushService, keys: VapidKeys, subscription: dict[str, Any], http: httpx.AsyncClient
) -> None:
    shared = WebPushChannel(keys, WebPushConfig(allow_local=True), http)
    own = WebPushChannel(keys, WebPushConfig(allow_local=True))
    assert isinstance(own, Channel)
    await own.send(push(subscription))  # it made a working client of its own
    await shared.aclose()
    await own.aclose()
    for closed in (shared, own):
        with pytest.raises(ProviderUnavailable, match=r"^Web Push channel is closed$"):
            await closed.send(push(subscription))
    assert not http.is_closed
    assert own._http.is_closed
    assert len(service.deliveries) == 1
