"""What operators see of the API: a request id on every request and its log lines, the
request counts, and ``GET /metrics`` (docs/deploy.md#metrics).

The request id is the caller's ``X-Request-Id`` when it is sane (1-64 letters, digits and
``._:-``, so a log line cannot be forged with it), else a new one; the answer carries it.

``/metrics`` is for Prometheus, not for agencies: with ``WARTA_METRICS_TOKEN`` set it
needs ``Authorization: Bearer <token>``; without one, only this host may read it (the
client address as uvicorn sees it, so a proxy on this host must pass ``X-Forwarded-For``,
as uvicorn trusts from 127.0.0.1 by default).
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import re
import time
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from warta import logs, metrics
from warta.api.auth import warta
from warta.api.errors import error_body
from warta.deps import Warta
from warta.errors import StoreUnavailable
from warta.store import gauges

log = logging.getLogger(__name__)
SANE_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
HEADER = b"x-request-id"

router = APIRouter(tags=["Operations"])


class RequestContext:
    """Outermost middleware: the request id (context variable and answer header), and
    the request counted by route template (``/v2/notifications/{notification_id}``, never
    the path itself: ids stay out of the labels) and status class."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(HEADER, b"").decode("latin-1")
        rid = given if SANE_ID.fullmatch(given) else uuid.uuid4().hex
        token = logs.request_id.set(rid)
        status = 500  # what an exception that escapes every handler becomes

        async def with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (HEADER, rid.encode())]
            await send(message)

        started = time.perf_counter()
        try:
            await self.app(scope, receive, with_id)
        finally:
            route, took = _template(scope), time.perf_counter() - started
            metrics.request(route, scope["method"], status, took)
            # The route's template, never the path or query (they may hold an address).
            # DEBUG: at a thousand requests a second, a line each is a cost to choose.
            log.debug("%s %s %d %.1f ms", scope["method"], route, status, took * 1000)
            logs.request_id.reset(token)


def _template(scope: Scope) -> str:
    """The route that answered, as written in the code; "other" for paths no route has
    (scanners' guesses must not make new series)."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        return path
    app = scope.get("app")
    for candidate in getattr(getattr(app, "router", None), "routes", ()):
        match, _ = candidate.matches(scope)
        if match is Match.FULL:  # a mount (static files) or a route without scope["route"]
            return str(getattr(candidate, "path", "other"))
    return "other"


def _may_read(request: Request, token: str) -> bool:
    if token:
        given = request.headers.get("authorization", "")
        return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@router.get("/metrics", include_in_schema=False)
async def read_metrics(request: Request, app: Annotated[Warta, Depends(warta)]) -> Response:
    token = app.settings.metrics_token
    if not _may_read(request, token):
        if token:
            why = "Send Authorization: Bearer <WARTA_METRICS_TOKEN>"
            return error_body(401, [("AuthError", why)])
        return error_body(403, [("AuthError", "Metrics are readable from this host only")])
    found: list[metrics.GaugeMetricFamily] = []
    try:
        async with app.uow() as uow:
            due = await gauges.queue_due(uow, app.clock())
            fanning = await gauges.fan_outs(uow)
        found = metrics.queue_gauges(due, fanning)
    except StoreUnavailable:
        pass  # the process's own counts still matter most while the database is away
    headers = {"Cache-Control": "no-store"}
    return Response(metrics.exposition(found), media_type=metrics.CONTENT_TYPE, headers=headers)
