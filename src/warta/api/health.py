"""Health checks for load balancers and orchestrators: no authentication, no personal
data, JSON bodies, never cached.

    GET /health/live    200 {"status": "ok"}: the process answers requests
    GET /health/ready   200 {"status": "ok", "checks": {"database": "ok", "sms": "ok"}}
                        503 in Notify's error shape, one error per failing check

What "ready" requires (a database that takes a write, one SMS provider up) and why is in
``services.health``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import BaseModel

from warta.api.auth import warta
from warta.api.errors import error_body
from warta.api.responses import JsonResponse
from warta.api.schemas import ErrorBody
from warta.deps import Warta
from warta.errors import StoreUnavailable
from warta.services import health

router = APIRouter(prefix="/health", tags=["Operations"])

NO_STORE = {"Cache-Control": "no-store"}


class Live(BaseModel):
    status: str


class Ready(BaseModel):
    status: str
    checks: dict[str, str]


def _readiness(request: Request, app: Warta) -> health.Readiness:
    """The process's one ``Readiness``, kept on the ASGI app beside its Warta."""
    state = request.app.state
    if getattr(state, "readiness", None) is None:
        state.readiness = health.Readiness(app)
    readiness: health.Readiness = state.readiness
    return readiness


@router.get("/live", summary="The process answers", response_model=Live)
async def live() -> Response:
    return JsonResponse({"status": "ok"}, headers=NO_STORE)


@router.get(
    "/ready",
    summary="The database takes a write and an SMS provider is up",
    response_model=Ready,
    responses={503: {"model": ErrorBody}},
)
async def ready(request: Request, app: Annotated[Warta, Depends(warta)]) -> Response:
    problems = await _readiness(request, app).problems()
    if problems:
        failing = [(StoreUnavailable.error, f"{name}: {why}") for name, why in problems.items()]
        response = error_body(503, failing)
        response.headers.update(NO_STORE)
        return response
    checks = dict.fromkeys(("database", "sms"), "ok")
    return JsonResponse({"status": "ok", "checks": checks}, headers=NO_STORE)
