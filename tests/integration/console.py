"""Signing staff in to the console from tests, as a browser would: password, then TOTP."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import httpx
import pyotp

from tests.integration.harness import Harness
from warta.services import staff

PASSWORD = "kopi tubruk di pagi hari"


@dataclass
class Staffer:
    """A signed-in person: their own cookie jar, and the TOTP secret their app holds."""

    client: httpx.AsyncClient
    email: str
    secret: str

    async def csrf(self, path: str = "/console/team") -> str:
        """This session's form token, read from a page as a browser's form would carry it."""
        page = await self.client.get(path)
        found = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
        assert found, page.text
        return found.group(1)

    async def post(self, path: str, data: dict[str, str], **kwargs: object) -> httpx.Response:
        """A form post with the CSRF token filled in, as the page's form would send it."""
        return await self.client.post(
            path, data={**data, "csrf_token": await self.csrf()}, **kwargs
        )  # type: ignore[arg-type]


def secret_on(page: str) -> str:
    found = re.search(r'id="totp-secret">([A-Z2-7]+)<', page)
    assert found, page
    return found.group(1)


def code(secret: str, when: datetime) -> str:
    return pyotp.TOTP(secret).at(when)


async def sign_in(
    harness: Harness, role: str = "admin", email: str | None = None, *, at: datetime | None = None
) -> Staffer:
    """Adds a person with ``role`` and signs them in, setting up TOTP on the way."""
    email = email or f"{role}@uji.go.id"
    await staff.add(harness.app, harness.agency_id, email=email, name=role.title() + " Uji",
                    role=role, password=PASSWORD)  # fmt: skip
    client = httpx.AsyncClient(transport=harness.client._transport, base_url="http://warta.test")
    first = await client.post("/console/sign-in", data={"email": email, "password": PASSWORD})
    assert first.status_code == 303, first.text
    setup = await client.get(first.headers["location"])
    secret = secret_on(setup.text)
    token = re.search(r'name="csrf_token" value="([^"]+)"', setup.text)
    assert token
    done = await client.post(
        "/console/two-factor",
        data={"code": code(secret, at or harness.app.clock()), "csrf_token": token.group(1)},
    )
    assert done.status_code == 303, done.text
    return Staffer(client=client, email=email, secret=secret)
