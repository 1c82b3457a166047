"""Web Push to browsers: RFC 8030 (protocol), RFC 8291 (aes128gcm payload), RFC 8292 (VAPID).

    POST {subscription endpoint}
         TTL, Urgency, Topic, Content-Encoding: aes128gcm
         Authorization: vapid t=<ES256 JWT: aud, exp, sub>, k=<our public key>
         body: {"title", "body", "url", "id"} encrypted for the subscriber's p256dh/auth

A push service taking the message (201/202) is as far as Web Push reports, so the result is
``delivered``; that the citizen read it is reported later by the service worker
(``warta/web/static/sw.js``) to the portal. Every answer is translated in ``_translate``
into the ``warta.errors.DeliveryError`` tree, so the pipeline decides to retry from the
class alone:

    HTTP 201, 202                                  -> SendResult(status="delivered")
    HTTP 404, 410 (unsubscribed or expired)        -> ContactGone: forget the subscription
    HTTP 429 (throttled)                           -> TemporaryFailure
    HTTP 5xx, connect error, timeout, dropped      -> ProviderUnavailable
    HTTP 400, 401, 403 (our VAPID or request)      -> TechnicalFailure
    HTTP 413 (payload too large: our side)         -> TechnicalFailure
    anything else                                  -> TechnicalFailure
    endpoint refused by the address rules (below)  -> ContactGone, never contacted
    endpoint's name does not resolve now           -> ProviderUnavailable

Messages name the push service's host and the HTTP status, never the endpoint URL: its path
identifies one subscriber's browser (and ``warta.logs`` keeps httpx from logging it).

The endpoint comes from a citizen's browser, so it is checked like any URL a stranger hands
a server to call (server-side request forgery): ``check_endpoint`` accepts only https on a
public address, and only the hosts of ``WebPushConfig.hosts`` when that is set. A name is
resolved and refused if any of its addresses is not global (loopback, private, link-local,
reserved...). The portal checks when a subscription is made; ``send`` checks again before
connecting, since a name may resolve elsewhere since, and then connects to the address it
checked (TLS still verified against the name), so a second lookup cannot swap it; a refused
endpoint is ``ContactGone``: it will not become a push service, so the contact is set aside and
escalation moves on instead of retrying. ``WebPushConfig.allow_local`` lifts the address
rules for the local push service of ``make run``; only the composition root sets it, and only
when it starts the local peers.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import http_ece
import httpx
import jwt
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from warta.channels.http import transport_errors
from warta.channels.push_endpoints import Resolver, check_endpoint, pinned, resolve
from warta.domain.channels import ChannelName, OutboundMessage, SendResult
from warta.errors import (
    ConfigurationError,
    ContactGone,
    DeliveryError,
    InvalidInput,
    ProviderUnavailable,
    TechnicalFailure,
    TemporaryFailure,
)

PROVIDER = "webpush"
RECORD_SIZE = 4096
#: Push services must accept 4096 bytes of body (RFC 8030 §7.2); aes128gcm with one record
#: adds a 86-byte header (salt, rs, idlen, our 65-byte key), a delimiter byte and a 16-byte
#: tag, which leaves this much for the JSON.
MAX_PLAINTEXT = RECORD_SIZE - 86 - 1 - 16
#: RFC 8292 allows exp up to 24 h ahead; half of that leaves room for clock skew.
TOKEN_LIFETIME = 12 * 3600
#: A cached JWT is renewed this long before it expires, so none arrives already stale.
TOKEN_RENEW_BEFORE = 3600

_B64URL = re.compile(r"[A-Za-z0-9_-]+={0,2}")


def b64url(data: bytes) -> str:
    """Base64url without padding, as browsers and RFC 8292 spell keys."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes | None:
    # Strict on purpose: urlsafe_b64decode silently drops characters outside the alphabet.
    if not _B64URL.fullmatch(text):
        return None
    bare = text.rstrip("=")
    try:
        return base64.urlsafe_b64decode(bare + "=" * (-len(bare) % 4))
    except (binascii.Error, ValueError):
        return None


class VapidKeys:
    """Warta's VAPID key pair (P-256). One per deployment: every subscription a browser made
    is bound to its public key, so replacing it silently orphans them all."""

    def __init__(self, private_key: ec.EllipticCurvePrivateKey) -> None:
        if not isinstance(private_key.curve, ec.SECP256R1):
            raise ConfigurationError("VAPID key must be on the P-256 curve")
        self.private_key = private_key

    def __repr__(self) -> str:  # which key, never its private half
        return f"VapidKeys(public_key_b64url={self.public_key_b64url!r})"

    @classmethod
    def generate(cls) -> VapidKeys:
        return cls(ec.generate_private_key(ec.SECP256R1()))

    @classmethod
    def from_pem(cls, pem: bytes) -> VapidKeys:
        """A PKCS#8 (or SEC1) unencrypted PEM, as ``to_pem`` writes it."""
        try:
            key = serialization.load_pem_private_key(pem, password=None)
        except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
            # The library's text may quote parts of the key.
            raise ConfigurationError("VAPID key is not an unencrypted PEM private key") from exc
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ConfigurationError("VAPID key must be an EC (P-256) private key")
        return cls(key)

    def to_pem(self) -> bytes:
        return self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    @property
    def public_key_bytes(self) -> bytes:
        """The uncompressed point (65 bytes, starting 0x04)."""
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )

    @property
    def public_key_b64url(self) -> str:
        """The ``applicationServerKey`` for ``pushManager.subscribe`` in the browser."""
        return b64url(self.public_key_bytes)


