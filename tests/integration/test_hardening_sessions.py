"""Sign-in and sessions under attack (issue 15, items 3, 4 and 11), as an attacker and a
signed-in person would notice: the API staying quick while a crowd of wrong passwords is
checked, the lockout that counts every try before checking it and cannot be turned on
a colleague from elsewhere, refusals that all look alike, sign-in and sign-out forms
another site cannot post, portal sessions that end when the server says so, and HSTS
with Secure cookies under https."""

from __future__ import annotations

import asyncio
import re
import statistics
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from tests.integration.console import PASSWORD, post_sign_in, sign_in
from tests.integration.harness import (
    Harness,
    auth_header,
    code_in,
    make_settings,
    recording,
    running_warta,
    serving,
)
from tests.integration.portal_forms import (
    PHONE,
    ask_code,
    csrf_of,
    enter_code,
    post_form,
    register,
)
from tests.integration.portal_forms import sign_in as portal_sign_in
from tests.integration.test_portal_api import bearer
from tests.integration.test_portal_api import sign_in as api_sign_in
from warta.api.transport import StrictTransport
from warta.domain.channels import Channel
from warta.domain.staff import Allowance, Lockout
from warta.services import staff
from warta.store.models import PortalSession, StaffSignInFailure
from warta.store.outbox import Outbox

EMAIL = "budi@uji.go.id"
ELSEWHERE = ("198.51.100.7", 40000)  # another client address (the colleague's office)


@pytest.fixture
def channels(outbox: Outbox) -> dict[str, Channel]:
    return recording(outbox)


@pytest.fixture
async def lite(sqlite_url: str, tmp_path: Path, outbox: Outbox) -> AsyncIterator[Harness]:
    """SQLite only, for what does not depend on the database (argon2 is slow: the test
    time budget goes to the cases that do)."""
    settings = make_settings(sqlite_url, tmp_path)
    async with running_warta(settings, channels=recording(outbox)) as running:
        yield running


@pytest.fixture
async def pg(postgres_url: str, tmp_path: Path) -> AsyncIterator[Harness]:
    async with running_warta(make_settings(postgres_url, tmp_path)) as running:
        yield running


def browser(harness: Harness, client: tuple[str, int] = ("127.0.0.1", 123)) -> httpx.AsyncClient:
    """A browser of its own (cookie jar), at ``client``'s address, on the in-process app."""
    transport = httpx.ASGITransport(app=harness.api, client=client)
    return httpx.AsyncClient(transport=transport, base_url="http://warta.test")


async def latencies_while(
    client: httpx.AsyncClient, key: str, busy: Awaitable[Any]
) -> tuple[list[float], Any]:
    """``GET /v2/templates`` one after another until ``busy`` is done: each one's time."""
    task = asyncio.ensure_future(busy)
    times: list[float] = []
    while not task.done() or len(times) < 3:
        started = time.perf_counter()
        answer = await client.get("/v2/templates", headers=auth_header(key))
        assert answer.status_code == 200, answer.text
        times.append(time.perf_counter() - started)
        await asyncio.sleep(0.05)  # an agency's steady traffic, not a flood of its own
    return times, await task


def checks_of(monkeypatch: pytest.MonkeyPatch) -> list[str | None]:
    """Every argon2 check made, by the hash checked (None: the dummy), still run for real."""
    made: list[str | None] = []
    real = staff._verify

    def counted(hashed: str | None, password: str) -> bool:
        made.append(hashed)
        return real(hashed, password)

    monkeypatch.setattr(staff, "_verify", counted)
    return made


def same_page(answer: httpx.Response, typed: str) -> tuple[int, str]:
    """What a refused sign-in shows, but for the email typed back into the form and the
    form's token (each browser's own)."""
    text = re.sub(r'name="csrf_token" value="[^"]+"', "", answer.text.replace(typed, "EMAIL"))
    return answer.status_code, text


async def timed(call: Callable[[], Awaitable[httpx.Response]]) -> tuple[float, httpx.Response]:
    started = time.perf_counter()
    answer = await call()
    return time.perf_counter() - started, answer


# -- items 3 and 4: a crowd of wrong passwords -------------------------------------------


