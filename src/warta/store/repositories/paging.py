"""Keyset paging, newest first: a page starts after the last row of the page before.

By (created, id) rather than by offset, so a page stays cheap however deep it is and a
row written meanwhile never shifts one already shown onto the next page; the id breaks
ties between rows created in the same instant, so none is skipped or shown twice.
"""

from __future__ import annotations

from typing import Any, Protocol, TypeVar

from sqlalchemy import Select, and_, or_

_S = TypeVar("_S", bound=Select[Any])


class Anchor(Protocol):
    """The last row of the page before (only its keys are read)."""

    @property
    def created_at(self) -> Any: ...
    @property
    def id(self) -> Any: ...


def newest_first(query: _S, model: Any, after: Anchor | None, limit: int) -> _S:
    """``query`` over ``model`` (a mapped class with ``created_at`` and ``id``), newest
    first, from just after ``after`` when given, at most ``limit`` rows."""
    if after is not None:
        query = query.where(
            or_(
                model.created_at < after.created_at,
                and_(model.created_at == after.created_at, model.id < after.id),
            )
        )
    return query.order_by(model.created_at.desc(), model.id.desc()).limit(limit)