@dataclass(frozen=True, slots=True)
class WebPushConfig:
    #: VAPID ``sub``: how a push service operator reaches us. Use a real address in
    #: production; some services refuse a ``localhost`` one.
    subject: str = "mailto:warta@localhost"
    timeout: float = 10.0
    #: Push service hosts accepted (``WARTA_PUSH_HOSTS``); empty: any public https host.
    hosts: frozenset[str] = frozenset()
    #: Development only: accept http and local addresses (the local push service).
    allow_local: bool = False

    def __post_init__(self) -> None:
        if not self.subject.startswith(("mailto:", "https:")):
            raise ConfigurationError("Web Push subject must be a mailto: or https: URL")
        if self.timeout <= 0:
            raise ConfigurationError("Web Push timeout must be positive")


@dataclass(frozen=True, slots=True)
class Subscription:
    """A browser's PushSubscription. ``repr`` shows only the push service's origin: the
    endpoint path names one browser, and the keys decrypt its messages."""

    endpoint: str
    p256dh: bytes
    auth: bytes

    def __repr__(self) -> str:
        return f"Subscription(origin={self.origin!r})"

    @property
    def origin(self) -> str:
        parts = urlsplit(self.endpoint)
        return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


def parse_subscription(text: str) -> Subscription:
    """Validate ``JSON.stringify(subscription)`` from the browser.

    ``{"endpoint": "https://fcm.googleapis.com/fcm/send/c1Kk...", "expirationTime": null,
    "keys": {"p256dh": "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1X
    bjhazAkj7I99e8QcYP7DkM", "auth": "tBHItJI5svbpez7KI4CCXg"}}`` is good. A message names
    the bad field and never quotes a value: both keys are secrets and the endpoint names the
    browser.
    """
    try:
        data = json.loads(text)
    except (ValueError, TypeError) as exc:
        raise InvalidInput("Push subscription is not valid JSON") from exc
    if not isinstance(data, dict):
        raise InvalidInput("Push subscription must be a JSON object")
    endpoint = data.get("endpoint")
    if not isinstance(endpoint, str) or not _is_push_url(endpoint):
        raise InvalidInput("Push subscription endpoint must be an https:// or http:// URL")
    keys = data.get("keys")
    if not isinstance(keys, dict):
        raise InvalidInput("Push subscription keys must be an object with p256dh and auth")
    p256dh = keys.get("p256dh")
    point = _b64url_decode(p256dh) if isinstance(p256dh, str) else None
    if point is None or len(point) != 65 or point[0] != 4 or not _on_curve(point):
        raise InvalidInput(
            "Push subscription keys.p256dh must be a base64url uncompressed P-256 point (65 bytes)"
        )
    auth_text = keys.get("auth")
    auth = _b64url_decode(auth_text) if isinstance(auth_text, str) else None
    if auth is None or len(auth) != 16:
        raise InvalidInput("Push subscription keys.auth must be 16 bytes in base64url")
    return Subscription(endpoint=endpoint, p256dh=point, auth=auth)


def _is_push_url(url: str) -> bool:
    if any(character.isspace() for character in url):
        return False
    try:
        parts = urlsplit(url)
        port_ok = parts.port is None or parts.port > 0  # .port raises on "host:99999"
    except ValueError:
        return False
    return parts.scheme in ("https", "http") and bool(parts.hostname) and port_ok


def _on_curve(point: bytes) -> bool:
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except ValueError:
        return False
    return True


def topic(notification_id: str) -> str:
    """RFC 8030 Topic: at most 32 base64url characters, the same for every attempt at one
    notification, so a push service replaces an undelivered copy instead of adding one.
    Hashed, so the push service does not learn Warta's ids."""
    return b64url(hashlib.sha256(notification_id.encode()).digest())[:32]


def payload(message: OutboundMessage) -> bytes:
    """The JSON the service worker shows. A body too long for one 4 KiB push is cut with
    "…": the notification is a preview, and ``url`` opens the whole message."""
    fields: dict[str, Any] = {
        "title": message.subject or message.sender,
        "body": message.body,
        "url": message.url,
        "id": message.notification_id,
    }
    data = _dump(fields)
    if len(data) <= MAX_PLAINTEXT:
        return data
    body = message.body
    low, high = 0, len(body)  # the longest prefix that fits, by bisection
    while low < high:
        middle = (low + high + 1) // 2
        if len(_dump(fields | {"body": body[:middle] + "…"})) <= MAX_PLAINTEXT:
            low = middle
        else:
            high = middle - 1
    return _dump(fields | {"body": body[:low] + "…"})


def _dump(fields: dict[str, Any]) -> bytes:
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode()


