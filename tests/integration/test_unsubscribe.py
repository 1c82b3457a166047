"""One-click unsubscribe as Gmail and Yahoo call it (RFC 8058), on both databases.

Email goes through Warta's real SMTP channel to an aiosmtpd server that keeps the bytes
it received: the headers are checked there, the link is taken from them and POSTed by a
client with no cookie, as a mail provider does.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import re
import uuid
from collections.abc import AsyncIterator
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from tests.integration.harness import Harness, make_settings, running_warta
from tests.integration.portal_forms import EMAIL, multi_template, post_form, register, send
from tests.integration.portal_forms import sign_in as portal_sign_in
from warta.channels.capture import CaptureHandler, CaptureSmtpServer, RecordingChannel
from warta.channels.email_smtp import SmtpChannel
from warta.domain.channels import Channel
from warta.services import admin
from warta.services import unsubscribe as unsubscribing
from warta.store.models import EmailOptOut, Notification
from warta.store.outbox import Outbox

PUBLIC = "https://warta.contoh.go.id"
BOUNCES = "bounces.contoh.go.id"
ADDRESS = "budi@contoh.id"
LINKS = re.compile(
    rf"<{re.escape(PUBLIC)}/u/(?P<url>[A-Za-z0-9_-]+)>, "
    rf"<mailto:u-(?P<mail>[0-9a-f]{{32}})-[0-9a-f]{{16}}@{re.escape(BOUNCES)}\?subject=unsubscribe>"
)


class KeepsBytes(CaptureHandler):
    """Captures into the outbox, and keeps each email's bytes as they arrived."""

    def __init__(self, outbox: Outbox) -> None:
        super().__init__(outbox)
        self.received: list[bytes] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append(envelope.original_content)
        return await super().handle_DATA(server, session, envelope)

    def to(self, address: str) -> list[EmailMessage]:
        parser = BytesParser(_class=EmailMessage, policy=policy.default)
        emails = [parser.parsebytes(raw) for raw in self.received]
        return [e for e in emails if e["To"] == address]

    def linked(self, address: str) -> list[EmailMessage]:
        """The emails to ``address`` that offer one-click unsubscribe."""
        return [e for e in self.to(address) if e["List-Unsubscribe"] is not None]


@contextlib.asynccontextmanager
async def warta_with_smtp(
    database_url: str, tmp_path: Path
) -> AsyncIterator[tuple[Harness, KeepsBytes, Outbox]]:
    outbox = Outbox()
    handler = KeepsBytes(outbox)
    async with CaptureSmtpServer(handler) as server:
        channels: dict[str, Channel] = {
            "email": SmtpChannel(
                host=server.host, port=server.port, start_tls=False, local_hostname="localhost"
            ),
            "sms": RecordingChannel("sms", outbox),
        }
        settings = make_settings(database_url, tmp_path, public_url=PUBLIC, bounce_domain=BOUNCES)
        async with running_warta(settings, channels=channels) as harness:
            yield harness, handler, outbox


