"""A local push service speaking RFC 8030/8291/8292, for testing ``WebPushChannel``.

    POST /push/{id}   TTL, Content-Encoding: aes128gcm, Authorization: vapid t=..., k=...

It also plays the browser: ``subscribe(application_server_key)`` makes a subscription as
``pushManager.subscribe`` does (a P-256 key pair and 16 random auth bytes, the private half
kept here), bound to that VAPID key. On each push it checks what a real push service
checks (RFC 8292 §4: the ES256 signature against ``k``, ``aud`` is this origin, ``exp``
within 24 h, ``sub`` present, ``k`` is the key the subscription was made with; RFC 8030:
TTL, Urgency and Topic well formed, at most 4096 bytes) and then decrypts the body with the
subscriber's private key, as the browser would, before recording it.

The VAPID check is written out here with ``cryptography`` on purpose instead of importing
``warta.channels.webpush`` or PyJWT, so a mistake on Warta's side cannot be mirrored by the
peer it is tested against. Decryption uses ``http_ece.decrypt`` with the private key: the
receiving half of RFC 8291, which Warta never runs.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import re
import secrets
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import http_ece
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from warta.devpeers.loopback import serve_asgi

MAX_BODY = 4096
URGENCIES = frozenset({"very-low", "low", "normal", "high"})
TOPIC = re.compile(r"[A-Za-z0-9_-]{1,32}")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class Delivered:
    subscription_id: str
    payload: dict[str, Any]
    headers: dict[str, str]


@dataclass
class _Subscriber:
    private_key: ec.EllipticCurvePrivateKey
    auth: bytes
    application_server_key: bytes
    expired: bool = False


@dataclass
class PushService:
    deliveries: list[Delivered] = field(default_factory=list)
    #: (status, reason) of every refused push, so a test can see why.
    refusals: list[tuple[int, str]] = field(default_factory=list)
    url: str = ""
    _subscribers: dict[str, _Subscriber] = field(default_factory=dict)
    _failures: deque[tuple[int, bool]] = field(default_factory=deque)
    _release: asyncio.Event = field(default_factory=asyncio.Event)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[PushService]:
        app = Starlette(routes=[Route("/push/{id}", self._push, methods=["POST"])])
        async with serve_asgi(app) as url:
            self.url = url
            try:
                yield self
            finally:
                self._release.set()

    def subscribe(self, application_server_key: str) -> dict[str, Any]:
        """What ``JSON.parse(JSON.stringify(await pushManager.subscribe(...)))`` gives."""
        private_key = ec.generate_private_key(ec.SECP256R1())
        auth = os.urandom(16)
        subscription_id = secrets.token_urlsafe(16)
        self._subscribers[subscription_id] = _Subscriber(
            private_key, auth, b64url_decode(application_server_key)
        )
        public = private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {
            "endpoint": f"{self.url}/push/{subscription_id}",
            "expirationTime": None,
            "keys": {"p256dh": b64url(public), "auth": b64url(auth)},
        }

    @staticmethod
    def id_of(subscription: Mapping[str, Any]) -> str:
        return str(subscription["endpoint"]).rsplit("/", 1)[1]

    def expire(self, subscription: Mapping[str, Any]) -> None:
        """The browser unsubscribed: further pushes get 410 Gone."""
        self._subscribers[self.id_of(subscription)].expired = True

    def fail_next(self, count: int = 1, *, status: int, stall: bool = False) -> None:
        """Answer the next ``count`` pushes with ``status`` (after holding them, if stall)."""
        self._failures.extend([(status, stall)] * count)

    async def _push(self, request: Request) -> Response:
        if self._failures:
            status, stall = self._failures.popleft()
            if stall:
                await self._release.wait()
            return self._refuse(status, "injected failure")
        subscriber = self._subscribers.get(request.path_params["id"])
        if subscriber is None:
            return self._refuse(404, "no such subscription")
        if subscriber.expired:
            return self._refuse(410, "subscription expired")
        problem = self._vapid_problem(request.headers.get("authorization"), subscriber)
        if problem is not None:
            return self._refuse(*problem)
        headers = request.headers
        ttl = headers.get("ttl", "")
        if not ttl.isdigit():
            return self._refuse(400, "TTL header missing or not a number")
        if headers.get("content-encoding") != "aes128gcm":
            return self._refuse(415, "Content-Encoding must be aes128gcm")
        if headers.get("urgency", "normal") not in URGENCIES:
            return self._refuse(400, "bad Urgency")
        if "topic" in headers and not TOPIC.fullmatch(headers["topic"]):
            return self._refuse(400, "bad Topic")
        body = await request.body()
        if len(body) > MAX_BODY:
            return self._refuse(413, "payload too large")
        try:
            # The sender's public key travels as the keyid of the aes128gcm header.
            plain = http_ece.decrypt(
                body,
                private_key=subscriber.private_key,
                auth_secret=subscriber.auth,
                version="aes128gcm",
            )
            payload = json.loads(plain)
        except Exception:  # any garbage body is the sender's fault: 400, as a service would
            return self._refuse(400, "cannot decrypt")
        self.deliveries.append(
            Delivered(request.path_params["id"], payload, {k: v for k, v in headers.items()})
        )
        return Response(status_code=201, headers={"Location": f"{self.url}/m/{uuid.uuid4()}"})

    def _vapid_problem(
        self, authorization: str | None, subscriber: _Subscriber
    ) -> tuple[int, str] | None:
        """RFC 8292 §4.2: 401 when there is no VAPID, 403 when it is wrong."""
        scheme, _, rest = (authorization or "").partition(" ")
        if scheme.lower() != "vapid":
            return 401, "no vapid authorization"
        params = dict(part.strip().partition("=")[::2] for part in rest.split(",") if "=" in part)
        token, key = params.get("t", ""), params.get("k", "")
        try:
            key_bytes = b64url_decode(key)
            public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), key_bytes)
            header_b64, claims_b64, signature_b64 = token.split(".")
            header = json.loads(b64url_decode(header_b64))
            claims = json.loads(b64url_decode(claims_b64))
            signature = b64url_decode(signature_b64)
        except ValueError:
            return 403, "malformed vapid token or key"
        if key_bytes != subscriber.application_server_key:
            return 403, "k is not the key this subscription was made with"
        if header.get("alg") != "ES256" or len(signature) != 64:
            return 403, "not an ES256 JWS"
        # JWS carries r || s; cryptography verifies DER.
        der = encode_dss_signature(
            int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
        )
        try:
            public.verify(der, f"{header_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            return 403, "bad signature"
        parts = urlsplit(self.url)
        if claims.get("aud") != f"{parts.scheme}://{parts.netloc}":
            return 403, "aud is not this push service"
        exp, now = claims.get("exp"), time.time()
        if not isinstance(exp, int) or not now < exp <= now + 86_400:
            return 403, "exp not within 24 hours"
        sub = claims.get("sub")
        if not isinstance(sub, str) or not sub.startswith(("mailto:", "https:")):
            return 403, "sub missing"
        return None

    def _refuse(self, status: int, reason: str) -> Response:
        self.refusals.append((status, reason))
        return JSONResponse(
            {"code": status, "errno": 0, "error": "refused", "message": reason},
            status_code=status,
        )
