"""Authenticate a request by Notify's JWT rules and say which agency and key it is."""

from __future__ import annotations

from fastapi import Request

from warta.deps import Warta
from warta.errors import AuthError
from warta.security.apikeys import unverified_service_id, verify
from warta.services.lookups import agency_and_keys
from warta.services.sending import Caller


async def warta(request: Request) -> Warta:
    """The process's Warta. Async on purpose: FastAPI runs plain functions in a thread."""
    app: Warta = request.app.state.warta
    return app


async def authenticate(request: Request) -> Caller:
    app: Warta = request.app.state.warta
    token, service_id = unverified_service_id(request.headers.get("authorization"))
    entry = await agency_and_keys(app, service_id)
    if entry is None:
        raise AuthError("Invalid token: service not found")
    key = verify(token, entry.keys)
    return Caller(agency=entry.agency, key_id=key.id, key_type=key.key_type)
