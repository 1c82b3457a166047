"""HttpSmsChannel against a Twilio-shaped gateway on 127.0.0.1, and the webhooks it calls.

No mocks: sends cross a loopback socket to ``tests.peers.twilio_like``; webhooks go into
Warta's real FastAPI app (built by ``create_app`` over a SQLite Warta), through httpx's
ASGI transport or, for the end-to-end loop, over a socket uvicorn serves.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.integration.harness import make_settings
from tests.peers.twilio_like import ACCOUNT_SID, AUTH_TOKEN, TwilioLike, twilio_signature
from warta.api import providers as provider_webhooks
from warta.api.app import create_app
from warta.bootstrap import Warta, bootstrap
from warta.channels.capture import RecordingChannel
from warta.channels.providers import parse_provider
from warta.channels.sms_http import HttpSmsChannel, callback_url
from warta.devpeers.loopback import serve_asgi
from warta.domain.channels import Channel, InboundSms, OutboundMessage, Receipt, SendResult
from warta.errors import (
    ContentFault,
    DeliveryError,
    PermanentFailure,
    ProviderUnavailable,
    TechnicalFailure,
    TemporaryFailure,
)
from warta.settings import Settings
from warta.store.outbox import Outbox

PROVIDER = "aggregator"
PHONE = "+6281234567890"
PHONE_OFF = "+6281298765432"
BODY = "Kode verifikasi Anda 482913. Jangan berikan kepada siapa pun."
WARTA = "http://warta.test"
STATUS_PATH = f"/providers/sms/{PROVIDER}/status"
INBOUND_PATH = f"/providers/sms/{PROVIDER}/inbound"


def sms(**changes: Any) -> OutboundMessage:
    fields: dict[str, Any] = {
        "notification_id": "0d5b6a1e-0000-4000-8000-000000000001",
        "attempt": 1,
        "channel": "sms",
        "to": PHONE,
        "sender": "DINKES",
        "body": BODY,
    }
    return OutboundMessage(**(fields | changes))


def http_channel(
    base_url: str,
    http: httpx.AsyncClient,
    *,
    token: str = AUTH_TOKEN,
    options: str = "",
    callback: str = f"{WARTA}{STATUS_PATH}",
) -> HttpSmsChannel:
    url = base_url.replace("http://", f"http://{ACCOUNT_SID}:{token}@", 1)
    config = parse_provider(f"{url}/?name={PROVIDER}{options}")
    return HttpSmsChannel.from_config(config, http, status_callback_url=callback)


class CollectingEvents:
    """``ProviderEvents`` that keeps what it is told, in order."""

    def __init__(self) -> None:
        self.receipts: list[Receipt] = []
        self.inbound_messages: list[InboundSms] = []

    async def receipt(self, receipt: Receipt) -> None:
        self.receipts.append(receipt)

    async def inbound(self, message: InboundSms) -> None:
        self.inbound_messages.append(message)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
async def gateway() -> AsyncIterator[TwilioLike]:
    async with TwilioLike(undelivered={PHONE_OFF: "30003"}).running() as running:
        yield running


@contextlib.asynccontextmanager
async def warta_api(
    settings: Settings, providers: Mapping[str, Channel], events: CollectingEvents | None
) -> AsyncIterator[FastAPI]:
    """Warta's ASGI app with the provider webhooks, its lifespan running."""

    async def build(s: Settings) -> Warta:
        outbox = Outbox()
        app = await bootstrap(
            s,
            channels={
                "email": RecordingChannel("email", outbox),
                "sms": RecordingChannel("sms", outbox),
            },
        )
        app.events = events
        app.sms_providers = providers
        return app

    api = create_app(settings, build=build)
    if not any(getattr(route, "path", "").startswith("/providers") for route in api.routes):
        api.include_router(provider_webhooks.router)  # until app.py includes it
    async with api.router.lifespan_context(api):
        yield api


class Webhooks:
    """Posts to Warta's webhooks the way the gateway does, signed unless told otherwise."""

    def __init__(self, client: httpx.AsyncClient, events: CollectingEvents) -> None:
        self.client = client
        self.events = events

    async def post(
        self,
        path: str,
        params: dict[str, str],
        *,
        token: str = AUTH_TOKEN,
        signed_url: str | None = None,
        signature: str | None = None,
    ) -> httpx.Response:
        if signature is None:
            signature = twilio_signature(token, signed_url or f"{WARTA}{path}", params)
        headers = {"X-Twilio-Signature": signature} if signature else {}
        return await self.client.post(path, data=params, headers=headers)


