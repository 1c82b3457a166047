"""Chat through the WhatsApp Business Cloud API (Meta's Graph API).

    POST {base_url}/{api_version}/{phone_number_id}/messages    Authorization: Bearer <token>
         {"messaging_product": "whatsapp", "to": "62812...", "type": "text" | "template", ...}
         -> {"messages": [{"id": "wamid.HBgN..."}], ...}

WhatsApp lets a business send free text only inside the 24-hour customer-service window
(the citizen wrote to us within 24 h; ``window_open`` says so). Outside it only an approved
template may be sent: ours (``warta_notifikasi``) has one body parameter that carries the
whole text. A text refused with 131047 (the window closed meanwhile) is sent again once,
as the template, inside the same ``send``.

Quick replies (``OutboundMessage.options``) go inside the window as an interactive
message (``interactive_request``): reply buttons for up to three options, a list for more
(``domain.quick_replies.whatsapp_menu`` fits them). A tap comes back as an inbound
message with ``option`` set (``parse_webhook``). Outside the window the template carries
the text alone: a template cannot take buttons it was not approved with.

Meta answers at once with a ``wamid``; delivery arrives later as a signed status webhook
(``valid_signature``, ``parse_webhook``: pure functions in ``whatsapp_webhooks``), as do
citizens' messages. Every error answer is
translated in ``_translate`` into the ``warta.errors.DeliveryError`` tree, by the Graph
error's ``error.code`` first and the HTTP status second:

    131026 message undeliverable (not a WhatsApp user)     -> ContactGone
    131056, 130429, 131048, 4, 80007 (rate limits)         -> TemporaryFailure
    131000, 1 (unknown), 131016, 2 (service unavailable)   -> ProviderUnavailable
    190 (token expired), 10, 200-299 (permissions)         -> TechnicalFailure
    100 (invalid parameter)                                -> TechnicalFailure
    131009 (parameter value not valid: interactive limits) -> TechnicalFailure
    132000, 132001 (template parameters, template missing) -> TechnicalFailure
    other code: HTTP 5xx -> ProviderUnavailable, 429 -> TemporaryFailure, else TechnicalFailure
    connect error, timeout, dropped connection             -> ProviderUnavailable

A photo a citizen sends arrives as an inbound ``image`` with its media id; ``download``
fetches it in two requests, both with the bearer token:

    GET {base_url}/{api_version}/{media_id}  -> {"url", "mime_type", "sha256", "file_size", "id"}
    GET <url>                                -> the bytes (the url lives about 5 minutes)

refusing with ``InvalidInput`` a file over the caller's byte limit (by ``file_size``,
then by the bytes counted as they stream, stopping past the limit). Errors translate as
a send's; a url that is neither https nor on the base URL's scheme is refused, since the
token goes with it.

Messages carry the HTTP status and Meta's numeric code, never Meta's text, the token or the
number: Meta's ``error_data.details`` quotes the recipient.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from warta.channels.http import json_object, read_capped, too_big, transport_errors

# The webhooks are read in their own module; callers import them from here, with the rest.
from warta.channels.whatsapp_webhooks import E164, PROVIDER
from warta.channels.whatsapp_webhooks import SIGNATURE_HEADER as SIGNATURE_HEADER
from warta.channels.whatsapp_webhooks import InboundChat as InboundChat
from warta.channels.whatsapp_webhooks import WebhookEvents as WebhookEvents
from warta.channels.whatsapp_webhooks import parse_webhook as parse_webhook
from warta.channels.whatsapp_webhooks import valid_signature as valid_signature
from warta.channels.whatsapp_webhooks import verify_subscription as verify_subscription
from warta.domain.channels import ChannelName, OutboundMessage, SendResult
from warta.domain.quick_replies import whatsapp_menu
from warta.errors import (
    ConfigurationError,
    ContactGone,
    DeliveryError,
    InvalidInput,
    ProviderUnavailable,
    TechnicalFailure,
    TemporaryFailure,
)

ADDRESS_PREFIX = "whatsapp:"
#: Meta's limits: a text message body, and one template body parameter.
MAX_TEXT = 4096
MAX_TEMPLATE_PARAMETER = 1024
#: An interactive message's body: 1024 characters with reply buttons, 4096 with a list.
MAX_BUTTONS_BODY = 1024
MAX_LIST_BODY = 4096

_DIGITS = re.compile(r"[0-9]+")
#: A media id (Graph gives digits); checked before it goes into a URL path.
_MEDIA_ID = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]{0,199}")

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
    131009: "a parameter value is not valid (an interactive message over WhatsApp's limits?)",
}


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

    def media_url(self, media_id: str) -> str:
        version = quote(self.api_version.strip("/"), safe="")
        return f"{self.base_url.rstrip('/')}/{version}/{quote(media_id, safe='')}"


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
        if number == message.to or not E164.fullmatch(number):
            raise TechnicalFailure("chat contact is not a whatsapp:<E.164 number> address")
        if await self._window_open(number):
            request = interactive_request(number, message, self.config.language)
            response = await self._post(request or text_request(number, message))
            if response.is_success or _error_code(response) != REENGAGEMENT:
                return _result(response)
        return _result(await self._post(template_request(number, message, self.config)))

    async def download(self, media_id: str, max_bytes: int) -> bytes:
        """The bytes of a photo a citizen sent (``InboundChat.media_id``).

        Raises ``InvalidInput`` when it is over ``max_bytes`` (as Graph reports its
        ``file_size``, or as counted while it streams: the download stops past the
        limit) or the media id is malformed, Graph errors as ``send`` does, and
        ``ProviderUnavailable`` for a connect error, a timeout or a dropped connection.
        """
        if self._closed:
            raise ProviderUnavailable("WhatsApp channel is closed")
        if not _MEDIA_ID.fullmatch(media_id):
            raise InvalidInput("not a WhatsApp media id")
        headers = {"Authorization": f"Bearer {self.config.access_token}"}
        with transport_errors("WhatsApp", url="WhatsApp base URL"):
            response = await self._http.get(
                self.config.media_url(media_id), headers=headers, timeout=self.config.timeout
            )
        if not response.is_success:
            raise _translate(response.status_code, _error_code(response))
        media = json_object(response)
        size, url = media.get("file_size"), media.get("url")
        if isinstance(size, int) and not isinstance(size, bool) and size > max_bytes:
            raise too_big(max_bytes)
        if not isinstance(url, str) or urlsplit(url).scheme not in (
            "https",
            urlsplit(self.config.base_url).scheme,
        ):
            raise TechnicalFailure("WhatsApp answered the media query without a usable url")
        with transport_errors("WhatsApp", url="WhatsApp media URL"):
            async with self._http.stream(
                "GET", url, headers=headers, timeout=self.config.timeout
            ) as got:
                if not got.is_success:
                    await got.aread()
                    raise _translate(got.status_code, _error_code(got))
                return await read_capped(got, max_bytes)

    async def aclose(self) -> None:
        self._closed = True
        if self._owns_client:
            await self._http.aclose()

    async def _post(self, body: dict[str, Any]) -> httpx.Response:
        with transport_errors("WhatsApp", url="WhatsApp base URL"):
            return await self._http.post(
                self.config.messages_url,
                json=body,
                headers={"Authorization": f"Bearer {self.config.access_token}"},
                timeout=self.config.timeout,
            )


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


def interactive_request(
    number: str, message: OutboundMessage, language: str = "id"
) -> dict[str, Any] | None:
    """The message with its options as reply buttons (1-3) or a list (4-10), inside the
    24-hour window only; None when it has no options to show (send it as text).

    ``language`` ("id" or "en") labels the button that opens a list: "Pilih" / "Choose".
    """
    menu = whatsapp_menu(message.options, "en" if language.startswith("en") else "id")
    if menu is None:
        return None
    if menu.kind == "button":
        body = compose(message, MAX_BUTTONS_BODY)
        action: dict[str, Any] = {
            "buttons": [
                {"type": "reply", "reply": {"id": option.id, "title": option.title}}
                for option in menu.options
            ]
        }
    else:
        body = compose(message, MAX_LIST_BODY)
        action = {
            "button": menu.button,
            "sections": [
                {"rows": [{"id": option.id, "title": option.title} for option in menu.options]}
            ],
        }
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": number.removeprefix("+"),
        "type": "interactive",
        "interactive": {"type": menu.kind, "body": {"text": body}, "action": action},
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
