"""The base URL put into ``uri`` and ``links``: the configured public URL, else the request's."""

from __future__ import annotations

from fastapi import Request

from warta.deps import Warta


def base_url(request: Request, app: Warta) -> str:
    return (app.settings.public_url or str(request.base_url)).rstrip("/")
