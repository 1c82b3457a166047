"""The console's API keys and callbacks pages: a key shown once that really works against
the API until it is revoked, callbacks that Warta really posts to (with a token the page
never shows back), and roles without ``manage_api`` that can neither see nor change them."""

from __future__ import annotations

import json
import re
import uuid

import pytest

from tests.integration.console import Staffer, sign_in
from tests.integration.harness import (
    Harness,
    Receiver,
    auth_header,
    receiver_running,
    wait_requests,
)
from warta.services import admin

TOKEN = "rahasia-callback-dinas-9xZq"


def key_on(page: str) -> str:
    found = re.search(r'id="new-key" class="mono" type="text" value="([^"]+)"', page)
    assert found, page
    return found.group(1)


async def api_status(harness: Harness, key: str) -> int:
    return (await harness.client.get("/v2/notifications", headers=auth_header(key))).status_code


async def key_id_named(harness: Harness, name: str, agency_id: uuid.UUID | None = None) -> str:
    keys = await admin.list_keys(harness.app, agency_id or harness.agency_id)
    return next(str(k.id) for k in keys if k.name == name)


# -- API keys ------------------------------------------------------------------------------


async def test_a_new_key_is_shown_once_works_and_stops_working_when_revoked(
    harness: Harness,
) -> None:
    admin_ = await sign_in(harness, "admin")
    listing = await admin_.client.get("/console/api-keys?lang=en")  # English from here on
    assert listing.status_code == 200
    for shown in ("live key", "team key", "test key", "Team and guest list", "reach nobody"):
        assert shown in listing.text

    made = await admin_.post("/console/api-keys", {"name": "Situs antrean", "key_type": "normal"})
    assert made.status_code == 200
    assert made.headers["cache-control"] == "no-store"
    assert "It will not be shown again" in made.text
    key = key_on(made.text)
    assert key.startswith(f"situs_antrean-{harness.agency_id}-")
    assert await api_status(harness, key) == 200

    later = await admin_.client.get("/console/api-keys")
    assert "Situs antrean" in later.text and "Active" in later.text
    assert key[-36:] not in later.text  # the secret is never on a page again

    key_id = await key_id_named(harness, "Situs antrean")
    confirm = await admin_.client.get(f"/console/api-keys/{key_id}/revoke")
    assert "Revoke the key “Situs antrean”?" in confirm.text
    assert "stops being able to send" in confirm.text
    assert await api_status(harness, key) == 200  # asking is not doing

    revoked = await admin_.post(f"/console/api-keys/{key_id}/revoke", {})
    assert (revoked.status_code, revoked.headers["location"]) == (
        303, "/console/api-keys?done=revoked",
    )  # fmt: skip
    assert await api_status(harness, key) == 403
    after = await admin_.client.get(revoked.headers["location"])
    assert "The key is revoked" in after.text and "Revoked " in after.text
    assert f"/console/api-keys/{key_id}/revoke" not in after.text  # no second revoke link


async def test_a_team_key_made_in_the_console_is_a_team_key(harness: Harness) -> None:
    admin_ = await sign_in(harness, "admin")
    made = await admin_.post("/console/api-keys", {"name": "uji coba", "key_type": "team"})
    key = key_on(made.text)
    sent = await harness.client.post(
        "/v2/notifications/sms",
        json={"phone_number": "081234567890", "template_id": str(harness.sms_template),
              "personalisation": {"nama": "Budi", "nomor": "7"}},
        headers=auth_header(key),
    )  # fmt: skip
    assert sent.status_code == 400
    assert "team-only API key" in sent.text


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"name": "  ", "key_type": "normal"}, "Kunci API perlu nama"),
        ({"name": "x" * 256, "key_type": "normal"}, "paling panjang 255 karakter"),
        ({"name": "situs", "key_type": "admin"}, "Jenis kunci harus salah satu"),
    ],
    ids=["blank-name", "long-name", "unknown-type"],
)
async def test_a_bad_key_form_says_why_and_makes_no_key(
    harness: Harness, form: dict[str, str], message: str
) -> None:
    admin_ = await sign_in(harness, "admin")
    before = await admin.list_keys(harness.app, harness.agency_id)
    bad = await admin_.post("/console/api-keys", form)
    assert bad.status_code == 400
    assert 'role="alert"' in bad.text and message in bad.text
    assert len(await admin.list_keys(harness.app, harness.agency_id)) == len(before)


async def test_another_agencys_key_cannot_be_revoked(harness: Harness) -> None:
    other = await admin.create_agency(harness.app, "Dinas Tetangga")
    other_id = await key_id_named(harness, "live key", other.id)
    admin_ = await sign_in(harness, "admin")
    assert (await admin_.client.get(f"/console/api-keys/{other_id}/revoke")).status_code == 404
    assert (await admin_.post(f"/console/api-keys/{other_id}/revoke", {})).status_code == 404
    assert await api_status(harness, other.live_key) == 200
    listing = await admin_.client.get("/console/api-keys")
    assert other_id not in listing.text


# -- callbacks -----------------------------------------------------------------------------


