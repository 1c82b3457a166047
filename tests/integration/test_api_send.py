"""POST /v2/notifications/{sms,email} and GET /v2/notifications/{id}, on SQLite and PostgreSQL."""

from __future__ import annotations

import time
import uuid

import jwt
import pytest
from sqlalchemy import func, select, update

from tests.integration.harness import Harness, auth_header
from warta.services.admin import add_to_guest_list, revoke_key
from warta.store.models import Agency, ApiKey, Notification


async def count_rows(h: Harness) -> int:
    async with h.app.uow() as uow:
        return int(await uow.session.scalar(select(func.count(Notification.id))) or 0)


async def test_sms_is_accepted_sent_and_reported_delivered(harness: Harness) -> None:
    response = await harness.send_sms("0812-3456-7890", reference="antrean-7")

    assert response.status_code == 201, response.text
    sent = response.json()
    assert sent["reference"] == "antrean-7"
    assert sent["content"] == {
        "body": "Halo Budi, antrean Anda nomor 7.",
        "from_number": "DINASUJI",
    }
    assert sent["uri"] == f"http://warta.test/v2/notifications/{sent['id']}"
    assert sent["template"]["id"] == str(harness.sms_template)
    assert sent["template"]["version"] == 1

    await harness.wait_status(sent["id"], "delivered")
    got = (await harness.get(f"/v2/notifications/{sent['id']}")).json()
    assert got["status"] == "delivered"
    assert got["type"] == "sms"
    assert got["phone_number"] == "+6281234567890"
    assert got["body"] == "Halo Budi, antrean Anda nomor 7."
    assert got["billable_units"] == 1
    assert got["created_at"].endswith("Z") and got["sent_at"] and got["completed_at"]
    [captured] = harness.app.outbox.list("sms")
    assert (captured.to, captured.sender) == ("+6281234567890", "DINASUJI")


async def test_email_travels_over_smtp_with_text_and_html(harness: Harness) -> None:
    response = await harness.send_email("Budi.Santoso@example.com")

    assert response.status_code == 201, response.text
    content = response.json()["content"]
    assert content["subject"] == "Dokumen KTP siap"
    assert content["from_email"] == "dinas@uji.go.id"
    await harness.wait_status(response.json()["id"], "delivered")
    [captured] = harness.app.outbox.list("email")
    assert captured.to == "Budi.Santoso@example.com"
    assert captured.subject == "Dokumen KTP siap"
    assert "Dokumen KTP Anda siap diambil." in captured.body
    assert captured.html is not None and "Dokumen KTP Anda siap diambil." in captured.html
    assert captured.notification_id == response.json()["id"]


BAD_SMS = [
    pytest.param(
        {"phone_number": None},
        "ValidationError",
        "phone_number is a required property",
        id="missing-phone",
    ),
    pytest.param(
        {"template_id": "nope"},
        "ValidationError",
        "template_id is not a valid UUID",
        id="template-id-not-uuid",
    ),
    pytest.param(
        {"colour": "red"},
        "ValidationError",
        "Additional properties are not allowed (colour was unexpected)",
        id="extra-field",
    ),
    pytest.param(
        {"personalisation": "x"},
        "ValidationError",
        "personalisation 'x' is not of type object",
        id="personalisation-not-object",
    ),
    pytest.param(
        {"phone_number": "0812-CALL-ME"},
        "ValidationError",
        "phone_number Must not contain letters or symbols",
        id="letters",
    ),
    pytest.param(
        {"phone_number": "0812"},
        "ValidationError",
        "phone_number Not enough digits",
        id="too-short",
    ),
    pytest.param(
        {"phone_number": "021-5551234"},
        "ValidationError",
        "phone_number Not a mobile number",
        id="jakarta-landline",
    ),
    pytest.param(
        {"template_id": str(uuid.UUID(int=1))},
        "BadRequestError",
        "Template not found",
        id="unknown-template",
    ),
    pytest.param(
        {"personalisation": {"nama": "Budi"}},
        "BadRequestError",
        "Missing personalisation: nomor",
        id="missing-personalisation",
    ),
    pytest.param(
        {"personalisation": {"nama": "B" * 950, "nomor": "1"}},
        "BadRequestError",
        "Your message is too long. Text messages cannot be longer than 918 characters. "
        "Your message is 978 characters long.",
        id="too-long",
    ),
]


