"""The agency console (/console): server-rendered pages for staff who do not write code.

Each module is one area of the navigation (``web.NAV``); ``web`` holds what they share.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from warta.api.console import (
    auth,
    bulk,
    callbacks,
    cases,
    conversations,
    dashboard,
    faq,
    keys,
    notifications,
    send,
    team,
    templates,
    topics,
    web,
)

AREAS = (
    auth,
    team,
    templates,
    send,
    keys,
    callbacks,
    dashboard,
    notifications,
    bulk,
    topics,
    cases,
    conversations,
    faq,
)


def install(api: FastAPI) -> None:
    router = APIRouter(prefix="/console", include_in_schema=False)
    for area in AREAS:
        router.include_router(area.router)
    api.include_router(router)
    web.install(api)
