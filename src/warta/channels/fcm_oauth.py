"""FCM's access tokens: the service account's key, and the OAuth 2.0 JWT bearer grant
(RFC 7523) that trades a signed assertion for a token, cached until shortly before it
expires. ``warta.channels.fcm`` sends with them; see its docstring for the whole exchange.

The token endpoint's answers become Warta errors here:

    400/401 (invalid_grant: the key was refused)          -> TechnicalFailure
    429                                                   -> TemporaryFailure
    5xx, connect error, timeout (``warta.channels.http``) -> ProviderUnavailable
    200 without an access_token, any other answer         -> TechnicalFailure

Messages carry the HTTP status and the OAuth error code, never the endpoint's free-text
description, the assertion or the key.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx
import jwt
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from warta.channels.http import json_object, transport_errors
from warta.errors import (
    ConfigurationError,
    ProviderUnavailable,
    TechnicalFailure,
    TemporaryFailure,
)

SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ASSERTION_LIFETIME = 3600  # Google's maximum for a JWT bearer assertion
TOKEN_RENEW_BEFORE = 60  # an access token is replaced this long before it expires

_OAUTH_ERROR = re.compile(r"[a-z_]{1,40}")  # RFC 6749 codes; never the free-text description


def load_key(pem: str) -> rsa.RSAPrivateKey:
    """The service account's ``private_key``, which signs every assertion."""
    try:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        # ``from None``: the library's text may quote parts of the key.
        raise ConfigurationError(
            "FCM service account private_key is not an unencrypted PEM key"
        ) from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ConfigurationError("FCM service account private_key must be an RSA key")
    return key


class AccessTokens:
    """Access tokens for one service account (its JSON as ``account``, its loaded ``key``).

    Written here instead of using google-auth: its credentials refresh synchronously over
    ``requests``, which would block the event loop, and we need async httpx against the
    configurable ``token_uri`` (a local peer in tests and development).
    """

    def __init__(
        self,
        account: Mapping[str, Any],
        key: rsa.RSAPrivateKey,
        http: httpx.AsyncClient,
        *,
        timeout: float,
        clock: Callable[[], float],
    ) -> None:
        self._account = account
        self._key = key
        self._http = http
        self._timeout = timeout
        self._clock = clock
        self._lock = asyncio.Lock()  # one refresh in flight; the others wait and reuse it
        self._token: str | None = None
        self._renew_at = 0.0

    async def get(self) -> str:
        if self._token is not None and self._clock() < self._renew_at:
            return self._token
        async with self._lock:
            if self._token is None or self._clock() >= self._renew_at:
                self._token, expires_in = await self._fetch()
                self._renew_at = self._clock() + max(0, expires_in - TOKEN_RENEW_BEFORE)
            return self._token

    def drop(self, token: str) -> None:
        """Forget ``token`` after FCM refused it, unless a newer one replaced it already."""
        if self._token == token:
            self._token = None

    def _assertion(self) -> str:
        account = self._account
        now = int(time.time())  # wall time: Google checks iat and exp against its clock
        claims = {
            "iss": account["client_email"],
            "scope": SCOPE,
            "aud": account["token_uri"],
            "iat": now,
            "exp": now + ASSERTION_LIFETIME,
        }
        return jwt.encode(
            claims, self._key, algorithm="RS256", headers={"kid": account["private_key_id"]}
        )

    async def _fetch(self) -> tuple[str, int]:
        form = {"grant_type": GRANT_TYPE, "assertion": self._assertion()}
        with transport_errors("the FCM token endpoint"):
            response = await self._http.post(
                self._account["token_uri"], data=form, timeout=self._timeout
            )
        said = f"FCM token endpoint answered HTTP {response.status_code}"
        if not response.is_success:
            error = json_object(response).get("error")
            if isinstance(error, str) and _OAUTH_ERROR.fullmatch(error):
                said += f" ({error})"
            if response.status_code >= 500:
                raise ProviderUnavailable(said)
            if response.status_code == 429:
                raise TemporaryFailure(said)
            if response.status_code in (400, 401):
                raise TechnicalFailure(f"{said}: the service account key was refused")
            raise TechnicalFailure(said)
        answer = json_object(response)
        token, expires_in = answer.get("access_token"), answer.get("expires_in", 3600)
        if not isinstance(token, str) or not token:
            raise TechnicalFailure(f"{said} without an access_token")
        if not isinstance(expires_in, int) or isinstance(expires_in, bool):
            expires_in = 3600
        return token, expires_in
