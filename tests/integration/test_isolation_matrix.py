"""Every route that can name one agency's or one citizen's things, called by someone else.

The matrix below has an entry for each `/v2`, `/console` and `/portal` route of the real
app: the attacks on it (who calls, with the victim's ids, and the refusal the route's
contract gives), or why it can name nothing of anyone else's. A route added without an
entry fails `test_the_matrix_covers_every_route`, so nobody ships one unprobed.

The victim is "Dinas Uji" (templates, a notification, a bulk job, a topic, a broadcast,
staff, keys) and Sri, a citizen it registered, with a message in her inbox. The attackers
are another agency's live key, the victim's own test key (the sandbox) and team key (the
guest list), another agency's admin, the victim's staff in a role without the permission,
and another citizen signed in to the portal. Each attack must be refused with the status
the contract names, show nothing of the victim's, and change nothing: every row of the
database is compared before and after, and the only new rows allowed are the attackers'
own (another agency's, or the test key's sandbox).
"""

from __future__ import annotations

import asyncio
import dataclasses
import io
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import PIL.Image
import pytest
from fastapi.routing import iter_route_contexts
from sqlalchemy import select

from tests.integration.console import Staffer
from tests.integration.console import sign_in as staff_sign_in
from tests.integration.harness import Clock, Harness, auth_header, code_in, recording
from tests.integration.portal_forms import csrf_of, multi_template, own_contacts
from warta.api.app import create_app
from warta.domain.channels import Channel
from warta.services import admin, staff
from warta.services.unsubscribe import Unsubscribe, seal
from warta.settings import Settings
from warta.store.models import Base
from warta.store.outbox import Outbox

X_NIK, X_NAME, X_PHONE = "3273014101900002", "Sri Wahyuni", "+6281234567890"
Y_NIK, Y_PHONE = "3273015202910003", "+6281298765432"
#: Words only the victim's things hold: none may appear in an answer to an attacker.
SECRETS = (X_NAME, X_NIK, X_PHONE, X_PHONE.removeprefix("+62"), "Siaga banjir")
TOMORROW = (datetime(2026, 12, 1, 3, 0, tzinfo=UTC) + timedelta(days=1)).isoformat()


@dataclass(frozen=True)
class Probe:
    """One attack: ``actor`` calls the route with the victim's ids filled into the path,
    ``body`` and ``query`` (``{template_id}``...), and must get ``status``. Whatever the
    status, the answer must show nothing of the victim's."""

    actor: str
    status: int = 404
    body: Mapping[str, Any] | None = None
    query: Mapping[str, str] | None = None


@dataclass(frozen=True)
class Own:
    """The route names nothing of anyone else's: it acts on the caller's own session,
    account or new things only (why, in words)."""

    why: str


def listing(actor: str, **query: str) -> Probe:
    """A listing of the caller's own: 200, with none of the victim's things in it."""
    return Probe(actor, 200, query=query or None)


OTHER = "agency_b"  # another agency's live key
SMS_BODY = {
    "phone_number": "081299990000",
    "template_id": "{template_id}",
    "personalisation": {"nama": "A", "nomor": "1"},
}
BULK = {"name": "x", "template_id": "{template_id}", "rows": [["phone number"], ["081299990000"]]}
TO_SRI = {
    "citizen_id": "{citizen_id}",
    "template_id": "{multi_template_id}",
    "personalisation": {"nopol": "D 1"},
}
CODE = {"code": "123456"}
#: The victim's app's chat session with Sri, and a message too long for any chat.
CHAT = {"session": "sesi-sri", "text": "Apa status laporan saya?"}
HUGE_CHAT = {"session": "sesi-sri", "text": "Siaga " * 400}

