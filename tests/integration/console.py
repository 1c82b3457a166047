"""Console pages from tests: signing staff in as a browser would (password, then TOTP),
and reading a page as a person does (its text, its tables)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from html import unescape
from html.parser import HTMLParser

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


async def post_sign_in(
    client: httpx.AsyncClient, email: str, password: str, **fields: str
) -> httpx.Response:
    """The sign-in form as a browser posts it: opened first, for its pre-session token."""
    page = await client.get("/console/sign-in")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token, page.text
    data = {"email": email, "password": password, "csrf_token": token.group(1), **fields}
    return await client.post("/console/sign-in", data=data)


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
    first = await post_sign_in(client, email, PASSWORD)
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


def text_of(html: str) -> str:
    """What a reader sees: tags dropped, spaces collapsed."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


class Tables(HTMLParser):
    """Every table on a page as {caption: rows of cell texts}, header rows left out, as a
    screen reader reads them."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._caption: str | None = None
        self._rows: list[list[str]] = []
        self._text: list[str] | None = None
        self._in_caption = self._in_head = False
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._caption, self._rows = "", []
        elif tag == "caption":
            self._in_caption = True
        elif tag == "thead":
            self._in_head = True
        elif tag == "tr" and not self._in_head:
            self._rows.append([])
        elif tag in ("td", "th") and not self._in_head:
            self._text = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "caption":
            self._in_caption = False
        elif tag == "thead":
            self._in_head = False
        elif tag in ("td", "th") and self._text is not None:
            self._rows[-1].append(" ".join("".join(self._text).split()))
            self._text = None
        elif tag == "table" and self._caption is not None:
            self.tables[" ".join(self._caption.split())] = self._rows

    def handle_data(self, data: str) -> None:
        if self._in_caption and self._caption is not None:
            self._caption += data
        elif self._text is not None:
            self._text.append(data)


def rows_of(page: str, caption: str) -> list[list[str]]:
    """The rows of the table with ``caption`` (its header left out), as cell texts."""
    return Tables(page).tables[caption]


def row(page: str, caption: str, first_cell: str) -> list[str]:
    """The other cells of the row that starts with ``first_cell``."""
    [found] = [r[1:] for r in rows_of(page, caption) if r and r[0] == first_cell]
    return found