async def test_thirty_wrong_passwords_at_once_check_five_and_leave_the_api_quick(
    pg: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before: argon2 ran on the event loop (``GET /v2/templates`` stalled ~5 s while 30
    wrong passwords were checked) and the count came after the check (27 of 30 checked
    before a lock meant to come after 5)."""
    await staff.add(pg.app, pg.agency_id, email=EMAIL, name="Budi", role="admin",
                    password=PASSWORD)  # fmt: skip
    checks = checks_of(monkeypatch)
    async with serving(pg.api) as url, httpx.AsyncClient(base_url=url, timeout=60) as attacker:
        # One page for the form's token, then 30 tries at once, as a script would.
        first = await attacker.get("/console/sign-in")
        data = {"email": EMAIL, "password": "bukan kata sandinya", "csrf_token": csrf_of(first)}
        crowd = asyncio.gather(*(attacker.post("/console/sign-in", data=data) for _ in range(30)))
        async with httpx.AsyncClient(base_url=url, timeout=60) as agency:
            times, answers = await latencies_while(agency, pg.keys["live"], crowd)
        assert {a.status_code for a in answers} == {401}
        # The lock is on for this address: the right password is refused as a wrong one.
        locked = await post_sign_in(attacker, EMAIL, PASSWORD)
    print(f"GET /v2/templates during 30 sign-ins: {len(times)} calls, "
          f"median {statistics.median(times):.3f} s, max {max(times):.3f} s")  # fmt: skip
    assert max(times) < 2.5 and statistics.median(times) < 0.5
    row = await _staff_hash(pg)
    # Every try ran argon2 (the same time for all); only 5 checked the real hash.
    assert len(checks) == 31 and checks.count(row) == 5
    assert same_page(locked, EMAIL) == same_page(answers[0], EMAIL)
    # The colleague, at their own address, still signs in.
    async with browser(pg, ELSEWHERE) as colleague:
        assert (await post_sign_in(colleague, EMAIL, PASSWORD)).status_code == 303


async def _staff_hash(pg: Harness) -> str:
    async with pg.app.uow() as uow:
        row = await uow.staff.by_email_hash(pg.app.keyring.lookup_hashes(EMAIL))
    assert row is not None
    return row.password_hash


async def test_unknown_wrong_and_locked_answer_alike(
    lite: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before: a locked account answered 429, an unknown one 401."""
    await staff.add(lite.app, lite.agency_id, email=EMAIL, name="Budi", role="sender",
                    password=PASSWORD)  # fmt: skip
    # A lock on this address, made cheaply: 5 tries counted as the sign-in form counts them.
    async with lite.app.uow() as uow:
        counted = staff._try_of(lite.app, EMAIL, "127.0.0.1")
        for _ in range(5):
            assert await uow.staff.reserve_try(
                counted.account, counted.client, staff.LOCKOUT, lite.app.clock()
            )
        await uow.commit()
    async with browser(lite) as here, browser(lite, ELSEWHERE) as there:
        answers: dict[str, list[tuple[float, httpx.Response]]] = {}
        for _ in range(2):
            for name, client, email, password in (
                ("locked", here, EMAIL, PASSWORD),  # the right password, but locked
                ("wrong", there, EMAIL, "bukan kata sandinya"),
                ("unknown", there, "siapa@uji.go.id", PASSWORD),
            ):
                answer = await timed(lambda c=client, e=email, p=password: post_sign_in(c, e, p))
                answers.setdefault(name, []).append(answer)
    pages = {
        name: same_page(tries[0][1], "siapa@uji.go.id" if name == "unknown" else EMAIL)
        for name, tries in answers.items()
    }
    assert pages["locked"] == pages["wrong"] == pages["unknown"]
    assert pages["wrong"][0] == 401 and "Setelah 5 kali salah" in pages["wrong"][1]
    quickest = {name: min(t for t, _ in tries) for name, tries in answers.items()}
    print("sign-in refusal times (s):", {k: round(v, 3) for k, v in quickest.items()})
    assert max(quickest.values()) < 2.5 * min(quickest.values())  # one argon2 check each
    async with lite.app.uow() as uow:
        counts = (await uow.session.scalars(select(StaffSignInFailure))).all()
    # Unknown emails are counted like real ones: the counts show nobody who has an account.
    assert len({c.account_hash for c in counts}) == 2


async def test_tries_at_once_take_the_free_tries_and_no_more_across_processes(
    harness: Harness,
) -> None:
    """The count is the database's (one conditional ``UPDATE`` per try, each in its own
    transaction, as separate Warta processes make them), not the process's: 30 tries at
    once from one address take 5; another address has its own 5; the ceiling per account
    holds over every address; an operator's reset lifts it all."""
    app, now = harness.app, harness.app.clock()
    ceiling = Lockout(per_account=Allowance(8, timedelta(hours=1)))

    async def one(address: str, lockout: Lockout = staff.LOCKOUT) -> bool:
        counted = staff._try_of(app, EMAIL, address)
        async with app.uow() as uow:
            taken = await uow.staff.reserve_try(counted.account, counted.client, lockout, now)
            if taken:
                await uow.commit()
        return taken

    assert sum(await asyncio.gather(*(one("203.0.113.9") for _ in range(30)))) == 5
    assert await one("2001:db8:1:2::1")  # another address has tries of its own
    crowd = [one(f"192.0.2.{n}", ceiling) for n in range(3) for _ in range(10)]
    assert sum(await asyncio.gather(*crowd)) == 8 - 6  # 6 counted above, from two addresses
    await staff.add(app, harness.agency_id, email=EMAIL, name="Budi", role="sender",
                    password=PASSWORD)  # fmt: skip
    await staff.reset_password(app, EMAIL, PASSWORD + "!", reset_totp=False)
    assert await one("203.0.113.9", ceiling)


# -- item 11: console sign-in and sign-out forms -------------------------------------------


async def test_console_sign_out_from_another_site_changes_nothing(lite: Harness) -> None:
    admin = await sign_in(lite)
    session = admin.client.cookies["warta_staff"]
    forged = await admin.client.post("/console/sign-out", data={})  # no token: another site
    assert forged.status_code == 403 and "set-cookie" not in forged.headers
    assert (await admin.client.get("/console/team")).status_code == 200  # still signed in
    for token in ("", "0" * 64):
        forged = await admin.client.post("/console/sign-out", data={"csrf_token": token})
        assert forged.status_code == 403 and "set-cookie" not in forged.headers
    out = await admin.post("/console/sign-out", {})
    assert out.status_code == 303 and 'warta_staff=""' in out.headers["set-cookie"]
    async with browser(lite) as thief:  # the old cookie, replayed
        thief.cookies.set("warta_staff", session, path="/console")
        assert (await thief.get("/console/team")).status_code == 303


async def test_console_sign_in_from_another_site_checks_nothing(
    lite: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Login CSRF: another site's page posts its own staff's email and password in the
    victim's browser, which has no pre-session cookie (or the attacker's token for it)."""
    await staff.add(lite.app, lite.agency_id, email=EMAIL, name="Budi", role="sender",
                    password=PASSWORD)  # fmt: skip
    checks = checks_of(monkeypatch)
    async with browser(lite) as attacker, browser(lite) as victim:
        token = csrf_of(await attacker.get("/console/sign-in"))
        await victim.get("/console/sign-in")  # the victim has a sign-in cookie of their own
        for data in ({}, {"csrf_token": token}, {"csrf_token": "0" * 64}):
            forged = await victim.post(
                "/console/sign-in", data={"email": EMAIL, "password": PASSWORD, **data}
            )
            assert forged.status_code == 403 and "warta_staff" not in victim.cookies
            assert "Formulir ini sudah kedaluwarsa" in forged.text
        assert checks == []  # no password was checked
        assert (await post_sign_in(victim, EMAIL, PASSWORD)).status_code == 303  # its own form


# -- item 11: portal sessions and forms -----------------------------------------------------


async def test_portal_sign_in_from_another_site_signs_nobody_in(
    lite: Harness, outbox: Outbox
) -> None:
    """Login CSRF: the attacker asks a code for their own phone, then makes the victim's
    browser post it, to read what the victim does in the attacker's portal."""
    await register(lite, outbox)
    async with browser(lite) as attacker, browser(lite) as victim:
        asked = await ask_code(attacker, PHONE)
        code = code_in((await outbox.wait_for(1))[0].body)
        challenge = re.search(r'name="challenge" value="([^"]+)"', asked.text)
        assert challenge
        await victim.get("/portal/")  # a sign-in cookie of the victim's own
        for token in ("", csrf_of(asked)):
            forged = await victim.post(
                "/portal/sign-in/verify",
                data={"challenge": challenge.group(1), "code": code, "csrf_token": token},
            )
            assert forged.status_code == 403 and "warta_session" not in victim.cookies
        assert (await victim.get("/portal/inbox")).status_code == 303  # signed out still
        # Asking for a code by another site's form sends nothing either.
        outbox.clear()
        forged = await victim.post("/portal/sign-in", data={"contact": PHONE})
        assert forged.status_code == 403 and len(outbox) == 0
        # The JSON API takes the code only as JSON, which another site cannot send.
        for headers in ({}, {"Content-Type": "text/plain"}):
            body = f'{{"challenge": "{challenge.group(1)}", "code": "{code}"}}'
            answer = await victim.post("/portal/api/sign-in/verify", content=body, headers=headers)
            assert answer.status_code == 400 and "warta_session" not in victim.cookies
        # The attacker's own browser signs in with it, as it should.
        assert (await enter_code(attacker, asked, code)).status_code == 303


async def test_portal_sign_out_ends_the_session_for_good(harness: Harness, outbox: Outbox) -> None:
    """Before: a session was a sealed 30-day token; signing out only dropped the cookie, so
    a copy (a shared computer, a stolen token) kept working for the month."""
    await register(harness, outbox)
    token = await api_sign_in(harness, outbox)
    assert (await harness.client.get("/portal/api/inbox", headers=bearer(token))).status_code == 200
    async with browser(harness) as other:  # no session: 401, and no cookie is touched
        out = await other.post("/portal/api/sign-out")
        assert out.status_code == 401 and "set-cookie" not in out.headers
    out = await harness.client.post("/portal/api/sign-out", headers=bearer(token))
    assert out.status_code == 204
    for replay in (bearer(token), {"Cookie": f"warta_session={token}"}):
        async with browser(harness) as thief:
            assert (await thief.get("/portal/api/inbox", headers=replay)).status_code == 401
            assert (await thief.get("/portal/inbox", headers=replay)).status_code == 303

    # The pages' sign-out too: a copy of the cookie taken before opens nothing after.
    await portal_sign_in(harness, outbox)
    cookie = harness.client.cookies["warta_session"]
    forged = await harness.client.post("/portal/sign-out", data={})  # another site's form
    assert forged.status_code == 403 and "set-cookie" not in forged.headers
    out = await post_form(harness, "/portal/inbox", "/portal/sign-out")
    assert out.status_code == 303
    async with browser(harness) as thief:
        thief.cookies.set("warta_session", cookie, path="/portal")
        assert (await thief.get("/portal/inbox")).status_code == 303
        assert (await thief.get("/portal/api/inbox")).status_code == 401


async def test_erasing_my_data_ends_every_session_of_mine(harness: Harness, outbox: Outbox) -> None:
    citizen = await register(harness, outbox)
    await portal_sign_in(harness, outbox)  # this browser
    async with browser(harness) as phone:  # and the official app, signed in long ago
        answer = await phone.post("/portal/api/sign-in", json={"contact": PHONE})
        code = code_in((await outbox.wait_for(1))[0].body)
        signed = await phone.post(
            "/portal/api/sign-in/verify",
            json={"challenge": answer.json()["challenge"], "code": code},
        )
        phone_app = signed.json()["token"]
    assert await _sessions_of(harness, citizen["id"]) == 2
    erased = await post_form(harness, "/portal/data", "/portal/data/delete", confirm="HAPUS")
    assert erased.status_code == 303
    assert await _sessions_of(harness, citizen["id"]) == 0
    answer = await harness.client.get("/portal/api/inbox", headers=bearer(phone_app))
    assert answer.status_code == 401


async def _sessions_of(harness: Harness, citizen_id: str) -> int:
    async with harness.app.uow() as uow:
        query = select(func.count()).where(PortalSession.citizen_id == uuid.UUID(citizen_id))
        return int(await uow.session.scalar(query) or 0)


# -- item 11: https ------------------------------------------------------------------------


async def test_under_https_responses_carry_hsts_and_every_cookie_is_secure(
    lite: Harness, outbox: Outbox
) -> None:
    await register(lite, outbox)
    plain = await lite.client.get("/console/sign-in")
    assert "strict-transport-security" not in plain.headers
    assert "secure" not in plain.headers["set-cookie"].lower()
    transport = httpx.ASGITransport(app=lite.api)
    async with httpx.AsyncClient(transport=transport, base_url="https://warta.test") as tls:
        for path in ("/console/sign-in?lang=en", "/portal/?lang=en", "/_status"):
            answer = await tls.get(path)
            assert answer.headers["strict-transport-security"] == "max-age=31536000", path
            for cookie in answer.headers.get_list("set-cookie"):
                assert "; secure" in cookie.lower(), cookie
        challenge = await challenge_for_tls(tls)
        code = code_in((await outbox.wait_for(1))[0].body)
        signed = await tls.post(
            "/portal/api/sign-in/verify", json={"challenge": challenge, "code": code}
        )
        assert signed.status_code == 200 and "; secure" in signed.headers["set-cookie"].lower()
        assert signed.headers["strict-transport-security"] == "max-age=31536000"


async def challenge_for_tls(client: httpx.AsyncClient) -> str:
    answer = await client.post("/portal/api/sign-in", json={"contact": PHONE})
    assert answer.status_code == 200, answer.text
    return str(answer.json()["challenge"])


async def test_an_https_public_url_sends_hsts_behind_a_plain_http_proxy() -> None:
    """A TLS proxy in front of an http Warta: ``WARTA_PUBLIC_URL`` says https."""

    async def hello(_request: object) -> PlainTextResponse:
        return PlainTextResponse("ok")

    app = Starlette(routes=[Route("/", hello)])
    cases = (("https://warta.go.id", True), ("http://warta.test", False), ("", False))
    for public_url, wanted in cases:
        wrapped = StrictTransport(app, public_url=public_url)
        transport = httpx.ASGITransport(app=wrapped)
        async with httpx.AsyncClient(transport=transport, base_url="http://x") as client:
            answer = await client.get("/")
        assert ("strict-transport-security" in answer.headers) is wanted, public_url
