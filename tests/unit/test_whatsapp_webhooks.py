"""WhatsApp webhooks: the subscription handshake, X-Hub-Signature-256, and payload mapping.

Payloads are shaped as Meta documents and sends them (Cloud API webhook reference,
``whatsapp_business_account`` object, field ``messages``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from warta.channels.whatsapp import WhatsAppConfig
from warta.channels.whatsapp_webhooks import (
    InboundChat,
    WebhookEvents,
    parse_webhook,
    valid_signature,
    verify_subscription,
)
from warta.domain.channels import Receipt
from warta.errors import ConfigurationError, InvalidInput

CONFIG = WhatsAppConfig(
    access_token="EAAGtoken",
    phone_number_id="106540352242922",
    app_secret="a3f9c1d2e4b5a6978877665544332211",
    verify_token="warta-verify-7d2e",
)
WAMID = "wamid.HBgNNjI4MTIzNDU2Nzg5MBUCABEYEjg0QjM0NTk2QjA2RjY2QTQ3MgA="
WAMID_2 = "wamid.HBgNNjI4MTIzNDU2Nzg5MBUCABEYEkE3RjI5QkM0RDE4MEU1NjQ1QQA="
NUMBER = "6281234567890"
TIMESTAMP = "1709449200"  # 2024-03-03 07:00:00 UTC


# -- the GET handshake --------------------------------------------------------------------


def hub(**changes: str | None) -> dict[str, str]:
    params: dict[str, str | None] = {
        "hub.mode": "subscribe",
        "hub.verify_token": "warta-verify-7d2e",
        "hub.challenge": "1158201444",
    }
    params |= changes
    return {key: value for key, value in params.items() if value is not None}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        pytest.param(hub(), "1158201444", id="right-token"),
        pytest.param(hub(**{"hub.verify_token": "warta-verify-7d2f"}), None, id="wrong-token"),
        pytest.param(hub(**{"hub.verify_token": ""}), None, id="empty-token"),
        pytest.param(hub(**{"hub.verify_token": None}), None, id="missing-token"),
        pytest.param(hub(**{"hub.mode": "unsubscribe"}), None, id="wrong-mode"),
        pytest.param(hub(**{"hub.mode": None}), None, id="missing-mode"),
        pytest.param(hub(**{"hub.challenge": None}), None, id="missing-challenge"),
        pytest.param(hub(**{"hub.challenge": ""}), None, id="empty-challenge"),
    ],
)
def test_verify_subscription(params: dict[str, str], expected: str | None) -> None:
    assert verify_subscription(CONFIG, params) == expected


# -- X-Hub-Signature-256 ------------------------------------------------------------------

BODY = b'{"object":"whatsapp_business_account","entry":[]}'
GOOD = hmac.new(CONFIG.app_secret.encode(), BODY, hashlib.sha256).hexdigest()


@pytest.mark.parametrize(
    ("body", "header", "expected"),
    [
        pytest.param(BODY, f"sha256={GOOD}", True, id="valid"),
        pytest.param(BODY, f"sha256={GOOD.upper()}", True, id="valid-upper-hex"),
        pytest.param(BODY + b" ", f"sha256={GOOD}", False, id="tampered-body"),
        pytest.param(
            BODY,
            "sha256=" + hmac.new(b"another-apps-secret", BODY, hashlib.sha256).hexdigest(),
            False,
            id="wrong-secret",
        ),
        pytest.param(BODY, None, False, id="missing-header"),
        pytest.param(BODY, "", False, id="empty-header"),
        pytest.param(BODY, GOOD, False, id="no-sha256-prefix"),
        pytest.param(
            BODY,
            "sha1=" + hmac.new(CONFIG.app_secret.encode(), BODY, hashlib.sha1).hexdigest(),
            False,
            id="sha1-header",
        ),
        pytest.param(BODY, f"sha256={GOOD[:-2]}", False, id="truncated"),
        pytest.param(BODY, f"sha256={GOOD[:-1]}g", False, id="not-hex"),
        pytest.param(BODY, "sha256=", False, id="empty-digest"),
    ],
)
def test_valid_signature(body: bytes, header: str | None, expected: bool) -> None:
    assert valid_signature(CONFIG, body, header) is expected


# -- payloads -----------------------------------------------------------------------------


def change(value: dict[str, Any], field: str = "messages") -> dict[str, Any]:
    metadata = {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"}
    return {
        "value": {"messaging_product": "whatsapp", "metadata": metadata} | value,
        "field": field,
    }


def payload(*changes: dict[str, Any], entries: int = 1) -> dict[str, Any]:
    entry = {"id": "102290129340398", "changes": list(changes)}
    return {"object": "whatsapp_business_account", "entry": [entry] * entries}


def status(kind: str, wamid: str = WAMID, code: int | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": wamid,
        "status": kind,
        "timestamp": TIMESTAMP,
        "recipient_id": NUMBER,
    }
    if kind in ("sent", "delivered"):
        item["conversation"] = {"id": "b6d5e0f2a7c3", "origin": {"type": "utility"}}
        item["pricing"] = {"billable": True, "pricing_model": "CBP", "category": "utility"}
    if code is not None:
        item["errors"] = [
            {
                "code": code,
                "title": "Message undeliverable",
                "message": "Message undeliverable",
                "error_data": {"details": f"Message to {NUMBER} failed"},
                "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/",
            }
        ]
    return change({"statuses": [item]})


def inbound(kind: str = "text", text: str = "Ya, saya hadir 👍") -> dict[str, Any]:
    message: dict[str, Any] = {
        "from": NUMBER,
        "id": WAMID_2,
        "timestamp": TIMESTAMP,
        "type": kind,
    }
    if kind == "text":
        message["text"] = {"body": text}
    else:
        message["image"] = {"mime_type": "image/jpeg", "sha256": "6b1f...", "id": "1479537139"}
    contacts = [{"profile": {"name": "Siti Rahayu"}, "wa_id": NUMBER}]
    return change({"contacts": contacts, "messages": [message]})


def receipt(status: str, detail: str, wamid: str = WAMID) -> Receipt:
    return Receipt("whatsapp", wamid, status, detail)  # type: ignore[arg-type]


CHAT = InboundChat(
    sender="+" + NUMBER,
    text="Ya, saya hadir 👍",
    wamid=WAMID_2,
    timestamp=datetime(2024, 3, 3, 7, 0, tzinfo=UTC),
)
TEMPLATE_REVIEW = change(
    {"event": "APPROVED", "message_template_name": "warta_notifikasi"},
    field="message_template_status_update",
)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(payload(status("sent")), WebhookEvents(), id="sent-still-sending"),
        pytest.param(
            payload(status("delivered")),
            WebhookEvents(receipts=[receipt("delivered", "delivered")]),
            id="delivered",
        ),
        pytest.param(
            payload(status("read")),
            WebhookEvents(receipts=[receipt("delivered", "read")], reads=[WAMID]),
            id="read-implies-delivered",
        ),
        pytest.param(
            payload(status("failed", code=131026)),
            WebhookEvents(receipts=[receipt("permanent-failure", "whatsapp error 131026")]),
            id="failed-131026-not-on-whatsapp",
        ),
        pytest.param(
            payload(status("failed", code=131047)),
            WebhookEvents(receipts=[receipt("temporary-failure", "whatsapp error 131047")]),
            id="failed-131047-window-closed",
        ),
        pytest.param(
            payload(status("failed", code=130429)),
            WebhookEvents(receipts=[receipt("temporary-failure", "whatsapp error 130429")]),
            id="failed-130429-rate-limited",
        ),
        pytest.param(
            payload(status("failed", code=131056)),
            WebhookEvents(receipts=[receipt("temporary-failure", "whatsapp error 131056")]),
            id="failed-131056-pair-rate-limited",
        ),
        pytest.param(
            payload(status("failed", code=131000)),
            WebhookEvents(receipts=[receipt("temporary-failure", "whatsapp error 131000")]),
            id="failed-131000-unknown",
        ),
        pytest.param(
            payload(status("failed", code=131051)),
            WebhookEvents(receipts=[receipt("permanent-failure", "whatsapp error 131051")]),
            id="failed-other-code",
        ),
        pytest.param(
            payload(status("failed")),
            WebhookEvents(receipts=[receipt("temporary-failure", "whatsapp failed")]),
            id="failed-without-code",
        ),
        pytest.param(payload(status("deleted")), WebhookEvents(), id="unknown-status"),
        pytest.param(payload(inbound()), WebhookEvents(inbound=[CHAT]), id="inbound-text"),
        pytest.param(
            payload(inbound("image")),
            WebhookEvents(inbound=[replace(CHAT, text="", media_id="1479537139")]),
            id="inbound-image-for-the-chatbot",
        ),
        pytest.param(payload(TEMPLATE_REVIEW), WebhookEvents(), id="other-field-ignored"),
        pytest.param(
            payload(status("delivered"), inbound(), status("read", WAMID_2), entries=2),
            WebhookEvents(
                receipts=[
                    receipt("delivered", "delivered"),
                    receipt("delivered", "read", WAMID_2),
                    receipt("delivered", "delivered"),
                    receipt("delivered", "read", WAMID_2),
                ],
                reads=[WAMID_2, WAMID_2],
                inbound=[CHAT, CHAT],
            ),
            id="several-entries-and-changes",
        ),
        pytest.param({"object": "whatsapp_business_account"}, WebhookEvents(), id="no-entries"),
    ],
)
def test_parse_webhook(body: dict[str, Any], expected: WebhookEvents) -> None:
    # Through JSON, as the webhook reads it: no Python object survives by accident.
    assert parse_webhook(json.loads(json.dumps(body))) == expected


@pytest.mark.parametrize(
    "broken",
    [
        pytest.param({"from": NUMBER, "id": WAMID_2, "type": "text"}, id="no-timestamp"),
        pytest.param(
            {"from": "+" + NUMBER, "id": WAMID_2, "timestamp": TIMESTAMP, "type": "text"},
            id="sender-not-digits",
        ),
        pytest.param({"from": NUMBER, "timestamp": TIMESTAMP, "type": "text"}, id="no-id"),
        pytest.param(
            {"from": "0812345678", "id": WAMID_2, "timestamp": TIMESTAMP, "type": "text"},
            id="sender-not-international",
        ),
    ],
)
def test_an_inbound_text_missing_what_it_needs_is_skipped(broken: dict[str, Any]) -> None:
    message = broken | {"text": {"body": "halo"}}
    assert parse_webhook(payload(change({"messages": [message]}))) == WebhookEvents()


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"object": "page", "entry": []}, id="messenger-page"),
        pytest.param({"entry": []}, id="no-object"),
        pytest.param([], id="not-an-object"),
    ],
)
def test_a_payload_of_another_kind_is_invalid(body: Any) -> None:
    with pytest.raises(InvalidInput, match=r"^not a WhatsApp Business Account webhook$"):
        parse_webhook(body)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        pytest.param({"access_token": ""}, "WhatsApp needs access_token", id="no-token"),
        pytest.param(
            {"app_secret": "", "verify_token": ""},
            "WhatsApp needs app_secret, verify_token",
            id="no-secrets",
        ),
        pytest.param(
            {"phone_number_id": "+15550783881"},
            "WhatsApp phone_number_id is the numeric id Meta shows",
            id="phone-number-not-its-id",
        ),
        pytest.param(
            {"template": ""}, "WhatsApp template and language must not be empty", id="template"
        ),
        pytest.param({"timeout": 0}, "WhatsApp timeout must be positive", id="timeout"),
    ],
)
def test_a_config_that_cannot_work_is_refused(changes: dict[str, Any], message: str) -> None:
    fields: dict[str, Any] = {
        "access_token": "EAAGtoken",
        "phone_number_id": "106540352242922",
        "app_secret": "s",
        "verify_token": "v",
    }
    with pytest.raises(ConfigurationError) as caught:
        WhatsAppConfig(**(fields | changes))
    assert str(caught.value) == message
