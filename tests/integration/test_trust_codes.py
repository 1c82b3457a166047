"""Attacks on the portal's one-time sign-in codes, through the portal's API and pages
(SQLite and PostgreSQL): bombing a phone with codes, from one address or spread over
many; guessing across challenges, one after another or all at once; asking for anyone's
contact to learn who is registered; and two Warta processes on one database, which must
share every count. Each attack: the attempt, and what the attacker (and the citizen)
would notice: the codes that reached the phone, the answers, never a session."""

from __future__ import annotations

import asyncio
import contextlib
import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from tests.integration.harness import Clock, Harness, code_in, make_settings, recording
from tests.integration.portal_forms import ask_code
from warta.api.app import create_app
from warta.bootstrap import Warta, bootstrap
from warta.domain.channels import Channel
from warta.pipeline.worker import sweep
from warta.services.admin import create_agency
from warta.settings import Settings
from warta.store.models import Citizen, CitizenContact, CodeEvent
from warta.store.outbox import Outbox

WRONG = "The code is not right"


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 12, 1, 3, 0, tzinfo=UTC))  # 10:00 WIB


@pytest.fixture
def channels(outbox: Outbox) -> dict[str, Channel]:
    return recording(outbox)


def phone(n: int) -> str:
    return f"+6281311{n:06d}"


async def citizen_with_phone(
    harness: Harness,
    n: int,
    *,
    scope: str = "citizen",
    sandbox: bool = False,
    registered_by: uuid.UUID | None = None,
) -> str:
    """A citizen with a proven phone, ``phone(n)``: the citizen's own (``scope="citizen"``),
    or the agency's alone (its id), or a test key's sandbox citizen's. Registered by the
    harness's agency unless ``registered_by``. Set up in the store, so no verification
    code counts against the phone."""
    keyring, now, nik = harness.app.keyring, harness.app.clock(), f"327301410190{n:04d}"
    citizen = Citizen(
        id=uuid.uuid4(),
        nik_hash=keyring.lookup_hash(nik),
        nik_enc=keyring.encrypt(nik, field="citizen.nik"),
        name_enc=keyring.encrypt(f"Warga {n}", field="citizen.name"),
        region_code="32.73.01.1001",
        zone="WIB",
        language="id",
        channel_order="sms",
        created_at=now,
        updated_at=now,
        sandbox_of=harness.agency_id if sandbox else None,
        registered_by=registered_by or harness.agency_id,
    )
    contact = CitizenContact(
        id=uuid.uuid4(),
        citizen_id=citizen.id,
        kind="sms",
        value_enc=keyring.encrypt(phone(n), field="contact.value"),
        value_hash=keyring.lookup_hash(phone(n)),
        verified_at=now,
        code_attempts=0,
        created_at=now,
        scope=scope,
        added_by=None if scope == "citizen" else harness.agency_id,
        proof="code",
    )
    async with harness.app.uow() as uow:
        uow.citizens.add(citizen)
        await uow.session.flush()
        uow.citizens.add(contact)
        await uow.commit()
    return phone(n)


async def ask(client: httpx.AsyncClient, contact: str) -> httpx.Response:
    answer = await client.post("/portal/api/sign-in", json={"contact": contact})
    assert answer.status_code == 200, answer.text
    return answer


async def guess(client: httpx.AsyncClient, challenge: str, code: str) -> httpx.Response:
    return await client.post(
        "/portal/api/sign-in/verify", json={"challenge": challenge, "code": code}
    )


def refused_as_wrong(response: httpx.Response) -> bool:
    return (
        response.status_code == 400
        and response.json()
        == {"status_code": 400, "errors": [{"error": "BadRequestError", "message": WRONG}]}
        and "set-cookie" not in response.headers
    )


def shape(answer: httpx.Response) -> tuple[object, ...]:
    """All an asker can tell from an answer, but the sealed challenge's bytes."""
    body = answer.json()
    return (answer.status_code, sorted(answer.headers), sorted(body), len(body["challenge"]))


def page_shape(page: httpx.Response) -> tuple[object, ...]:
    found = re.search(r'name="challenge" value="([^"]+)"', page.text)
    assert found, page.text
    text = re.sub(r'nonce="[^"]+"', "", page.text.replace(found.group(1), ""))  # per page
    return (page.status_code, sorted(page.headers), len(found.group(1)), text)


def codes_to(outbox: Outbox, to: str) -> list[str]:
    """The codes that reached this phone, oldest first."""
    return [code_in(m.body) for m in reversed(outbox.list()) if m.to == to]


