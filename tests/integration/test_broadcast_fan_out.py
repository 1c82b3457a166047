"""Broadcast fan-out reads, routes and writes a batch at a time by its own bulk path; each
citizen must still get the row a single send to them would get (``routing.gather``,
``decide``, ``attempt``), on SQLite and PostgreSQL, and a crash must resume without
losing or repeating anyone."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests.integration.harness import make_settings
from warta.bootstrap import Warta, bootstrap
from warta.channels.capture import RecordingChannel
from warta.pipeline import broadcasts as pipeline
from warta.services import attempts, broadcasts, routing
from warta.services.admin import create_agency, create_template
from warta.services.sending import Caller, sender_of
from warta.store import broadcast_batches
from warta.store.models import (
    Broadcast,
    Citizen,
    CitizenContact,
    Notification,
    OptOut,
    SmsOptOut,
    Topic,
    TopicSubscription,
)
from warta.store.outbox import Outbox

NOW = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)  # Tuesday 10:00 WIB, 11:00 WITA, 12:00 WIT


class FrozenClock:
    """Time stands still unless set: each row's times can then be compared exactly."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
async def app(database_url: str, tmp_path: Path) -> AsyncIterator[Warta]:
    outbox = Outbox()
    made = await bootstrap(
        make_settings(database_url, tmp_path, run_workers=False),
        channels={
            "sms": RecordingChannel("sms", outbox),
            "email": RecordingChannel("email", outbox),
        },
        clock=FrozenClock(NOW),
    )
    try:
        yield made
    finally:
        await made.aclose()


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    # A few citizens then cross several batch boundaries, as a million do.
    monkeypatch.setattr(pipeline, "BATCH", 4)


#: (name, citizen columns, contacts (kind, value, verified, gone), opted out of
#: (agency "", or the topic), phone replied STOP, non-urgent sends earlier today)
PEOPLE: list[tuple[str, dict[str, Any], list[tuple[str, str, bool, bool]], str | None, bool, int]]
PEOPLE = [
    ("plain", {}, [("sms", "+6281200000001", True, False)], None, False, 0),
    ("email first", {"channel_order": "email,sms"},
     [("sms", "+6281200000002", True, False), ("email", "a@contoh.id", True, False)],
     None, False, 0),
    ("email unverified", {"channel_order": "email,sms"},
     [("sms", "+6281200000003", True, False), ("email", "b@contoh.id", False, False)],
     None, False, 0),
    ("email gone", {"channel_order": "email,sms"},
     [("email", "c@contoh.id", True, True), ("sms", "+6281200000004", True, False)],
     None, False, 0),
    ("no contact", {}, [], None, False, 0),
    ("withdrew from agency", {}, [("sms", "+6281200000005", True, False)], "", False, 0),
    ("withdrew from topic", {}, [("sms", "+6281200000006", True, False)], "banjir", False, 0),
    ("phone said STOP", {"channel_order": "sms,email"},
     [("sms", "+6281200000007", True, False), ("email", "d@contoh.id", True, False)],
     None, True, 0),
    ("STOP, no email", {}, [("sms", "+6281200000008", True, False)], None, True, 0),
    ("quiet hours (WIT noon)", {"zone": "WIT", "quiet_start": "11:00", "quiet_end": "13:00"},
     [("sms", "+6281200000009", True, False)], None, False, 0),
    ("cap reached", {"max_per_day": 1}, [("sms", "+6281200000010", True, False)], None, False, 1),
    ("cap not reached", {"max_per_day": 2},
     [("sms", "+6281200000011", True, False)], None, False, 1),
    ("digest", {"digest": True, "digest_at": "18:00", "channel_order": "email"},
     [("email", "e@contoh.id", True, False)], None, False, 0),
    ("two phones", {}, [("sms", "+6281200000012", True, False),
                        ("sms", "+6281200000013", True, False)], None, False, 0),
]  # fmt: skip
OUTSIDE = [("sms", "+6281200000099", True, False)]


