"""Chat through the WhatsApp Business Cloud API (Meta's Graph API).

    POST {base_url}/{api_version}/{phone_number_id}/messages    Authorization: Bearer <token>
         {"messaging_product": "whatsapp", "to": "62812...", "type": "text" | "template", ...}
         -> {"messages": [{"id": "wamid.HBgN..."}], ...}

WhatsApp lets a business send free text only inside the 24-hour customer-service window
(the citizen wrote to us within 24 h; ``window_open`` says so). Outside it only an approved
template may be sent: ours (``warta_notifikasi``) has one body parameter that carries the
whole text. A text refused with 131047 (the window closed meanwhile) is sent again once,
as the template, inside the same ``send``.

Meta answers at once with a ``wamid``; delivery arrives later as a signed status webhook
(``valid_signature``, ``parse_webhook``), as do citizens' messages. Every error answer is
translated in ``_translate`` into the ``warta.errors.DeliveryError`` tree, by the Graph
error's ``error.code`` first and the HTTP status second:

    131026 message undeliverable (not a WhatsApp user)     -> ContactGone
    131056, 130429, 131048, 4, 80007 (rate limits)         -> TemporaryFailure
    131000, 1 (unknown), 131016, 2 (service unavailable)   -> ProviderUnavailable
    190 (token expired), 10, 200-299 (permissions)         -> TechnicalFailure
    100 (invalid parameter)                                -> TechnicalFailure
    132000, 132001 (template parameters, template missing) -> TechnicalFailure
    other code: HTTP 5xx -> ProviderUnavailable, 429 -> TemporaryFailure, else TechnicalFailure
    connect error, timeout, dropped connection             -> ProviderUnavailable

Messages carry the HTTP status and Meta's numeric code, never Meta's text, the token or the
number: Meta's ``error_data.details`` quotes the recipient.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx

from warta.channels.base import ChannelName, OutboundMessage, Receipt, ReceiptStatus, SendResult
from warta.errors import (
    ConfigurationError,
    ContactGone,
    DeliveryError,
    InvalidInput,
    ProviderUnavailable,
    TechnicalFailure,
    TemporaryFailure,
)

PROVIDER = "whatsapp"
ADDRESS_PREFIX = "whatsapp:"
SIGNATURE_HEADER = "X-Hub-Signature-256"
#: Meta's limits: a text message body, and one template body parameter.
MAX_TEXT = 4096
MAX_TEMPLATE_PARAMETER = 1024

_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
_DIGITS = re.compile(r"[0-9]+")
_HEX_SHA256 = re.compile(r"[0-9a-fA-F]{64}")

REENGAGEMENT = 131047  # more than 24 h since the citizen last wrote: only a template may go
CONTACT_GONE_CODES = frozenset({131026})
RATE_LIMIT_CODES = frozenset({4, 80007, 130429, 131048, 131056})
#: 1 and 2 are Graph's own "unknown error" and "service temporarily unavailable".
UNAVAILABLE_CODES = frozenset({1, 2, 131000, 131016})
_HINTS = {
    190: "the access token is invalid or expired",
    100: "a request parameter is invalid",
    132000: "the template's parameter count does not match",
    132001: "the template does not exist in this language",
}

#: ``failed`` statuses after which the same message may still arrive if sent again later;
#: every other code is permanent-failure. 131047 is here because a retry goes out as the
#: template, which the closed window allows.
TEMPORARY_STATUS_CODES = frozenset({130429, 131000, 131016, 131047, 131048, 131056})


@dataclass(frozen=True, slots=True)
class WhatsAppConfig:
    """One WhatsApp Business phone number. The secrets are left out of ``repr``."""

    access_token: str = field(repr=False)
    phone_number_id: str
    app_secret: str = field(repr=False)  # signs webhooks: X-Hub-Signature-256
    verify_token: str = field(repr=False)  # the GET hub.challenge handshake
    #: An approved template with one body parameter ``{{1}}`` carrying the whole text.
    template: str = "warta_notifikasi"
    language: str = "id"
    base_url: str = "https://graph.facebook.com"
    api_version: str = "v21.0"
    timeout: float = 10.0

    def __post_init__(self) -> None:
        missing = [
            name
            for name in ("access_token", "phone_number_id", "app_secret", "verify_token")
            if not getattr(self, name)
        ]
        if missing:
            raise ConfigurationError(f"WhatsApp needs {', '.join(missing)}")
        if not _DIGITS.fullmatch(self.phone_number_id):
            raise ConfigurationError("WhatsApp phone_number_id is the numeric id Meta shows")
        if not (self.template and self.language):
            raise ConfigurationError("WhatsApp template and language must not be empty")
        if self.timeout <= 0:
            raise ConfigurationError("WhatsApp timeout must be positive")

    @property
    def messages_url(self) -> str:
        version = quote(self.api_version.strip("/"), safe="")
        return f"{self.base_url.rstrip('/')}/{version}/{self.phone_number_id}/messages"


async def _window_closed(number: str) -> bool:
    return False


class WhatsAppChannel:
    """Sends to ``whatsapp:<E.164>`` contacts. Owns ``client`` only when it created it; a
    shared client (``Warta.http``) is left open by ``aclose``.

    ``window_open(number)`` (E.164 with ``+``) says whether the citizen wrote to us within
    24 h; without it every message goes as the template, which is always allowed.
    """

    name: ChannelName = "chat"

    def __init__(
        self,
        config: WhatsAppConfig,
        client: httpx.AsyncClient | None = None,
        window_open: Callable[[str], Awaitable[bool]] | None = None,
    ) -> None:
        self.config = config
        self._owns_client = client is None
        self._http = client or httpx.AsyncClient()
        self._window_open = window_open or _window_closed
        self._closed = False

    def __repr__(self) -> str:
        return f"WhatsAppChannel(phone_number_id={self.config.phone_number_id!r})"

    async def send(self, message: OutboundMessage) -> SendResult:
        if message.channel != "chat":
            raise TechnicalFailure(f"{message.channel} message routed to the WhatsApp channel")
        if self._closed:
            # Retryable on purpose: a send racing shutdown must not lose the message.
            raise ProviderUnavailable("WhatsApp channel is closed")
        number = message.to.removeprefix(ADDRESS_PREFIX)
        if number == message.to or not _E164.fullmatch(number):
            raise TechnicalFailure("chat contact is not a whatsapp:<E.164 number> address")
        if await self._window_open(number):
            response = await self._post(text_request(number, message))
            if response.is_success or _error_code(response) != REENGAGEMENT:
                return _result(response)
        return _result(await self._post(template_request(number, message, self.config)))

    async def aclose(self) -> None:
        self._closed = True
        if self._owns_client:
            await self._http.aclose()

    async def _post(self, body: dict[str, Any]) -> httpx.Response:
        try:
            return await self._http.post(
                self.config.messages_url,
                json=body,
                headers={"Authorization": f"Bearer {self.config.access_token}"},
                timeout=self.config.timeout,
            )
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            # The exception's text may hold the URL; the class name says enough. A timeout
            # may come after Meta took the message, so a retry can send it twice; losing it
            # would be worse.
            if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
                raise TechnicalFailure(
                    f"WhatsApp base URL cannot be used: {type(exc).__name__}"
                ) from exc
            raise ProviderUnavailable(f"cannot reach WhatsApp: {type(exc).__name__}") from exc


def compose(message: OutboundMessage, limit: int, *, flat: bool = False) -> str:
    """Subject, body and url, at most ``limit`` characters. A long body is cut with "…" so
    the url, which opens the whole message in the citizen's inbox, always survives.

    ``flat`` is for template parameters, where Meta refuses newlines, tabs and more than
    four spaces in a row (error 132018): every run of whitespace becomes one space.
    """
    fix = (lambda part: " ".join(part.split())) if flat else (lambda part: part.strip())
    separator = " " if flat else "\n\n"
    head = [fix(message.subject)] if message.subject else []
    tail = [fix(message.url)] if message.url else []
    body = fix(message.body)
    whole = separator.join(part for part in [*head, body, *tail] if part)
    if len(whole) <= limit:
        return whole
    room = limit - len(separator.join([*head, "…", *tail]))  # body characters before "…"
    if room <= 0:  # subject and url alone are too long: keep the start of it all
        return whole[: limit - 1] + "…"
    return separator.join([*head, body[:room].rstrip() + "…", *tail])


def text_request(number: str, message: OutboundMessage) -> dict[str, Any]:
    """A free-text message, allowed inside the 24-hour window only."""
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": number.removeprefix("+"),
        "type": "text",
        "text": {"preview_url": False, "body": compose(message, MAX_TEXT)},
    }


def template_request(
    number: str, message: OutboundMessage, config: WhatsAppConfig
) -> dict[str, Any]:
    """The approved template, its one body parameter carrying the text."""
    parameter = compose(message, MAX_TEMPLATE_PARAMETER, flat=True)
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": number.removeprefix("+"),
        "type": "template",
        "template": {
            "name": config.template,
            "language": {"code": config.language},
            "components": [{"type": "body", "parameters": [{"type": "text", "text": parameter}]}],
        },
    }


def _result(response: httpx.Response) -> SendResult:
    if not response.is_success:
        raise _translate(response.status_code, _error_code(response))
    try:
        wamid = response.json()["messages"][0]["id"]
    except (ValueError, KeyError, IndexError, TypeError):
        wamid = None
    if not isinstance(wamid, str) or not wamid:
        # Meta may hold the message, so no retry: a second send could go out twice.
        raise TechnicalFailure(
            f"WhatsApp answered HTTP {response.status_code} without a message id"
        )
    return SendResult(status="sending", provider_reference=wamid, provider=PROVIDER)


def _error_code(response: httpx.Response) -> int | None:
    """Graph's ``{"error": {"code": 131026, "message": ..., "error_data": ...}}``."""
    try:
        code = response.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return None
    return code if isinstance(code, int) and not isinstance(code, bool) else None


