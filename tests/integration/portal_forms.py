"""What the portal's page tests share: a registered citizen with verified contacts, a
sign-in through the forms, and forms posted as a browser posts them (with the page's
own token)."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import update

from tests.integration.harness import Harness, code_in
from warta.services.admin import create_template
from warta.store.models import CitizenContact
from warta.store.outbox import Outbox

PHONE = "+6281234567890"
EMAIL = "sri@contoh.id"
NIK = "3273014101900002"
#: Pages a citizen may open first, over a slow connection.
FIRST_LOAD_LIMIT = 100_000


def wib(hour: int, minute: int = 0) -> datetime:
    """1 December 2026 (a Tuesday) at this wall-clock time in Jakarta, as UTC."""
    return datetime(2026, 12, 1, hour, minute, tzinfo=UTC) - timedelta(hours=7)


async def register(
    harness: Harness, outbox: Outbox, *, own: bool = True, **preferences: Any
) -> dict[str, Any]:
    """A citizen with a verified phone and address, as an agency registers them.
    ``own``: both already the citizen's own, as if confirmed in the portal; else both the
    agency's, and signing in with one makes it the citizen's (the first own contact)."""
    body = {
        "nik": NIK,
        "name": "Sri Wahyuni",
        "region_code": "32.73.01.1001",
        "phone_numbers": [PHONE],
        "email_addresses": [EMAIL],
        "preferences": {"channels": ["sms"], "quiet_hours": None, **preferences},
    }
    made = (await harness.post("/v2/citizens", body)).json()
    for contact in made["contacts"]:
        before = len(outbox)
        added = {"type": contact["type"], "value": contact["value"]}
        await harness.post(f"/v2/citizens/{made['id']}/contacts", added)
        message = (await outbox.wait_for(before + 1))[0]  # newest first
        url = f"/v2/citizens/{made['id']}/contacts/{contact['id']}/verify"
        assert (await harness.post(url, {"code": code_in(message.body)})).status_code == 200
    if own:
        await own_contacts(harness, made["id"])
    outbox.clear()
    return dict(made)


async def own_contacts(harness: Harness, citizen_id: str) -> None:
    """The citizen confirms the contacts an agency proved as their own, for tests that
    need a citizen with several (signing in makes only the first theirs:
    ``trust.opens_portal``). Done in the store, as confirming the rest would take the
    portal's contacts page."""
    async with harness.app.uow() as uow:
        await uow.session.execute(
            update(CitizenContact)
            .where(CitizenContact.citizen_id == uuid.UUID(citizen_id))
            .values(scope="citizen")
        )
        await uow.commit()


async def multi_template(harness: Harness) -> str:
    made = await create_template(
        harness.app, harness.agency_id, kind="multi", name="pajak",
        subject="Pajak ((nopol))", body="Pajak kendaraan ((nopol)) jatuh tempo.",
        sms_body="Pajak ((nopol)) jatuh tempo.",
    )  # fmt: skip
    return str(made.id)


async def send(harness: Harness, citizen: dict[str, Any], template: str, **extra: Any) -> Any:
    body = {
        "citizen_id": citizen["id"],
        "template_id": template,
        "personalisation": {"nopol": "D 1234 XY"},
        **extra,
    }
    sent = await harness.post("/v2/notifications", body)
    assert sent.status_code == 201, sent.text
    return sent.json()


async def ask_code(client: httpx.AsyncClient, contact: str, lang: str = "") -> httpx.Response:
    """The sign-in form as a browser posts it: opened first, for its pre-session token
    (login CSRF protection), then sent with the phone number or address."""
    page = await client.get("/portal/")
    query = f"?lang={lang}" if lang else ""
    data = {"contact": contact, "csrf_token": csrf_of(page)}
    return await client.post(f"/portal/sign-in{query}", data=data)


async def enter_code(client: httpx.AsyncClient, asked: httpx.Response, code: str) -> httpx.Response:
    """The code form on the page ``ask_code`` answered, sent with ``code``."""
    challenge = re.search(r'name="challenge" value="([^"]+)"', asked.text)
    assert challenge, asked.text
    data = {"challenge": challenge.group(1), "code": code, "csrf_token": csrf_of(asked)}
    return await client.post("/portal/sign-in/verify", data=data)


async def sign_in(harness: Harness, outbox: Outbox, contact: str = "0812 3456 7890") -> None:
    """Through the forms, with the code the phone got; the client keeps the cookie."""
    before = len(outbox)
    asked = await ask_code(harness.client, contact)
    sms = (await outbox.wait_for(before + 1))[0]
    signed = await enter_code(harness.client, asked, code_in(sms.body))
    assert signed.status_code == 303, signed.text
    outbox.clear()


def csrf_of(page: httpx.Response) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, "the page has no signed-in form"
    return found.group(1)


async def post_form(harness: Harness, page: str, action: str, **fields: str) -> httpx.Response:
    """Open ``page`` and submit the form at ``action`` with its own token, as a browser."""
    token = csrf_of(await harness.client.get(page))
    return await harness.client.post(action, data={"csrf_token": token, **fields})


async def agency_view(harness: Harness, citizen: dict[str, Any]) -> dict[str, Any]:
    return dict((await harness.get(f"/v2/citizens/{citizen['id']}")).json())
