"""The pure parts of the HTTP SMS gateway channel: signatures, receipts, inbound, config."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.peers.twilio_like import twilio_signature
from warta.channels.providers import parse_provider
from warta.channels.sms_http import (
    HttpSmsChannel,
    callback_url,
    inbound_from_params,
    signature,
    status_to_receipt,
    verify,
)
from warta.domain.channels import InboundSms, Receipt
from warta.errors import ConfigurationError, InvalidInput

TOKEN = "12345"
# Twilio's documented example (docs "Webhooks security", validating signatures).
DOC_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
DOC_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+12349013030",
    "Digits": "1234",
    "From": "+12349013030",
    "To": "+18005551212",
}
DOC_SIGNATURE = "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
CALLBACK = "https://warta.example.go.id/providers/sms/agg/status"
STATUS = {"MessageSid": "SM0a1b", "MessageStatus": "delivered", "To": "+6281234567890"}


def test_signature_matches_twilios_documented_example() -> None:
    assert signature(TOKEN, DOC_URL, DOC_PARAMS) == DOC_SIGNATURE
    # The test gateway signs with its own code: both must agree with Twilio.
    assert twilio_signature(TOKEN, DOC_URL, DOC_PARAMS) == DOC_SIGNATURE


@pytest.mark.parametrize(
    ("params", "same_as"),
    [
        pytest.param(list(reversed(DOC_PARAMS.items())), DOC_PARAMS, id="order-of-fields"),
        pytest.param({}, [], id="no-fields"),
        pytest.param(
            [("Body", "b"), ("Body", "a")], [("Body", "a"), ("Body", "b")], id="repeated-name"
        ),
    ],
)
def test_signature_does_not_depend_on_field_order(params: Any, same_as: Any) -> None:
    assert signature(TOKEN, CALLBACK, params) == signature(TOKEN, CALLBACK, same_as)


def test_signature_of_no_fields_is_the_url_alone() -> None:
    assert signature(TOKEN, CALLBACK, {}) == twilio_signature(TOKEN, CALLBACK, {})


def test_signature_covers_non_ascii_text_as_utf8() -> None:
    params = {"Body": "Terima kasih 🙏 — sampai jumpa"}
    assert signature(TOKEN, CALLBACK, params) == twilio_signature(TOKEN, CALLBACK, params)


@pytest.mark.parametrize(
    ("url", "params", "header", "valid"),
    [
        pytest.param(DOC_URL, DOC_PARAMS, DOC_SIGNATURE, True, id="documented-example"),
        pytest.param(DOC_URL, DOC_PARAMS, None, False, id="missing-header"),
        pytest.param(DOC_URL, DOC_PARAMS, "", False, id="empty-header"),
        pytest.param(DOC_URL, DOC_PARAMS, DOC_SIGNATURE[:-1], False, id="truncated"),
        pytest.param(DOC_URL, DOC_PARAMS, DOC_SIGNATURE.lower(), False, id="case-changed"),
        pytest.param(
            DOC_URL, DOC_PARAMS | {"Digits": "1235"}, DOC_SIGNATURE, False, id="field-tampered"
        ),
        pytest.param(DOC_URL, DOC_PARAMS | {"Extra": "x"}, DOC_SIGNATURE, False, id="field-added"),
        pytest.param(
            DOC_URL.replace("foo=1", "foo=2"), DOC_PARAMS, DOC_SIGNATURE, False, id="query-changed"
        ),
        pytest.param(
            DOC_URL.replace("https:", "http:"), DOC_PARAMS, DOC_SIGNATURE, False, id="scheme"
        ),
        pytest.param(
            "https://mycompany.com:443/myapp.php?foo=1&bar=2",
            DOC_PARAMS,
            DOC_SIGNATURE,
            True,
            id="default-port-added-by-proxy",
        ),
        pytest.param(
            "https://mycompany.com:8443/myapp.php?foo=1&bar=2",
            DOC_PARAMS,
            DOC_SIGNATURE,
            False,
            id="other-port",
        ),
        pytest.param(
            "http://mycompany.com:443/myapp.php?foo=1&bar=2",
            DOC_PARAMS,
            DOC_SIGNATURE,
            False,
            id="https-port-on-http",
        ),
    ],
)
def test_verify(url: str, params: dict[str, str], header: str | None, valid: bool) -> None:
    assert verify(TOKEN, url, params, header) is valid


def test_verify_refuses_another_accounts_token() -> None:
    assert not verify("54321", DOC_URL, DOC_PARAMS, DOC_SIGNATURE)


def test_verify_accepts_the_url_signed_with_its_default_port() -> None:
    signed = twilio_signature(TOKEN, "https://[2001:db8::1]:443/hook", {"A": "1"})
    assert verify(TOKEN, "https://[2001:db8::1]/hook", {"A": "1"}, signed)
    assert verify(TOKEN, "https://[2001:db8::1]:443/hook", {"A": "1"}, signed)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        pytest.param(
            {"MessageStatus": "delivered"},
            Receipt("agg", "SM0a1b", "delivered", "delivered"),
            id="delivered",
        ),
        pytest.param(
            {"MessageStatus": "undelivered", "ErrorCode": "30003"},
            Receipt("agg", "SM0a1b", "temporary-failure", "undelivered 30003"),
            id="phone-off-is-temporary",
        ),
        pytest.param(
            {"MessageStatus": "undelivered", "ErrorCode": "30001"},
            Receipt("agg", "SM0a1b", "temporary-failure", "undelivered 30001"),
            id="queue-overflow-is-temporary",
        ),
        pytest.param(
            {"MessageStatus": "undelivered", "ErrorCode": "30008"},
            Receipt("agg", "SM0a1b", "temporary-failure", "undelivered 30008"),
            id="unknown-error-is-temporary",
        ),
        pytest.param(
            {"MessageStatus": "undelivered"},
            Receipt("agg", "SM0a1b", "temporary-failure", "undelivered"),
            id="no-code-is-temporary",
        ),
        pytest.param(
            {"MessageStatus": "undelivered", "ErrorCode": "30005"},
            Receipt("agg", "SM0a1b", "permanent-failure", "undelivered 30005"),
            id="unknown-number-is-permanent",
        ),
        pytest.param(
            {"MessageStatus": "undelivered", "ErrorCode": "30006"},
            Receipt("agg", "SM0a1b", "permanent-failure", "undelivered 30006"),
            id="landline-is-permanent",
        ),
        pytest.param(
            {"MessageStatus": "failed", "ErrorCode": "30007"},
            Receipt("agg", "SM0a1b", "permanent-failure", "failed 30007"),
            id="filtered-is-permanent",
        ),
        pytest.param(
            {"MessageStatus": "failed", "ErrorCode": "30003"},
            Receipt("agg", "SM0a1b", "temporary-failure", "failed 30003"),
            id="failed-phone-off-is-temporary",
        ),
        pytest.param(
            {"MessageStatus": None, "SmsStatus": "delivered"},
            Receipt("agg", "SM0a1b", "delivered", "delivered"),
            id="old-smsstatus-field",
        ),
        pytest.param(
            {"MessageSid": None, "SmsSid": "SMold", "MessageStatus": "delivered"},
            Receipt("agg", "SMold", "delivered", "delivered"),
            id="old-smssid-field",
        ),
        pytest.param({"MessageStatus": "queued"}, None, id="queued-not-final"),
        pytest.param({"MessageStatus": "accepted"}, None, id="accepted-not-final"),
        pytest.param({"MessageStatus": "sending"}, None, id="sending-not-final"),
        pytest.param({"MessageStatus": "sent"}, None, id="sent-not-final"),
        pytest.param({"MessageStatus": "Delivered"}, None, id="unknown-spelling-not-final"),
        pytest.param({"MessageStatus": None}, None, id="no-status"),
    ],
)
def test_status_to_receipt(fields: dict[str, str | None], expected: Receipt | None) -> None:
    params = {k: v for k, v in (STATUS | fields).items() if v is not None}
    assert status_to_receipt("agg", params) == expected


def test_a_final_status_without_a_message_sid_is_refused() -> None:
    with pytest.raises(InvalidInput, match=r"^status callback has no MessageSid$"):
        status_to_receipt("agg", {"MessageStatus": "delivered"})


def test_inbound_from_params() -> None:
    params = {"MessageSid": "SM1", "From": "+6281234567890", "To": "1708", "Body": "STOP"}
    assert inbound_from_params("agg", params) == InboundSms("agg", "+6281234567890", "1708", "STOP")
    assert inbound_from_params("agg", params | {"Body": ""}).text == ""
    assert inbound_from_params("agg", {"From": "+62811", "To": "1708"}).text == ""


@pytest.mark.parametrize("missing", ["From", "To"])
def test_inbound_needs_sender_and_recipient(missing: str) -> None:
    params = {"From": "+6281234567890", "To": "1708", "Body": "Ya"}
    del params[missing]
    with pytest.raises(InvalidInput, match=r"^inbound message needs From and To$"):
        inbound_from_params("agg", params)


@pytest.mark.parametrize(
    ("public_url", "provider", "expected"),
    [
        ("https://warta.go.id", "agg", "https://warta.go.id/providers/sms/agg/status"),
        ("https://warta.go.id/", "agg", "https://warta.go.id/providers/sms/agg/status"),
        ("http://127.0.0.1:8000", "a b", "http://127.0.0.1:8000/providers/sms/a%20b/status"),
    ],
)
def test_callback_url(public_url: str, provider: str, expected: str) -> None:
    assert callback_url(public_url, provider) == expected


@pytest.mark.parametrize(
    ("url", "messages_url"),
    [
        pytest.param(
            "https://AC1:tok@api.gateway.example/?name=agg",
            "https://api.gateway.example/2010-04-01/Accounts/AC1/Messages.json",
            id="host-only",
        ),
        pytest.param(
            "http://AC1:tok@127.0.0.1:8080/sms/v1/?name=agg",
            "http://127.0.0.1:8080/sms/v1/2010-04-01/Accounts/AC1/Messages.json",
            id="port-and-path",
        ),
        pytest.param(
            "https://AC1:tok@[2001:db8::5]:8443?name=agg",
            "https://[2001:db8::5]:8443/2010-04-01/Accounts/AC1/Messages.json",
            id="ipv6",
        ),
        pytest.param(
            "https://AC%2F1:tok@gw.example?name=agg",
            "https://gw.example/2010-04-01/Accounts/AC%2F1/Messages.json",
            id="sid-quoted-in-path",
        ),
    ],
)
async def test_from_config_builds_the_messages_url(url: str, messages_url: str) -> None:
    async with httpx.AsyncClient() as http:
        channel = HttpSmsChannel.from_config(parse_provider(url), http, status_callback_url="")
    assert channel.messages_url == messages_url
    assert channel.provider == "agg"


async def test_from_config_reads_options_and_keeps_the_token_out_of_repr() -> None:
    config = parse_provider("https://AC1:s3cr3t@gw.example/?name=agg&from=DINKES&timeout=2.5")
    async with httpx.AsyncClient() as http:
        channel = HttpSmsChannel.from_config(config, http, status_callback_url=CALLBACK)
    assert (channel.sender, channel.timeout, channel.status_callback_url) == (
        "DINKES",
        2.5,
        CALLBACK,
    )
    assert "s3cr3t" not in repr(channel)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        pytest.param(
            "smpp://sys:pw@smsc.example:2775?name=tsel",
            "SMS provider 'tsel' is not an HTTP gateway",
            id="smpp",
        ),
        pytest.param(
            "https://gw.example/?name=agg",
            "SMS provider 'agg': the URL needs ACCOUNT_SID:AUTH_TOKEN@ before the host",
            id="no-credentials",
        ),
        pytest.param(
            "https://AC1@gw.example/?name=agg",
            "SMS provider 'agg': the URL needs ACCOUNT_SID:AUTH_TOKEN@ before the host",
            id="no-token",
        ),
        pytest.param(
            "https://AC1:tok@gw.example/?name=agg&timeout=0",
            "SMS provider 'agg': timeout must be positive",
            id="zero-timeout",
        ),
        pytest.param(
            "https://AC1:tok@gw.example/?name=agg&timeout=soon",
            "SMS provider 'agg': option timeout='soon' is not a number",
            id="timeout-not-a-number",
        ),
        pytest.param(
            "https://AC1:tok@gw.example/?name=agg&frm=DINKES",
            "SMS provider 'agg': unknown HTTP gateway option(s) frm; known: from, timeout",
            id="typo",
        ),
    ],
)
async def test_from_config_refuses(url: str, message: str) -> None:
    async with httpx.AsyncClient() as http:
        with pytest.raises(ConfigurationError) as caught:
            HttpSmsChannel.from_config(parse_provider(url), http, status_callback_url=CALLBACK)
    assert str(caught.value) == message
