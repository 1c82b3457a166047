"""What every command shares: one Settings from the environment, one Warta through the
composition root (administration needs no channels, so none are started), errors as one
line on stderr with exit status 1, and output as text or JSON."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click

from warta.bootstrap import bootstrap
from warta.deps import Warta
from warta.errors import WartaError
from warta.settings import Settings

T = TypeVar("T")


def run(work: Callable[[Warta], Awaitable[T]]) -> T:
    async def main() -> T:
        app = await bootstrap(Settings(), channels={})
        try:
            return await work(app)
        finally:
            await app.aclose()

    try:
        return asyncio.run(main())
    except WartaError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)


def emit(data: dict[str, Any] | list[Any], as_json: bool, text: str) -> None:
    click.echo(json.dumps(data, indent=2) if as_json else text)