async def test_a_callback_set_in_the_console_receives_delivery_receipts(
    harness: Harness,
) -> None:
    admin_ = await sign_in(harness, "admin")
    receiver = Receiver(answers=[])
    async with receiver_running(receiver) as url:
        saved = await admin_.post(
            "/console/callbacks", {"kind": "receipts", "url": url, "token": TOKEN}
        )
        assert (saved.status_code, saved.headers["location"]) == (
            303, "/console/callbacks?done=saved",
        )  # fmt: skip
        sent = (await harness.send_sms(reference="dari-konsol")).json()
        await wait_requests(receiver, 1)
    headers, body = receiver.requests[0]
    assert headers["authorization"] == f"Bearer {TOKEN}"
    assert json.loads(body)["id"] == sent["id"]
    assert json.loads(body)["reference"] == "dari-konsol"

    page = await admin_.client.get(saved.headers["location"])
    assert url in page.text and "Sudah diisi, berakhiran 9xZq" in page.text
    assert TOKEN not in page.text and TOKEN[:-4] not in page.text


async def test_the_inbound_callback_is_set_and_removed_apart_from_receipts(
    harness: Harness,
) -> None:
    admin_ = await sign_in(harness, "admin")
    receipts, inbound = "https://dinas.go.id/laporan", "https://dinas.go.id/sms-masuk"
    await admin_.post("/console/callbacks", {"kind": "receipts", "url": receipts, "token": TOKEN})
    await admin_.post(
        "/console/callbacks", {"kind": "inbound", "url": inbound, "token": "token-sms-masuk-4321"}
    )
    saved = await admin.callbacks(harness.app, harness.agency_id)
    assert (saved["receipts"].url, saved["receipts"].token_end) == (receipts, "9xZq")
    assert (saved["inbound"].url, saved["inbound"].token_end) == (inbound, "4321")

    removed = await admin_.post("/console/callbacks/remove", {"kind": "inbound"})
    assert removed.headers["location"] == "/console/callbacks?done=removed"
    saved = await admin.callbacks(harness.app, harness.agency_id)
    assert saved["inbound"].url is None and saved["inbound"].token_end is None
    assert saved["receipts"].url == receipts
    page = await admin_.client.get(removed.headers["location"])
    assert "Callback sudah dihapus" in page.text and "Belum diisi" in page.text


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"url": "ftp://dinas.go.id/cb", "token": TOKEN}, "URL callback harus diawali https://"),
        ({"url": "https://", "token": TOKEN}, "URL callback harus diawali https://"),
        ({"url": "https://dinas.go.id/" + "a" * 2000, "token": TOKEN}, "paling panjang 2000"),
        ({"url": "https://dinas.go.id/cb", "token": "pendek"}, "paling sedikit 10 karakter"),
        ({"url": " ", "token": TOKEN}, "Isi URL tujuan callback"),
        ({"url": "https://dinas.go.id/cb", "token": TOKEN, "kind": "semua"}, "Pilih callback"),
    ],
    ids=["not-http", "no-host", "too-long", "short-token", "blank-url", "unknown-kind"],
)
async def test_a_bad_callback_says_why_and_saves_nothing(
    harness: Harness, form: dict[str, str], message: str
) -> None:
    admin_ = await sign_in(harness, "admin")
    bad = await admin_.post("/console/callbacks", {"kind": "receipts", **form})
    assert bad.status_code == 400
    assert 'role="alert"' in bad.text and message in bad.text
    saved = await admin.callbacks(harness.app, harness.agency_id)
    assert saved["receipts"].url is None and saved["inbound"].url is None


# -- who may ---------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["editor", "sender", "viewer"])
async def test_only_admins_see_or_change_keys_and_callbacks(harness: Harness, role: str) -> None:
    person: Staffer = await sign_in(harness, role)
    await admin.set_callback(harness.app, harness.agency_id, "https://dinas.go.id/cb", TOKEN)
    live_id = await key_id_named(harness, "live key")
    for path in ("/console/api-keys", "/console/callbacks", f"/console/api-keys/{live_id}/revoke"):
        seen = await person.client.get(path)
        assert seen.status_code == 403 and "Peran Anda" in seen.text
    home = await person.client.get("/console/team")
    assert "/console/api-keys" not in home.text and "/console/callbacks" not in home.text

    before = await admin.list_keys(harness.app, harness.agency_id)
    tries = [
        ("/console/api-keys", {"name": "diam-diam", "key_type": "normal"}),
        (f"/console/api-keys/{live_id}/revoke", {}),
        ("/console/callbacks", {"kind": "receipts", "url": "https://x.id/cb", "token": TOKEN}),
        ("/console/callbacks/remove", {"kind": "receipts"}),
    ]
    for path, form in tries:
        assert (await person.post(path, form)).status_code == 403
    after = await admin.list_keys(harness.app, harness.agency_id)
    assert [(k.id, k.revoked_at) for k in after] == [(k.id, k.revoked_at) for k in before]
    saved = await admin.callbacks(harness.app, harness.agency_id)
    assert saved["receipts"] == admin.CallbackSetting("https://dinas.go.id/cb", "9xZq")
    assert await api_status(harness, harness.keys["live"]) == 200