def _translate(status: int, code: int | None) -> DeliveryError:
    """The one place a Graph API error answer becomes a Warta error."""
    said = f"WhatsApp answered HTTP {status}" + ("" if code is None else f" (error {code})")
    if code in CONTACT_GONE_CODES:
        return ContactGone(f"{said}: the number is not on WhatsApp or cannot get messages")
    if code in RATE_LIMIT_CODES:
        return TemporaryFailure(f"{said}: rate limited")
    if code in UNAVAILABLE_CODES:
        return ProviderUnavailable(said)
    if code == 10 or (code is not None and 200 <= code <= 299):  # Graph's permission block
        return TechnicalFailure(f"{said}: the token lacks a permission")
    if code in _HINTS:
        return TechnicalFailure(f"{said}: {_HINTS[code]}")
    if status >= 500:
        return ProviderUnavailable(said)
    if status == 429:
        return TemporaryFailure(said)
    return TechnicalFailure(said)


# -- webhooks: pure functions -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InboundChat:
    """A text a citizen sent to our WhatsApp number; it opens the 24-hour window."""

    sender: str  # E.164 with "+"
    text: str
    wamid: str
    timestamp: datetime  # when WhatsApp received it, UTC


@dataclass(frozen=True, slots=True)
class WebhookEvents:
    """What one webhook POST said. ``reads`` are wamids the citizen opened."""

    receipts: list[Receipt] = field(default_factory=list)
    reads: list[str] = field(default_factory=list)
    inbound: list[InboundChat] = field(default_factory=list)


