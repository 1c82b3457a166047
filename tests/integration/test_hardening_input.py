"""Bad input a client or an attacker sends is answered 4xx in the area's shape, never a
500, and changes nothing: bodies over their cap (413, refused before anything parses them)
and values Python cannot hold or the parsers refuse (400). Issue 15, items 1 and 9."""

from __future__ import annotations

import io
import zipfile
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.integration.console import sign_in as staff_sign_in
from tests.integration.console import text_of
from tests.integration.harness import Harness, auth_header, recording
from tests.integration.portal_forms import multi_template, register
from tests.spreadsheets import xlsx
from warta.api.uploads import BODY_LIMIT, WEBHOOK_LIMIT
from warta.domain.channels import Channel
from warta.store.models import Broadcast, Job, Notification
from warta.store.outbox import Outbox


@pytest.fixture
def channels(outbox: Outbox) -> dict[str, Channel]:
    return recording(outbox)


async def count(harness: Harness, table: type) -> int:
    async with harness.app.uow() as uow:
        return int(await uow.session.scalar(select(func.count()).select_from(table)) or 0)


async def nothing_stored(harness: Harness) -> None:
    for table in (Notification, Job, Broadcast):
        assert await count(harness, table) == 0, table


def refused(response: Any, status: int, error: str, message: str) -> None:
    """Notify's error body, exactly."""
    assert response.status_code == status, response.text
    assert response.json() == {
        "status_code": status,
        "errors": [{"error": error, "message": message}],
    }