def no_cookies(harness: Harness) -> httpx.AsyncClient:
    """A mail provider's client: nothing of any session, straight to the public URL."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=harness.api), base_url=PUBLIC)


async def emailed(harness: Harness, address: str = ADDRESS, **extra: Any) -> str:
    sent = await harness.send_email(address, **extra)
    assert sent.status_code == 201, sent.text
    return str(sent.json()["id"])


def token_of(message: EmailMessage) -> str:
    found = LINKS.fullmatch(" ".join(str(message["List-Unsubscribe"]).split()))
    assert found, message["List-Unsubscribe"]
    # The mailto names this email (its local part fits SMTP's 64 characters).
    assert uuid.UUID(found["mail"]) == uuid.UUID(str(message["X-Warta-Notification-Id"]))
    return found["url"]


async def stops(harness: Harness) -> list[tuple[uuid.UUID, str, str]]:
    async with harness.app.uow() as uow:
        rows = (await uow.session.scalars(select(EmailOptOut))).all()
    return [(r.agency_id, r.topic, r.source) for r in rows]


ONE_CLICK = {"List-Unsubscribe": "One-Click"}


async def broadcast_channel(harness: Harness, template: str, topic: str) -> str:
    """The channel a topic broadcast reached its one subscriber on, once delivered."""
    body = {"template_id": template, "topic": topic, "personalisation": {"nopol": "D 1"}}
    made = await harness.post("/v2/broadcasts", body)
    assert made.status_code == 201, made.text
    broadcast_id = uuid.UUID(made.json()["id"])
    for _ in range(200):
        async with harness.app.uow() as uow:
            query = select(Notification).where(Notification.broadcast_id == broadcast_id)
            rows = (await uow.session.scalars(query)).all()
        if rows and all(r.status == "delivered" for r in rows):
            [row] = rows
            return row.type
        await asyncio.sleep(0.05)
    raise AssertionError(f"the broadcast to {topic} was not delivered")


async def test_non_urgent_email_offers_one_click_and_urgent_does_not(
    database_url: str, tmp_path: Path
) -> None:
    async with warta_with_smtp(database_url, tmp_path) as (h, handler, _):
        await h.wait_status(await emailed(h), "delivered")
        await h.wait_status(await emailed(h, "darurat@contoh.id", priority="urgent"), "delivered")
        agency = str(h.agency_id)
    [normal] = handler.to(ADDRESS)
    assert normal["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    token = token_of(normal)
    # The token says nothing to whoever reads it: no address, no agency id.
    assert "budi" not in token.lower() and agency.replace("-", "") not in token
    [urgent] = handler.to("darurat@contoh.id")
    assert urgent["List-Unsubscribe"] is None and urgent["List-Unsubscribe-Post"] is None
    for raw in handler.received:  # RFC 5322: no line over 998 characters
        assert max(len(line) for line in raw.split(b"\r\n")) <= 998


async def test_one_click_post_without_cookies_stops_the_next_email(
    database_url: str, tmp_path: Path
) -> None:
    async with warta_with_smtp(database_url, tmp_path) as (h, handler, _):
        await h.wait_status(await emailed(h), "delivered")
        token = token_of(handler.to(ADDRESS)[0])
        async with no_cookies(h) as provider:
            answer = await provider.post(f"/u/{token}", data=ONE_CLICK)
            assert answer.status_code == 200, answer.text
            assert "Dinas Uji" in answer.text and len(answer.content) < 10_000
            again = await provider.post(
                f"/u/{token}", files={"List-Unsubscribe": (None, "One-Click")}
            )
            assert again.status_code == 200  # multipart, as RFC 8058 prefers; idempotent
        assert await stops(h) == [(h.agency_id, "", "unsubscribe")]
        row = await h.wait_status(await emailed(h), "cancelled")
        assert row.failure_reason == unsubscribing.STOPPED
        # Urgent email still goes, without the link.
        await h.wait_status(await emailed(h, priority="urgent"), "delivered")
        got = (await h.get(f"/v2/notifications/{row.id}")).json()
    assert got["status"] == "cancelled"
    assert len(handler.to(ADDRESS)) == 2


async def test_get_shows_a_page_in_the_recipients_language_and_changes_nothing(
    database_url: str, tmp_path: Path
) -> None:
    async with warta_with_smtp(database_url, tmp_path) as (h, handler, _):
        await h.wait_status(await emailed(h), "delivered")
        token = token_of(handler.to(ADDRESS)[0])
        async with no_cookies(h) as scanner:
            page = await scanner.get(f"/u/{token}")
            english = await scanner.get(f"/u/{token}?lang=en")
        assert page.status_code == 200
        assert "Berhenti berlangganan" in page.text and "Dinas Uji" in page.text
        assert 'name="List-Unsubscribe" value="One-Click"' in page.text
        assert "Unsubscribe" in english.text and 'action="/u/' in english.text
        assert await stops(h) == []
        await h.wait_status(await emailed(h), "delivered")


async def test_a_tampered_unknown_or_badly_sent_token_changes_nothing(
    database_url: str, tmp_path: Path
) -> None:
    async with warta_with_smtp(database_url, tmp_path) as (h, handler, _):
        await h.wait_status(await emailed(h), "delivered")
        token = token_of(handler.to(ADDRESS)[0])
        flipped = token[:40] + ("A" if token[40] != "A" else "B") + token[41:]
        async with no_cookies(h) as client:
            for bad in (flipped, token[:-3], "garbage", "A" * 120):
                assert (await client.post(f"/u/{bad}", data=ONE_CLICK)).status_code == 404
                assert (await client.get(f"/u/{bad}")).status_code == 404
            refused = [
                await client.post(f"/u/{token}", data={"List-Unsubscribe": "Yes"}),
                await client.post(f"/u/{token}", data={**ONE_CLICK, "more": "x"}),
                await client.post(f"/u/{token}", json=ONE_CLICK),
                await client.post(f"/u/{token}"),
            ]
            assert [r.status_code for r in refused] == [400, 400, 400, 400]
            huge = await client.post(f"/u/{token}", content=b"List-Unsubscribe=One-Click" * 5000)
            assert huge.status_code == 413
        assert await stops(h) == []
        assert await unsubscribing.unsubscribe(h.app, flipped, source="unsubscribe") is False


async def test_one_agencys_link_does_not_stop_anothers_email(
    database_url: str, tmp_path: Path
) -> None:
    async with warta_with_smtp(database_url, tmp_path) as (h, handler, _):
        other = await admin.create_agency(h.app, "Dinas Lain", email_from="info@lain.go.id")
        template = await admin.create_template(
            h.app, other.id, kind="email", name="x", subject="Info", body="Halo"
        )
        await h.wait_status(await emailed(h), "delivered")
        async with no_cookies(h) as provider:
            post = await provider.post(f"/u/{token_of(handler.to(ADDRESS)[0])}", data=ONE_CLICK)
            assert post.status_code == 200
        h.keys["other"] = other.live_key
        body = {"email_address": ADDRESS, "template_id": str(template.id)}
        sent = await h.post("/v2/notifications/email", body, key="other")
        await h.wait_status(sent.json()["id"], "delivered")
        await h.wait_status(await emailed(h), "cancelled")


async def test_a_topics_link_stops_only_that_topic(database_url: str, tmp_path: Path) -> None:
    """A citizen whose email is first: the flood topic's link stops its email only; that
    topic's next message reaches her by SMS, another topic's still by email."""
    async with warta_with_smtp(database_url, tmp_path) as (h, handler, outbox):
        sri = await register(h, outbox, channels=["email", "sms"])
        template = await multi_template(h)
        for slug in ("banjir", "pajak"):
            assert (await h.post("/v2/topics", {"slug": slug, "name": slug.title()})).is_success
            consent = {"granted": True, "topic": slug, "source": "counter", "text_shown": "Ya"}
            assert (await h.post(f"/v2/citizens/{sri['id']}/consents", consent)).is_success
        first = await send(h, sri, template, topic="banjir")
        await h.wait_status(first["id"], "delivered")
        [flood_email] = handler.linked(EMAIL)
        async with no_cookies(h) as provider:
            post = await provider.post(f"/u/{token_of(flood_email)}", data=ONE_CLICK)
            assert post.status_code == 200
        assert await stops(h) == [(h.agency_id, "banjir", "unsubscribe")]
        flood = await send(h, sri, template, topic="banjir")
        tax = await send(h, sri, template, topic="pajak")
        assert (await h.wait_status(flood["id"], "delivered")).type == "sms"
        assert (await h.wait_status(tax["id"], "delivered")).type == "email"
        # A topic broadcast reads the same stops (its own batch query).
        assert await broadcast_channel(h, template, "banjir") == "sms"
        assert await broadcast_channel(h, template, "pajak") == "email"


async def test_a_citizen_who_unsubscribed_is_reached_by_sms_and_can_undo_it(
    database_url: str, tmp_path: Path
) -> None:
    async with warta_with_smtp(database_url, tmp_path) as (h, handler, outbox):
        sri = await register(h, outbox, channels=["email", "sms"])
        template = await multi_template(h)
        await h.wait_status((await send(h, sri, template))["id"], "delivered")
        # The code that verified her address is transactional: no link.
        assert [e for e in handler.to(EMAIL) if e["List-Unsubscribe"] is None]
        async with no_cookies(h) as provider:
            token = token_of(handler.linked(EMAIL)[0])
            page = await provider.get(f"/u/{token}")
            assert "Berhenti berlangganan" in page.text  # her language: Indonesian
            assert (await provider.post(f"/u/{token}", data=ONE_CLICK)).status_code == 200
        by_sms = await h.wait_status((await send(h, sri, template))["id"], "delivered")
        assert by_sms.type == "sms"
        # The portal shows it, and she takes it back; her sign-in code carries no link.
        async with no_cookies(h) as browser:  # https, as the public URL: secure cookies
            portal = dataclasses.replace(h, client=browser)
            await portal_sign_in(portal, outbox, EMAIL)
            codes = [e for e in handler.to(EMAIL) if "Kode masuk" in str(e["Subject"])]
            assert codes and all(e["List-Unsubscribe"] is None for e in codes)
            shown = (await browser.get("/portal/preferences")).text
            assert "Email dari Dinas Uji" in shown and "tautan berhenti berlangganan" in shown
            data = await post_form(portal, "/portal/data", "/portal/data/download")
            [stop] = data.json()["email_stops"]
            assert (stop["agency"], stop["topic"], stop["source"]) == (
                "Dinas Uji",
                None,
                "unsubscribe",
            )
            undone = await post_form(
                portal, "/portal/preferences", "/portal/email-stops",
                agency_id=str(h.agency_id), topic="",
            )  # fmt: skip
            assert undone.status_code == 303
        assert await stops(h) == []
        by_email = await h.wait_status((await send(h, sri, template))["id"], "delivered")
        assert by_email.type == "email"