@contextlib.asynccontextmanager
async def webhooks_of(
    settings: Settings, http: httpx.AsyncClient, events: CollectingEvents | None
) -> AsyncIterator[Webhooks]:
    providers: dict[str, Channel] = {
        # Never called in these tests: the webhooks only read its name and token.
        PROVIDER: http_channel("http://127.0.0.1:9", http),
        "telkomsel": RecordingChannel("sms", Outbox()),  # not an HTTP gateway: no webhooks
    }
    async with warta_api(settings, providers, events) as api:
        transport = httpx.ASGITransport(app=api)
        async with httpx.AsyncClient(transport=transport, base_url=WARTA) as client:
            yield Webhooks(client, events or CollectingEvents())


@pytest.fixture
def settings(sqlite_url: str, tmp_path: Path) -> Settings:
    return make_settings(sqlite_url, tmp_path, run_workers=False)


@pytest.fixture
async def webhooks(settings: Settings, http: httpx.AsyncClient) -> AsyncIterator[Webhooks]:
    async with webhooks_of(settings, http, CollectingEvents()) as running:
        yield running


def status(sid: str = "SM5f2c", message_status: str = "delivered", **extra: str) -> dict[str, str]:
    return {
        "AccountSid": ACCOUNT_SID,
        "MessageSid": sid,
        "SmsSid": sid,
        "MessageStatus": message_status,
        "SmsStatus": message_status,
        "From": "DINKES",
        "To": PHONE,
        "ApiVersion": "2010-04-01",
        **extra,
    }


# -- sending ----------------------------------------------------------------------------


async def test_send_reaches_the_gateway_and_answers_with_its_sid(
    gateway: TwilioLike, http: httpx.AsyncClient
) -> None:
    result = await http_channel(gateway.url, http).send(sms())

    [accepted] = gateway.accepted
    assert (accepted.to, accepted.sender, accepted.body) == (PHONE, "DINKES", BODY)
    assert accepted.account_sid == ACCOUNT_SID  # the gateway checked Basic auth sid:token
    assert accepted.status_callback == f"{WARTA}{STATUS_PATH}"
    assert result == SendResult(
        status="sending",
        provider_reference=accepted.sid,
        provider=PROVIDER,
        parts=(accepted.sid,),
    )


async def test_the_from_option_overrides_the_agencys_sender(
    gateway: TwilioLike, http: httpx.AsyncClient
) -> None:
    await http_channel(gateway.url, http, options="&from=%2B6281100001111").send(sms())
    assert gateway.accepted[0].sender == "+6281100001111"


async def test_without_a_callback_url_none_is_sent(
    gateway: TwilioLike, http: httpx.AsyncClient
) -> None:
    await http_channel(gateway.url, http, callback="").send(sms())
    assert gateway.accepted[0].status_callback is None


@pytest.mark.parametrize(
    ("status_code", "code", "error", "message"),
    [
        pytest.param(500, None, ProviderUnavailable, "answered HTTP 500", id="500"),
        # It may hold the message: no retry, or it could go out twice.
        pytest.param(
            200, None, TechnicalFailure, "answered HTTP 200 without a message sid", id="no-sid"
        ),
        pytest.param(503, 20503, ProviderUnavailable, "answered HTTP 503 (error 20503)", id="503"),
        pytest.param(429, 20429, TemporaryFailure, "answered HTTP 429 (error 20429)", id="429"),
        pytest.param(400, 21211, PermanentFailure, "answered HTTP 400 (error 21211)", id="21211"),
        pytest.param(400, 21614, PermanentFailure, "answered HTTP 400 (error 21614)", id="21614"),
        pytest.param(400, 21610, PermanentFailure, "answered HTTP 400 (error 21610)", id="21610"),
        # The account may not send to this country: another provider might.
        pytest.param(400, 21408, TechnicalFailure, "answered HTTP 400 (error 21408)", id="21408"),
        # The message's fault (no body, too long, a sender it will not use): the next
        # provider would refuse it too, so it must not count against this one.
        pytest.param(400, 21602, ContentFault, "answered HTTP 400 (error 21602)", id="21602"),
        pytest.param(400, 21617, ContentFault, "answered HTTP 400 (error 21617)", id="21617"),
        pytest.param(400, 21212, ContentFault, "answered HTTP 400 (error 21212)", id="21212"),
        pytest.param(400, None, TechnicalFailure, "answered HTTP 400", id="400-no-code"),
        pytest.param(404, 20404, TechnicalFailure, "answered HTTP 404 (error 20404)", id="404"),
        pytest.param(
            403,
            20003,
            TechnicalFailure,
            "answered HTTP 403 (error 20003): the account SID or auth token is wrong",
            id="403",
        ),
    ],
)
async def test_gateway_errors_become_warta_errors(
    gateway: TwilioLike,
    http: httpx.AsyncClient,
    status_code: int,
    code: int | None,
    error: type[DeliveryError],
    message: str,
) -> None:
    gateway.fail_next(status=status_code, code=code)
    with pytest.raises(DeliveryError) as caught:
        await http_channel(gateway.url, http).send(sms())
    assert type(caught.value) is error
    assert str(caught.value) == f"SMS gateway {PROVIDER} {message}"