async def seed(app: Warta, agency_id: uuid.UUID, topic: bool) -> dict[str, uuid.UUID]:
    """Everyone in PEOPLE in region 32.73, plus one in Jakarta; subscribed to "banjir"."""
    keyring, ids = app.keyring, {}
    async with app.uow() as uow:
        topic_id = uuid.uuid4()
        if topic:
            uow.session.add(
                Topic(
                    id=topic_id, agency_id=agency_id, slug="banjir", name="Banjir", created_at=NOW
                )
            )
        elsewhere = ("in Jakarta", {"region_code": "31.71.01.1001"}, OUTSIDE, None, False, 0)
        everyone = [*PEOPLE, elsewhere]
        for n, (name, columns, contacts, opted_out, stopped, _) in enumerate(everyone):
            citizen = Citizen(
                id=uuid.uuid4(),
                nik_hash=keyring.lookup_hash(f"nik-{n}"),
                nik_enc=keyring.encrypt(f"nik-{n}", field="citizen.nik"),
                name_enc=keyring.encrypt(name, field="citizen.name"),
                region_code="32.73.01.1001",
                zone="WIB",
                language="id",
                channel_order="sms",
                quiet_start="21:00",
                quiet_end="06:00",
                digest=False,
                digest_at="18:00",
                created_at=NOW,
                updated_at=NOW,
            )
            for key, value in columns.items():
                setattr(citizen, key, value)
            uow.session.add(citizen)
            await uow.session.flush()
            ids[name] = citizen.id
            for age, (kind, value, verified, gone) in enumerate(contacts):
                uow.session.add(
                    CitizenContact(
                        id=uuid.uuid4(),
                        citizen_id=citizen.id,
                        kind=kind,
                        value_enc=keyring.encrypt(value, field="contact.value"),
                        value_hash=keyring.lookup_hash(value),
                        verified_at=NOW - timedelta(days=30) if verified else None,
                        gone_at=NOW - timedelta(days=1) if gone else None,
                        code_attempts=0,
                        created_at=NOW - timedelta(days=100 - age),
                    )
                )
                if stopped and kind == "sms":
                    uow.session.add(
                        SmsOptOut(
                            agency_id=agency_id,
                            phone_hash=keyring.lookup_hash(value),
                            created_at=NOW,
                        )
                    )
            if opted_out is not None:
                uow.session.add(
                    OptOut(
                        citizen_id=citizen.id, agency_id=agency_id, topic=opted_out, created_at=NOW
                    )
                )
            if topic:
                uow.session.add(
                    TopicSubscription(topic_id=topic_id, citizen_id=citizen.id, created_at=NOW)
                )
        await uow.commit()
    return ids


async def sent_earlier(
    app: Warta, agency_id: uuid.UUID, template_id: uuid.UUID, ids: dict[str, uuid.UUID]
) -> None:
    """The capped citizens' earlier messages today, sent by another broadcast."""
    async with app.uow() as uow:
        agency = await uow.agencies.get(agency_id)
        assert agency is not None
        message = attempts.Message(
            agency_id=agency_id,
            api_key_id=None,
            key_type="normal",
            template_id=template_id,
            template_version=1,
            priority="normal",
            senders={"sms": sender_of(app, agency, "sms")},
        )
        citizens = (await uow.session.scalars(select(Citizen))).all()
        known = await routing.gather(uow, citizens, agency_id, NOW)
        rows = []
        for name, _, _, _, _, sends in PEOPLE:
            for _ in range(sends):
                entry = known[ids[name]]
                decision = routing.decide(
                    entry, routing.Ask(None, "normal", frozenset({"sms"})), NOW
                )
                row = attempts.attempt(
                    app, message, entry, decision,
                    message_id=None, contents=None, alternatives_enc=None, now=NOW,
                )  # fmt: skip
                rows.append({**row, "status": "delivered", "sent_at": NOW - timedelta(hours=1)})
        await uow.notifications.insert_many(rows)
        await uow.commit()


async def expected_rows(
    app: Warta, broadcast: Broadcast, ids: dict[str, uuid.UUID]
) -> dict[uuid.UUID, dict[str, Any]]:
    """What a single send to each citizen would write, by the general routing path."""
    async with app.uow() as uow:
        agency = await uow.agencies.get(broadcast.agency_id)
        assert agency is not None
        citizens = (
            await uow.session.scalars(select(Citizen).where(Citizen.id.in_(ids.values())))
        ).all()
        known = await routing.gather(uow, citizens, broadcast.agency_id, NOW)
    message = pipeline.message_of(app, broadcast, agency)
    ask = routing.Ask(
        broadcast.topic, broadcast.priority, routing.deliverable(app), broadcast.expires_at
    )
    return {
        citizen_id: attempts.attempt(
            app,
            message,
            entry,
            routing.decide(entry, ask, NOW),
            message_id=None,
            contents=None,
            alternatives_enc=None,
            now=NOW,
        )
        for citizen_id, entry in known.items()
    }


