"""The migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from warta.store.db import make_sync_engine, migrate
from warta.store.models import Base


def test_migrations_match_the_models(database_url: str) -> None:
    url = database_url.replace("+aiosqlite", "")
    migrate(url)
    engine = make_sync_engine(url)
    try:
        with engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    finally:
        engine.dispose()
    assert differences == [], "models and migrations differ: write a migration"