async def chunks(total: int, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    """A body sent chunked, without a Content-Length."""
    sent = 0
    while sent < total:
        piece = min(size, total - sent)
        sent += piece
        yield b" " * piece


# -- item 1: every body capped -------------------------------------------------------------


async def test_a_json_body_over_the_cap_is_refused_in_notifys_format(harness: Harness) -> None:
    padding = "x" * 3_000_000  # 3 MB: over the 2.5 MB cap
    response = await harness.send_sms(personalisation={"nama": padding, "nomor": "1"})
    refused(response, 413, "BadRequestError", f"The request body is larger than {BODY_LIMIT} bytes")
    # Unauthenticated too: refused before the key is even looked at.
    anonymous = await harness.client.post(
        "/v2/notifications/sms", content=b"{" + b" " * 3_000_000 + b"}"
    )
    assert anonymous.status_code == 413
    await nothing_stored(harness)


async def test_a_chunked_body_without_a_length_is_counted_and_refused(harness: Harness) -> None:
    headers = {**auth_header(harness.keys["live"]), "Content-Type": "application/json"}
    response = await harness.client.post(
        "/v2/notifications/sms", content=chunks(BODY_LIMIT + 1), headers=headers
    )
    assert "content-length" not in response.request.headers
    refused(response, 413, "BadRequestError", f"The request body is larger than {BODY_LIMIT} bytes")
    # A provider webhook has a smaller cap, in the same shape, before anything else.
    hook = await harness.client.post(
        "/providers/telegram/webhook", content=b" " * (WEBHOOK_LIMIT + 1)
    )
    refused(hook, 413, "BadRequestError", f"The request body is larger than {WEBHOOK_LIMIT} bytes")
    await nothing_stored(harness)


async def test_a_page_body_over_the_cap_gets_the_problem_page(harness: Harness) -> None:
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    for path in ("/console/sign-in?lang=en", "/portal/sign-in?lang=en"):
        response = await harness.client.post(path, content=b"a=" + b"b" * BODY_LIMIT, headers=form)
        assert response.status_code == 413, (path, response.text[:200])
        assert response.headers["content-type"].startswith("text/html")
        assert "The request is too large" in text_of(response.text)
    # The portal's own API answers code, in Notify's shape, chunked or not.
    for body in (b" " * (BODY_LIMIT + 1), chunks(BODY_LIMIT + 1)):
        response = await harness.client.post(
            "/portal/api/sign-in", content=body, headers={"Content-Type": "application/json"}
        )
        refused(
            response, 413, "BadRequestError", f"The request body is larger than {BODY_LIMIT} bytes"
        )


# -- item 9: values that made 500s ---------------------------------------------------------


#: Item 10 narrowed item 9's year to GC Notify's window (test_hardening_limits.py).
TOO_FAR = "datetime can only be up to 96 hours in the future"


async def counts(harness: Harness) -> list[int]:
    return [await count(harness, table) for table in (Notification, Job, Broadcast)]


async def test_a_citizen_send_far_in_the_future_is_refused(
    harness: Harness, outbox: Outbox
) -> None:
    citizen = await register(harness, outbox)  # its codes are notifications too
    template = await multi_template(harness)
    before = await counts(harness)
    for when, message in [
        ("9999-12-31T23:59:59+00:00", f"scheduled_for {TOO_FAR}"),
        ("9999-12-31T00:00:00+07:00", f"scheduled_for {TOO_FAR}"),
        ("9999-12-31", "scheduled_for needs a time zone, like 2026-12-01T08:00:00+07:00"),
    ]:
        response = await harness.post(
            "/v2/notifications",
            {
                "citizen_id": citizen["id"],
                "template_id": template,
                "personalisation": {"nopol": "D 1234 XY"},
                "scheduled_for": when,
            },
        )
        refused(response, 400, "ValidationError", message)
    assert await counts(harness) == before


async def test_a_broadcast_time_without_a_zone_is_refused(harness: Harness) -> None:
    template = await multi_template(harness)
    await harness.post("/v2/topics", {"slug": "pajak", "name": "Pajak"})
    body = {"template_id": template, "topic": "pajak", "personalisation": {"nopol": "D 1"}}
    for name, when, message in [
        (
            "scheduled_for",
            "2026-12-01T08:00:00",
            "needs a time zone, like 2026-12-01T08:00:00+07:00",
        ),
        ("expires_at", "2026-12-01T08:00:00", "needs a time zone, like 2026-12-01T08:00:00+07:00"),
        ("scheduled_for", "9999-12-31T23:59:59+00:00", TOO_FAR),
        ("expires_at", "9999-12-31T23:59:59+00:00", "is more than a year ahead"),
    ]:
        response = await harness.post("/v2/broadcasts", {**body, name: when})
        refused(response, 400, "ValidationError", f"{name} {message}")
    await nothing_stored(harness)


async def test_a_template_version_too_big_for_the_database_is_refused(harness: Harness) -> None:
    base = f"/v2/template/{harness.sms_template}/version"
    for version in ("9223372036854775808", "2147483648"):
        refused(
            await harness.get(f"{base}/{version}"),
            400,
            "ValidationError",
            "version Input should be less than or equal to 2147483647",
        )
    refused(
        await harness.get(f"{base}/0"),
        400,
        "ValidationError",
        "version Input should be greater than or equal to 1",
    )
    assert (await harness.get(f"{base}/1")).status_code == 200


async def test_a_csv_field_over_the_csv_modules_limit_is_refused(harness: Harness) -> None:
    big = "x" * (128 * 1024 + 1)
    text = f"phone number,nama,nomor\n081234567001,{big},1\n"
    message = "A field in this CSV file is longer than 131072 characters"
    response = await harness.post(
        "/v2/notifications/bulk",
        {"name": "besar", "template_id": str(harness.sms_template), "csv": text},
    )
    refused(response, 400, "ValidationError", message)
    sender = await staff_sign_in(harness, "sender")
    await sender.client.get("/console/bulk?lang=en")
    response = await sender.client.post(
        "/console/bulk/check",
        data={"template": str(harness.sms_template), "csrf_token": await sender.csrf()},
        files={"file": ("besar.csv", text.encode(), "text/csv")},
    )
    assert response.status_code == 400
    assert "A field in this CSV file is longer than 131,072 characters" in text_of(response.text)
    await nothing_stored(harness)


def with_dtd(data: bytes, part: str = "xl/worksheets/sheet1.xml") -> bytes:
    """``data``, an XLSX file, with one part declaring a DTD (an entity it uses)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            content = source.read(info)
            if info.filename == part:
                start = content.index(b"<", content.index(b"?>") + 2 if b"?>" in content else 0)
                content = (
                    content[:start]
                    + b'<!DOCTYPE x [<!ENTITY e "081234567001">]><!-- -->'
                    + content[start:]
                )
            target.writestr(info, content)
    return out.getvalue()


async def test_an_xlsx_with_a_dtd_is_refused(harness: Harness) -> None:
    plain = xlsx([["phone number", "nama", "nomor"], ["081234567001", "Budi", "1"]])
    sender = await staff_sign_in(harness, "sender")
    await sender.client.get("/console/bulk?lang=en")
    for part in ("xl/worksheets/sheet1.xml", "xl/workbook.xml", "[Content_Types].xml"):
        response = await sender.client.post(
            "/console/bulk/check",
            data={"template": str(harness.sms_template), "csrf_token": await sender.csrf()},
            files={"file": ("dtd.xlsx", with_dtd(plain, part), "application/octet-stream")},
        )
        assert response.status_code == 400, part
        assert "This XLSX file declares a DTD, which Warta does not read" in text_of(response.text)
    await nothing_stored(harness)