COMPARED = (
    "type", "status", "recipient_hash", "sender", "routing", "lease_until", "failure_reason",
    "completed_at", "digest", "priority", "topic", "broadcast_id", "agency_id", "template_id",
    "template_version", "key_type", "billable_units", "content_enc", "simulate", "created_at",
)  # fmt: skip


async def written(app: Warta, broadcast_id: uuid.UUID) -> dict[uuid.UUID, list[Notification]]:
    async with app.uow() as uow:
        rows = (
            await uow.session.scalars(
                select(Notification).where(Notification.broadcast_id == broadcast_id)
            )
        ).all()
    found: dict[uuid.UUID, list[Notification]] = {}
    for row in rows:
        assert row.citizen_id is not None
        found.setdefault(row.citizen_id, []).append(row)
    return found


async def start(
    app: Warta, topic: bool, priority: str = "normal"
) -> tuple[Broadcast, dict[str, uuid.UUID]]:
    agency = await create_agency(
        app, "Dinas Uji", email_from="dinas@uji.go.id", sms_sender="DINASUJI"
    )
    template = await create_template(
        app, agency.id, kind="multi", name="banjir", subject="Siaga banjir",
        body="Siaga banjir di wilayah Anda.", sms_body="Siaga banjir. BPBD",
    )  # fmt: skip
    ids = await seed(app, agency.id, topic)
    await sent_earlier(app, agency.id, template.id, ids)
    async with app.uow() as uow:
        agency_row = await uow.agencies.get(agency.id)
    caller = Caller(agency=agency_row, key_id=None, key_type="normal")  # type: ignore[arg-type]
    new = broadcasts.NewBroadcast(
        template_id=template.id, region="32", topic="banjir" if topic else None, priority=priority
    )
    return await broadcasts.create(app, caller, new), ids


@pytest.mark.parametrize(
    ("topic", "priority"),
    [(False, "normal"), (True, "low"), (False, "urgent")],
    ids=["region", "topic and region, low", "region, urgent"],
)
async def test_each_citizen_gets_the_row_a_single_send_would_get(
    app: Warta, small_batches: None, topic: bool, priority: str
) -> None:
    broadcast, ids = await start(app, topic, priority)
    await pipeline.fan_out(app, [broadcast.id])
    in_segment = {name: cid for name, cid in ids.items() if name != "in Jakarta"}
    expected = await expected_rows(app, broadcast, in_segment)
    got = await written(app, broadcast.id)
    assert set(got) == set(in_segment.values())  # Jakarta is outside region 32
    for name, citizen_id in in_segment.items():
        [row] = got[citizen_id]
        want = expected[citizen_id]
        assert {c: getattr(row, c) for c in COMPARED} == {c: want[c] for c in COMPARED}, name
        recipient = app.keyring.decrypt(row.recipient_enc, field="notification.recipient")
        assert recipient == app.keyring.decrypt(
            want["recipient_enc"], field="notification.recipient"
        )
        assert row.message_id == row.id
    async with app.uow() as uow:
        done = await uow.session.get(Broadcast, broadcast.id)
    assert done is not None and (done.status, done.recipients) == ("done", len(in_segment))


async def test_what_each_case_is_routed_to(app: Warta, small_batches: None) -> None:
    """The same run, read as a person would check it (low: the digest applies)."""
    broadcast, ids = await start(app, topic=True, priority="low")
    await pipeline.fan_out(app, [broadcast.id])
    by_citizen = await written(app, broadcast.id)
    got = {name: by_citizen[cid][0] for name, cid in ids.items() if cid in by_citizen}

    def recipient(name: str) -> str:
        return app.keyring.decrypt(got[name].recipient_enc, field="notification.recipient")

    assert (got["plain"].type, got["plain"].status, recipient("plain")) == (
        "sms",
        "created",
        "+6281200000001",
    )
    assert (got["email first"].type, recipient("email first")) == ("email", "a@contoh.id")
    assert (got["email unverified"].type, recipient("email unverified")) == (
        "sms",
        "+6281200000003",
    )
    assert (got["email gone"].type, recipient("email gone")) == ("sms", "+6281200000004")
    assert got["no contact"].status == "cancelled" and recipient("no contact") == ""
    assert got["withdrew from agency"].status == "cancelled"
    assert got["withdrew from topic"].status == "cancelled"
    assert (got["phone said STOP"].type, recipient("phone said STOP")) == ("email", "d@contoh.id")
    assert got["STOP, no email"].status == "cancelled"
    assert got["quiet hours (WIT noon)"].lease_until == NOW + timedelta(hours=1)  # 13:00 WIT
    assert got["cap reached"].lease_until is not None and got["cap reached"].lease_until > NOW
    assert got["cap not reached"].lease_until == NOW
    assert got["digest"].digest is True, got["digest"].routing
    assert got["digest"].lease_until == NOW + timedelta(hours=8)  # 18:00 WIB
    assert recipient("two phones") == "+6281200000012"  # the older one
    assert "in Jakarta" not in got


