"""Engines and migrations (called from the composition root only), and the store's edge
for a sick database.

A database that cannot be written (read-only files, a full disk, a PostgreSQL in
read-only mode) or reached must neither answer "accepted" nor a bare 500, and must not
leave broken connections in the pool once it is well again:

* ``translate`` turns the driver's "cannot write / cannot reach" errors into
  ``warta.errors.StoreUnavailable`` (the unit of work and the group insert use it), which
  the API answers with 503; every other database error passes unchanged.
* ``_reconnect_after`` marks those errors as disconnects, so SQLAlchemy drops that
  connection and every other one pooled before it: after the database is writable again
  the next checkout opens a fresh connection.
* A connection opened while the database could not be written is read-only for good
  (SQLite silently opens a file it cannot open for writing read-only; a PostgreSQL
  connection keeps the ``default_transaction_read_only`` it started with), so it is used
  for one checkout and then replaced (``_mark_read_only``, ``_replace_read_only``).
* ``check_writable`` commits a real, tiny write, for ``GET /health/ready``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import URL, Engine, ExceptionContext, make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from warta.errors import ConfigurationError, StoreUnavailable

MIGRATIONS = Path(__file__).parent / "migrations"


def _url(url: str, *, use_async: bool) -> URL:
    try:
        parsed = make_url(url)
    except Exception as exc:  # SQLAlchemy raises ArgumentError with a terse message
        raise ConfigurationError(f"WARTA_DATABASE_URL is not a database URL: {exc}") from exc
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite" if use_async else "sqlite")
    if backend == "postgresql":
        return parsed.set(drivername="postgresql+psycopg")
    raise ConfigurationError(f"Unsupported database {backend!r}: use SQLite or PostgreSQL.")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the API write while workers read; NORMAL sync is safe with WAL (a power
    # cut can lose the last commits, never corrupt); the busy timeout waits out writers.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    # Deleted and overwritten rows are zeroed, not left in free space (erasure: see
    # ``store/scrub.py``).
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


def _prepare_sqlite_file(url: URL) -> None:
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)


def make_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    parsed = _url(url, use_async=True)
    if parsed.get_backend_name() == "sqlite":
        _prepare_sqlite_file(parsed)
        engine = create_async_engine(parsed)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "connect", partial(_mark_read_only, parsed.database))
    else:
        engine = create_async_engine(
            parsed, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True
        )
        event.listen(engine.sync_engine, "connect", partial(_mark_read_only, None))
    event.listen(engine.sync_engine, "checkout", _replace_read_only)
    event.listen(engine.sync_engine, "handle_error", _reconnect_after)
    return engine


def make_sync_engine(url: str) -> Engine:
    parsed = _url(url, use_async=False)
    if parsed.get_backend_name() == "sqlite":
        _prepare_sqlite_file(parsed)
        engine = create_engine(parsed)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(parsed)


def migrate(url: str, revision: str = "head") -> None:
    """Bring the schema to ``revision`` with Alembic (idempotent)."""
    engine = make_sync_engine(url)
    try:
        with engine.begin() as connection:
            config = Config()
            config.set_main_option("script_location", str(MIGRATIONS))
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    finally:
        engine.dispose()


# -- A sick database --------------------------------------------------------------------

#: SQLite result codes (the low byte of an extended code) that say the files cannot be
#: written now: opened read-only, a write refused by the OS, cannot open, disk full.
_SQLITE_UNWRITABLE = {8: "readonly", 10: "ioerr", 14: "cantopen", 13: "full"}
#: ...and that it is busy beyond the busy timeout.
_SQLITE_BUSY = {5, 6}
#: PostgreSQL SQLSTATEs: a read-only transaction, out of disk or other resources.
_PG_UNWRITABLE = ("25006", "53")
#: ...and the server going away: connection exceptions, shutdown, cannot connect now.
_PG_UNREACHABLE = ("08", "57P01", "57P02", "57P03")


def _fault(error: BaseException) -> str | None:
    """What kind of sickness a database error shows: "unwritable", "unreachable",
    "busy", or None for any other error (a constraint, a bug), which stays as it is."""
    if not isinstance(error, DBAPIError):
        return None
    if error.connection_invalidated:
        return "unreachable"
    orig = error.orig
    code = getattr(orig, "sqlite_errorcode", None)
    if isinstance(code, int):
        if code & 0xFF in _SQLITE_UNWRITABLE:
            return "unwritable"
        return "busy" if code & 0xFF in _SQLITE_BUSY else None
    state = getattr(orig, "sqlstate", None)
    if isinstance(state, str):
        if state.startswith(_PG_UNWRITABLE):
            return "unwritable"
        return "unreachable" if state.startswith(_PG_UNREACHABLE) else None
    # psycopg's OperationalError without a SQLSTATE: the server could not be reached.
    return "unreachable" if type(orig).__name__ == "OperationalError" else None


_MESSAGES = {
    "unwritable": "The database cannot be written; try again later",
    "unreachable": "The database cannot be reached; try again later",
    "busy": "The database is busy; try again later",
}


def store_fault(error: BaseException) -> StoreUnavailable | None:
    """The ``StoreUnavailable`` to raise in place of ``error``, if it is one."""
    kind = _fault(error)
    return StoreUnavailable(_MESSAGES[kind]) if kind else None


@contextlib.contextmanager
def translate() -> Iterator[None]:
    """Raise ``StoreUnavailable`` in place of a sick database's error (``from`` it)."""
    try:
        yield
    except DBAPIError as exc:
        fault = store_fault(exc)
        if fault is None:
            raise
        raise fault from exc


def _reconnect_after(context: ExceptionContext) -> None:
    # A disconnect makes SQLAlchemy drop this connection and every one pooled before it:
    # they may all have been opened read-only, or hold a file handle that stays refused.
    if _fault(context.original_exception) in ("unwritable", "unreachable"):
        context.is_disconnect = True


def _mark_read_only(sqlite_path: str | None, dbapi_connection: Any, record: Any) -> None:
    """Note a connection born read-only. SQLite: the file cannot be opened for writing
    now (SQLite then opens it read-only without a word); PostgreSQL: the session starts
    with ``transaction_read_only`` on."""
    if sqlite_path is not None:
        if sqlite_path in ("", ":memory:"):
            return
        # access(), never open()+close(): closing any descriptor of the file drops every
        # POSIX lock this process holds on it, and another process (a `warta` CLI) then
        # deletes the WAL under the open connections ("disk I/O error").
        if not os.access(sqlite_path, os.W_OK):
            record.info["read_only"] = True
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("SHOW transaction_read_only")
    (value,) = cursor.fetchone()
    cursor.close()
    if value == "on":
        record.info["read_only"] = True


def _replace_read_only(_dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    # Used once (it still reads), then replaced by a fresh connection on its next checkout.
    if record.info.get("read_only"):
        if record.info.get("used"):
            raise DisconnectionError("connection was opened read-only")
        record.info["used"] = True


async def check_writable(engine: AsyncEngine, *, within: float = 5.0) -> None:
    """Commit a real write that changes nothing, or raise ``StoreUnavailable``.

    ``alembic_version`` exists wherever Warta runs and has one row; the UPDATE takes the
    write lock (SQLite) or writes a row version (PostgreSQL) like any accepted send."""
    try:
        with translate():
            async with asyncio.timeout(within), engine.begin() as connection:
                await connection.execute(
                    text("UPDATE alembic_version SET version_num = version_num")
                )
    except TimeoutError as exc:
        raise StoreUnavailable(
            f"The database did not answer a write within {within:g} seconds"
        ) from exc
