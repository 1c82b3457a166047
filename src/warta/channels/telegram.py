"""Chat through the Telegram Bot API, the webhook it calls, and linking a chat to a citizen.

    POST {base_url}/bot{token}/sendMessage   {"chat_id", "text", "link_preview_options",
                                              "reply_markup": {"inline_keyboard": [[
                                                  {"text", "callback_data"}, ...], ...]}}
         -> {"ok": true, "result": {"message_id": 42, ...}}
    POST {base_url}/bot{token}/answerCallbackQuery   {"callback_query_id", "text"}
    POST {base_url}/bot{token}/setWebhook    {"url", "secret_token", "allowed_updates"}
    POST {base_url}/bot{token}/getFile       {"file_id"}
         -> {"ok": true, "result": {"file_id", "file_size", "file_path": "photos/file_7.jpg"}}
    GET  {base_url}/file/bot{token}/{file_path}    the file's bytes

A photo a citizen sends comes as a message with a ``photo`` array of sizes (``parse_update``:
kind "photo", ``file_id`` the largest size's, ``text`` the caption); ``download`` fetches
it, refusing with ``InvalidInput`` one over the caller's byte limit (by the ``file_size``
getFile reports, then by the bytes counted as they stream, stopping past the limit).

A bot cannot write first. The portal shows ``link_url(config, new_link_code())``
(``https://t.me/<bot>?start=<code>``); opening it makes Telegram send ``/start <code>`` to
the bot, which arrives as an Update on our webhook (``verify_secret``, ``parse_update``) and
ties that chat to the citizen: the contact ``telegram:<chat id>``.

Quick replies (``OutboundMessage.options``) go as an inline keyboard under the message
(under its last part when it is split), laid out by ``domain.quick_replies``. A tap comes
back as a ``callback_query`` Update (``parse_update``: kind "option", ``text`` the
option's id); Telegram shows a spinner on the button until ``answer_callback`` is called.

Telegram answers at once and sends no delivery receipts, so a taken message is
``delivered``. Every error answer is translated in ``_translate``, by HTTP status (Telegram
puts the same number in ``error_code``) and, for 400, its ``description``:

    403 (bot blocked by the user, user deactivated, ...)   -> ContactGone
    400 "chat not found"                                   -> ContactGone
    400, anything else                                     -> TechnicalFailure
    401, 404 (wrong or malformed bot token)                -> TechnicalFailure
    429 (flood control)                                    -> TemporaryFailure, after one
                                                              retry within ``send`` when
                                                              ``retry_after`` <= 5 s
    5xx, connect error, timeout, dropped connection        -> ProviderUnavailable
    other status, or 200 without a message_id              -> TechnicalFailure

The bot token is part of every URL, so no message here quotes a URL, httpx's exceptions are
re-raised without their chain, and httpx's request log line is redacted (``_RedactToken``).
Telegram's descriptions are never passed on verbatim: only known phrases are matched.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

from warta.channels.http import read_capped, too_big, transport_errors
from warta.domain.channels import ChannelName, Option, OutboundMessage, SendResult
from warta.domain.quick_replies import telegram_rows
from warta.errors import (
    ConfigurationError,
    ContactGone,
    DeliveryError,
    InvalidInput,
    ProviderUnavailable,
    TechnicalFailure,
    TemporaryFailure,
)

PROVIDER = "telegram"
ADDRESS_PREFIX = "telegram:"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
#: sendMessage takes 1-4096 characters of text.
MAX_TEXT = 4096
#: answerCallbackQuery's notification text: 0-200 characters.
MAX_CALLBACK_TEXT = 200
#: The Update kinds the webhook asks for: typed messages and button taps.
ALLOWED_UPDATES = ("message", "callback_query")
#: A 429 asking to wait this long or less is waited out inside ``send``; a longer wait
#: belongs to the pipeline's retry schedule, not to a worker holding a message.
MAX_INLINE_WAIT = 5.0

_TOKEN = re.compile(r"[0-9]+:[A-Za-z0-9_-]+")
_USERNAME = re.compile(r"[A-Za-z0-9_]{5,32}")
#: Telegram's alphabets for ``secret_token`` (1-256) and a deep link's start parameter (1-64).
_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
_START_CODE = re.compile(r"[A-Za-z0-9_-]{1,64}")
_CHAT_ID = re.compile(r"-?[0-9]{1,20}")
#: ``/start``, ``/start@our_bot``, then the deep-link payload if any.
_START = re.compile(r"/start(?:@[A-Za-z0-9_]+)?(?:\s+(?P<payload>.*))?", re.DOTALL)
_BOT_PATH = re.compile(r"/bot[0-9]+:[A-Za-z0-9_-]+")
#: What getFile gives as ``file_path`` ("photos/file_7.jpg"): no "..", no query, no scheme.
_FILE_PATH = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]*(?:/[A-Za-z0-9_-][A-Za-z0-9_.-]*)*")


@dataclass(frozen=True, slots=True)
class TelegramConfig:
    """One bot, as @BotFather made it. The secrets are left out of ``repr``."""

    token: str = field(repr=False)
    username: str  # without "@": the t.me link's path
    #: Telegram echoes it in X-Telegram-Bot-Api-Secret-Token on every webhook call.
    webhook_secret: str = field(repr=False)
    base_url: str = "https://api.telegram.org"
    timeout: float = 10.0

    def __post_init__(self) -> None:
        if not _TOKEN.fullmatch(self.token):
            raise ConfigurationError("Telegram token must look like 123456:ABC-DEF (@BotFather)")
        if not _USERNAME.fullmatch(self.username):
            raise ConfigurationError(
                "Telegram username must be the bot's 5-32 letters, digits and _, without @"
            )
        if not _SECRET.fullmatch(self.webhook_secret):
            raise ConfigurationError(
                "Telegram webhook_secret must be 1-256 of A-Z, a-z, 0-9, _ and -"
            )
        if self.timeout <= 0:
            raise ConfigurationError("Telegram timeout must be positive")

    def method_url(self, method: str) -> str:
        return f"{self.base_url.rstrip('/')}/bot{self.token}/{method}"

    def file_url(self, file_path: str) -> str:
        return f"{self.base_url.rstrip('/')}/file/bot{self.token}/{file_path}"


class _RedactToken(logging.Filter):
    """httpx logs every request's URL at INFO, and a bot's URL holds its token."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = _BOT_PATH.sub("/bot<token>", message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


