"""Staff sign-in to the console: argon2 password, TOTP set up at the first sign-in, CSRF,
lockout, roles, and sessions that end when the server says so."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from tests.integration.console import (
    PASSWORD,
    Staffer,
    code,
    post_sign_in,
    secret_on,
    sign_in,
)
from tests.integration.harness import Clock, Harness, make_settings, running_warta
from warta.services import staff
from warta.store.models import Staff

START = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


@pytest.fixture
async def harness(database_url: str, tmp_path: Path, clock: Clock) -> AsyncIterator[Harness]:
    async with running_warta(make_settings(database_url, tmp_path), clock=clock) as running:
        yield running


def fresh(harness: Harness) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=harness.client._transport, base_url="http://warta.test")


async def test_first_sign_in_sets_up_totp_and_later_ones_ask_for_a_code(
    harness: Harness, clock: Clock
) -> None:
    async with fresh(harness) as browser:
        away = await browser.get("/console/team")
        assert (away.status_code, away.headers["location"]) == (
            303, "/console/sign-in?next=/console/team",
        )  # fmt: skip
        await staff.add(harness.app, harness.agency_id, email="Ani@Uji.go.id", name="Ani",
                        role="admin", password=PASSWORD)  # fmt: skip
        wrong = await post_sign_in(browser, "ani@uji.go.id", "not it at all")
        assert wrong.status_code == 401 and 'role="alert"' in wrong.text
        nobody = await post_sign_in(browser, "nobody@uji.go.id", PASSWORD)
        # Who has an account is not told: the same page, but for the address typed.
        assert nobody.status_code == 401
        assert nobody.text.replace("nobody@", "ani@") == wrong.text

        step = await post_sign_in(browser, "ANI@uji.go.id", PASSWORD, next="/console/team")
        assert step.headers["location"] == "/console/two-factor/setup?next=/console/team"
        setup = await browser.get(step.headers["location"])
        assert "<svg" in setup.text and "otpauth" not in setup.text  # the QR, not the raw URI
        secret = secret_on(setup.text)
        token = re.search(r'name="csrf_token" value="([^"]+)"', setup.text)
        assert token
        bad = await browser.post(
            "/console/two-factor", data={"code": "000000", "csrf_token": token.group(1)}
        )
        assert bad.status_code == 401 and secret in bad.text  # still setting up
        done = await browser.post(
            "/console/two-factor",
            data={
                "code": code(secret, clock()),
                "csrf_token": token.group(1),
                "next": "/console/team",
            },
        )
        assert (done.status_code, done.headers["location"]) == (303, "/console/team")
        team = await browser.get("/console/team")
        assert team.status_code == 200 and "ani@uji.go.id" in team.text

    async with fresh(harness) as later:  # the next day: a code, no set-up
        clock.advance(timedelta(days=1))
        step = await post_sign_in(later, "ani@uji.go.id", PASSWORD)
        assert step.headers["location"] == "/console/two-factor?next=/console/"
        form = await later.get(step.headers["location"])
        assert "totp-secret" not in form.text
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert token
        ok = await later.post(
            "/console/two-factor",
            data={"code": code(secret, clock()), "csrf_token": token.group(1)},
        )
        assert ok.status_code == 303
        assert (await later.get("/console/team")).status_code == 200


async def test_a_code_works_once(harness: Harness, clock: Clock) -> None:
    admin = await sign_in(harness)
    async with fresh(harness) as thief:  # a second sign-in in the same 30 seconds
        step = await post_sign_in(thief, admin.email, PASSWORD)
        form = await thief.get(step.headers["location"])
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert token
        replay = await thief.post(
            "/console/two-factor",
            data={"code": code(admin.secret, clock()), "csrf_token": token.group(1)},
        )
        assert replay.status_code == 401


async def test_five_wrong_passwords_lock_the_account_for_fifteen_minutes(
    harness: Harness, clock: Clock
) -> None:
    await staff.add(harness.app, harness.agency_id, email="budi@uji.go.id", name="Budi",
                    role="sender", password=PASSWORD)  # fmt: skip
    async with fresh(harness) as browser:
        for _ in range(5):
            await post_sign_in(browser, "budi@uji.go.id", "x" * 12)
        locked = await post_sign_in(browser, "budi@uji.go.id", PASSWORD)
        # The right password is refused as a wrong one is: a lock tells a guesser nothing.
        assert locked.status_code == 401 and "15" in locked.text
        clock.advance(timedelta(minutes=16))
        again = await post_sign_in(browser, "budi@uji.go.id", PASSWORD)
        assert again.status_code == 303


async def test_forms_without_the_session_token_change_nothing(harness: Harness) -> None:
    admin = await sign_in(harness)
    forged = await admin.client.post(
        "/console/team",
        data={"email": "mallory@uji.go.id", "name": "M", "role": "admin", "password": PASSWORD},
    )
    assert forged.status_code == 403
    assert "mallory" not in (await admin.client.get("/console/team")).text
    added = await admin.post(
        "/console/team",
        {"email": "sari@uji.go.id", "name": "Sari", "role": "viewer", "password": PASSWORD},
    )
    assert added.status_code == 303
    assert "sari@uji.go.id" in (await admin.client.get("/console/team")).text


async def test_a_viewer_cannot_manage_the_team_and_sees_why(harness: Harness) -> None:
    viewer = await sign_in(harness, "viewer")
    page = await viewer.client.get("/console/team")
    assert page.status_code == 403 and "peninjau" in page.text  # their role, in Indonesian
    assert "/console/team" not in page.text.split("<main", 1)[0]  # not offered in the menu
    english = await viewer.client.get("/console/team?lang=en")
    assert "Your role (viewer) does not let you do this" in english.text


async def test_signing_out_or_being_removed_ends_the_session_at_once(harness: Harness) -> None:
    admin = await sign_in(harness)
    sender: Staffer = await sign_in(harness, "admin", "kedua@uji.go.id")
    assert (await sender.client.get("/console/team")).status_code == 200
    [second] = [
        m for m in await staff.team(harness.app, harness.agency_id) if m.email == sender.email
    ]
    assert (await admin.post(f"/console/team/{second.id}/remove", {})).status_code == 303
    assert (await sender.client.get("/console/team")).status_code == 303  # back to sign-in

    assert (await admin.post("/console/sign-out", {})).status_code == 303
    cookie = admin.client.cookies  # even a copy of the old cookie no longer works
    async with fresh(harness) as copy:
        copy.cookies.update(cookie)
        assert (await copy.get("/console/team")).status_code == 303


async def test_personal_data_of_staff_is_sealed(harness: Harness) -> None:
    await sign_in(harness, "editor", "rahasia.orang@uji.go.id")
    async with harness.app.uow() as uow:
        [row] = (await uow.session.scalars(select(Staff))).all()
    stored = repr((row.email_enc, row.name_enc, row.email_hash, row.totp_secret_enc))
    assert "rahasia" not in stored and "Editor" not in stored
    assert row.password_hash.startswith("$argon2id$")


async def test_a_page_that_does_not_exist_is_a_page_not_json(harness: Harness) -> None:
    admin = await sign_in(harness)
    missing = await admin.client.get("/console/no-such-page")
    assert missing.status_code == 404 and "Halaman tidak ditemukan" in missing.text
    api = await harness.client.get("/v2/no-such-thing")
    assert api.json()["errors"] == [{"error": "NoResultFound", "message": "No result found"}]
    bad_id = await admin.post("/console/team/not-an-id/remove", {})
    assert bad_id.status_code == 400 and 'role="alert"' in bad_id.text
    assert bad_id.headers["content-type"].startswith("text/html")
