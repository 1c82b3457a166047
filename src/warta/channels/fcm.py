"""Push to the official Android/iOS app through Firebase Cloud Messaging's HTTP v1 API.

    POST {token_uri}    grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer
                        assertion=<RS256 JWT signed with the service account's key>
                        -> {"access_token": "ya29...", "expires_in": 3599}
    POST {base_url}/v1/projects/{project_id}/messages:send    Authorization: Bearer <token>
         {"message": {"token", "notification", "data", "android", "apns"}}
         -> {"name": "projects/{project_id}/messages/0:1500415314455276%31bd1c96"}

FCM taking the message is as far as it reports, so the result is ``delivered``. Errors
carry ``google.rpc.Status``; the FCM reason is ``error.details[].errorCode`` of the detail
typed ``type.googleapis.com/google.firebase.fcm.v1.FcmError``. Every answer is translated
in ``_translate`` (the token endpoint's in ``warta.channels.fcm_oauth``, transport errors in
``warta.channels.http``) into the ``warta.errors.DeliveryError`` tree:

    HTTP 200                                           -> SendResult(status="delivered")
    404 UNREGISTERED (app uninstalled, token expired)  -> ContactGone: forget the token
    403 SENDER_ID_MISMATCH (token of another project)  -> ContactGone
    400 INVALID_ARGUMENT, a google.rpc.BadRequest
        fieldViolation on ``message.token``            -> ContactGone (see below)
    400 INVALID_ARGUMENT about anything else           -> TechnicalFailure: our payload
    401 THIRD_PARTY_AUTH_ERROR (APNs/Web Push keys)    -> TechnicalFailure
    401 without it (our access token went stale)       -> drop the token, fetch one, resend
                                                          once; a second 401 -> TechnicalFailure
    429 QUOTA_EXCEEDED                                 -> resent up to ``retries`` times,
                                                          then TemporaryFailure
    500 INTERNAL, 503 UNAVAILABLE, other 5xx           -> resent up to ``retries`` times,
                                                          then ProviderUnavailable
    403, 404 without those codes, any other answer     -> TechnicalFailure: our project setup
    connect error, timeout, dropped connection         -> ProviderUnavailable
    token endpoint 400/401 (invalid_grant: bad key)    -> TechnicalFailure
    token endpoint 429                                 -> TemporaryFailure
    token endpoint 5xx, connect error, timeout         -> ProviderUnavailable

INVALID_ARGUMENT is FCM's answer both to a malformed token and to a payload it refuses, and
forgetting a contact cannot be undone, so only the BadRequest detail naming ``message.token``
counts as a dead token, as Firebase's token-management guide advises. A 404 or 403 without
an FCM code is a wrong project id or a missing IAM role: our side, the token is kept.

Resends inside one ``send`` wait ``backoff_base * 2**n`` (with jitter) or the Retry-After
FCM gave, at most ``backoff_cap``; a longer Retry-After is left to the pipeline's retry.
Messages carry the HTTP status and FCM's error code, never FCM's text, the registration
token, the access token or the message: FCM's text may quote the token.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import random
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
from cryptography.hazmat.primitives.asymmetric import rsa

from warta.channels.fcm_oauth import AccessTokens, load_key
from warta.channels.http import json_object, transport_errors
from warta.domain.channels import ChannelName, OutboundMessage, SendResult
from warta.errors import (
    ConfigurationError,
    ContactGone,
    DeliveryError,
    ProviderUnavailable,
    TechnicalFailure,
    TemporaryFailure,
)

PROVIDER = "fcm"
ADDRESS_PREFIX = "fcm:"
FCM_ERROR_TYPE = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
BAD_REQUEST_TYPE = "type.googleapis.com/google.rpc.BadRequest"
MAX_TTL = 28 * 86_400  # FCM keeps a message at most four weeks
REQUIRED_FIELDS = ("project_id", "client_email", "private_key", "private_key_id", "token_uri")

_FCM_CODE = re.compile(r"[A-Z_]{1,40}")


@dataclass(frozen=True, slots=True)
class FcmConfig:
    """A Firebase project's service account and how hard to try. ``repr`` names the project
    and the key's id, never the key."""

    service_account: Mapping[str, Any] = field(repr=False)
    base_url: str = "https://fcm.googleapis.com"
    timeout: float = 10.0
    #: Resends of a 429/5xx inside one ``send``; the pipeline retries beyond that.
    retries: int = 2
    backoff_base: float = 0.5
    backoff_cap: float = 5.0
    _key: rsa.RSAPrivateKey = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        account = self.service_account
        if not isinstance(account, Mapping):
            raise ConfigurationError("FCM service account must be a JSON object")
        kind = account.get("type", "service_account")
        if kind != "service_account":
            raise ConfigurationError('FCM service account JSON must have "type": "service_account"')
        for name in REQUIRED_FIELDS:
            value = account.get(name)
            if not isinstance(value, str) or not value.strip():
                raise ConfigurationError(f"FCM service account JSON is missing {name}")
        if not _is_http_url(account["token_uri"]):
            raise ConfigurationError("FCM service account token_uri must be an http(s) URL")
        if not _is_http_url(self.base_url):
            raise ConfigurationError("FCM base URL must be an http(s) URL")
        if self.timeout <= 0:
            raise ConfigurationError("FCM timeout must be positive")
        if self.retries < 0 or self.backoff_base < 0 or self.backoff_cap < 0:
            raise ConfigurationError("FCM retries and backoff must not be negative")
        object.__setattr__(self, "_key", load_key(account["private_key"]))

    def __repr__(self) -> str:
        return (
            f"FcmConfig(project_id={self.project_id!r}, "
            f"private_key_id={self.service_account['private_key_id']!r}, "
            f"base_url={self.base_url!r})"
        )

    @classmethod
    def from_json(cls, text: str | bytes, **options: Any) -> FcmConfig:
        """The JSON key file Firebase's console downloads (Project settings > Service
        accounts > Generate new private key); ``options`` are the other fields."""
        try:
            account = json.loads(text)
        except (ValueError, TypeError):  # the parser's text quotes the input
            raise ConfigurationError("FCM service account is not valid JSON") from None
        if not isinstance(account, dict):
            raise ConfigurationError("FCM service account must be a JSON object")
        return cls(account, **options)

    @property
    def project_id(self) -> str:
        return str(self.service_account["project_id"])

    @property
    def messages_url(self) -> str:
        project = quote(self.project_id, safe="")
        return f"{self.base_url.rstrip('/')}/v1/projects/{project}/messages:send"


