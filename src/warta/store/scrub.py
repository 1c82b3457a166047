"""Leaving no copy of deleted rows in SQLite's files (erasure, ``services/citizens/erasure``).

Two places keep bytes a delete or update has replaced:

* free space inside the database file: every connection sets ``PRAGMA secure_delete=ON``
  (``store/db.py``), so SQLite zeroes a cell when it is deleted or moved and a page when
  it is freed;
* the write-ahead log (``warta.db-wal``): it holds the page images of recent commits,
  the old ones included, until a checkpoint copies the newest into the database file and
  the log starts over. ``checkpoint`` runs a truncating checkpoint, which empties the
  file. ``-shm`` is an index of page numbers in the log and holds no row data.

A truncating checkpoint needs every reader to have moved past the log's end, so a long
read blocks it: ``checkpoint`` waits briefly and says whether it finished; the erasure
records one it still owes (``pending_checkpoints``) and the sweeper retries it.

PostgreSQL has no such switch: a deleted or updated row stays in its page as a dead
tuple until vacuum prunes it and a later write reuses the space, and its WAL and backups
keep copies for as long as they are kept (docs/trust.md says what an operator must do).
``checkpoint`` does nothing there.
"""

from __future__ import annotations

import asyncio

from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

#: How long one try waits for readers and writers to let the checkpoint through (ms).
WAIT_MS = 500
#: Tries, with this pause between them (seconds): about two seconds in all.
TRIES = 3
PAUSE = 0.2


async def checkpoint(engine: AsyncEngine, *, tries: int = TRIES) -> bool:
    """Copy SQLite's write-ahead log into the database file and empty it; True once done
    (and at once on PostgreSQL, where there is nothing of ours to do)."""
    if engine.dialect.name != "sqlite":
        return True
    async with engine.connect() as connection:
        # Outside any transaction: a checkpoint from inside one cannot finish.
        connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
        waits = (await connection.exec_driver_sql("PRAGMA busy_timeout")).scalar_one()
        await connection.exec_driver_sql(f"PRAGMA busy_timeout={WAIT_MS}")
        try:
            for attempt in range(tries):
                if attempt:
                    await asyncio.sleep(PAUSE)
                try:
                    result = await connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
                except OperationalError:  # "database is locked": a writer held on
                    continue
                busy = result.one()[0]  # (busy, frames in the log, frames copied)
                if not busy:
                    return True
            return False
        finally:
            await connection.exec_driver_sql(f"PRAGMA busy_timeout={int(waits)}")
