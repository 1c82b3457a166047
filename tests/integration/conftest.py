"""Fixtures most integration modules share. A module changes one piece by overriding
that fixture: ``clock`` for a controlled time, ``channels`` for recording channels
(``recording(outbox)``) or a real peer."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

import pytest

from tests.integration.harness import Clock, Harness, make_settings, running_warta
from warta.domain.channels import Channel
from warta.services.admin import create_agency, create_template
from warta.store.outbox import Outbox


@pytest.fixture
def outbox() -> Outbox:
    return Outbox()


@pytest.fixture
def clock() -> Clock | None:
    """None: the wall clock."""
    return None


@pytest.fixture
def channels() -> Mapping[str, Channel] | None:
    """None: Warta's own channels, as the settings choose them."""
    return None


@pytest.fixture
async def harness(
    database_url: str, tmp_path: Path, channels: Mapping[str, Channel] | None, clock: Clock | None
) -> AsyncIterator[Harness]:
    settings = make_settings(database_url, tmp_path)
    async with running_warta(settings, channels=channels, clock=clock) as running:
        yield running


@pytest.fixture
async def sqlite_harness(sqlite_url: str, tmp_path: Path) -> AsyncIterator[Harness]:
    async with running_warta(make_settings(sqlite_url, tmp_path)) as running:
        yield running


@pytest.fixture
async def multi_template(harness: Harness) -> str:
    """A template for citizens, by their channel: email (with its subject) or SMS."""
    made = await create_template(
        harness.app,
        harness.agency_id,
        kind="multi",
        name="pajak",
        subject="Pajak kendaraan ((nopol))",
        body="Yth. ((nama)), pajak kendaraan ((nopol)) jatuh tempo ((tanggal)).",
        sms_body="Pajak ((nopol)) jatuh tempo ((tanggal)). Bapenda",
    )
    return str(made.id)


@pytest.fixture
async def attacker(harness: Harness) -> uuid.UUID:
    """A second, hostile agency: its keys are ``b`` (live) and ``b_test`` in the harness."""
    made = await create_agency(
        harness.app, "Dinas Penyerang", email_from="info@serang.go.id", sms_sender="SERANG"
    )
    harness.keys["b"], harness.keys["b_test"] = made.live_key, made.test_key
    return made.id