def _is_http_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


class FcmChannel:
    """Sends to ``fcm:<registration token>`` contacts. Owns ``client`` only when it created
    it; a shared client (``Warta.http``) is left open by ``aclose``."""

    name: ChannelName = "push"

    def __init__(
        self,
        config: FcmConfig,
        client: httpx.AsyncClient | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.config = config
        self._owns_client = client is None
        self._http = client or httpx.AsyncClient()
        self._tokens = AccessTokens(
            config.service_account, config._key, self._http, timeout=config.timeout, clock=clock
        )
        self._sleep = sleep
        self._closed = False

    def __repr__(self) -> str:
        return f"FcmChannel(project_id={self.config.project_id!r})"

    async def send(self, message: OutboundMessage) -> SendResult:
        if message.channel != "push":
            raise TechnicalFailure(f"{message.channel} message routed to the FCM channel")
        if self._closed:
            # Retryable on purpose: a send racing shutdown must not lose the message.
            raise ProviderUnavailable("FCM channel is closed")
        if not message.to.startswith(ADDRESS_PREFIX) or not message.to[len(ADDRESS_PREFIX) :]:
            raise TechnicalFailure("FCM channel needs an fcm:<registration token> address")
        body = request_body(message.to[len(ADDRESS_PREFIX) :], message)
        resent, refreshed = 0, False
        while True:
            access_token = await self._tokens.get()
            response = await self._post(body, access_token)
            if response.status_code == 200:
                return _result(response)
            error = _error_of(response)
            if response.status_code == 401 and error.code != "THIRD_PARTY_AUTH_ERROR":
                self._tokens.drop(access_token)
                if not refreshed:  # it expired or was revoked early: fetch one, once
                    refreshed = True
                    continue
            elif response.status_code == 429 or response.status_code >= 500:
                delay = self._backoff(resent, response.headers.get("Retry-After"))
                if resent < self.config.retries and delay is not None:
                    resent += 1
                    await self._sleep(delay)
                    continue
            raise _translate(response.status_code, error)

    async def aclose(self) -> None:
        self._closed = True
        if self._owns_client:
            await self._http.aclose()

    async def _post(self, body: dict[str, Any], access_token: str) -> httpx.Response:
        # Not resent here: after a timeout FCM may have taken it, and the pipeline's retry
        # is the one place that decides to risk a duplicate.
        with transport_errors("FCM"):
            return await self._http.post(
                self.config.messages_url,
                json=body,
                headers={"Authorization": f"Bearer {access_token}"},
                timeout=self.config.timeout,
            )

    def _backoff(self, resent: int, retry_after: str | None) -> float | None:
        """Seconds to wait before resend ``resent + 1``, or ``None`` when FCM asked for a
        longer wait than ``backoff_cap`` (then the pipeline's later retry honours it)."""
        asked = _retry_after_seconds(retry_after)
        if asked is not None:
            return asked if asked <= self.config.backoff_cap else None
        ceiling = min(self.config.backoff_cap, self.config.backoff_base * 2**resent)
        # Equal jitter: at least half the step, so clients that failed together spread out.
        return ceiling / 2 + random.uniform(0, ceiling / 2)


def request_body(token: str, message: OutboundMessage) -> dict[str, Any]:
    """The ``messages:send`` body; ``data`` holds only strings, as FCM requires."""
    data = {"notification_id": message.notification_id, "url": message.url}
    return {
        "message": {
            "token": token,
            "notification": {"title": message.subject or message.sender, "body": message.body},
            "data": {key: value for key, value in data.items() if value is not None},
            "android": {
                "priority": "HIGH" if message.urgent else "NORMAL",
                "ttl": f"{min(max(0, message.ttl), MAX_TTL)}s",
            },
            "apns": {"headers": {"apns-priority": "10" if message.urgent else "5"}},
        }
    }


@dataclass(frozen=True, slots=True)
class _FcmError:
    code: str | None  # FcmError.errorCode: UNREGISTERED, QUOTA_EXCEEDED...
    bad_token: bool  # a google.rpc.BadRequest fieldViolation names message.token


def _error_of(response: httpx.Response) -> _FcmError:
    error = json_object(response).get("error")
    details = error.get("details") if isinstance(error, dict) else None
    code, bad_token = None, False
    for detail in details if isinstance(details, list) else ():
        if not isinstance(detail, dict):
            continue
        if detail.get("@type") == FCM_ERROR_TYPE:
            found = detail.get("errorCode")
            if isinstance(found, str) and _FCM_CODE.fullmatch(found):
                code = found
        elif detail.get("@type") == BAD_REQUEST_TYPE:
            violations = detail.get("fieldViolations")
            bad_token = bad_token or any(
                isinstance(v, dict) and v.get("field") == "message.token"
                for v in (violations if isinstance(violations, list) else ())
            )
    return _FcmError(code, bad_token)


def _translate(status: int, error: _FcmError) -> DeliveryError:
    """The one place an FCM error answer becomes a Warta error."""
    said = f"FCM answered HTTP {status}" + ("" if error.code is None else f" ({error.code})")
    if error.code == "UNREGISTERED":
        return ContactGone(f"{said}: the app was uninstalled or the token expired")
    if error.code == "SENDER_ID_MISMATCH":
        return ContactGone(f"{said}: the token belongs to another Firebase project")
    if status == 400 and error.bad_token:
        return ContactGone(f"{said}: the registration token is not valid")
    if status == 429:
        return TemporaryFailure(said)
    if status >= 500:
        return ProviderUnavailable(said)
    if error.code == "THIRD_PARTY_AUTH_ERROR":
        return TechnicalFailure(f"{said}: the APNs or Web Push credentials in Firebase are wrong")
    if status == 401:
        return TechnicalFailure(f"{said}: a fresh access token was refused too")
    if status in (403, 404):
        return TechnicalFailure(f"{said}: check the project id and the service account's role")
    return TechnicalFailure(said)


def _result(response: httpx.Response) -> SendResult:
    name = json_object(response).get("name")
    if not isinstance(name, str) or not name:
        # FCM may hold the message, so no retry: a second send could show it twice.
        raise TechnicalFailure("FCM answered HTTP 200 without a message name")
    return SendResult(status="delivered", provider_reference=name, provider=PROVIDER)


def _retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as delta-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        moment = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())
