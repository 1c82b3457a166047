"""Which database errors mean "the store cannot write or be reached now" (503, connections
dropped) and which stay what they are (a constraint, a bug): ``store.db.store_fault``."""

from __future__ import annotations

import sqlite3

import psycopg
import psycopg.errors
import pytest
from sqlalchemy import exc

from warta.store.db import store_fault

WRITTEN = "The database cannot be written; try again later"
REACHED = "The database cannot be reached; try again later"
BUSY = "The database is busy; try again later"


def sqlite_error(code: int, kind: type[sqlite3.Error] = sqlite3.OperationalError) -> Exception:
    error = kind("from SQLite")
    error.sqlite_errorcode = code  # type: ignore[attr-defined]
    return error


def wrapped(orig: Exception, kind: type[exc.DBAPIError] = exc.OperationalError) -> exc.DBAPIError:
    return kind("INSERT ...", {}, orig)


CASES = [
    pytest.param(wrapped(sqlite_error(8)), WRITTEN, id="sqlite-readonly"),
    pytest.param(wrapped(sqlite_error(8 | 4 << 8)), WRITTEN, id="sqlite-readonly-dbmoved"),
    pytest.param(wrapped(sqlite_error(10 | 3 << 8)), WRITTEN, id="sqlite-ioerr-write"),
    pytest.param(wrapped(sqlite_error(14)), WRITTEN, id="sqlite-cantopen"),
    pytest.param(wrapped(sqlite_error(13)), WRITTEN, id="sqlite-full"),
    pytest.param(wrapped(sqlite_error(5)), BUSY, id="sqlite-busy"),
    pytest.param(wrapped(sqlite_error(1)), None, id="sqlite-error-no-such-table"),
    pytest.param(
        wrapped(sqlite_error(19, sqlite3.IntegrityError), exc.IntegrityError),
        None,
        id="sqlite-constraint",
    ),
    pytest.param(
        wrapped(psycopg.errors.ReadOnlySqlTransaction("read-only"), exc.InternalError),
        WRITTEN,
        id="pg-read-only-transaction",
    ),
    pytest.param(wrapped(psycopg.errors.DiskFull("full")), WRITTEN, id="pg-disk-full"),
    pytest.param(wrapped(psycopg.errors.AdminShutdown("bye")), REACHED, id="pg-admin-shutdown"),
    pytest.param(
        wrapped(psycopg.errors.ConnectionFailure("gone")), REACHED, id="pg-connection-failure"
    ),
    pytest.param(wrapped(psycopg.OperationalError("refused")), REACHED, id="pg-no-sqlstate"),
    pytest.param(
        wrapped(psycopg.errors.UniqueViolation("dup"), exc.IntegrityError), None, id="pg-unique"
    ),
    pytest.param(wrapped(psycopg.errors.SerializationFailure("retry")), None, id="pg-serial"),
    pytest.param(ValueError("not a database error"), None, id="not-a-database-error"),
]


@pytest.mark.parametrize(("error", "message"), CASES)
def test_store_fault(error: Exception, message: str | None) -> None:
    fault = store_fault(error)
    assert (None if fault is None else str(fault)) == message
    if fault is not None:
        assert (fault.status_code, fault.error) == (503, "ServiceUnavailableError")


def test_a_connection_found_invalidated_is_unreachable() -> None:
    error = exc.DBAPIError("SELECT 1", {}, Exception("closed"), connection_invalidated=True)
    fault = store_fault(error)
    assert fault is not None and str(fault) == REACHED
