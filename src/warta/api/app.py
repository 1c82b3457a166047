"""The ASGI application. Its lifespan is where the process's Warta is built and torn down."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.responses import FileResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline

from warta import __version__
from warta.api import (
    broadcasts,
    cases,
    chat_api,
    chat_webhooks,
    citizens,
    console,
    dev,
    errors,
    health,
    notifications,
    observability,
    open311,
    portal,
    portal_pages,
    providers,
    public_cases,
    received,
    templates,
    unsubscribe,
)
from warta.api.observability import RequestContext
from warta.api.responses import JsonResponse
from warta.api.schemas import ErrorBody
from warta.api.transport import StrictTransport
from warta.api.uploads import UploadLimit
from warta.bootstrap import Warta, bootstrap, start_bounce_listener
from warta.pipeline.queue import EmbeddedQueue
from warta.pipeline.worker import WorkerPool
from warta.settings import Settings

STATIC = Path(__file__).parent.parent / "web" / "static"

DESCRIPTION = """
Warta speaks the GOV.UK Notify v2 API: point any Notify client at this base URL.
Authenticate with `Authorization: Bearer <JWT>` signed (HS256) with your key's secret,
`iss` = your agency (service) id, `iat` = now (within 30 seconds). Errors always come as
`{"status_code": N, "errors": [{"error": "...", "message": "..."}]}`.
"""


def create_app(
    settings: Settings,
    *,
    build: Callable[[Settings], Awaitable[Warta]] | None = None,
) -> FastAPI:
    """``build`` lets tests supply a Warta made with fakes; by default ``bootstrap``.

    Long on purpose: the lifespan, the middleware and every router in mounting order read
    best in one place, the way a request meets them."""

    @contextlib.asynccontextmanager
    async def lifespan(api: FastAPI) -> AsyncIterator[None]:
        app = await (build or bootstrap)(settings)
        api.state.warta = app
        await start_bounce_listener(app)  # serve only: no worker or CLI takes its port
        pool = None
        if settings.run_workers and isinstance(app.queue, EmbeddedQueue):
            pool = WorkerPool(app, app.queue)
            pool.start()
        try:
            yield
        finally:
            if pool is not None:
                await pool.stop()
            await app.aclose()

    api = FastAPIOffline(
        title="Warta",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        default_response_class=JsonResponse,
        # Every error any route may answer, in Notify's shape (the schema fuzzer checks it).
        responses={status: {"model": ErrorBody} for status in (400, 401, 403, 404, 413, 429)},
    )
    errors.install(api)
    api.add_middleware(UploadLimit, photo_limit=portal_pages.reports.photo_form_limit(settings))
    api.add_middleware(StrictTransport, public_url=settings.public_url)
    api.add_middleware(RequestContext)  # added last: outermost, so it times everything
    api.include_router(health.router)
    api.include_router(observability.router)
    api.include_router(notifications.router)
    api.include_router(templates.router)
    api.include_router(received.router)
    api.include_router(providers.router)
    api.include_router(citizens.router)
    api.include_router(broadcasts.router)
    api.include_router(cases.router)
    api.include_router(open311.router)
    api.include_router(chat_webhooks.router)
    api.include_router(chat_api.router)
    api.include_router(portal.router)
    api.include_router(portal_pages.router)
    api.include_router(public_cases.router)
    api.include_router(unsubscribe.router)
    portal_pages.install(api)
    console.install(api)
    # The service worker must come from /portal/ to control the portal's pages.
    api.mount("/static", StaticFiles(directory=STATIC), name="static")

    @api.get("/portal/sw.js", include_in_schema=False)
    async def service_worker() -> FileResponse:
        return FileResponse(STATIC / "sw.js", media_type="text/javascript")

    @api.get("/portal/manifest.webmanifest", include_in_schema=False)
    async def manifest() -> FileResponse:
        return FileResponse(STATIC / "manifest.webmanifest", media_type="application/manifest+json")

    if settings.serve_dev_outbox:
        api.include_router(dev.router)

    @api.get("/", include_in_schema=False)
    async def home() -> RedirectResponse:
        return RedirectResponse("/docs")

    @api.get("/_status", tags=["Operations"], summary="Liveness check")
    async def status() -> dict[str, Any]:
        return {"status": "ok", "version": __version__}

    return api
