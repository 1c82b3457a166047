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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

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


def bearer_token(authorization: str | None) -> str:
    """The token of an ``Authorization: Bearer <token>`` header."""
    if not authorization:
        raise AuthError("Unauthorized: authentication token must be provided", 401)
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError("Unauthorized: authentication bearer scheme must be used", 401)
    return token.strip()


def unverified_service_id(authorization: str | None) -> tuple[str, uuid.UUID]:
    """Return (token, service id) from the header, before any key is looked up."""
    token = bearer_token(authorization)
    return token, unverified_issuer(token)


def unverified_issuer(token: str) -> uuid.UUID:
    """The service id a token names (``iss``), its signature not yet checked."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise AuthError("Invalid token: signature, api token is not valid") from exc
    issuer = claims.get("iss")
    if not issuer:
        raise AuthError("Invalid token: iss field not provided")
    try:
        return uuid.UUID(str(issuer))
    except ValueError as exc:
        raise AuthError("Invalid token: service id is not the right data type") from exc


def verify(
    token: str, candidates: Sequence[KeyCandidate], now: float | None = None
) -> KeyCandidate:
    """Find the key that signed ``token`` and check it is live and the clock is right."""
    return _verified(token, candidates, now)[0]


def _verified(
    token: str, candidates: Sequence[KeyCandidate], now: float | None
) -> tuple[KeyCandidate, dict[str, Any]]:
    """``verify``, also returning the token's claims."""
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
        return key, claims
    raise AuthError("Invalid token: API key not found")


@dataclass(frozen=True, slots=True)
class _Verified:
    issuer: uuid.UUID
    secret: str  # of the key that signed the token
    issued: float
    expires: float | None  # the token's own ``exp``, when it has one


class VerifiedTokens:
    """Tokens this process has verified, so that the requests sharing one skip the
    signature check and the JSON parsing (Notify's clients sign one token per second and
    reuse it; a token is good for 30 s).

    A hit is a shortcut, never a different answer: it is taken only while the key that
    signed the token is still the first of the agency's current keys with that secret
    (the one ``verify`` would find), not revoked, and the token still within the clock
    window and before its ``exp``. Anything else goes the full way (``verify``), which
    refuses it with its usual message. A revoked key is therefore refused as soon as the
    agency's cached keys say so. At most ``limit`` tokens are kept; whose window has passed
    leave first.
    """

    def __init__(self, limit: int = 10_000, clock: Callable[[], float] = time.time) -> None:
        self._limit = limit
        self._clock = clock
        self._tokens: dict[str, _Verified] = {}

    def issuer(self, token: str) -> uuid.UUID:
        """The service id the token names (``unverified_issuer``, or known already)."""
        known = self._tokens.get(token)
        return known.issuer if known is not None else unverified_issuer(token)

    def verify(self, token: str, candidates: Sequence[KeyCandidate]) -> KeyCandidate:
        """``verify(token, candidates)``, remembering a token once it passed."""
        now = self._clock()
        known = self._tokens.get(token)
        if known is not None:
            key = next((k for k in candidates if k.secret == known.secret), None)
            if (
                key is not None
                and not key.revoked
                and abs(now - known.issued) <= CLOCK_SKEW_SECONDS
                and (known.expires is None or now < known.expires)
            ):
                return key
            del self._tokens[token]
        key, claims = _verified(token, candidates, now)
        self._remember(token, key, claims, now)
        return key

    def _remember(self, token: str, key: KeyCandidate, claims: dict[str, Any], now: float) -> None:
        if len(self._tokens) >= self._limit:
            self._tokens = {
                t: v for t, v in self._tokens.items() if now - v.issued <= CLOCK_SKEW_SECONDS
            }
            if len(self._tokens) >= self._limit:
                self._tokens.clear()
        try:
            issuer = uuid.UUID(str(claims.get("iss")))
        except ValueError:
            return  # never looked up by its issuer, so never a hit
        expires = claims.get("exp")
        self._tokens[token] = _Verified(
            issuer=issuer,
            secret=key.secret,
            issued=float(claims["iat"]),
            expires=float(expires) if isinstance(expires, int | float) else None,
        )
