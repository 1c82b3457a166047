"""Group commit: rows inserted by concurrent requests share one transaction.

Why: a commit is the dearest part of accepting a notification (on SQLite a WAL sync and a
thread hop per statement). Requests that arrive while a flush is running wait for the
next one, so under load many rows share a commit and with one request nothing waits:
no timer, no added latency. A failed batch is retried row by row, so one bad row fails
only its own request.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import AsyncEngine

from warta.store.db import translate


class GroupInsert:
    def __init__(self, engine: AsyncEngine, table: Table) -> None:
        self._engine = engine
        self._table = table
        self._pending: list[tuple[dict[str, Any], asyncio.Future[None]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def insert(self, values: dict[str, Any]) -> None:
        """Return once the row is committed; raise what the database raised for it."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((values, done))
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush())
        await done

    async def _flush(self) -> None:
        try:
            while self._pending:
                batch, self._pending = self._pending, []
                try:
                    await self._write([values for values, _ in batch])
                except Exception:
                    for values, done in batch:
                        await self._write_one(values, done)
                else:
                    for _, done in batch:
                        if not done.done():
                            done.set_result(None)
        finally:
            self._flusher = None

    async def _write(self, rows: list[dict[str, Any]]) -> None:
        with translate():  # a sick database: StoreUnavailable, which the API answers 503
            async with self._engine.begin() as connection:
                await connection.execute(insert(self._table), rows)

    async def _write_one(self, values: dict[str, Any], done: asyncio.Future[None]) -> None:
        try:
            await self._write([values])
        except Exception as exc:
            if not done.done():
                done.set_exception(exc)
        else:
            if not done.done():
                done.set_result(None)
