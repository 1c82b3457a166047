from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.integration.harness import Harness, make_settings, running_warta


@pytest.fixture
async def harness(database_url: str, tmp_path: Path) -> AsyncIterator[Harness]:
    async with running_warta(make_settings(database_url, tmp_path)) as running:
        yield running


@pytest.fixture
async def sqlite_harness(sqlite_url: str, tmp_path: Path) -> AsyncIterator[Harness]:
    async with running_warta(make_settings(sqlite_url, tmp_path)) as running:
        yield running