class WebPushChannel:
    """Sends to any push service a browser subscribed with. Owns ``client`` only when it
    created it; a shared client (``Warta.http``) is left open by ``aclose``."""

    name: ChannelName = "push"

    def __init__(
        self,
        keys: VapidKeys,
        config: WebPushConfig | None = None,
        client: httpx.AsyncClient | None = None,
        *,
        clock: Callable[[], float] = time.time,
        resolver: Resolver = resolve,
    ) -> None:
        self.keys = keys
        self.config = config or WebPushConfig()
        self._resolver = resolver
        self._owns_client = client is None
        self._http = client or httpx.AsyncClient()
        self._clock = clock
        self._tokens: dict[str, tuple[str, int]] = {}  # audience -> (JWT, exp)
        self._closed = False

    def __repr__(self) -> str:
        return f"WebPushChannel(public_key={self.keys.public_key_b64url!r})"

    async def send(self, message: OutboundMessage) -> SendResult:
        # Long on purpose: the refusals, the endpoint re-check, the encryption and the
        # request in the order RFC 8030/8291 put them, each failure translated where met.
        if message.channel != "push":
            raise TechnicalFailure(f"{message.channel} message routed to the Web Push channel")
        if self._closed:
            # Retryable on purpose: a send racing shutdown must not lose the message.
            raise ProviderUnavailable("Web Push channel is closed")
        if message.to.startswith("fcm:"):
            raise TechnicalFailure("FCM token routed to the Web Push channel")
        try:
            subscription = parse_subscription(message.to)
        except InvalidInput as exc:  # stored contacts were validated: this is our side
            raise TechnicalFailure(f"stored {exc}") from exc
        host = urlsplit(subscription.endpoint).netloc.rpartition("@")[2]
        try:
            address = await self.check_endpoint(subscription.endpoint)
        except InvalidInput as exc:  # resolves elsewhere now, or no longer allowed
            raise ContactGone(
                "push service %(host)s is refused: %(reason)s", host=host, reason=str(exc)
            ) from None
        body = http_ece.encrypt(
            payload(message),
            private_key=ec.generate_private_key(ec.SECP256R1()),  # one per message: RFC 8291
            dh=subscription.p256dh,
            auth_secret=subscription.auth,
            rs=RECORD_SIZE,
            version="aes128gcm",
        )
        headers = {
            "TTL": str(max(0, message.ttl)),
            "Urgency": "high" if message.urgent else "normal",
            "Topic": topic(message.notification_id),
            "Content-Encoding": "aes128gcm",
            "Content-Type": "application/octet-stream",
            "Authorization": self._authorization(subscription.origin),
        }
        url, extensions = subscription.endpoint, {}
        if address is not None:  # connect to the address checked (DNS rebinding), TLS by name
            name = urlsplit(subscription.endpoint).hostname or ""
            url, extensions = pinned(subscription.endpoint, address), {"sni_hostname": name}
            headers["Host"] = host
        with transport_errors(f"push service {host}", chain=False):  # it holds the URL
            response = await self._http.post(
                url,
                content=body,
                headers=headers,
                timeout=self.config.timeout,
                extensions=extensions,
            )
        if response.status_code in (201, 202):
            return SendResult(
                status="delivered",
                provider_reference=response.headers.get("Location"),
                provider=PROVIDER,
            )
        raise _translate(host, response.status_code)

    async def check_endpoint(self, endpoint: str) -> str | None:
        """``check_endpoint`` with this channel's rules (hosts, development switch)."""
        return await check_endpoint(
            endpoint,
            hosts=self.config.hosts,
            allow_local=self.config.allow_local,
            resolver=self._resolver,
        )

    async def aclose(self) -> None:
        self._closed = True
        if self._owns_client:
            await self._http.aclose()

    def _authorization(self, audience: str) -> str:
        """RFC 8292 §3: ``vapid t=<JWT>, k=<key>``; one JWT per push service origin, reused
        until shortly before it expires (signing each message would cost an ECDSA op)."""
        now = int(self._clock())
        cached = self._tokens.get(audience)
        if cached is None or cached[1] - now < TOKEN_RENEW_BEFORE:
            exp = now + TOKEN_LIFETIME
            claims = {"aud": audience, "exp": exp, "sub": self.config.subject}
            cached = (jwt.encode(claims, self.keys.private_key, algorithm="ES256"), exp)
            self._tokens[audience] = cached
        return f"vapid t={cached[0]}, k={self.keys.public_key_b64url}"


def _translate(host: str, status: int) -> DeliveryError:
    """The one place a push service's answer becomes a Warta error."""
    said = f"push service {host} answered HTTP {status}"
    if status in (404, 410):
        return ContactGone(f"{said}: the subscription has expired or was unsubscribed")
    if status == 429:
        return TemporaryFailure(said)
    if status >= 500:
        return ProviderUnavailable(said)
    if status in (401, 403):
        return TechnicalFailure(f"{said}: it refused our VAPID key or token")
    if status == 413:
        return TechnicalFailure(f"{said}: the payload is too large")
    return TechnicalFailure(said)
