"""Sealed (encrypted) columns of any table, a page at a time: what key rotation rewrites."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import inspect, select, update

from warta.store.models import Base
from warta.store.repositories.base import Repository


class SealedColumnRepository(Repository):
    async def page(
        self, model: type[Base], columns: Sequence[str], after: Any, limit: int
    ) -> list[tuple[Any, ...]]:
        """Up to ``limit`` rows as (primary key, *columns), in key order, keys after
        ``after`` (None: from the first)."""
        key = _key(model)
        query = select(key, *(getattr(model, c) for c in columns)).order_by(key)
        if after is not None:
            query = query.where(key > after)
        return [tuple(row) for row in (await self.session.execute(query.limit(limit))).all()]

    async def write(self, model: type[Base], key_value: Any, values: dict[str, Any]) -> None:
        """Set these columns of the row with this primary key."""
        key = _key(model)
        await self.session.execute(update(model).where(key == key_value).values(**values))


def _key(model: type[Base]) -> Any:
    # ``id`` everywhere but platform secrets (``name``)
    return inspect(model).primary_key[0]
