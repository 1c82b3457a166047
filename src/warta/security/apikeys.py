"""API keys and the JWT check, exactly as GOV.UK Notify's clients expect.

A key string is ``{name}-{service id}-{secret}``; clients take the last 73 characters
apart (``key[-73:-37]`` is the service id, ``key[-36:]`` the secret) and sign a HS256 JWT
with ``iss`` = service id and ``iat`` = now. The messages below are Notify's own, so an
agency's existing error handling keeps working.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import jwt

from warta.errors import AuthError

KeyType = Literal["normal", "team", "test"]
KEY_TYPES: tuple[KeyType, ...] = ("normal", "team", "test")


def key_type(value: str) -> KeyType:
    """A stored key type, narrowed; anything else in the column is a bug, not input."""
    for known in KEY_TYPES:
        if value == known:
            return known
    raise ValueError(f"not a key type: {value!r}")


CLOCK_SKEW_SECONDS = 30


def key_string(name: str, service_id: uuid.UUID, secret: str) -> str:
    slug = re.sub(r"[^a-z0-9_]+", "_", name.strip().lower()).strip("_") or "key"
    return f"{slug}-{service_id}-{secret}"


def new_secret() -> str:
    return str(uuid.uuid4())


@dataclass(frozen=True, slots=True)
class KeyCandidate:
    id: uuid.UUID
    key_type: KeyType
    secret: str
    revoked: bool


def unverified_service_id(authorization: str | None) -> tuple[str, uuid.UUID]:
    """Return (token, service id) from the header, before any key is looked up."""
    if not authorization:
        raise AuthError("Unauthorized: authentication token must be provided", 401)
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError("Unauthorized: authentication bearer scheme must be used", 401)
    token = token.strip()
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise AuthError("Invalid token: signature, api token is not valid") from exc
    issuer = claims.get("iss")
    if not issuer:
        raise AuthError("Invalid token: iss field not provided")
    try:
        return token, uuid.UUID(str(issuer))
    except ValueError as exc:
        raise AuthError("Invalid token: service id is not the right data type") from exc


def verify(
    token: str, candidates: Sequence[KeyCandidate], now: float | None = None
) -> KeyCandidate:
    """Find the key that signed ``token`` and check it is live and the clock is right."""
    if not candidates:
        raise AuthError("Invalid token: service has no API keys")
    for key in candidates:
        try:
            claims = jwt.decode(
                token, key.secret, algorithms=["HS256"], options={"verify_iat": False}
            )
        except jwt.InvalidSignatureError:
            continue
        except jwt.PyJWTError as exc:
            raise AuthError("Invalid token: signature, api token is not valid") from exc
        if key.revoked:
            raise AuthError("Invalid token: API key revoked")
        issued = claims.get("iat")
        if not isinstance(issued, int | float):
            raise AuthError("Invalid token: iat field not provided")
        if abs((time.time() if now is None else now) - issued) > CLOCK_SKEW_SECONDS:
            raise AuthError("Error: Your system clock must be accurate to within 30 seconds")
        return key
    raise AuthError("Invalid token: API key not found")
