"""Issue 15, item 2: text that is not Unicode (a lone surrogate, ``"\\udc00"`` in JSON) is
refused at the API's door with Notify's 400, nothing stored; and a row that holds such
text already (stored before it was refused) reads back shown safely, never a 500.

Item 13: times on pages are in the reader's zone, the zone named: a citizen's own (WIB,
WITA, WIT), WIB for staff."""

from __future__ import annotations

import html
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.integration import portal_forms
from tests.integration.console import sign_in, text_of
from tests.integration.harness import Clock, Harness, auth_header, recording
from warta.domain.channels import Channel
from warta.services import content
from warta.store.models import Notification
from warta.store.outbox import Outbox


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 12, 5, 1, 0, tzinfo=UTC))  # 08.00 WIB, 09.00 WITA


@pytest.fixture
def channels(outbox: Outbox) -> dict[str, Channel]:
    return recording(outbox)


LONE = "\udc00"
REPLACED = "\ufffd"


def refused(response: Any, where: str) -> None:
    assert response.status_code == 400, response.text
    assert response.json() == {
        "status_code": 400,
        "errors": [
            {
                "error": "ValidationError",
                "message": f"{where} is not valid Unicode text (it holds a lone surrogate)",
            }
        ],
    }


async def post(harness: Harness, path: str, body: dict[str, Any]) -> Any:
    """As a client sends it: ASCII JSON, the lone surrogate as its escape ``\\udc00``."""
    headers = {**auth_header(harness.keys["live"]), "Content-Type": "application/json"}
    return await harness.client.post(path, content=json.dumps(body), headers=headers)


async def stored(harness: Harness) -> int:
    response = await harness.get("/v2/notifications")
    assert response.status_code == 200, response.text
    return len(response.json()["notifications"])


@pytest.mark.parametrize(
    ("extra", "where"),
    [
        ({"personalisation": {"nama": LONE, "nomor": "7"}}, "personalisation.nama"),
        ({"personalisation": {"nama": ["a", f"b{LONE}"]}}, "personalisation.nama[1]"),
        ({"personalisation": {LONE: "x", "nama": "a", "nomor": "7"}}, "personalisation.\\udc00"),
        ({"reference": f"ref-{LONE}"}, "reference"),
        ({"phone_number": f"0812345678{LONE}"}, "phone_number"),
    ],
)
async def test_lone_surrogate_refused_nothing_stored(
    harness: Harness, extra: dict[str, Any], where: str
) -> None:
    body = {
        "phone_number": "081234567890",
        "template_id": str(harness.sms_template),
        "personalisation": {"nama": "Budi", "nomor": "7"},
        **extra,
    }
    refused(await post(harness, "/v2/notifications/sms", body), where)
    assert await stored(harness) == 0


async def test_lone_surrogate_refused_in_email_and_citizen_fields(harness: Harness) -> None:
    email = {
        "email_address": "budi@example.com",
        "template_id": str(harness.email_template),
        "personalisation": {"nama": "Budi", "jenis": f"KTP{LONE}"},
    }
    refused(await post(harness, "/v2/notifications/email", email), "personalisation.jenis")
    citizen = {"nik": "3171012345678901", "name": f"B{LONE}", "region_code": "31.71"}
    refused(await post(harness, "/v2/citizens", citizen), "name")
    assert await stored(harness) == 0


async def plant(harness: Harness, notification_id: str, body: str) -> None:
    """What an old bug left: sealed content whose text holds a lone surrogate."""
    async with harness.app.uow() as uow:
        row = await uow.session.get(Notification, uuid.UUID(notification_id))
        assert row is not None
        row.content_enc = content.seal(harness.app.keyring, {"body": body, "subject": None})
        await uow.commit()


async def test_a_bad_row_already_stored_reads_back_safely(harness: Harness) -> None:
    sent = await harness.send_sms()
    assert sent.status_code == 201, sent.text
    notification_id = sent.json()["id"]
    await harness.wait_status(notification_id, "delivered")
    await plant(harness, notification_id, f"Yth. {LONE}Budi")
    shown = f"Yth. {REPLACED}Budi"

    for params in ({}, {"template_type": "sms"}, {"status": "delivered"}):
        listed = await harness.get("/v2/notifications", **params)
        assert listed.status_code == 200, listed.text
        assert [n["body"] for n in listed.json()["notifications"]] == [shown]

    one = await harness.get(f"/v2/notifications/{notification_id}")
    assert one.status_code == 200, one.text
    assert one.json()["body"] == shown

    staffer = await sign_in(harness, "viewer")
    page = await staffer.client.get(f"/console/notifications/{notification_id}")
    assert page.status_code == 200, page.text
    assert shown in html.unescape(page.text)


async def test_times_in_the_readers_zone_named(harness: Harness, outbox: Outbox) -> None:
    citizen = await portal_forms.register(harness, outbox)
    moved = await harness.client.patch(
        f"/v2/citizens/{citizen['id']}",
        json={"time_zone": "WITA"},
        headers=auth_header(harness.keys["live"]),
    )
    assert moved.status_code == 200, moved.text
    template = await portal_forms.multi_template(harness)
    sent = await portal_forms.send(harness, citizen, template)
    await harness.wait_status(sent["id"], "delivered")

    await portal_forms.sign_in(harness, outbox)
    inbox = await harness.client.get("/portal/inbox")
    assert inbox.status_code == 200, inbox.text
    assert "5 Des 2026 09.00 WITA" in text_of(inbox.text)
    message = await harness.client.get(f"/portal/inbox/{sent['id']}")
    assert message.status_code == 200, message.text
    assert "5 Des 2026 09.00 WITA" in text_of(message.text)
    assert "UTC" not in text_of(inbox.text) + text_of(message.text)

    staffer = await sign_in(harness, "viewer")
    listed = await staffer.client.get("/console/notifications")
    assert "5 Des 2026 08.00 WIB" in text_of(listed.text)
    detail = await staffer.client.get(f"/console/notifications/{sent['id']}")
    assert "5 Des 2026 08.00 WIB" in text_of(detail.text)
