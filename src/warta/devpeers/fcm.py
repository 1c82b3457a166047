"""A local Firebase: Google's OAuth 2.0 token endpoint and FCM HTTP v1 ``messages:send``.

    POST /token                                     grant_type=...jwt-bearer, assertion=<JWT>
    POST /v1/projects/{project_id}/messages:send    Authorization: Bearer <access token>

It makes its own RSA key pair and hands out the matching service-account JSON
(``service_account``). The token endpoint verifies the assertion as Google does (RS256
signature with the public key, iss, aud, scope, lifetime, kid) and issues opaque tokens;
``messages:send`` checks the bearer token, the project and the message's shape, records
each delivery and answers with FCM's own bodies (``google.rpc.Status`` with an FcmError
detail). Everything is written out here, not imported from ``warta.channels.fcm``, so a
mistake on Warta's side cannot be mirrored by the peer it is tested against.
"""

from __future__ import annotations

import contextlib
import re
import secrets
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from warta.devpeers.loopback import serve_asgi

PROJECT_ID = "warta-app-5c1d2"
CLIENT_EMAIL = f"firebase-adminsdk-x1y2z@{PROJECT_ID}.iam.gserviceaccount.com"
KEY_ID = "8d1e0c7f2b9a4e3d6c5b4a39281706f5e4d3c2b1"
SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
#: Real registration tokens are ~160 characters of base64url with one colon.
TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{8,}:[A-Za-z0-9_-]{16,}")
TTL_SHAPE = re.compile(r"[0-9]+(\.[0-9]{1,9})?s")


def rsa_private_pem(key: rsa.RSAPrivateKey | None = None) -> str:
    key = key or rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


@dataclass(frozen=True)
class Delivery:
    name: str
    token: str
    notification: dict[str, Any]
    data: dict[str, str]
    android: dict[str, Any]
    apns: dict[str, Any]


@dataclass(frozen=True)
class Failure:
    status: int
    rpc_status: str
    error_code: str | None
    retry_after: str | None = None
    field: str | None = None  # a google.rpc.BadRequest fieldViolation


@dataclass
class FakeFirebase:
    #: Seconds each issued access token lives (Google gives 3599).
    expires_in: int = 3599
    #: Registration tokens whose app was uninstalled: sends answer 404 UNREGISTERED.
    unregistered: set[str] = field(default_factory=set)
    deliveries: list[Delivery] = field(default_factory=list)
    token_requests: int = 0
    send_requests: int = 0
    url: str = ""
    _key: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    _issued: dict[str, float] = field(default_factory=dict)  # access token -> expires at
    _failures: deque[Failure] = field(default_factory=deque)
    _token_failures: deque[int] = field(default_factory=deque)

    @property
    def token_uri(self) -> str:
        return f"{self.url}/token"

    def service_account(self, token_uri: str | None = None) -> dict[str, str]:
        """The JSON key file Firebase's console would download for this project."""
        return {
            "type": "service_account",
            "project_id": PROJECT_ID,
            "private_key_id": KEY_ID,
            "private_key": rsa_private_pem(self._key),
            "client_email": CLIENT_EMAIL,
            "client_id": "103456789012345678901",
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": token_uri or self.token_uri,
            "universe_domain": "googleapis.com",
        }

    def fail_next(
        self,
        count: int = 1,
        *,
        status: int,
        rpc_status: str,
        error_code: str | None = None,
        retry_after: str | None = None,
        field: str | None = None,
    ) -> None:
        """Answer the next ``count`` sends with this error, as FCM words it."""
        failure = Failure(status, rpc_status, error_code, retry_after, field)
        self._failures.extend([failure] * count)

    def fail_token_next(self, count: int = 1, *, status: int) -> None:
        self._token_failures.extend([status] * count)

    def expire_tokens(self) -> None:
        """Every access token issued so far stops working (as after revocation)."""
        self._issued = dict.fromkeys(self._issued, 0.0)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[FakeFirebase]:
        app = Starlette(
            routes=[
                Route("/token", self._token, methods=["POST"]),
                Route("/v1/projects/{project}/messages:send", self._send, methods=["POST"]),
            ]
        )
        async with serve_asgi(app) as url:
            self.url = url
            yield self

    # -- OAuth 2.0 token endpoint (RFC 7523 JWT bearer grant) ---------------------------

    async def _token(self, request: Request) -> Response:
        self.token_requests += 1
        if self._token_failures:
            status = self._token_failures.popleft()
            error = "rate_limit_exceeded" if status == 429 else "internal_failure"
            return JSONResponse({"error": error}, status_code=status)
        async with request.form() as form:
            grant_type, assertion = form.get("grant_type"), form.get("assertion")
        if grant_type != JWT_BEARER:
            return _oauth_error("unsupported_grant_type", "Invalid grant_type")
        if not isinstance(assertion, str):
            return _oauth_error("invalid_request", "Missing required parameter: assertion")
        try:
            header = jwt.get_unverified_header(assertion)
            claims = jwt.decode(
                assertion,
                self._key.public_key(),
                algorithms=["RS256"],
                audience=self.token_uri,
                options={"require": ["iss", "aud", "iat", "exp", "scope"]},
            )
        except jwt.InvalidSignatureError:
            return _oauth_error("invalid_grant", "Invalid JWT Signature.")
        except jwt.PyJWTError as exc:
            return _oauth_error("invalid_grant", f"Invalid JWT: {type(exc).__name__}")
        problem = None
        if header.get("alg") != "RS256" or header.get("kid") != KEY_ID:
            problem = "Invalid JWT: kid does not name a key of this account"
        elif claims["iss"] != CLIENT_EMAIL:
            problem = "Invalid email or User ID"
        elif claims["scope"] != SCOPE:
            problem = "Invalid OAuth scope or ID token audience provided."
        elif not 0 < claims["exp"] - claims["iat"] <= 3600:
            problem = "Invalid JWT: Token must be a short-lived token (60 minutes)"
        if problem:
            return _oauth_error("invalid_grant", problem)
        token = "ya29.c." + secrets.token_urlsafe(32)
        self._issued[token] = time.monotonic() + self.expires_in
        return JSONResponse(
            {"access_token": token, "expires_in": self.expires_in, "token_type": "Bearer"}
        )

    # -- FCM HTTP v1 ----------------------------------------------------------------------

    async def _send(self, request: Request) -> Response:
        # Long on purpose: FCM's checks in the order the real service makes them (auth,
        # body, token), each answering with its own documented error.
        self.send_requests += 1
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        expires = self._issued.get(token) if scheme == "Bearer" else None
        if expires is None or expires <= time.monotonic():
            return _rpc_error(
                401,
                "UNAUTHENTICATED",
                "Request had invalid authentication credentials. Expected OAuth 2 access "
                "token, login cookie or other valid authentication credential.",
            )
        if request.path_params["project"] != PROJECT_ID:
            return _rpc_error(403, "PERMISSION_DENIED", "Permission denied on resource")
        if self._failures:
            failure = self._failures.popleft()
            return _rpc_error(
                failure.status,
                failure.rpc_status,
                "injected failure",
                error_code=failure.error_code,
                field=failure.field,
                headers={"Retry-After": failure.retry_after} if failure.retry_after else None,
            )
        try:
            body = await request.json()
            message = body["message"]
            problem = _shape_problem(message)
        except (ValueError, KeyError, TypeError, AttributeError):
            problem = ("message", "Invalid JSON payload received.")
        if problem:
            return _invalid_argument(*problem)
        registration = message["token"]
        if not TOKEN_SHAPE.fullmatch(registration):
            return _invalid_argument(
                "message.token", "The registration token is not a valid FCM registration token"
            )
        if registration in self.unregistered:
            return _rpc_error(
                404, "NOT_FOUND", "Requested entity was not found.", error_code="UNREGISTERED"
            )
        name = f"projects/{PROJECT_ID}/messages/0:{time.time_ns()}%{secrets.token_hex(8)}"
        self.deliveries.append(
            Delivery(
                name=name,
                token=registration,
                notification=message.get("notification", {}),
                data=message.get("data", {}),
                android=message.get("android", {}),
                apns=message.get("apns", {}),
            )
        )
        return JSONResponse({"name": name})