MATRIX: dict[str, tuple[Probe, ...] | Own] = {
    # -- Notify v2 -------------------------------------------------------------------------
    "POST /v2/notifications/sms": (
        Probe(OTHER, 400, SMS_BODY),
        Probe("team_key", 400, {**SMS_BODY, "template_id": "{own_template_id}"}),
    ),
    "POST /v2/notifications/email": (
        Probe(
            OTHER,
            400,
            {
                "email_address": "x@contoh.id",
                "template_id": "{email_template_id}",
                "personalisation": {"nama": "A", "jenis": "B"},
            },
        ),
    ),
    "POST /v2/notifications/letter": (
        Probe(OTHER, 400, {"template_id": "{template_id}", "personalisation": {}}),
    ),
    "POST /v2/notifications": (
        Probe(OTHER, body={**TO_SRI, "template_id": "{b_template_id}"}),
        Probe("test_key", body=TO_SRI),
        Probe("team_key", 400, TO_SRI),
    ),
    "POST /v2/notifications/bulk": (Probe(OTHER, 400, BULK),),
    "GET /v2/notifications/bulk/{job_id}": (Probe(OTHER),),
    "GET /v2/notifications/{notification_id}": (Probe(OTHER),),
    "GET /v2/notifications": (listing(OTHER), listing(OTHER, reference="ref-uji")),
    "GET /v2/template/{template_id}": (Probe(OTHER),),
    "GET /v2/template/{template_id}/version/{version}": (Probe(OTHER),),
    "GET /v2/templates": (listing(OTHER),),
    "POST /v2/template/{template_id}/preview": (Probe(OTHER, body={"personalisation": {}}),),
    "GET /v2/received-text-messages": (listing(OTHER),),
    # Before the test key registers her NIK in its sandbox (next), it finds nobody by it.
    "GET /v2/citizens": (
        Probe(OTHER, query={"nik": X_NIK}),
        Probe("test_key", query={"nik": X_NIK}),
    ),
    "POST /v2/citizens": (
        # The sandbox: a test key registering a real NIK gets a sandbox citizen, never her.
        Probe(
            "test_key",
            201,
            {"nik": X_NIK, "name": "Palsu", "region_code": "32.73.01.1001"},
        ),
    ),
    "GET /v2/citizens/{citizen_id}": (Probe(OTHER), Probe("test_key")),
    "PATCH /v2/citizens/{citizen_id}": (Probe(OTHER, body={"name": "Palsu"}),),
    "POST /v2/citizens/{citizen_id}/presence-codes": (Probe(OTHER, body={}),),
    "PUT /v2/citizens/{citizen_id}/preferences": (
        Probe(OTHER, body={"channels": ["email"], "code": "123456"}),
    ),
    "POST /v2/citizens/{citizen_id}/contacts": (
        Probe(OTHER, body={"type": "sms", "value": "+6289912345678"}),
        Probe("test_key", body={"type": "sms", "value": "+6289912345678"}),
    ),
    "POST /v2/citizens/{citizen_id}/contacts/{contact_id}/verify": (Probe(OTHER, body=CODE),),
    "DELETE /v2/citizens/{citizen_id}/contacts/{contact_id}": (Probe(OTHER), Probe("test_key")),
    "POST /v2/citizens/{citizen_id}/consents": (
        Probe(OTHER, body={"granted": False, "source": "sms", "text_shown": "x"}),
    ),
    "GET /v2/citizens/{citizen_id}/consents": (Probe(OTHER), Probe("test_key")),
    "GET /v2/topics": (listing(OTHER),),
    "POST /v2/topics": Own(
        "makes a topic of the caller's own; a slug another agency uses is its own namespace"
    ),
    "POST /v2/broadcasts": (
        Probe(OTHER, 400, {"template_id": "{template_id}", "topic": "banjir"}),
        Probe("team_key", 400, {"template_id": "{own_template_id}", "topic": "banjir"}),
    ),
    "GET /v2/broadcasts/{broadcast_id}": (Probe(OTHER),),
    "POST /v2/broadcasts/{broadcast_id}/cancel": (Probe(OTHER),),
    # Cases: Sri's complaint ({case_id}); a test key sees only its own sandbox cases.
    "POST /v2/cases": (Probe(OTHER, body={"service_code": "uji-aduan", "description": "x"}),),
    "GET /v2/cases": (listing(OTHER), listing("test_key"), listing(OTHER, status="received")),
    "GET /v2/cases/{case_id}": (Probe(OTHER), Probe("test_key")),
    "GET /v2/cases/{case_id}/photos/{photo_id}": (Probe(OTHER), Probe("test_key")),
    "POST /v2/cases/{case_id}/updates": (
        Probe(OTHER, body={"status": "rejected", "reason": "palsu"}),
        Probe("test_key", body={"status": "rejected", "reason": "palsu"}),
    ),
    # The chatbot: the same session string from another agency is another conversation.
    "POST /v2/chat/messages": (
        Probe(OTHER, 200, CHAT),
        Probe(OTHER, 400, HUGE_CHAT),
        Probe("test_key", 400, HUGE_CHAT),
    ),
    # Reading a session back: another agency's (or the test key's) same session string is
    # a conversation of their own, empty, never the victim's.
    "GET /v2/chat/messages": (
        listing(OTHER, session=CHAT["session"]),
        listing("test_key", session=CHAT["session"]),
    ),
    # -- the console -----------------------------------------------------------------------
    "GET /console/sign-in": Own("the sign-in page"),
    "POST /console/sign-in": Own("signs in the person whose password it is"),
    "GET /console/two-factor": Own("the signed-in person's own second step"),
    "GET /console/two-factor/setup": Own("the signed-in person's own authenticator"),
    "POST /console/two-factor": Own("the signed-in person's own second step"),
    "POST /console/sign-out": Own("ends the caller's own session"),
    "GET /console/": Own("the caller's agency's dashboard"),
    "GET /console/team": Own("the caller's agency's team"),
    "POST /console/team": Own("invites to the caller's agency"),
    "POST /console/team/{staff_id}/role": (
        Probe("staff_b", body={"role": "admin"}),
        Probe("editor", 403, {"role": "admin"}),
    ),
    "POST /console/team/{staff_id}/remove": (Probe("staff_b", body={}), Probe("sender", 403, {})),
    "GET /console/templates": Own("the caller's agency's templates"),
    "GET /console/templates/new": Own("an empty form"),
    "POST /console/templates/new": Own("makes a template of the caller's agency"),
    "POST /console/templates/preview": Own("renders the text it is given"),
    "GET /console/templates/{template_id}": (Probe("staff_b"),),
    "GET /console/templates/{template_id}/edit": (Probe("staff_b"), Probe("sender", 403)),
    "POST /console/templates/{template_id}/edit": (
        Probe("staff_b", body={"name": "Palsu", "body": "Palsu"}),
        Probe("viewer", 403, {"name": "Palsu", "body": "Palsu"}),
    ),
    "GET /console/templates/{template_id}/diff": (Probe("staff_b"),),
    "GET /console/send": (Probe("staff_b", query={"template": "{template_id}"}),),
    "POST /console/send": (
        Probe("staff_b", 400, body={"template_id": "{template_id}", "recipient": "081299990000"}),
        Probe("viewer", 403, {"template_id": "{template_id}", "recipient": "081299990000"}),
    ),
    "GET /console/api-keys": Own("the caller's agency's keys"),
    "POST /console/api-keys": Own("makes a key of the caller's agency"),
    "GET /console/api-keys/{key_id}/revoke": (Probe("staff_b"), Probe("editor", 403)),
    "POST /console/api-keys/{key_id}/revoke": (Probe("staff_b", body={}), Probe("editor", 403)),
    "GET /console/callbacks": Own("the caller's agency's callbacks"),
    "POST /console/callbacks": Own("sets the caller's agency's callback"),
    "POST /console/callbacks/remove": Own("removes the caller's agency's callback"),
    "GET /console/notifications": Own("the caller's agency's notifications"),
    "GET /console/notifications/{notification_id}": (Probe("staff_b"),),
    "GET /console/bulk": Own("an upload form"),
    "POST /console/bulk/check": Own("checks the file it is given against the caller's template"),
    "POST /console/bulk/send": Own("sends an upload the caller's own session checked"),
    "GET /console/jobs/{job_id}": (Probe("staff_b"),),
    "GET /console/topics": Own("the caller's agency's topics"),
    "POST /console/topics": Own("makes a topic of the caller's agency"),
    "GET /console/broadcasts": Own("the caller's agency's broadcasts"),
    "POST /console/broadcasts": (
        Probe("staff_b", 400, {"template_id": "{template_id}", "topic": "banjir"}),
    ),
    "GET /console/broadcasts/{broadcast_id}": (Probe("staff_b"),),
    "POST /console/broadcasts/{broadcast_id}/cancel": (
        Probe("staff_b", body={}),
        Probe("viewer", 403, {}),
    ),
    "GET /console/cases": (
        listing("staff_b", service="uji-aduan"),
        Probe("staff_b", 400, query={"assigned": "{staff_id}"}),
    ),
    "GET /console/cases/{case_id}": (Probe("staff_b"),),
    "GET /console/cases/{case_id}/photos/{photo_id}": (Probe("staff_b"),),
    "POST /console/cases/{case_id}/preview": (
        Probe("staff_b", body={"status": "verified"}),
        Probe("viewer", 403, {"status": "verified"}),
    ),
    "POST /console/cases/{case_id}/update": (
        Probe("staff_b", body={"status": "rejected", "reason": "palsu"}),
        Probe("viewer", 403, {"internal_note": "palsu"}),
    ),
    "POST /console/cases/{case_id}/assign": (
        Probe("staff_b", body={"staff_id": "{staff_id}"}),
        Probe("viewer", 403, {"staff_id": "{staff_id}"}),
    ),
    "POST /console/cases/{case_id}/forward": (
        Probe("staff_b", body={"agency_id": str(uuid.UUID(int=1))}),
        Probe("viewer", 403, {"agency_id": str(uuid.UUID(int=1))}),
    ),
    "POST /console/cases/{case_id}/duplicate": (
        Probe("staff_b", body={"of": "{tracking}"}),
        Probe("viewer", 403, {"of": "{tracking}"}),
    ),
    "GET /console/conversations": (listing("staff_b"),),
    "GET /console/conversations/{conversation_id}": (Probe("staff_b"),),
    "POST /console/conversations/{conversation_id}/reply": (
        Probe("staff_b", body={"text": "palsu"}),
        Probe("viewer", 403, {"text": "palsu"}),
    ),
    "POST /console/conversations/{conversation_id}/close": (
        Probe("staff_b", body={}),
        Probe("viewer", 403, {}),
    ),
    "GET /console/faq": (listing("staff_b"),),
    "POST /console/faq": Own("adds to the caller's agency's FAQ"),
    "POST /console/faq/{entry_id}": (
        Probe("staff_b", body={"question": "palsu", "answer": "palsu"}),
        Probe("sender", 403, {"question": "palsu", "answer": "palsu"}),
    ),
    "POST /console/faq/{entry_id}/delete": (Probe("staff_b", body={}), Probe("viewer", 403, {})),
    # -- the citizen portal ----------------------------------------------------------------
    "POST /portal/api/sign-in": Own("sends a code to the contact given, never says to whom"),
    "POST /portal/api/sign-in/verify": Own("trades the caller's own code for a session"),
    "POST /portal/api/sign-out": Own("ends the caller's own session"),
    "GET /portal/api/inbox": Own("the signed-in citizen's own inbox"),
    "GET /portal/api/inbox/events": Own("the signed-in citizen's own inbox, live"),
    "GET /portal/api/inbox/{message_id}": (Probe("citizen_y"),),
    "POST /portal/api/inbox/read": (Probe("citizen_y", body={"id": "{message_id}"}),),
    "GET /portal/api/push/key": Own("the platform's public VAPID key"),
    "POST /portal/api/push/subscriptions": Own("this device, for the signed-in citizen"),
    "POST /portal/api/push/fcm-tokens": Own("this device, for the signed-in citizen"),
    "POST /portal/api/telegram/link": Own("a link for the signed-in citizen's own chat"),
    "GET /portal/": Own("the sign-in page"),
    "POST /portal/sign-in": Own("sends a code to the contact given, never says to whom"),
    "POST /portal/sign-in/verify": Own("trades the caller's own code for a session"),
    "POST /portal/sign-out": Own("ends the caller's own session"),
    "GET /portal/inbox": Own("the signed-in citizen's own inbox"),
    "GET /portal/inbox/{message_id}": (Probe("citizen_y"),),
    "GET /portal/preferences": Own("the signed-in citizen's own preferences"),
    "POST /portal/preferences": Own("the signed-in citizen's own preferences"),
    "POST /portal/agencies": Own("the signed-in citizen's own choices per agency"),
    "GET /portal/topics": Own("the signed-in citizen's own subscriptions"),
    "POST /portal/topics": Own("the signed-in citizen's own subscriptions"),
    "GET /portal/consents": Own("the signed-in citizen's own consent history"),
    "GET /portal/devices": Own("the signed-in citizen's own devices"),
    "POST /portal/devices/telegram": Own("a link for the signed-in citizen's own chat"),
    "GET /portal/contacts": Own("the signed-in citizen's own contacts"),
    "POST /portal/contacts/code": (Probe("citizen_y", body={"contact_id": "{contact_id}"}),),
    "POST /portal/contacts/confirm": (
        Probe("citizen_y", body={"contact_id": "{contact_id}", "code": "123456"}),
    ),
    "POST /portal/contacts/refuse": (Probe("citizen_y", body={"contact_id": "{contact_id}"}),),
    "GET /portal/data": Own("the signed-in citizen's own data"),
    "POST /portal/data/download": Own("the signed-in citizen's own data"),
    "POST /portal/data/delete": Own("erases the signed-in citizen, nobody else"),
    "GET /portal/deleted": Own("a goodbye page"),
    "GET /portal/reports": Own("the signed-in citizen's own cases"),
    "GET /portal/reports/new": Own("the services anyone may report to, and their forms"),
    "POST /portal/reports": Own("files a case as the signed-in citizen"),
    "GET /portal/reports/{tracking}": (Probe("citizen_y"),),
    "POST /portal/reports/{tracking}/reply": (Probe("citizen_y", body={"message": "palsu"}),),
    "GET /portal/reports/{tracking}/photos/{photo_id}": (Probe("citizen_y"),),
    # The chat's address is the session's citizen: another citizen sees only their own.
    "GET /portal/chat": (listing("citizen_y"),),
    "POST /portal/chat": (Probe("citizen_y", 400, {"text": "Siaga " * 400}),),
    "GET /portal/sw.js": Own("a static file"),
    "GET /portal/manifest.webmanifest": Own("a static file"),
    "POST /portal/email-stops": Own("undoes an unsubscribe of the citizen's own addresses only"),
    # One-click unsubscribe: the token is the only key (RFC 8058: no cookie, no session).
    # A forged one (the victim's, one character changed) opens nothing, whoever sends it;
    # a huge body is refused before the token is even read.
    "GET /u/{token}": (Probe(OTHER), Probe("citizen_y")),
    "POST /u/{token}": (
        Probe(OTHER, 404, {"List-Unsubscribe": "One-Click"}),
        Probe("citizen_y", 404, {"List-Unsubscribe": "One-Click"}),
        Probe(OTHER, 413, {"List-Unsubscribe": "One-Click " * 1000}),
    ),
}
SCOPES = ("/v2/", "/console", "/portal", "/u/")


