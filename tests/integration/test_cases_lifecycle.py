"""A case from filing to closing, with the clock under the test's control: the citizen is
told of each step on their own channel, a deadline missed across a public holiday is
flagged and its agency's supervisors emailed, and a case the citizen does not answer
closes by itself. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.integration.harness import TEST_SECRET_KEY, Clock, Harness, recording
from tests.integration.portal_forms import PHONE, register
from warta.cli import main
from warta.domain.channels import Channel
from warta.errors import BadRequest, NotFound
from warta.services import staff
from warta.services.admin import create_agency, create_template
from warta.services.cases import catalogue, deadlines, filing, lifecycle, reads, telling
from warta.services.cases.types import Actor, CaseView, Location, NewCase, QueueFilter, Reporter
from warta.services.citizens import erasure
from warta.store.models import CaseEvent
from warta.store.outbox import Outbox


def wib(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC) - timedelta(hours=7)


#: Tuesday 22 December 2026, 10:00 in Jakarta. Friday 25 December is Christmas.
FILED = wib(2026, 12, 22, 10)


@pytest.fixture
def clock() -> Clock:
    return Clock(FILED)


@pytest.fixture
def channels(outbox: Outbox) -> dict[str, Channel]:
    return recording(outbox)


async def road_service(harness: Harness) -> None:
    await catalogue.create_service(
        harness.app, harness.agency_id, "JALAN-RUSAK", "Jalan rusak", group="Jalan",
        keywords=["jalan", "lubang"], kind="laporan",
    )  # fmt: skip


async def citizen_case(harness: Harness, outbox: Outbox) -> tuple[CaseView, Actor]:
    await road_service(harness)
    citizen = await register(harness, outbox)
    actor = Actor("citizen", uuid.UUID(citizen["id"]))
    new = NewCase(
        "JALAN-RUSAK",
        "Lubang besar di depan sekolah",
        location=Location(-6.9175, 107.6191, "Jl. Asia Afrika 1", "32.73.01.1001"),
        source="portal",
    )
    return await filing.file_case(harness.app, actor, new), actor


async def wait_for(check: Callable[[], Any], what: str, timeout: float = 10.0) -> Any:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        found = await check()
        if found:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"waited {timeout} s for {what}")


async def sms_with(outbox: Outbox, text: str) -> str:
    async def find() -> str | None:
        for message in outbox.list():
            if message.to == PHONE and text in message.body:
                return message.body
        return None

    return str(await wait_for(find, f"an SMS with {text!r}"))


def staff_actor(harness: Harness) -> Actor:
    return Actor("staff", uuid.uuid4(), agency_id=harness.agency_id)


async def test_the_citizen_is_told_each_step_and_an_unanswered_case_closes_itself(
    harness: Harness, outbox: Outbox, clock: Clock
) -> None:
    case, citizen = await citizen_case(harness, outbox)
    assert case.status == "received" and len(case.tracking_id) == 8
    shown = f"{case.tracking_id[:4]}-{case.tracking_id[4:]}"
    filed = await sms_with(outbox, shown)
    assert "Diterima" in filed and "3 hari kerja" in filed
    # Due at the end of the third working day: Wed 23, Thu 24, (Christmas), Mon 28.
    assert case.due_at == wib(2026, 12, 28, 23, 59) + timedelta(seconds=59)

    agency = staff_actor(harness)
    await lifecycle.update(
        harness.app, agency, case.id, status="in_progress",
        public_message="Tim kami meninjau lokasi besok pagi.",
        internal_note="Tugaskan regu Bojongloa",
    )  # fmt: skip
    assert "meninjau lokasi" in await sms_with(outbox, "Sedang ditindaklanjuti")

    await lifecycle.update(
        harness.app, agency, case.id, status="waiting_for_citizen",
        public_message="Mohon kirim foto lubangnya.",
    )  # fmt: skip
    await sms_with(outbox, "Mohon kirim foto")
    answered = await lifecycle.citizen_reply(harness.app, citizen, case.id, "Sudah saya kirim.")
    assert answered.status == "in_progress"

    resolved = await lifecycle.update(
        harness.app, agency, case.id, status="resolved", public_message="Lubang sudah ditambal."
    )
    assert "ditambal" in await sms_with(outbox, "Selesai ditindaklanjuti")
    # Ten working days from Tue 22 Dec, skipping Christmas, New Year's Day and Isra'
    # Mi'raj (Tuesday 5 January 2027): Friday 8 January.
    assert resolved.due_at == wib(2027, 1, 8, 23, 59) + timedelta(seconds=59)
    clock.set(wib(2027, 1, 8, 23, 0))
    await deadlines.run_timers(harness.app, clock())
    assert (await reads.citizen_case(harness.app, citizen.id, case.tracking_id)).status == (
        "resolved"
    )

    clock.set(wib(2027, 1, 9, 0, 30))
    closed = await sms_with(outbox, "Ditutup")
    assert shown in closed
    mine = await reads.citizen_case(harness.app, citizen.id, case.tracking_id)
    assert mine.status == "closed"
    steps = [(e.kind, e.from_status, e.to_status) for e in mine.events]
    assert steps == [
        ("filed", None, "received"),
        ("status", "received", "in_progress"),
        ("status", "in_progress", "waiting_for_citizen"),
        ("reply", "waiting_for_citizen", "in_progress"),
        ("status", "in_progress", "resolved"),
        ("status", "resolved", "closed"),
    ]
    # The citizen never sees the agency's internal note; the agency does.
    assert all(e.internal_note is None for e in mine.events)
    theirs = await reads.for_agency(harness.app, harness.agency_id, case.tracking_id)
    assert "Tugaskan regu Bojongloa" in [e.internal_note for e in theirs.events]


async def test_a_deadline_missed_across_a_holiday_is_flagged_and_supervisors_emailed(
    harness: Harness, outbox: Outbox, clock: Clock
) -> None:
    await staff.add(
        harness.app, harness.agency_id, email="kepala@uji.go.id", name="Kepala Dinas",
        role="admin", password="kuda-laut-berenang-jauh",
    )  # fmt: skip
    case, _ = await citizen_case(harness, outbox)

    # Saturday 26 December: had Christmas counted, the case would be late already.
    clock.set(wib(2026, 12, 26, 9))
    await deadlines.run_timers(harness.app, clock())
    assert not (await reads.for_agency(harness.app, harness.agency_id, case.id)).breached

    clock.set(wib(2026, 12, 29, 0, 5))  # just after the end of Monday 28 December

    async def flagged() -> CaseView | None:
        view = await reads.for_agency(harness.app, harness.agency_id, case.id)
        return view if view.breached else None

    late = await wait_for(flagged, "the breach flag")
    assert [e.kind for e in late.events][-1] == "breach"
    overdue = await reads.queue(harness.app, harness.agency_id, QueueFilter(overdue=True))
    assert [c.id for c in overdue] == [case.id]

    async def supervisor_email() -> Any:
        return next((m for m in outbox.list() if m.to == "kepala@uji.go.id"), None)

    email = await wait_for(supervisor_email, "the supervisors' email")
    assert case.tracking_id[:4] in email.subject
    # Flagged once: later sweeps send nothing more.
    clock.set(wib(2026, 12, 30, 9))
    await deadlines.run_timers(harness.app, clock())
    assert sum(m.to == "kepala@uji.go.id" for m in outbox.list()) == 1


async def test_an_agency_day_off_moves_the_deadline(harness: Harness, outbox: Outbox) -> None:
    async with harness.app.uow() as uow:
        await uow.cases.set_day_off(harness.agency_id, date(2026, 12, 24), "Cuti bersama")
        await uow.commit()
    case, _ = await citizen_case(harness, outbox)
    assert case.due_at == wib(2026, 12, 29, 23, 59) + timedelta(seconds=59)


async def test_another_agency_cannot_see_or_change_a_case(
    harness: Harness, outbox: Outbox, attacker: uuid.UUID
) -> None:
    case, _ = await citizen_case(harness, outbox)
    other = Actor("staff", uuid.uuid4(), agency_id=attacker)
    with pytest.raises(NotFound):
        await lifecycle.update(harness.app, other, case.id, status="rejected", reason="bukan")
    with pytest.raises(NotFound):
        await reads.for_agency(harness.app, attacker, case.id)
    with pytest.raises(NotFound):
        await lifecycle.citizen_reply(harness.app, Actor("citizen", uuid.uuid4()), case.id, "hai")
    unchanged = await reads.for_agency(harness.app, harness.agency_id, case.id)
    assert unchanged.status == "received" and len(unchanged.events) == 1


async def test_forwarding_hands_the_case_and_its_citizen_to_the_other_agency(
    harness: Harness, outbox: Outbox
) -> None:
    case, _ = await citizen_case(harness, outbox)
    target = await create_agency(harness.app, "Dinas PU", email_from="pu@uji.go.id")
    moved = await lifecycle.forward(
        harness.app, staff_actor(harness), case.id, target.id, "Diteruskan ke Dinas PU."
    )
    assert moved.agency_id == target.id and moved.status == "forwarded"
    await sms_with(outbox, "Diteruskan")
    with pytest.raises(NotFound):
        await reads.for_agency(harness.app, harness.agency_id, case.id)
    theirs = Actor("staff", uuid.uuid4(), agency_id=target.id)
    done = await lifecycle.update(harness.app, theirs, case.id, status="verified")
    assert done.status == "verified"


async def test_moves_the_lifecycle_forbids_are_refused_and_change_nothing(
    harness: Harness, outbox: Outbox
) -> None:
    case, citizen = await citizen_case(harness, outbox)
    agency = staff_actor(harness)
    with pytest.raises(BadRequest, match="cannot become reopened"):
        await lifecycle.update(harness.app, agency, case.id, status="reopened")
    with pytest.raises(BadRequest, match="needs a reason"):
        await lifecycle.update(harness.app, agency, case.id, status="rejected")
    with pytest.raises(BadRequest, match="at most"):
        await lifecycle.update(harness.app, agency, case.id, public_message="x" * 2001)
    rejected = await lifecycle.update(
        harness.app, agency, case.id, status="rejected", reason="Bukan kewenangan kami"
    )
    assert rejected.status == "rejected"
    with pytest.raises(BadRequest, match="file a new one"):
        await lifecycle.citizen_reply(harness.app, citizen, case.id, "Tolong!")
    assert len((await reads.for_agency(harness.app, harness.agency_id, case.id)).events) == 2


async def test_a_repeated_update_id_changes_nothing(harness: Harness, outbox: Outbox) -> None:
    case, _ = await citizen_case(harness, outbox)
    agency = staff_actor(harness)
    for _ in range(2):
        view = await lifecycle.update(
            harness.app, agency, case.id, public_message="Kabar 1", update_id="sistem-42"
        )
    assert [e.kind for e in view.events] == ["filed", "update"]


async def test_a_crash_before_telling_leaves_the_message_owed_and_the_sweeper_sends_it(
    harness: Harness, outbox: Outbox, clock: Clock
) -> None:
    case, _ = await citizen_case(harness, outbox)
    await sms_with(outbox, "Diterima")
    # As a crash between the commit and the send leaves it: written, not yet told.
    async with harness.app.uow() as uow:
        event = await uow.session.get(CaseEvent, case.events[0].id)
        assert event is not None
        event.told_at = None
        await uow.commit()
    outbox.clear()
    clock.advance(telling.OWED_AFTER + timedelta(seconds=1))
    assert "Diterima" in await sms_with(outbox, case.tracking_id[:4])


async def test_an_anonymous_reporter_is_told_at_the_contact_they_gave(
    harness: Harness, outbox: Outbox
) -> None:
    await road_service(harness)
    reporter = Reporter(name="Warga", phone="0812-1111-2222")
    new = NewCase("JALAN-RUSAK", "Lampu jalan mati", reporter=reporter, source="open311")
    case = await filing.file_case(harness.app, Actor("reporter"), new)

    async def told() -> Any:
        return next((m for m in outbox.list() if m.to == "+6281211112222"), None)

    message = await wait_for(told, "the reporter's SMS")
    assert case.tracking_id[:4] in message.body
    public = await reads.public(harness.app, case.tracking_id)
    assert public.status == "received" and public.description == "Lampu jalan mati"
    assert "0812" not in repr(public) and "Warga" not in repr(public)


async def test_a_test_key_case_is_never_public(harness: Harness, outbox: Outbox) -> None:
    await road_service(harness)
    actor = Actor("agency", uuid.uuid4(), agency_id=harness.agency_id, key_type="test")
    case = await filing.file_case(harness.app, actor, NewCase("JALAN-RUSAK", "Uji coba"))
    with pytest.raises(NotFound):
        await reads.public(harness.app, case.tracking_id)
    assert await reads.open311_requests(harness.app) == []
    live = Actor("agency", uuid.uuid4(), agency_id=harness.agency_id)
    with pytest.raises(NotFound):
        await lifecycle.update(harness.app, live, case.id, status="verified")


async def test_erasing_the_citizen_keeps_the_case_and_nothing_of_them(
    harness: Harness, outbox: Outbox
) -> None:
    case, citizen = await citizen_case(harness, outbox)
    await lifecycle.citizen_reply(harness.app, citizen, case.id, "Rumah saya di nomor 12")
    await erasure.erase(harness.app, citizen.id)
    kept = await reads.for_agency(harness.app, harness.agency_id, case.id)
    assert kept.citizen_id is None and kept.description == ""
    assert kept.location.address is None and kept.location.region_code == "32.73.01.1001"
    assert "nomor 12" not in repr(kept.events)
    assert (await reads.public(harness.app, case.tracking_id)).status == "received"


async def test_a_service_can_tell_a_step_with_a_template_of_its_own(
    harness: Harness, outbox: Outbox
) -> None:
    case, _ = await citizen_case(harness, outbox)
    await sms_with(outbox, "Diterima")
    own = await create_template(
        harness.app, harness.agency_id, kind="multi", name="Jalan: selesai",
        subject="Jalan Anda sudah diperbaiki", body="Kasus ((tracking_id)) selesai.",
        sms_body="Jalan Anda sudah diperbaiki (((tracking_id))). ((message))",
    )  # fmt: skip
    with pytest.raises(BadRequest, match="not one of this agency's multi templates"):
        await catalogue.use_message(
            harness.app, harness.agency_id, "resolved", "id", harness.sms_template, "JALAN-RUSAK"
        )
    await catalogue.use_message(
        harness.app, harness.agency_id, "resolved", "id", own.id, "JALAN-RUSAK"
    )
    await lifecycle.update(
        harness.app, staff_actor(harness), case.id, status="resolved", public_message="Beres."
    )
    assert "Beres." in await sms_with(outbox, "Jalan Anda sudah diperbaiki")


def test_the_cli_keeps_an_agencys_days_off(sqlite_url: str, tmp_path: Path) -> None:
    env = {
        "WARTA_DATABASE_URL": sqlite_url,
        "WARTA_VAR_DIR": str(tmp_path / "var"),
        "WARTA_SECRET_KEY": TEST_SECRET_KEY,
    }

    def run(*args: str, ok: bool = True) -> str:
        result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
        assert (result.exit_code == 0) == ok, result.output
        return result.output

    agency = json.loads(run("agency", "create", "Dinas PU Kota", "--json"))["id"]
    for day in ("2026-12-24", "2026-12-31"):
        run("service", "day-off", "add", "--agency", agency, "--date", day, "--reason", "Cuti")
    run("service", "day-off", "remove", "--agency", agency, "--date", "2026-12-31")
    listed = json.loads(run("service", "day-off", "list", "--agency", agency, "--json"))
    assert listed == ["2026-12-24"]
    assert (
        "error"
        in run(
            "service", "day-off", "add", "--agency", agency, "--date", "24-12-2026", ok=False
        ).lower()
    )