@contextlib.asynccontextmanager
async def from_address(harness: Harness, address: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=harness.api, client=(address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://warta.test") as client:
        yield client


async def wrong_guesses_checked(harness: Harness) -> int:
    async with harness.app.uow() as uow:
        query = select(func.count()).select_from(CodeEvent).where(CodeEvent.kind == "wrong")
        return int(await uow.session.scalar(query) or 0)


# -- code bombing --------------------------------------------------------------------------


async def test_a_fourth_code_in_15_minutes_sends_nothing_and_answers_the_same(
    harness: Harness, outbox: Outbox, clock: Clock
) -> None:
    to = await citizen_with_phone(harness, 1)
    sent = [await ask(harness.client, to), await ask(harness.client, to)]
    sent_page = await ask_code(harness.client, to)
    assert len(codes_to(outbox, to)) == 3
    # The fourth and fifth: nothing reaches the phone, and nothing in the answer, the API's
    # or the page's, says so.
    held = await ask(harness.client, to)
    held_page = await ask_code(harness.client, to)
    assert len(codes_to(outbox, to)) == 3
    assert shape(held) == shape(sent[0]) == shape(sent[1])
    assert page_shape(held_page) == page_shape(sent_page)
    # A quarter of an hour after the first, codes go again.
    clock.advance(timedelta(minutes=15))
    await ask(harness.client, to)
    assert len(codes_to(outbox, to)) == 4


async def test_codes_asked_all_at_once_still_stop_at_three(
    harness: Harness, outbox: Outbox
) -> None:
    to = await citizen_with_phone(harness, 22)
    answers = await asyncio.gather(*(ask(harness.client, to) for _ in range(12)))
    assert len(codes_to(outbox, to)) == 3
    assert all(shape(a) == shape(answers[0]) for a in answers)


async def test_a_contact_gets_at_most_ten_codes_a_day(
    harness: Harness, outbox: Outbox, clock: Clock
) -> None:
    to = await citizen_with_phone(harness, 2)
    start = clock()
    for _ in range(4):  # three asks every quarter of an hour, for an hour
        for _ in range(3):
            await ask(harness.client, to)
        clock.advance(timedelta(minutes=15))
    assert len(codes_to(outbox, to)) == 10  # 3 + 3 + 3 + 1
    for _ in range(3):
        await ask(harness.client, to)
        clock.advance(timedelta(hours=6))  # later that day: still none
    assert len(codes_to(outbox, to)) == 10
    clock.set(start + timedelta(days=1, minutes=1))  # the first hour's first 3 are a day old
    for _ in range(4):
        await ask(harness.client, to)
    assert len(codes_to(outbox, to)) == 13


async def test_one_address_spreading_over_many_contacts_is_capped(
    harness: Harness, outbox: Outbox, clock: Clock
) -> None:
    phones = [await citizen_with_phone(harness, n) for n in range(10, 21)]  # 11 citizens
    async with from_address(harness, "203.0.113.7") as script:
        for to in phones[:10]:
            await ask(script, to)
        assert len(outbox) == 10
        first = await ask(script, phones[10])  # the eleventh in 15 minutes: nothing goes
        assert len(outbox) == 10 and not codes_to(outbox, phones[10])
        async with from_address(harness, "198.51.100.23") as neighbour:
            assert shape(await ask(neighbour, phones[10])) == shape(first)
        assert len(codes_to(outbox, phones[10])) == 1  # another address still can
        # Fifty a day: ten every quarter of an hour, one to each phone, then no more.
        for _ in range(4):
            clock.advance(timedelta(minutes=15))
            for to in phones[:10]:
                await ask(script, to)
        assert len(outbox) == 51
        clock.advance(timedelta(minutes=15))
        for to in phones:
            await ask(script, to)
        assert len(outbox) == 51
        clock.advance(timedelta(hours=23))  # the first quarter's ten are a day old
        await ask(script, phones[0])
        assert len(outbox) == 52


# -- guessing ------------------------------------------------------------------------------


async def test_a_hundred_guesses_over_25_challenges_check_five(
    harness: Harness, outbox: Outbox, clock: Clock
) -> None:
    to = await citizen_with_phone(harness, 3)
    challenges, right = [], {}
    for _ in range(25):  # each new challenge used to start the count afresh
        challenges.append((await ask(harness.client, to)).json()["challenge"])
        if len(codes_to(outbox, to)) > len(right):  # the first three got a code
            right[challenges[-1]] = codes_to(outbox, to)[-1]
    assert len(right) == 3
    wrong = next(f"{n:06d}" for n in range(1_000_000) if f"{n:06d}" not in right.values())
    answers = []
    for challenge in reversed(challenges):  # those that got a code last
        # Four guesses at each; on those that got a code, the right one is the second.
        tries = [wrong, right.get(challenge, wrong), wrong, wrong]
        answers += [await guess(harness.client, challenge, code) for code in tries]
    assert len(answers) == 100
    # Five wrong guesses lock the phone: the right codes, guessed 90th, 94th and 98th,
    # are refused like the rest, and no answer differs.
    assert all(refused_as_wrong(a) for a in answers)
    assert await wrong_guesses_checked(harness) == 5
    # Nor does a code sent now, while locked, sign in.
    clock.advance(timedelta(minutes=14))
    fresh = (await ask(harness.client, to)).json()["challenge"]
    assert refused_as_wrong(await guess(harness.client, fresh, codes_to(outbox, to)[-1]))
    # Fifteen minutes after the fifth wrong guess, the citizen signs in again.
    clock.advance(timedelta(minutes=1, seconds=1))
    again = (await ask(harness.client, to)).json()["challenge"]
    assert (await guess(harness.client, again, codes_to(outbox, to)[-1])).status_code == 200


async def test_guesses_all_at_once_still_check_five(harness: Harness, outbox: Outbox) -> None:
    to = await citizen_with_phone(harness, 4)
    challenges = [(await ask(harness.client, to)).json()["challenge"] for _ in range(6)]
    code = codes_to(outbox, to)[0]  # the first challenge's
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    answers = await asyncio.gather(
        *(guess(harness.client, challenges[n % 6], wrong) for n in range(30))
    )
    assert all(refused_as_wrong(a) for a in answers)
    assert await wrong_guesses_checked(harness) == 5  # not one more slipped in between
    assert refused_as_wrong(await guess(harness.client, challenges[0], code))


# -- who is registered ---------------------------------------------------------------------


async def test_unknown_agency_only_and_sandbox_contacts_answer_alike_and_never_sign_in(
    harness: Harness, outbox: Outbox
) -> None:
    own = await citizen_with_phone(harness, 5)
    # Proven by an agency that linked to the citizen, not the one that registered them
    # (whose proven contact would be the citizen's first own: ``trust.opens_portal``).
    registrant = (await create_agency(harness.app, "Dinas Pendaftar")).id
    agency_only = await citizen_with_phone(
        harness, 6, scope=str(harness.agency_id), registered_by=registrant
    )
    sandboxed = await citizen_with_phone(harness, 7, sandbox=True)
    unknown = phone(8)
    sent = await ask(harness.client, own)
    sent_page = await ask_code(harness.client, own)
    assert len(codes_to(outbox, own)) == 2
    for contact in (unknown, agency_only, sandboxed):
        answer = await ask(harness.client, contact)
        assert shape(answer) == shape(sent)
        page = await ask_code(harness.client, contact)
        assert page_shape(page) == page_shape(sent_page)
        for code in ("000000", "123456", "999999"):
            assert refused_as_wrong(await guess(harness.client, answer.json()["challenge"], code))
    assert len(outbox) == 2  # only the citizen's own phone got codes
    assert (await harness.client.get("/portal/api/inbox")).status_code == 401


# -- two processes -------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def another_process(
    settings: Settings, outbox: Outbox, clock: Clock
) -> AsyncIterator[httpx.AsyncClient]:
    """A second Warta on the same database, as a second `warta serve` would be."""

    async def build(s: Settings) -> Warta:
        return await bootstrap(s, channels=recording(outbox), clock=clock)

    api = create_app(settings, build=build)
    async with api.router.lifespan_context(api):
        transport = httpx.ASGITransport(app=api)
        async with httpx.AsyncClient(transport=transport, base_url="http://warta.test") as client:
            yield client


async def test_two_processes_share_the_counts_and_a_used_challenge(
    harness: Harness, outbox: Outbox, clock: Clock, database_url: str, tmp_path: Path
) -> None:
    to = await citizen_with_phone(harness, 9)
    settings = make_settings(database_url, tmp_path / "other", run_workers=False)
    one = harness.client
    async with another_process(settings, outbox, clock) as two:
        # Codes: three in 15 minutes whichever process is asked.
        challenges = [(await ask(c, to)).json()["challenge"] for c in (one, two, one, two)]
        codes = codes_to(outbox, to)
        assert len(codes) == 3
        wrong = next(f"{n:06d}" for n in range(1_000_000) if f"{n:06d}" not in codes)
        # Wrong guesses: three here, two there lock the phone in both.
        for client, challenge in ((one, 0), (one, 0), (one, 1), (two, 1), (two, 2)):
            assert refused_as_wrong(await guess(client, challenges[challenge], wrong))
        assert refused_as_wrong(await guess(one, challenges[2], codes[2]))
        assert refused_as_wrong(await guess(two, challenges[2], codes[2]))
        # A challenge used in one process cannot be replayed in the other.
        clock.advance(timedelta(minutes=15))
        fresh = (await ask(one, to)).json()["challenge"]
        code = codes_to(outbox, to)[-1]
        assert (await guess(two, fresh, code)).status_code == 200
        replayed = await guess(one, fresh, code)
        assert replayed.status_code == 400
        assert replayed.json()["errors"][0]["message"] == (
            "This code was already used: ask for a new one"
        )


# -- housekeeping --------------------------------------------------------------------------


async def test_the_sweeper_forgets_code_events_two_days_old(
    harness: Harness, outbox: Outbox, clock: Clock
) -> None:
    to = await citizen_with_phone(harness, 23)
    challenge = (await ask(harness.client, to)).json()["challenge"]
    assert refused_as_wrong(await guess(harness.client, challenge, "000000"))
    clock.advance(timedelta(days=1))
    await ask(harness.client, to)
    await sweep(harness.app)
    assert await events(harness) == 5  # sent for the phone and the address, twice; one wrong
    clock.advance(timedelta(days=1, minutes=1))
    await sweep(harness.app)
    assert await events(harness) == 2  # the second day's


async def events(harness: Harness) -> int:
    async with harness.app.uow() as uow:
        return int(await uow.session.scalar(select(func.count()).select_from(CodeEvent)) or 0)