def verify_subscription(config: WhatsAppConfig, params: Mapping[str, str]) -> str | None:
    """The GET handshake Meta makes when the webhook URL is set: ``hub.challenge`` to echo
    when ``hub.mode=subscribe`` and ``hub.verify_token`` is ours, else ``None`` (answer 403).
    """
    challenge = params.get("hub.challenge")
    if params.get("hub.mode") != "subscribe" or not challenge:
        return None
    given = params.get("hub.verify_token", "").encode()
    if not hmac.compare_digest(given, config.verify_token.encode()):
        return None
    return challenge


def signature(app_secret: str, body: bytes) -> str:
    """``X-Hub-Signature-256``: ``sha256=`` + hex HMAC-SHA256 of the raw body."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def valid_signature(config: WhatsAppConfig, body: bytes, header: str | None) -> bool:
    """Whether ``header`` signs exactly these bytes (check before parsing the JSON)."""
    if not header:
        return False
    scheme, _, given = header.strip().partition("=")
    if scheme != "sha256" or not _HEX_SHA256.fullmatch(given):
        return False
    expected = signature(config.app_secret, body).removeprefix("sha256=")
    return hmac.compare_digest(expected.encode(), given.lower().encode())


def parse_webhook(payload: Mapping[str, Any]) -> WebhookEvents:
    """Receipts, reads and inbound texts from a ``whatsapp_business_account`` webhook.

    One payload may hold several ``entry`` items, each with several ``changes``; statuses
    map as (Meta adds fields and kinds over time, so what is not understood is skipped):

        sent                   -> nothing: still on its way
        delivered              -> Receipt "delivered"
        read                   -> Receipt "delivered" and the wamid in ``reads``
        failed, code in TEMPORARY_STATUS_CODES, or no code -> Receipt "temporary-failure"
        failed, any other code (131026 not on WhatsApp...) -> Receipt "permanent-failure"

    ``detail`` is ``"whatsapp error 131026"`` for a failure (Meta's title and details may
    quote the number). Inbound ``messages`` of type text become ``InboundChat``; images,
    buttons and the rest are not read here.
    """
    if not isinstance(payload, Mapping) or payload.get("object") != "whatsapp_business_account":
        raise InvalidInput("not a WhatsApp Business Account webhook")
    events = WebhookEvents()
    for entry in _dicts(payload.get("entry")):
        for change in _dicts(entry.get("changes")):
            value = change.get("value")
            if change.get("field") != "messages" or not isinstance(value, dict):
                continue
            for status in _dicts(value.get("statuses")):
                _read_status(status, events)
            for message in _dicts(value.get("messages")):
                chat = _inbound(message)
                if chat is not None:
                    events.inbound.append(chat)
    return events


def _read_status(status: dict[str, Any], events: WebhookEvents) -> None:
    wamid, kind = status.get("id"), status.get("status")
    if not isinstance(wamid, str) or not wamid:
        return
    if kind == "delivered":
        events.receipts.append(Receipt(PROVIDER, wamid, "delivered", "delivered"))
    elif kind == "read":
        events.receipts.append(Receipt(PROVIDER, wamid, "delivered", "read"))
        events.reads.append(wamid)
    elif kind == "failed":
        codes = [e.get("code") for e in _dicts(status.get("errors"))]
        code = next((c for c in codes if isinstance(c, int)), None)
        # No code means no reason given: waiting may help, as a phone that was off.
        mapped: ReceiptStatus = (
            "temporary-failure"
            if code is None or code in TEMPORARY_STATUS_CODES
            else "permanent-failure"
        )
        detail = "whatsapp failed" if code is None else f"whatsapp error {code}"
        events.receipts.append(Receipt(PROVIDER, wamid, mapped, detail))


def _inbound(message: dict[str, Any]) -> InboundChat | None:
    text, sender, wamid = message.get("text"), message.get("from"), message.get("id")
    body = text.get("body") if isinstance(text, dict) else None
    if message.get("type") != "text" or not isinstance(body, str):
        return None
    number = f"+{sender}"  # Meta gives the number as digits only
    if not (isinstance(sender, str) and _E164.fullmatch(number) and isinstance(wamid, str)):
        return None
    try:
        when = datetime.fromtimestamp(int(message.get("timestamp", "")), UTC)
    except (ValueError, TypeError, OverflowError, OSError):
        return None
    return InboundChat(sender=number, text=body, wamid=wamid, timestamp=when)


def _dicts(items: object) -> list[dict[str, Any]]:
    return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []
