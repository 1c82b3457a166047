"""Authenticate a request by Notify's JWT rules and say which agency and key it is."""

from __future__ import annotations

from fastapi import Request

from warta.deps import Warta
from warta.errors import AuthError
from warta.security.apikeys import bearer_token
from warta.services.lookups import agency_and_keys
from warta.services.sending import Caller


async def warta(request: Request) -> Warta:
    """The process's Warta. Async on purpose: FastAPI runs plain functions in a thread."""
    app: Warta = request.app.state.warta
    return app


async def authenticate(request: Request) -> Caller:
    app: Warta = request.app.state.warta
    token = bearer_token(request.headers.get("authorization"))
    tokens = app.caches.tokens
    entry = await agency_and_keys(app, tokens.issuer(token))
    if entry is None:
        raise AuthError("Invalid token: service not found")
    key = tokens.verify(token, entry.keys)
    return Caller(agency=entry.agency, key_id=key.id, key_type=key.key_type)