def _shape_problem(message: Any) -> tuple[str, str] | None:
    """What FCM's v1 schema would refuse, as (field path, description)."""
    if not isinstance(message, dict):
        return "message", "message must be an object"
    if not isinstance(message.get("token"), str) or {"topic", "condition"} & message.keys():
        return "message.token", "exactly one of token, topic, condition is required"
    notification = message.get("notification", {})
    for key in ("title", "body"):
        if not isinstance(notification.get(key), str):
            return f"message.notification.{key}", "must be a string"
    data = message.get("data", {})
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        return "message.data", "Invalid value at 'message.data': values must be strings"
    android = message.get("android", {})
    if android.get("priority") not in ("HIGH", "NORMAL"):
        return "message.android.priority", "Invalid value at 'message.android.priority'"
    ttl = android.get("ttl")
    if ttl is not None and not (isinstance(ttl, str) and TTL_SHAPE.fullmatch(ttl)):
        return "message.android.ttl", "Invalid value at 'message.android.ttl'"
    headers = message.get("apns", {}).get("headers", {})
    if not all(isinstance(v, str) for v in headers.values()):
        return "message.apns.headers", "Invalid value at 'message.apns.headers'"
    return None


def _oauth_error(error: str, description: str) -> Response:
    return JSONResponse({"error": error, "error_description": description}, status_code=400)


def _invalid_argument(path: str, description: str) -> Response:
    return _rpc_error(
        400, "INVALID_ARGUMENT", description, error_code="INVALID_ARGUMENT", field=path
    )


def _rpc_error(
    status: int,
    rpc_status: str,
    message: str,
    *,
    error_code: str | None = None,
    field: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """A ``google.rpc.Status`` body, as FCM v1 sends it."""
    details: list[dict[str, Any]] = []
    if error_code:
        details.append(
            {
                "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
                "errorCode": error_code,
            }
        )
    if field:
        details.append(
            {
                "@type": "type.googleapis.com/google.rpc.BadRequest",
                "fieldViolations": [{"field": field, "description": message}],
            }
        )
    error: dict[str, Any] = {"code": status, "message": message, "status": rpc_status}
    if details:
        error["details"] = details
    return JSONResponse({"error": error}, status_code=status, headers=headers)