@pytest.mark.parametrize(("change", "error", "message"), BAD_SMS)
async def test_bad_sms_requests_are_refused_and_store_nothing(
    harness: Harness, change: dict[str, object], error: str, message: str
) -> None:
    body: dict[str, object] = {
        "phone_number": "081234567890",
        "template_id": str(harness.sms_template),
        "personalisation": {"nama": "Budi", "nomor": "7"},
    }
    body.update(change)
    body = {k: v for k, v in body.items() if v is not None}

    response = await harness.post("/v2/notifications/sms", body)

    assert response.status_code == 400
    assert response.json() == {"status_code": 400, "errors": [{"error": error, "message": message}]}
    assert await count_rows(harness) == 0


async def test_template_of_the_wrong_type_is_refused(harness: Harness) -> None:
    body = {
        "phone_number": "081234567890",
        "template_id": str(harness.email_template),
        "personalisation": {"nama": "Budi", "jenis": "KTP"},
    }
    response = await harness.post("/v2/notifications/sms", body)
    assert response.json()["errors"] == [
        {
            "error": "BadRequestError",
            "message": "email template is not suitable for sms notification",
        }
    ]


async def test_bad_email_address_is_refused(harness: Harness) -> None:
    response = await harness.send_email("budi@@example")
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"error": "ValidationError", "message": "email_address Not a valid email address"}
    ]