_REDACT = _RedactToken()
log = logging.getLogger(__name__)


class TelegramChannel:
    """Sends to ``telegram:<chat id>`` contacts. Owns ``client`` only when it created it;
    a shared client (``Warta.http``) is left open by ``aclose``."""

    name: ChannelName = "chat"

    def __init__(self, config: TelegramConfig, client: httpx.AsyncClient | None = None) -> None:
        self.config = config
        self._owns_client = client is None
        self._http = client or httpx.AsyncClient()
        self._closed = False
        httpx_log = logging.getLogger("httpx")
        if _REDACT not in httpx_log.filters:
            httpx_log.addFilter(_REDACT)

    def __repr__(self) -> str:
        return f"TelegramChannel(username={self.config.username!r})"

    async def send(self, message: OutboundMessage) -> SendResult:
        if message.channel != "chat":
            raise TechnicalFailure(f"{message.channel} message routed to the Telegram channel")
        chat_id = message.to.removeprefix(ADDRESS_PREFIX)
        if chat_id == message.to or not _CHAT_ID.fullmatch(chat_id):
            raise TechnicalFailure("chat contact is not a telegram:<chat id> address")
        return await self.reply(chat_id, compose(message), message.options)

    async def reply(self, chat_id: str, text: str, options: Sequence[Option] = ()) -> SendResult:
        """Send ``text`` to a chat, in several messages when it is over 4096 characters,
        with ``options`` as buttons under the last. The result's reference is the first
        message's id."""
        if self._closed:
            # Retryable on purpose: a send racing shutdown must not lose the message.
            raise ProviderUnavailable("Telegram channel is closed")
        if not _CHAT_ID.fullmatch(chat_id):
            raise TechnicalFailure("Telegram chat id must be an integer")
        parts = split_text(text)
        if not parts:
            raise TechnicalFailure("Telegram message has no text")
        ids: list[str] = []
        # If a later part fails, the retry sends the earlier ones again: a repeated
        # paragraph is better than a lost notification.
        keyboard = inline_keyboard(options)
        for number, part in enumerate(parts, 1):
            body: dict[str, Any] = {
                "chat_id": int(chat_id),
                "text": part,
                "link_preview_options": {"is_disabled": True},
            }
            if keyboard is not None and number == len(parts):
                body["reply_markup"] = keyboard
            ids.append(_message_id(await self._call("sendMessage", body)))
        return SendResult(status="delivered", provider_reference=ids[0], provider=PROVIDER)

    async def set_webhook(self, url: str) -> None:
        """Point the bot's updates at ``url`` (Warta's ``/providers/telegram/webhook``)."""
        await self._call(
            "setWebhook",
            {
                "url": url,
                "secret_token": self.config.webhook_secret,
                "allowed_updates": list(ALLOWED_UPDATES),
            },
        )

    async def answer_callback(self, callback_id: str, text: str | None = None) -> bool:
        """Tell Telegram a button tap (``Update.callback_id``) was handled, which stops the
        button's spinner; ``text`` (cut to 200 characters) shows briefly at the top of the
        chat. Whether Telegram took it: it refuses a query older than about 15 s or answered
        before, and the tap was read either way, so a failure is logged (its class only)
        and never raised: a webhook that failed for it would have Telegram send the tap
        again."""
        body: dict[str, Any] = {"callback_query_id": callback_id}
        if text:
            body["text"] = text[:MAX_CALLBACK_TEXT]
        try:
            await self._call("answerCallbackQuery", body)
        except DeliveryError as exc:
            log.warning("telegram callback not answered (%s: %s)", type(exc).__name__, exc)
            return False
        return True

    async def download(self, file_id: str, max_bytes: int) -> bytes:
        """The bytes of a file a citizen sent (``Update.file_id``): getFile, then the file.

        Raises ``InvalidInput`` when the file is over ``max_bytes`` (as getFile reports it,
        or as counted while it streams: the download stops past the limit), Bot API errors
        as ``send`` does (an unknown file_id is a 400: ``TechnicalFailure``), and
        ``ProviderUnavailable`` for a connect error, a timeout or a dropped connection.
        """
        if self._closed:
            raise ProviderUnavailable("Telegram channel is closed")
        answer = await self._call("getFile", {"file_id": file_id})
        result = answer.get("result")
        result = result if isinstance(result, dict) else {}
        size, path = result.get("file_size"), result.get("file_path")
        if isinstance(size, int) and not isinstance(size, bool) and size > max_bytes:
            raise too_big(max_bytes)
        if not isinstance(path, str) or ".." in path or not _FILE_PATH.fullmatch(path):
            # Telegram gives no path for a file over its 20 MB download limit.
            raise TechnicalFailure("Telegram answered getFile without a usable file_path")
        with transport_errors("Telegram", url="Telegram base URL", chain=False):
            async with self._http.stream(
                "GET", self.config.file_url(path), timeout=self.config.timeout
            ) as response:
                if not response.is_success:
                    await response.aread()
                    raise _translate(response.status_code, _description(response))
                return await read_capped(response, max_bytes)

    async def aclose(self) -> None:
        self._closed = True
        if self._owns_client:
            await self._http.aclose()

    async def _call(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        """One Bot API call, its successful answer's JSON; a short flood wait is taken once."""
        response = await self._post(method, body)
        if response.status_code == 429:
            wait = _retry_after(response)
            if wait is not None and wait <= MAX_INLINE_WAIT:
                await asyncio.sleep(wait)
                response = await self._post(method, body)
        if not response.is_success:
            raise _translate(response.status_code, _description(response))
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if not isinstance(answer, dict) or answer.get("ok") is not True:
            # Telegram may have acted on it, so no retry.
            raise TechnicalFailure(f"Telegram answered HTTP {response.status_code} without ok")
        return answer

    async def _post(self, method: str, body: dict[str, Any]) -> httpx.Response:
        # Not chained: httpx's exception holds the request, whose URL holds the token.
        with transport_errors("Telegram", url="Telegram base URL", chain=False):
            return await self._http.post(
                self.config.method_url(method), json=body, timeout=self.config.timeout
            )


def compose(message: OutboundMessage) -> str:
    """The subject (if any) as the first line, then the body, then the url on its own line.

    ``subject="Jadwal vaksinasi", body="Senin, 3 Maret.", url="https://warta.go.id/k/7f"``
    -> ``"Jadwal vaksinasi\\nSenin, 3 Maret.\\nhttps://warta.go.id/k/7f"``
    """
    parts = [message.subject, message.body, message.url]
    return "\n".join(part.strip() for part in parts if part and part.strip())


def inline_keyboard(options: Sequence[Option]) -> dict[str, Any] | None:
    """``reply_markup`` for the options, or None when there are none to show.

    ``[Option("cek_status", "Cek status")]`` ->
    ``{"inline_keyboard": [[{"text": "Cek status", "callback_data": "cek_status"}]]}``
    """
    rows = telegram_rows(options)
    if not rows:
        return None
    return {
        "inline_keyboard": [
            [{"text": option.title, "callback_data": option.id} for option in row] for row in rows
        ]
    }


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """``text`` in pieces of at most ``limit`` UTF-16 code units, in order, none empty.

    Telegram measures text in UTF-16 code units (as its entity offsets), so an emoji
    counts two; counting so is safe whichever way a server counts. A piece ends at the last
    newline, else the last space, in its second half, else mid-word; the whitespace at a
    cut is dropped, as Telegram trims each message anyway.
    """
    pieces: list[str] = []
    rest = text.strip()
    while _utf16_len(rest) > limit:
        fit = _fitting(rest, limit)
        cut = max(rest.rfind("\n", 0, fit + 1), 0)
        if cut <= fit // 2:
            cut = max(rest.rfind(" ", 0, fit + 1), 0)
        if cut <= fit // 2:
            cut = fit
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        pieces.append(rest)
    return pieces


def _utf16_len(text: str) -> int:
    return len(text) + sum(1 for char in text if ord(char) > 0xFFFF)


def _fitting(text: str, limit: int) -> int:
    """How many characters of ``text`` fit in ``limit`` UTF-16 code units."""
    used = 0
    for index, char in enumerate(text):
        used += 2 if ord(char) > 0xFFFF else 1
        if used > limit:
            return index
    return len(text)


def _message_id(answer: dict[str, Any]) -> str:
    result = answer.get("result")
    message_id = result.get("message_id") if isinstance(result, dict) else None
    if not isinstance(message_id, int) or isinstance(message_id, bool):
        # Telegram may hold the message, so no retry: a second send could go out twice.
        raise TechnicalFailure("Telegram answered ok without a message_id")
    return str(message_id)


def _error_body(response: httpx.Response) -> dict[str, Any]:
    """Telegram's ``{"ok": false, "error_code": 400, "description": ..., "parameters"}``."""
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _description(response: httpx.Response) -> str:
    description = _error_body(response).get("description")
    return description if isinstance(description, str) else ""


def _retry_after(response: httpx.Response) -> float | None:
    parameters = _error_body(response).get("parameters")
    wait = parameters.get("retry_after") if isinstance(parameters, dict) else None
    if isinstance(wait, bool) or not isinstance(wait, int | float) or wait < 0:
        return None
    return float(wait)


#: 400 descriptions worth naming (Telegram's own words, lower case) and ours for them.
_BAD_REQUESTS = {
    "message is too long": "the text is over 4096 characters",
    "message text is empty": "the text is empty",
    "button_data_invalid": "a button's callback_data is invalid",
    "query is too old": "the button tap was answered too late or twice",
    "bad webhook": "Telegram refused the webhook URL",
}


def _translate(status: int, description: str) -> DeliveryError:
    """The one place a Bot API error answer becomes a Warta error."""
    said = f"Telegram answered HTTP {status}"
    lowered = description.lower()
    if status == 403:
        return ContactGone(f"{said}: the citizen blocked the bot or left Telegram")
    if status == 400 and "chat not found" in lowered:
        return ContactGone(f"{said}: chat not found")
    if status == 400:
        known = next((ours for theirs, ours in _BAD_REQUESTS.items() if theirs in lowered), None)
        return TechnicalFailure(f"{said}: {known}" if known else said)
    if status in (401, 404):
        return TechnicalFailure(f"{said}: the bot token is wrong")
    if status == 429:
        return TemporaryFailure(f"{said}: flood control")
    if status >= 500:
        return ProviderUnavailable(said)
    return TechnicalFailure(said)


# -- linking and webhooks: pure functions -------------------------------------------------


def new_link_code() -> str:
    """A one-time deep-link code: 32 characters of [A-Za-z0-9_-], 192 bits of entropy."""
    return secrets.token_urlsafe(24)


def link_url(config: TelegramConfig, code: str) -> str:
    """``link_url(config, "kX9_a-...")`` -> ``https://t.me/warta_bot?start=kX9_a-...``"""
    if not _START_CODE.fullmatch(code):
        # Telegram would drop any other start parameter, and the link would do nothing.
        raise InvalidInput("a Telegram link code is 1-64 of A-Z, a-z, 0-9, _ and -")
    return f"https://t.me/{config.username}?start={code}"


def verify_secret(config: TelegramConfig, header_value: str | None) -> bool:
    """Whether the webhook call carries our ``secret_token``, compared in constant time."""
    if not header_value:
        return False
    return hmac.compare_digest(header_value.encode(), config.webhook_secret.encode())


@dataclass(frozen=True, slots=True)
class Update:
    """What a citizen wrote to the bot in a private chat.

    ``start``: ``/start <code>`` from a t.me link (``code`` None when there was no valid
    one); ``text``: anything else typed (``text``); ``option``: a quick-reply button
    tapped, ``text`` the option's id (its ``callback_data``), ``callback_id`` for
    ``TelegramChannel.answer_callback``; ``photo``: a photo sent, ``text`` its caption
    ("" without one), ``file_id`` its largest size's for ``TelegramChannel.download``.
    """

    kind: Literal["start", "text", "option", "photo"]
    chat_id: str
    code: str | None = None
    text: str | None = None
    callback_id: str | None = None
    file_id: str | None = None


def parse_update(update: Mapping[str, Any]) -> Update | None:
    """A Telegram Update as an ``Update``, or None for what Warta ignores.

    ``{"update_id": 1, "message": {"chat": {"id": 42, "type": "private"},
    "text": "/start kX9_a"}}`` -> ``Update("start", "42", code="kX9_a")``; with
    ``"text": "halo"`` -> ``Update("text", "42", text="halo")``; ``{"callback_query":
    {"id": "4382", "data": "cek_status", "message": {"chat": {"id": 42, "type":
    "private"}, ...}}}`` -> ``Update("option", "42", text="cek_status",
    callback_id="4382")``; ``{"message": {"chat": ..., "photo": [{"file_id": "AgAC-s",
    "width": 90, ...}, {"file_id": "AgAC-m", "width": 800, ...}], "caption": "lubang"}}``
    -> ``Update("photo", "42", text="lubang", file_id="AgAC-m")``. Ignored: edited
    messages, channel posts and every other update kind, chats that are not private
    (groups, channels), and messages with neither text nor a photo (stickers, voice,
    documents).
    """
    callback = update.get("callback_query")
    if isinstance(callback, dict):
        return _tapped(callback)
    message = update.get("message")
    if not isinstance(message, dict):
        return None
    chat, text = message.get("chat"), message.get("text")
    if not isinstance(chat, dict) or chat.get("type") != "private":
        return None
    chat_id = chat.get("id")
    if not isinstance(chat_id, int) or isinstance(chat_id, bool):
        return None
    if not isinstance(text, str):
        file_id = _largest_photo(message.get("photo"))
        if file_id is None:
            return None
        caption = message.get("caption")
        caption = caption if isinstance(caption, str) else ""
        return Update(kind="photo", chat_id=str(chat_id), text=caption, file_id=file_id)
    start = _START.fullmatch(text.strip())
    if start is None:
        return Update(kind="text", chat_id=str(chat_id), text=text)
    payload = (start.group("payload") or "").strip()
    code = payload if _START_CODE.fullmatch(payload) else None
    return Update(kind="start", chat_id=str(chat_id), code=code)


def _largest_photo(sizes: object) -> str | None:
    """The ``file_id`` of the largest PhotoSize (by pixels, then bytes); Telegram lists
    them smallest first, but that order is not promised."""
    if not isinstance(sizes, list):
        return None

    def _int(value: object) -> int:
        return value if isinstance(value, int) and not isinstance(value, bool) else 0

    found = [
        (_int(size.get("width")) * _int(size.get("height")), _int(size.get("file_size")), fid)
        for size in sizes
        if isinstance(size, dict) and isinstance(fid := size.get("file_id"), str) and fid
    ]
    return max(found)[2] if found else None


def _tapped(callback: Mapping[str, Any]) -> Update | None:
    """A button under one of our messages in a private chat; not a game's or an inline
    message's (those have no ``message``), nor one without ``data``."""
    query_id, data, message = callback.get("id"), callback.get("data"), callback.get("message")
    chat = message.get("chat") if isinstance(message, dict) else None
    if not (isinstance(query_id, str) and query_id and isinstance(data, str) and data):
        return None
    if not isinstance(chat, dict) or chat.get("type") != "private":
        return None
    chat_id = chat.get("id")
    if not isinstance(chat_id, int) or isinstance(chat_id, bool):
        return None
    return Update(kind="option", chat_id=str(chat_id), text=data, callback_id=query_id)
