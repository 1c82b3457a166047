"""Shared fixtures: databases (SQLite and the real PostgreSQL), settings, a running Warta."""

from __future__ import annotations

import base64
import os
import uuid
from collections.abc import Iterator

import pytest

POSTGRES_URL = os.environ.get(
    "WARTA_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
TEST_SECRET_KEY = base64.b64encode(b"k" * 32).decode()


def _postgres_problem() -> str | None:
    import psycopg

    dsn = POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://")
    try:
        with psycopg.connect(dsn, connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return str(exc).strip()


@pytest.fixture(scope="session")
def postgres_admin_dsn() -> str:
    problem = _postgres_problem()
    if problem:
        pytest.fail(
            f"PostgreSQL is not reachable at {POSTGRES_URL} ({problem}). These tests use the "
            "real server: start it (pg_ctlcluster ... start) or set WARTA_TEST_POSTGRES_URL.",
            pytrace=False,
        )
    return POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://")


@pytest.fixture
def postgres_url(postgres_admin_dsn: str) -> Iterator[str]:
    """A fresh schema per test, selected through the connection's search_path."""
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_admin_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(postgres_admin_dsn, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: object) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path}/warta.db"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def sqlite_url(tmp_path: object) -> str:
    return f"sqlite+aiosqlite:///{tmp_path}/warta.db"


@pytest.fixture(autouse=True)
def _no_warta_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests build their own Settings; a developer's WARTA_* must not leak in."""
    for name in list(os.environ):
        if name.startswith("WARTA_") and name != "WARTA_TEST_POSTGRES_URL":
            monkeypatch.delenv(name)