async def test_a_crash_mid_fan_out_resumes_without_losing_or_repeating(
    app: Warta, small_batches: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    broadcast, ids = await start(app, topic=False)
    write = broadcast_batches.Rows.write
    calls = 0

    async def crashing(self: broadcast_batches.Rows, session: Any, rows: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == 3:  # the process dies while the third batch is being written
            raise RuntimeError("killed")
        await write(self, session, rows)

    monkeypatch.setattr(broadcast_batches.Rows, "write", crashing)
    with pytest.raises(RuntimeError, match="killed"):
        await pipeline.fan_out(app, [broadcast.id])
    async with app.uow() as uow:
        stopped = await uow.session.get(Broadcast, broadcast.id)
    assert stopped is not None and stopped.status == "fanning-out"
    assert stopped.recipients == 2 * pipeline.BATCH  # two batches committed, not the third
    monkeypatch.setattr(broadcast_batches.Rows, "write", write)
    app.clock.at = NOW + timedelta(seconds=app.settings.lease_seconds + 1)  # type: ignore[attr-defined]
    await pipeline.fan_out(app, [broadcast.id])  # the lease ran out: another worker resumes
    got = await written(app, broadcast.id)
    in_segment = {cid for name, cid in ids.items() if name != "in Jakarta"}
    assert set(got) == in_segment
    assert all(len(rows) == 1 for rows in got.values())
    async with app.uow() as uow:
        done = await uow.session.get(Broadcast, broadcast.id)
    assert done is not None and (done.status, done.recipients) == ("done", len(in_segment))


async def assert_each_once(
    app: Warta, broadcast: Broadcast, ids: dict[str, uuid.UUID], compared: tuple[str, ...]
) -> None:
    """Every citizen of the segment has exactly one row, with the ``compared`` columns a
    single send would write, and the broadcast is done with that many recipients."""
    in_segment = {name: cid for name, cid in ids.items() if name != "in Jakarta"}
    expected = await expected_rows(app, broadcast, in_segment)
    got = await written(app, broadcast.id)
    assert set(got) == set(in_segment.values())
    for name, citizen_id in in_segment.items():
        [row] = got[citizen_id]
        want = expected[citizen_id]
        assert {c: getattr(row, c) for c in compared} == {c: want[c] for c in compared}, name
    async with app.uow() as uow:
        done = await uow.session.get(Broadcast, broadcast.id)
    assert done is not None and (done.status, done.recipients) == ("done", len(in_segment))


async def test_ranges_at_once_and_run_twice_reach_each_citizen_once(
    app: Warta, small_batches: None
) -> None:
    """As Celery workers fan out by id range: two ranges at once, one of them twice at
    the same time and again after."""
    broadcast, ids = await start(app, topic=False)
    first, second = await pipeline.claim_ranges(app, broadcast.id, 2)
    assert await pipeline.claim_ranges(app, broadcast.id, 2) == []  # held by the first claim
    counts = await asyncio.gather(
        pipeline.fan_out_range(app, broadcast.id, *first),
        pipeline.fan_out_range(app, broadcast.id, *second),
        pipeline.fan_out_range(app, broadcast.id, *first),
    )
    assert await pipeline.fan_out_range(app, broadcast.id, *second) == 0
    assert sum(counts) == len(ids) - 1  # everyone but Jakarta, once
    assert await pipeline.finish_ranges(app, broadcast.id)
    await assert_each_once(app, broadcast, ids, COMPARED)


async def test_ranges_that_stall_are_finished_by_the_sweeper_without_repeats(
    app: Warta, small_batches: None
) -> None:
    broadcast, ids = await start(app, topic=False)
    first, _second = await pipeline.claim_ranges(app, broadcast.id, 2)
    assert await pipeline.fan_out_range(app, broadcast.id, *first) > 0
    # The other range's worker died before its first batch; the lease runs out.
    app.clock.at = NOW + timedelta(seconds=app.settings.lease_seconds + 1)  # type: ignore[attr-defined]
    await pipeline.fan_out(app, [broadcast.id])
    app.clock.at = NOW  # type: ignore[attr-defined]
    # Rows written after the lease ran out carry that later time.
    await assert_each_once(app, broadcast, ids, ("type", "status", "recipient_hash", "sender"))