def app_routes() -> set[str]:
    """ "METHOD /path" of every route of the real app under the scopes above."""
    api = create_app(Settings(dev_outbox=True))
    found = set()
    for route in iter_route_contexts(api.routes):
        if route.path and route.path.startswith(SCOPES):
            found |= {f"{method} {route.path}" for method in route.methods or ()}
    return found


def test_the_matrix_covers_every_route() -> None:
    routes = app_routes()
    assert sorted(routes - MATRIX.keys()) == [], "routes with no entry in MATRIX"
    assert sorted(MATRIX.keys() - routes) == [], "entries for routes that no longer exist"
    for route in routes:
        if "{" in route:
            assert not isinstance(MATRIX[route], Own), f"{route} takes an id: attack it"


# -- the victim, the attackers ------------------------------------------------------------


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 12, 1, 3, 0, tzinfo=UTC))  # 10:00 WIB: not quiet hours


@pytest.fixture
def channels(outbox: Outbox) -> dict[str, Channel]:
    return recording(outbox)


@dataclass
class World:
    harness: Harness
    outbox: Outbox
    ids: dict[str, str]
    staff: dict[str, Staffer]
    citizen_y: str
    attackers: set[uuid.UUID]

    def secrets(self) -> list[str]:
        """What of the victim's an answer to an attacker must not show."""
        ids = [v for k, v in self.ids.items() if k not in ("version", "b_template_id")]
        return [*SECRETS, *ids]

    def fill(self, value: Any) -> Any:
        if isinstance(value, str):
            return value.format(**self.ids) if "{" in value else value
        if isinstance(value, dict):
            return {k: self.fill(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.fill(v) for v in value]
        return value


async def sent(harness: Harness, path: str, body: dict[str, Any]) -> str:
    answer = await harness.post(path, body)
    assert answer.status_code == 201, answer.text
    made = answer.json()
    return str(made.get("data", made)["id"])  # a bulk job answers in GC Notify's "data"


async def citizen(harness: Harness, outbox: Outbox, nik: str, phone: str, **more: Any) -> Any:
    """A citizen the victim registers, with a phone proven by its code and made her own."""
    body = {
        "nik": nik,
        "name": more.pop("name", "Warga"),
        "region_code": "32.73.01.1001",
        "phone_numbers": [phone],
        "preferences": {"channels": ["sms"]},
        **more,
    }
    made = (await harness.post("/v2/citizens", body)).json()
    for contact in made["contacts"]:
        before = len(outbox)
        added = {"type": contact["type"], "value": contact["value"]}
        assert (await harness.post(f"/v2/citizens/{made['id']}/contacts", added)).is_success
        message = (await outbox.wait_for(before + 1))[0]
        url = f"/v2/citizens/{made['id']}/contacts/{contact['id']}/verify"
        assert (await harness.post(url, {"code": code_in(message.body)})).status_code == 200
    await own_contacts(harness, made["id"])
    return made


async def portal_session(harness: Harness, outbox: Outbox, phone: str) -> str:
    before = len(outbox)
    asked = await harness.client.post("/portal/api/sign-in", json={"contact": phone})
    code = code_in((await outbox.wait_for(before + 1))[0].body)
    body = {"challenge": asked.json()["challenge"], "code": code}
    signed = await harness.client.post("/portal/api/sign-in/verify", json=body)
    assert signed.status_code == 200, signed.text
    return str(signed.json()["token"])


async def build_world(harness: Harness, outbox: Outbox) -> World:
    app, a = harness.app, harness.agency_id
    b = await admin.create_agency(app, "Dinas Penyerang", sms_sender="SERANG")
    harness.keys["agency_b"] = b.live_key
    harness.keys["test_key"], harness.keys["team_key"] = harness.keys["test"], harness.keys["team"]
    b_template = await admin.create_template(
        app, b.id, kind="multi", name="b", subject="s", body="Halo", sms_body="Halo"
    )
    siaga = await admin.create_template(
        app, a, kind="sms", name="siaga", subject=None, body="Siaga banjir di wilayah Anda."
    )
    multi = await multi_template(harness)
    sri = await citizen(harness, outbox, X_NIK, X_PHONE, name=X_NAME)
    await citizen(harness, outbox, Y_NIK, Y_PHONE)
    ids = {
        "template_id": str(harness.sms_template),
        "email_template_id": str(harness.email_template),
        "own_template_id": str(siaga.id),
        "multi_template_id": multi,
        "b_template_id": str(b_template.id),
        "version": "1",
        "citizen_id": sri["id"],
        "contact_id": sri["contacts"][0]["id"],
        "token": forged_unsubscribe_token(harness),
    }
    await victims_messages(harness, ids)
    await victims_case(harness, ids)
    await victims_chats(harness, ids)
    victim = await staff.add(
        app,
        a,
        email="korban@uji.go.id",
        name="Korban Uji",
        role="sender",
        password="kopi tubruk di pagi hari",
    )
    ids["staff_id"] = str(victim.id)
    [live] = [k for k in await admin.list_keys(app, a) if k.key_type == "normal"][:1]
    ids["key_id"] = str(live.id)
    people = {role: await staff_sign_in(harness, role) for role in ("viewer", "sender", "editor")}
    people["staff_b"] = await staff_sign_in(
        dataclasses.replace(harness, agency_id=b.id), "admin", "admin@serang.go.id"
    )
    await settle(harness)
    session = await portal_session(harness, outbox, Y_PHONE)
    return World(harness, outbox, ids, people, session, {b.id})


def forged_unsubscribe_token(harness: Harness) -> str:
    """An unsubscribe link of the victim's, one character changed."""
    stop = Unsubscribe(harness.agency_id, harness.app.keyring.lookup_hash("sri@contoh.id"))
    token = seal(harness.app.keyring, stop)
    return token[:50] + ("A" if token[50] != "A" else "B") + token[51:]


async def victims_messages(harness: Harness, ids: dict[str, str]) -> None:
    """A notification, a bulk job, a topic with Sri's consent, a message in her inbox and a
    broadcast scheduled for tomorrow: their ids go into ``ids``."""
    ids["notification_id"] = await sent(
        harness,
        "/v2/notifications/sms",
        {
            "phone_number": X_PHONE,
            "template_id": ids["template_id"],
            "reference": "ref-uji",
            "personalisation": {"nama": X_NAME, "nomor": "7"},
        },
    )
    rows = [["phone number", "nama", "nomor"], [X_PHONE, X_NAME, "8"]]
    job = {"name": "daftar", "template_id": ids["template_id"], "rows": rows}
    ids["job_id"] = await sent(harness, "/v2/notifications/bulk", job)
    assert (await harness.post("/v2/topics", {"slug": "banjir", "name": "Banjir"})).is_success
    consent = {"granted": True, "topic": "banjir", "source": "counter", "text_shown": "Ya"}
    assert (await harness.post(f"/v2/citizens/{ids['citizen_id']}/consents", consent)).is_success
    to_sri = {k: v.format(**ids) if isinstance(v, str) else v for k, v in TO_SRI.items()}
    ids["message_id"] = await sent(harness, "/v2/notifications", to_sri)
    ids["broadcast_id"] = await sent(
        harness,
        "/v2/broadcasts",
        {"template_id": ids["own_template_id"], "topic": "banjir", "scheduled_for": TOMORROW},
    )


async def victims_case(harness: Harness, ids: dict[str, str]) -> None:
    """A complaint Sri filed on the portal, with a photo: ``tracking``, ``case_id`` and
    ``photo_id`` go into ``ids``."""
    from warta.services.cases import catalogue, filing
    from warta.services.cases.types import Actor, NewCase

    await catalogue.create_service(
        harness.app, harness.agency_id, "uji-aduan", "Aduan", kind="pengaduan"
    )
    photo = io.BytesIO()
    PIL.Image.new("RGB", (8, 8)).save(photo, "PNG")
    sri = Actor("citizen", id=uuid.UUID(ids["citizen_id"]))
    new = NewCase("uji-aduan", "Siaga banjir di depan rumah saya", photos=[photo.getvalue()])
    case = await filing.file_case(harness.app, sri, new)
    ids.update(tracking=case.tracking_id, case_id=str(case.id), photo_id=str(case.photos[0].id))


async def victims_chats(harness: Harness, ids: dict[str, str]) -> None:
    """Sri's chat with the victim's app, handed to its staff, her chat on the portal, and
    an FAQ entry: ``conversation_id`` and ``entry_id`` go into ``ids``."""
    from warta.services.chatbot import engine, faq, handoff
    from warta.services.chatbot.types import Incoming

    said = {**CHAT, "text": f"Siaga banjir di rumah {X_NAME}"}
    assert (await harness.post("/v2/chat/messages", said)).status_code == 200
    person = {"session": CHAT["session"], "option": "intent:hubungi_petugas"}
    assert (await harness.post("/v2/chat/messages", person)).status_code == 200
    [waiting] = await handoff.queue(harness.app, harness.agency_id)
    sri = uuid.UUID(ids["citizen_id"])
    portal = Incoming("portal", f"portal:{sri}", f"Siaga banjir, saya {X_NAME}", citizen_id=sri)
    await engine.handle(harness.app, portal)
    entry = await faq.save(harness.app, harness.agency_id, "Siaga banjir kapan?", "Besok.")
    ids.update(conversation_id=str(waiting.id), entry_id=str(entry.id))


async def settle(harness: Harness) -> None:
    """Waits until the workers have nothing left to do, so rows change only by attacks."""
    at = Base.metadata.tables["notifications"].columns.keys().index("status")
    for _ in range(200):
        rows = (await snapshot(harness))["notifications"].values()
        if all(row[at] not in ("created", "sending") for row in rows):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("notifications still in flight")


#: A signed-in attacker's own session may note when it was last used; every other row,
#: code counters included (a refused code must not count against her contact), stays.
VOLATILE = {"staff_sessions", "portal_sessions"}


async def snapshot(harness: Harness) -> dict[str, dict[tuple[Any, ...], tuple[Any, ...]]]:
    """Every row of every table, by primary key."""
    found: dict[str, dict[tuple[Any, ...], tuple[Any, ...]]] = {}
    async with harness.app.uow() as uow:
        for table in Base.metadata.sorted_tables:
            keys = [table.columns.keys().index(c.name) for c in table.primary_key.columns]
            rows = (await uow.session.execute(select(table))).all()
            found[table.name] = {tuple(r[i] for i in keys): tuple(r) for r in rows}
    return found


def changes(world: World, before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """Rows changed, removed or added by the attacks, but for the attackers' own."""
    seen = []
    at = Base.metadata.tables["citizens"].columns.keys().index("sandbox_of")
    sandbox = {row[0] for row in after["citizens"].values() if row[at] is not None}
    by = Base.metadata.tables["conversations"].columns.keys().index("agency_id")
    chats = {row[0] for row in after["conversations"].values() if row[by] in world.attackers}
    for table, rows in after.items():
        if table in VOLATILE:
            continue
        columns = Base.metadata.tables[table].columns.keys()
        for key, row in rows.items():
            if before[table].get(key) == row:
                continue
            values = dict(zip(columns, row, strict=True))
            theirs = values.get("agency_id") in world.attackers or values.get("sandbox_of")
            theirs = theirs or values.get("citizen_id") in sandbox
            theirs = theirs or values.get("conversation_id") in chats  # their chat's messages
            if key in before[table] or not theirs:
                seen.append(f"{table} {key}")
        seen += [f"{table} {key} removed" for key in before[table].keys() - rows.keys()]
    return seen


async def attack(world: World, route: str, probe: Probe) -> httpx.Response:
    method, path = route.split(" ", 1)
    url, body = world.fill(path), world.fill(dict(probe.body or {}))
    query = world.fill(dict(probe.query or {})) or None
    if probe.actor in world.harness.keys:
        headers = auth_header(world.harness.keys[probe.actor])
        send = {} if probe.body is None else {"json": body}
        return await world.harness.client.request(
            method, url, headers=headers, params=query, **send
        )
    if probe.actor in world.staff:
        person = world.staff[probe.actor]
        if method == "GET":
            return await person.client.get(url, params=query)
        return await person.post(url, body)
    assert probe.actor == "citizen_y", probe.actor
    client = world.harness.client
    if path.startswith("/portal/api/"):
        bearer = {"Authorization": f"Bearer {world.citizen_y}"}
        return await client.request(method, url, headers=bearer, json=body or None)
    # The pages read the session from its cookie, as a browser sends it.
    async with httpx.AsyncClient(
        transport=client._transport,
        base_url=client.base_url,
        cookies={"warta_session": world.citizen_y},
    ) as browser:
        if method == "GET":
            return await browser.get(url)
        token = csrf_of(await browser.get("/portal/contacts"))
        return await browser.post(url, data={**body, "csrf_token": token})


def probes() -> Iterator[tuple[str, Probe]]:
    for route, entry in MATRIX.items():
        if not isinstance(entry, Own):
            yield from ((route, probe) for probe in entry)


async def test_every_attack_in_the_matrix_is_refused_and_changes_nothing(
    harness: Harness, outbox: Outbox
) -> None:
    world = await build_world(harness, outbox)
    before = await snapshot(harness)
    failed = []
    for route, probe in probes():
        answer = await attack(world, route, probe)
        asked = str([world.fill(part) for part in (route, probe.body or {}, probe.query or {})])
        shown = [s for s in world.secrets() if s in answer.text and s not in asked]
        if answer.status_code != probe.status or shown:
            failed.append(
                f"{route} as {probe.actor}: {answer.status_code} {answer.text[:160]!r}"
                f"{' shows ' + str(shown) if shown else ''}"
            )
    await settle(harness)
    changed = changes(world, before, await snapshot(harness))
    assert failed == [] and changed == [], "\n".join([*failed, *changed])