async def test_body_that_is_not_json_is_refused(harness: Harness) -> None:
    response = await harness.client.post(
        "/v2/notifications/sms",
        content=b"{nope",
        headers={**auth_header(harness.keys["live"]), "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["error"] == "ValidationError"


def _token(secret: str, issuer: str, issued: float) -> str:
    return jwt.encode({"iss": issuer, "iat": int(issued)}, secret, algorithm="HS256")


AUTH_CASES = [
    pytest.param(
        lambda h: {}, 401, "Unauthorized: authentication token must be provided", id="no-header"
    ),
    pytest.param(
        lambda h: {"Authorization": "Basic abc"},
        401,
        "Unauthorized: authentication bearer scheme must be used",
        id="basic-scheme",
    ),
    pytest.param(
        lambda h: {"Authorization": "Bearer not-a-jwt"},
        403,
        "Invalid token: signature, api token is not valid",
        id="garbage",
    ),
    pytest.param(
        lambda h: {"Authorization": "Bearer " + _token("s" * 36, str(uuid.uuid4()), time.time())},
        403,
        "Invalid token: service not found",
        id="unknown-service",
    ),
    pytest.param(
        lambda h: {
            "Authorization": "Bearer " + _token(str(uuid.uuid4()), str(h.agency_id), time.time())
        },
        403,
        "Invalid token: API key not found",
        id="wrong-secret",
    ),
    pytest.param(
        lambda h: {
            "Authorization": "Bearer "
            + _token(h.keys["live"][-36:], str(h.agency_id), time.time() - 60)
        },
        403,
        "Error: Your system clock must be accurate to within 30 seconds",
        id="old-iat",
    ),
    pytest.param(
        lambda h: {
            "Authorization": "Bearer " + _token(h.keys["live"][-36:], "not-a-uuid", time.time())
        },
        403,
        "Invalid token: service id is not the right data type",
        id="iss-not-uuid",
    ),
]


@pytest.mark.parametrize(("headers", "status", "message"), AUTH_CASES)
async def test_authentication_follows_notify(
    harness: Harness, headers, status: int, message: str
) -> None:  # type: ignore[no-untyped-def]
    response = await harness.client.get("/v2/notifications", headers=headers(harness))
    assert response.status_code == status
    assert response.json() == {
        "status_code": status,
        "errors": [{"error": "AuthError", "message": message}],
    }


async def test_revoked_key_is_refused_at_once(harness: Harness) -> None:
    assert (await harness.get("/v2/templates")).status_code == 200
    async with harness.app.uow() as uow:
        live = await uow.session.scalar(select(ApiKey).where(ApiKey.key_type == "normal"))
    assert live is not None
    await revoke_key(harness.app, live.id)

    response = await harness.get("/v2/templates")
    assert response.status_code == 403
    assert response.json()["errors"][0]["message"] == "Invalid token: API key revoked"


async def test_team_key_reaches_only_the_guest_list(harness: Harness) -> None:
    refused = await harness.send_sms("081234567890", key="team")
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["message"] == (
        "Can’t send to this recipient using a team-only API key"
    )
    await add_to_guest_list(harness.app, harness.agency_id, "+62 812 3456 7890")
    allowed = await harness.send_sms("0812 3456 7890", key="team")
    assert allowed.status_code == 201


@pytest.mark.parametrize(
    ("channel", "recipient", "status"),
    [
        pytest.param("sms", "081234567890", "delivered", id="any-number"),
        pytest.param("sms", "07700900002", "permanent-failure", id="sms-perm-fail"),
        pytest.param("sms", "07700900003", "temporary-failure", id="sms-temp-fail"),
        pytest.param("email", "budi@example.com", "delivered", id="any-address"),
        pytest.param(
            "email", "perm-fail@simulator.notify", "permanent-failure", id="email-perm-fail"
        ),
        pytest.param(
            "email", "temp-fail@simulator.notify", "temporary-failure", id="email-temp-fail"
        ),
    ],
)
async def test_test_key_simulates_without_sending(
    harness: Harness, channel: str, recipient: str, status: str
) -> None:
    send = harness.send_sms if channel == "sms" else harness.send_email
    response = await send(recipient, key="test")
    assert response.status_code == 201, response.text
    await harness.wait_status(response.json()["id"], status)
    assert harness.app.outbox.list() == []


async def test_rate_limit_per_key_type(harness: Harness) -> None:
    async with harness.app.uow() as uow:
        await uow.session.execute(update(Agency).values(rate_limit=2))
        await uow.commit()
    assert (await harness.send_sms()).status_code == 201
    assert (await harness.send_sms()).status_code == 201
    third = await harness.send_sms()
    assert third.status_code == 429
    assert third.json()["errors"] == [
        {
            "error": "RateLimitError",
            "message": "Exceeded rate limit for key type NORMAL of 2 requests per 60 seconds",
        }
    ]
    # Another key type has its own bucket.
    assert (await harness.send_sms(key="test")).status_code == 201


async def test_daily_limit_counts_live_messages_only(harness: Harness) -> None:
    async with harness.app.uow() as uow:
        await uow.session.execute(update(Agency).values(message_limit=1))
        await uow.commit()
    assert (await harness.send_sms()).status_code == 201
    refused = await harness.send_sms()
    assert refused.status_code == 429
    assert refused.json()["errors"] == [
        {"error": "TooManyRequestsError", "message": "Exceeded send limits (1) for today"}
    ]
    assert (await harness.send_sms(key="test")).status_code == 201
    assert await count_rows(harness) == 2


async def test_unknown_notification_is_404_and_bad_id_400(harness: Harness) -> None:
    missing = await harness.get(f"/v2/notifications/{uuid.uuid4()}")
    assert missing.status_code == 404
    assert missing.json()["errors"] == [{"error": "NoResultFound", "message": "No result found"}]
    bad = await harness.get("/v2/notifications/123")
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["message"] == "notification_id is not a valid UUID"


async def test_letters_are_refused_clearly(harness: Harness) -> None:
    response = await harness.post(
        "/v2/notifications/letter", {"template_id": str(harness.sms_template)}
    )
    assert response.status_code == 400
    assert "Cannot send letters" in response.json()["errors"][0]["message"]
