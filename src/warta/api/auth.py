"""Authenticate a request by Notify's JWT rules and say which agency and key it is."""

from __future__ import annotations

from fastapi import Request

from warta.bootstrap import Warta
from warta.errors import AuthError
from warta.security.apikeys import KeyCandidate, unverified_service_id, verify
from warta.services.sending import Caller


def warta(request: Request) -> Warta:
    app: Warta = request.app.state.warta
    return app


async def authenticate(request: Request) -> Caller:
    app = warta(request)
    token, service_id = unverified_service_id(request.headers.get("authorization"))
    async with app.uow() as uow:
        agency = await uow.agencies.get(service_id)
        if agency is None:
            raise AuthError("Invalid token: service not found")
        keys = await uow.agencies.keys(service_id)
    candidates = [
        KeyCandidate(
            id=k.id,
            key_type=k.key_type,  # type: ignore[arg-type]
            secret=app.keyring.decrypt(k.secret_enc, field="api_key.secret"),
            revoked=k.revoked_at is not None,
        )
        for k in keys
    ]
    key = verify(token, candidates)
    return Caller(agency=agency, key_id=key.id, key_type=key.key_type)