async def test_the_gateways_own_refusal_of_a_number_does_not_leak_it(
    gateway: TwilioLike, http: httpx.AsyncClient
) -> None:
    with pytest.raises(PermanentFailure) as caught:
        await http_channel(gateway.url, http).send(sms(to="0812345"))
    # The gateway's text said "The 'To' number 0812345 is not a valid phone number."
    assert str(caught.value) == f"SMS gateway {PROVIDER} answered HTTP 400 (error 21211)"
    assert gateway.accepted == []


async def test_wrong_auth_token_is_a_technical_failure(
    gateway: TwilioLike, http: httpx.AsyncClient
) -> None:
    with pytest.raises(TechnicalFailure) as caught:
        await http_channel(gateway.url, http, token="wrong").send(sms())
    assert str(caught.value) == (
        f"SMS gateway {PROVIDER} answered HTTP 401 (error 20003): "
        "the account SID or auth token is wrong"
    )
    assert gateway.accepted == []


async def test_connection_refused_is_provider_unavailable(http: httpx.AsyncClient) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    with pytest.raises(ProviderUnavailable) as caught:
        await http_channel(f"http://127.0.0.1:{port}", http).send(sms())
    assert str(caught.value) == f"cannot reach SMS gateway {PROVIDER}: ConnectError"


async def test_a_gateway_that_does_not_answer_in_time_is_provider_unavailable(
    gateway: TwilioLike, http: httpx.AsyncClient
) -> None:
    gateway.fail_next(status=500, stall=True)
    with pytest.raises(ProviderUnavailable) as caught:
        await http_channel(gateway.url, http, options="&timeout=0.2").send(sms())
    assert str(caught.value) == f"cannot reach SMS gateway {PROVIDER}: ReadTimeout"


async def test_a_closed_channel_refuses_to_send_but_retryably(
    gateway: TwilioLike, http: httpx.AsyncClient
) -> None:
    channel = http_channel(gateway.url, http)
    await channel.start()
    await channel.aclose()
    with pytest.raises(ProviderUnavailable):
        await channel.send(sms())
    assert gateway.accepted == []
    assert not http.is_closed  # the shared client belongs to Warta


async def test_an_email_is_refused(http: httpx.AsyncClient) -> None:
    with pytest.raises(TechnicalFailure, match=r"^email message routed to the SMS channel$"):
        await http_channel("http://127.0.0.1:9", http).send(
            sms(channel="email", to="budi@contoh.id")
        )


# -- webhooks ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        pytest.param({}, Receipt(PROVIDER, "SM5f2c", "delivered", "delivered"), id="delivered"),
        pytest.param(
            {"MessageStatus": "undelivered", "ErrorCode": "30003"},
            Receipt(PROVIDER, "SM5f2c", "temporary-failure", "undelivered 30003"),
            id="phone-off",
        ),
        pytest.param(
            {"MessageStatus": "undelivered", "ErrorCode": "30005"},
            Receipt(PROVIDER, "SM5f2c", "permanent-failure", "undelivered 30005"),
            id="unknown-number",
        ),
    ],
)
async def test_a_signed_status_callback_becomes_a_receipt(
    webhooks: Webhooks, fields: dict[str, str], expected: Receipt
) -> None:
    response = await webhooks.post(STATUS_PATH, status() | fields)
    assert (response.status_code, response.content) == (204, b"")
    assert webhooks.events.receipts == [expected]


async def test_a_status_that_is_not_final_is_acknowledged_and_kept_back(
    webhooks: Webhooks,
) -> None:
    response = await webhooks.post(STATUS_PATH, status(message_status="sent"))
    assert response.status_code == 204
    assert webhooks.events.receipts == []


@pytest.mark.parametrize(
    ("signing", "message"),
    [
        pytest.param(
            {"signature": ""}, "Missing X-Twilio-Signature header", id="missing-signature"
        ),
        pytest.param(
            {"token": "another-accounts-token"},
            "X-Twilio-Signature does not match: check the provider's auth token and "
            "WARTA_PUBLIC_URL",
            id="wrong-token",
        ),
        pytest.param(
            {"signed_url": f"https://elsewhere.example{STATUS_PATH}"},
            "X-Twilio-Signature does not match: check the provider's auth token and "
            "WARTA_PUBLIC_URL",
            id="signed-for-another-url",
        ),
    ],
)
async def test_an_unsigned_or_forged_status_is_refused(
    webhooks: Webhooks, signing: dict[str, str], message: str
) -> None:
    response = await webhooks.post(STATUS_PATH, status(), **signing)
    assert response.status_code == 403
    assert response.json() == {
        "status_code": 403,
        "errors": [{"error": "AuthError", "message": message}],
    }
    assert webhooks.events.receipts == []


