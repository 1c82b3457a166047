"""FcmChannel against a local Firebase (OAuth 2.0 token endpoint and FCM HTTP v1).

No mocks: every token request and send crosses a loopback socket to ``warta.devpeers.fcm``,
which verifies the RS256 assertion with its own public key and checks the bearer token and
the message's shape. Only time is injected: a clock to age cached tokens, and a sleep that
records the backoff instead of waiting it out.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from warta.channels.fcm import FcmChannel, FcmConfig
from warta.devpeers.fcm import PROJECT_ID, Delivery, FakeFirebase, rsa_private_pem
from warta.domain.channels import Channel, OutboundMessage, SendResult
from warta.errors import (
    ConfigurationError,
    ContactGone,
    DeliveryError,
    ProviderUnavailable,
    TechnicalFailure,
    TemporaryFailure,
)

NOTIFICATION_ID = "0d5b6a1e-0000-4000-8000-000000000001"
TOKEN = "dQw4w9WgXcQ:APA91bHun4MxP5egoKMwt2KZFBaFUH-1RYqx" + "k" * 100
BODY = "Jadwal vaksinasi Anda: Senin, 14 Juli, pukul 09.00 di Puskesmas Menteng."
INBOX_URL = "https://warta.example.go.id/portal/inbox/0d5b6a1e"


def push(**changes: Any) -> OutboundMessage:
    fields: dict[str, Any] = {
        "notification_id": NOTIFICATION_ID,
        "attempt": 1,
        "channel": "push",
        "to": f"fcm:{TOKEN}",
        "sender": "Dinas Kesehatan DKI",
        "body": BODY,
        "subject": "Pengingat vaksinasi",
        "url": INBOX_URL,
    }
    return OutboundMessage(**(fields | changes))


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Sleeps(list[float]):
    """Records each backoff and yields to the loop instead of waiting."""

    async def __call__(self, seconds: float) -> None:
        self.append(seconds)
        await asyncio.sleep(0)


@pytest.fixture
async def firebase() -> AsyncIterator[FakeFirebase]:
    async with FakeFirebase().running() as running:
        yield running


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def channel_for(
    firebase: FakeFirebase,
    http: httpx.AsyncClient,
    *,
    account: dict[str, str] | None = None,
    base_url: str | None = None,
    **kwargs: Any,
) -> FcmChannel:
    options = {key: kwargs.pop(key) for key in ("retries", "backoff_base") if key in kwargs}
    config = FcmConfig(
        account or firebase.service_account(), base_url=base_url or firebase.url, **options
    )
    return FcmChannel(config, http, **kwargs)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed again: nothing listens there


# -- a send arrives ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "notification", "data", "android", "apns_priority"),
    [
        pytest.param(
            {},
            {"title": "Pengingat vaksinasi", "body": BODY},
            {"notification_id": NOTIFICATION_ID, "url": INBOX_URL},
            {"priority": "NORMAL", "ttl": "86400s"},
            "5",
            id="normal",
        ),
        pytest.param(
            {"urgent": True, "ttl": 600},
            {"title": "Pengingat vaksinasi", "body": BODY},
            {"notification_id": NOTIFICATION_ID, "url": INBOX_URL},
            {"priority": "HIGH", "ttl": "600s"},
            "10",
            id="urgent",
        ),
        pytest.param(
            {"subject": None, "url": None},
            {"title": "Dinas Kesehatan DKI", "body": BODY},
            {"notification_id": NOTIFICATION_ID},
            {"priority": "NORMAL", "ttl": "86400s"},
            "5",
            id="no-subject-no-url",
        ),
    ],
)
async def test_a_send_arrives_with_title_body_data_and_priority(
    firebase: FakeFirebase,
    http: httpx.AsyncClient,
    changes: dict[str, Any],
    notification: dict[str, str],
    data: dict[str, str],
    android: dict[str, str],
    apns_priority: str,
) -> None:
    channel: Channel = channel_for(firebase, http)
    result = await channel.send(push(**changes))
    [delivery] = firebase.deliveries
    assert delivery == Delivery(
        name=delivery.name,
        token=TOKEN,
        notification=notification,
        data=data,
        android=android,
        apns={"headers": {"apns-priority": apns_priority}},
    )
    assert delivery.name.startswith(f"projects/{PROJECT_ID}/messages/0:")
    assert result == SendResult(
        status="delivered", provider_reference=delivery.name, provider="fcm"
    )


# -- the access token -------------------------------------------------------------------


async def test_one_access_token_serves_many_sends_even_concurrent_ones(
    firebase: FakeFirebase, http: httpx.AsyncClient
) -> None:
    channel = channel_for(firebase, http)
    await asyncio.gather(*(channel.send(push()) for _ in range(10)))
    for _ in range(5):
        await channel.send(push())
    assert (firebase.token_requests, len(firebase.deliveries)) == (1, 15)


async def test_the_access_token_is_fetched_again_a_minute_before_it_expires(
    firebase: FakeFirebase, http: httpx.AsyncClient
) -> None:
    clock = Clock()
    channel = channel_for(firebase, http, clock=clock)
    await channel.send(push())
    clock.now += firebase.expires_in - 61
    await channel.send(push())
    assert firebase.token_requests == 1
    clock.now += 1
    await channel.send(push())
    await channel.send(push())
    assert (firebase.token_requests, len(firebase.deliveries)) == (2, 4)


async def test_a_token_the_server_no_longer_takes_is_replaced_once_and_the_send_goes_out(
    firebase: FakeFirebase, http: httpx.AsyncClient
) -> None:
    channel = channel_for(firebase, http)
    await channel.send(push())
    firebase.expire_tokens()
    result = await channel.send(push())
    assert result.status == "delivered"
    assert (firebase.token_requests, firebase.send_requests, len(firebase.deliveries)) == (2, 3, 2)


async def test_a_fresh_token_refused_too_is_a_technical_failure(
    http: httpx.AsyncClient,
) -> None:
    async with FakeFirebase(expires_in=0).running() as firebase:  # every token born dead
        with pytest.raises(TechnicalFailure) as caught:
            await channel_for(firebase, http).send(push())
    assert str(caught.value) == "FCM answered HTTP 401: a fresh access token was refused too"
    assert (firebase.token_requests, firebase.send_requests) == (2, 2)


async def test_a_key_the_token_endpoint_does_not_know_is_a_technical_failure(
    firebase: FakeFirebase, http: httpx.AsyncClient
) -> None:
    account = firebase.service_account() | {"private_key": rsa_private_pem()}
    with pytest.raises(TechnicalFailure) as caught:
        await channel_for(firebase, http, account=account).send(push())
    assert str(caught.value) == (
        "FCM token endpoint answered HTTP 400 (invalid_grant): the service account key was refused"
    )
    assert (firebase.token_requests, firebase.send_requests) == (1, 0)


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"client_email": "someone@else.iam.gserviceaccount.com"}, id="iss"),
        pytest.param({"private_key_id": "0" * 40}, id="kid"),
    ],
)
async def test_the_token_endpoint_checks_who_signed(
    firebase: FakeFirebase, http: httpx.AsyncClient, change: dict[str, str]
) -> None:
    account = firebase.service_account() | change
    with pytest.raises(TechnicalFailure, match=r"HTTP 400 \(invalid_grant\)"):
        await channel_for(firebase, http, account=account).send(push())
    assert firebase.send_requests == 0


@pytest.mark.parametrize(
    ("status", "expected", "message"),
    [
        pytest.param(
            503,
            ProviderUnavailable,
            "FCM token endpoint answered HTTP 503 (internal_failure)",
            id="unavailable",
        ),
        pytest.param(
            429,
            TemporaryFailure,
            "FCM token endpoint answered HTTP 429 (rate_limit_exceeded)",
            id="throttled",
        ),
    ],
)
async def test_a_failing_token_endpoint(
    firebase: FakeFirebase,
    http: httpx.AsyncClient,
    status: int,
    expected: type[DeliveryError],
    message: str,
) -> None:
    firebase.fail_token_next(status=status)
    with pytest.raises(expected) as caught:
        await channel_for(firebase, http).send(push())
    assert str(caught.value) == message
    assert firebase.send_requests == 0


# -- FCM's answers ----------------------------------------------------------------------


async def test_an_unregistered_token_is_a_contact_gone(
    firebase: FakeFirebase, http: httpx.AsyncClient
) -> None:
    firebase.unregistered.add(TOKEN)
    with pytest.raises(ContactGone) as caught:
        await channel_for(firebase, http).send(push())
    assert str(caught.value) == (
        "FCM answered HTTP 404 (UNREGISTERED): the app was uninstalled or the token expired"
    )
    assert TOKEN not in str(caught.value)


async def test_a_malformed_token_is_a_contact_gone(
    firebase: FakeFirebase, http: httpx.AsyncClient
) -> None:
    with pytest.raises(ContactGone) as caught:
        await channel_for(firebase, http).send(push(to="fcm:not-a-token"))
    assert str(caught.value) == (
        "FCM answered HTTP 400 (INVALID_ARGUMENT): the registration token is not valid"
    )


@pytest.mark.parametrize(
    ("failure", "expected", "message"),
    [
        pytest.param(
            {"status": 403, "rpc_status": "PERMISSION_DENIED", "error_code": "SENDER_ID_MISMATCH"},
            ContactGone,
            "FCM answered HTTP 403 (SENDER_ID_MISMATCH): the token belongs to another "
            "Firebase project",
            id="sender-id-mismatch",
        ),
        pytest.param(
            {
                "status": 400,
                "rpc_status": "INVALID_ARGUMENT",
                "error_code": "INVALID_ARGUMENT",
                "field": "message.android.ttl",
            },
            TechnicalFailure,
            "FCM answered HTTP 400 (INVALID_ARGUMENT)",
            id="invalid-payload",
        ),
        pytest.param(
            {
                "status": 401,
                "rpc_status": "UNAUTHENTICATED",
                "error_code": "THIRD_PARTY_AUTH_ERROR",
            },
            TechnicalFailure,
            "FCM answered HTTP 401 (THIRD_PARTY_AUTH_ERROR): the APNs or Web Push "
            "credentials in Firebase are wrong",
            id="third-party-auth",
        ),
        pytest.param(
            {"status": 403, "rpc_status": "PERMISSION_DENIED"},
            TechnicalFailure,
            "FCM answered HTTP 403: check the project id and the service account's role",
            id="permission-denied",
        ),
        pytest.param(
            {"status": 404, "rpc_status": "NOT_FOUND"},
            TechnicalFailure,
            "FCM answered HTTP 404: check the project id and the service account's role",
            id="not-found-without-code",
        ),
    ],
)
async def test_final_answers_are_translated_without_a_resend(
    firebase: FakeFirebase,
    http: httpx.AsyncClient,
    failure: dict[str, Any],
    expected: type[DeliveryError],
    message: str,
) -> None:
    firebase.fail_next(**failure)
    with pytest.raises(DeliveryError) as caught:
        await channel_for(firebase, http).send(push())
    assert (type(caught.value), str(caught.value)) == (expected, message)
    assert (firebase.send_requests, firebase.token_requests) == (1, 1)


# -- resends inside one send ------------------------------------------------------------


async def test_quota_exceeded_twice_then_delivered_waits_as_told(
    firebase: FakeFirebase, http: httpx.AsyncClient
) -> None:
    firebase.fail_next(
        2, status=429, rpc_status="RESOURCE_EXHAUSTED", error_code="QUOTA_EXCEEDED", retry_after="1"
    )
    sleeps = Sleeps()
    result = await channel_for(firebase, http, sleep=sleeps).send(push())
    assert result.status == "delivered"
    assert (firebase.send_requests, len(firebase.deliveries)) == (3, 1)
    assert sleeps == [1.0, 1.0]


@pytest.mark.parametrize(
    ("failure", "expected", "message"),
    [
        pytest.param(
            {"status": 503, "rpc_status": "UNAVAILABLE", "error_code": "UNAVAILABLE"},
            ProviderUnavailable,
            "FCM answered HTTP 503 (UNAVAILABLE)",
            id="unavailable",
        ),
        pytest.param(
            {"status": 500, "rpc_status": "INTERNAL", "error_code": "INTERNAL"},
            ProviderUnavailable,
            "FCM answered HTTP 500 (INTERNAL)",
            id="internal",
        ),
        pytest.param(
            {"status": 429, "rpc_status": "RESOURCE_EXHAUSTED", "error_code": "QUOTA_EXCEEDED"},
            TemporaryFailure,
            "FCM answered HTTP 429 (QUOTA_EXCEEDED)",
            id="quota-exceeded",
        ),
    ],
)
async def test_a_failure_beyond_the_resends_is_left_to_the_pipeline(
    firebase: FakeFirebase,
    http: httpx.AsyncClient,
    failure: dict[str, Any],
    expected: type[DeliveryError],
    message: str,
) -> None:
    firebase.fail_next(3, **failure)
    with pytest.raises(DeliveryError) as caught:
        # Real sleeps, kept tiny: 1 ms then 2 ms at most.
        await channel_for(firebase, http, backoff_base=0.002).send(push())
    assert (type(caught.value), str(caught.value)) == (expected, message)
    assert (firebase.send_requests, firebase.deliveries) == (3, [])


async def test_the_backoff_doubles_with_jitter(
    firebase: FakeFirebase, http: httpx.AsyncClient
) -> None:
    firebase.fail_next(5, status=503, rpc_status="UNAVAILABLE", error_code="UNAVAILABLE")
    sleeps = Sleeps()
    with pytest.raises(ProviderUnavailable):
        await channel_for(firebase, http, retries=4, backoff_base=2.0, sleep=sleeps).send(push())
    low_high = [(1.0, 2.0), (2.0, 4.0), (2.5, 5.0), (2.5, 5.0)]  # capped at 5 s
    assert len(sleeps) == 4
    assert all(low <= s <= high for s, (low, high) in zip(sleeps, low_high, strict=True))


async def test_a_retry_after_longer_than_the_cap_is_left_to_the_pipeline(
    firebase: FakeFirebase, http: httpx.AsyncClient
) -> None:
    firebase.fail_next(
        status=429, rpc_status="RESOURCE_EXHAUSTED", error_code="QUOTA_EXCEEDED", retry_after="60"
    )
    sleeps = Sleeps()
    with pytest.raises(TemporaryFailure):
        await channel_for(firebase, http, sleep=sleeps).send(push())
    assert (firebase.send_requests, sleeps) == (1, [])


# -- unreachable, misaddressed, closed --------------------------------------------------


@pytest.mark.parametrize(
    ("closed", "message"),
    [
        pytest.param("token", "cannot reach the FCM token endpoint: ConnectError", id="token"),
        pytest.param("fcm", "cannot reach FCM: ConnectError", id="fcm"),
    ],
)
async def test_a_closed_port_is_provider_unavailable(
    firebase: FakeFirebase, http: httpx.AsyncClient, closed: str, message: str
) -> None:
    nowhere = f"http://127.0.0.1:{closed_port()}"
    if closed == "token":
        channel = channel_for(firebase, http, account=firebase.service_account(nowhere + "/token"))
    else:
        channel = channel_for(firebase, http, base_url=nowhere)
    with pytest.raises(ProviderUnavailable) as caught:
        await channel.send(push())
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        pytest.param(
            {"to": TOKEN}, "FCM channel needs an fcm:<registration token> address", id="no-prefix"
        ),
        pytest.param(
            {"to": "fcm:"}, "FCM channel needs an fcm:<registration token> address", id="empty"
        ),
        pytest.param(
            {"to": '{"endpoint": "https://push.example/x"}'},
            "FCM channel needs an fcm:<registration token> address",
            id="web-push-subscription",
        ),
        pytest.param(
            {"channel": "sms", "to": "+6281234567890"},
            "sms message routed to the FCM channel",
            id="sms",
        ),
    ],
)
async def test_a_message_that_is_not_for_fcm_is_refused(
    firebase: FakeFirebase, http: httpx.AsyncClient, changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(TechnicalFailure) as caught:
        await channel_for(firebase, http).send(push(**changes))
    assert str(caught.value) == message
    assert (firebase.token_requests, firebase.send_requests) == (0, 0)


async def test_a_closed_channel_refuses_retryably_and_leaves_a_shared_client_open(
    firebase: FakeFirebase, http: httpx.AsyncClient
) -> None:
    channel = channel_for(firebase, http)
    await channel.aclose()
    with pytest.raises(ProviderUnavailable, match=r"^FCM channel is closed$"):
        await channel.send(push())
    assert not http.is_closed


async def test_a_channel_closes_the_client_it_made(firebase: FakeFirebase) -> None:
    channel = FcmChannel(FcmConfig(firebase.service_account(), base_url=firebase.url))
    assert (await channel.send(push())).status == "delivered"
    await channel.aclose()
    assert channel._http.is_closed


# -- configuration ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mangle", "message"),
    [
        *(
            pytest.param(
                lambda a, name=name: {k: v for k, v in a.items() if k != name},
                f"FCM service account JSON is missing {name}",
                id=f"missing-{name}",
            )
            for name in ("project_id", "client_email", "private_key", "private_key_id", "token_uri")
        ),
        pytest.param(
            lambda a: a | {"private_key_id": ""},
            "FCM service account JSON is missing private_key_id",
            id="empty-private_key_id",
        ),
        pytest.param(
            lambda a: a | {"type": "authorized_user"},
            'FCM service account JSON must have "type": "service_account"',
            id="user-credentials",
        ),
        pytest.param(
            lambda a: a | {"private_key": a["private_key"][:200]},
            "FCM service account private_key is not an unencrypted PEM key",
            id="truncated-key",
        ),
        pytest.param(
            lambda a: a | {"token_uri": "oauth2.googleapis.com/token"},
            "FCM service account token_uri must be an http(s) URL",
            id="token-uri-not-a-url",
        ),
        pytest.param(lambda a: [a], "FCM service account must be a JSON object", id="a-list"),
    ],
)
def test_a_bad_service_account_names_the_field_and_never_the_key(mangle: Any, message: str) -> None:
    account = FakeFirebase().service_account("https://oauth2.googleapis.com/token")
    with pytest.raises(ConfigurationError) as caught:
        FcmConfig.from_json(json.dumps(mangle(account)))
    assert str(caught.value) == message
    assert caught.value.__cause__ is None  # nothing chained that could quote the key


def test_text_that_is_not_json_is_refused_without_quoting_it() -> None:
    with pytest.raises(ConfigurationError) as caught:
        FcmConfig.from_json('{"private_key": "-----BEGIN PRIVATE KEY-----\nMIIE')
    assert str(caught.value) == "FCM service account is not valid JSON"
    assert caught.value.__cause__ is None


async def test_a_good_service_account_shows_no_secret(
    firebase: FakeFirebase, http: httpx.AsyncClient
) -> None:
    account = firebase.service_account("https://oauth2.googleapis.com/token")
    config = FcmConfig.from_json(json.dumps(account), timeout=5.0)
    assert config.messages_url == (
        f"https://fcm.googleapis.com/v1/projects/{PROJECT_ID}/messages:send"
    )
    assert config.timeout == 5.0
    shown = repr(config) + repr(FcmChannel(config, http))
    assert "PRIVATE KEY" not in shown and PROJECT_ID in shown
