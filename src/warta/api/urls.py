"""The base URL put into ``uri`` and ``links``: the configured public URL, else the request's."""

from __future__ import annotations

import functools
from collections.abc import MutableMapping
from typing import Any

from fastapi import Request
from starlette.datastructures import URL

from warta.deps import Warta


def base_url(request: Request, app: Warta) -> str:
    return (app.settings.public_url or _request_base(request.scope)).rstrip("/")


def _request_base(scope: MutableMapping[str, Any]) -> str:
    """``str(request.base_url)``, which Starlette builds and parses anew for each request
    (a few percent of a send's time): here once per host name, scheme and root path."""
    host = next((value for name, value in scope["headers"] if name == b"host"), None)
    server = scope.get("server")
    root = scope.get("app_root_path", scope.get("root_path", ""))
    return _base(scope.get("scheme", "http"), host, tuple(server) if server else None, root)


@functools.lru_cache(maxsize=64)
def _base(scheme: str, host: bytes | None, server: tuple[Any, ...] | None, root: str) -> str:
    scope = {
        "type": "http",
        "scheme": scheme,
        "server": server,
        "path": root if root.endswith("/") else root + "/",
        "query_string": b"",
        "root_path": root,
        "headers": [] if host is None else [(b"host", host)],
    }
    return str(URL(scope=scope))