async def test_a_tampered_status_is_refused(webhooks: Webhooks) -> None:
    signature = twilio_signature(AUTH_TOKEN, f"{WARTA}{STATUS_PATH}", status())
    forged = status(message_status="undelivered", ErrorCode="30005")
    response = await webhooks.post(STATUS_PATH, forged, signature=signature)
    assert response.status_code == 403
    assert webhooks.events.receipts == []


@pytest.mark.parametrize("path", [STATUS_PATH, INBOUND_PATH])
@pytest.mark.parametrize("provider", ["nobody", "telkomsel"], ids=["unknown", "smpp-provider"])
async def test_webhooks_of_a_provider_that_is_no_http_gateway_are_not_found(
    webhooks: Webhooks, path: str, provider: str
) -> None:
    response = await webhooks.post(path.replace(PROVIDER, provider), status())
    assert response.status_code == 404
    assert response.json() == {
        "status_code": 404,
        "errors": [{"error": "NoResultFound", "message": "No result found"}],
    }


async def test_a_signed_status_without_a_message_sid_is_a_bad_request(
    webhooks: Webhooks,
) -> None:
    params = status()
    del params["MessageSid"], params["SmsSid"]
    response = await webhooks.post(STATUS_PATH, params)
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"error": "BadRequestError", "message": "status callback has no MessageSid"}
    ]


async def test_a_signed_inbound_text_reaches_events_and_gets_empty_twiml(
    webhooks: Webhooks,
) -> None:
    params = {
        "AccountSid": ACCOUNT_SID,
        "MessageSid": "SM9e11",
        "From": PHONE,
        "To": "1708",
        "Body": "Ya, saya hadir 👍",
        "NumSegments": "1",
    }
    response = await webhooks.post(INBOUND_PATH, params)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/xml")
    assert response.text == '<?xml version="1.0" encoding="UTF-8"?><Response/>'
    assert webhooks.events.inbound_messages == [
        InboundSms(PROVIDER, PHONE, "1708", "Ya, saya hadir 👍")
    ]


async def test_a_forged_inbound_text_is_refused(webhooks: Webhooks) -> None:
    params = {"MessageSid": "SM9e11", "From": PHONE, "To": "1708", "Body": "STOP"}
    response = await webhooks.post(INBOUND_PATH, params, token="guess")
    assert response.status_code == 403
    assert webhooks.events.inbound_messages == []


async def test_behind_a_proxy_the_public_url_is_what_was_signed(
    sqlite_url: str, tmp_path: Path, http: httpx.AsyncClient
) -> None:
    public = "https://warta.example.go.id"
    settings = make_settings(sqlite_url, tmp_path, run_workers=False, public_url=public + "/")
    events = CollectingEvents()
    async with webhooks_of(settings, http, events) as webhooks:
        by_public = await webhooks.post(STATUS_PATH, status(), signed_url=public + STATUS_PATH)
        by_internal = await webhooks.post(STATUS_PATH, status("SM2"))
    assert (by_public.status_code, by_internal.status_code) == (204, 403)
    assert [r.reference for r in events.receipts] == ["SM5f2c"]


async def test_without_events_wired_a_receipt_is_refused_not_dropped(
    settings: Settings, http: httpx.AsyncClient
) -> None:
    async with webhooks_of(settings, http, None) as webhooks:
        response = await webhooks.post(STATUS_PATH, status())
    assert response.status_code == 503
    assert response.json()["errors"] == [
        {
            "error": "ServiceUnavailable",
            "message": "Provider events are not handled by this process",
        }
    ]


async def test_the_gateways_own_callbacks_reach_a_running_warta(
    settings: Settings, gateway: TwilioLike, http: httpx.AsyncClient
) -> None:
    events = CollectingEvents()
    providers: dict[str, Channel] = {}
    async with warta_api(settings, providers, events) as api, serve_asgi(api) as warta_url:
        channel = http_channel(gateway.url, http, callback=callback_url(warta_url, PROVIDER))
        providers[PROVIDER] = channel  # the Warta holds this very dict
        delivered = await channel.send(sms())
        phone_off = await channel.send(sms(to=PHONE_OFF))
        callbacks = await gateway.wait_callbacks(4)  # sent and final, for each

    assert [c.answer for c in callbacks] == [204] * 4
    assert set(events.receipts) == {
        Receipt(PROVIDER, str(delivered.provider_reference), "delivered", "delivered"),
        Receipt(
            PROVIDER, str(phone_off.provider_reference), "temporary-failure", "undelivered 30003"
        ),
    }
