"""Chat through the Telegram Bot API.

    POST {base}/bot{token}/sendMessage   {"chat_id", "text", "link_preview_options"}
    POST {base}/bot{token}/setWebhook    {"url", "secret_token", "allowed_updates"}

A bot cannot write first: a citizen links a chat by opening ``t.me/<bot>?start=<code>``,
and the ``/start <code>`` update that arrives on the webhook (checked by its
``X-Telegram-Bot-Api-Secret-Token``) ties the chat to the citizen (``services.chat``).
Telegram reports no delivery or reading to bots, so an accepted message is "delivered"
and escalation waits for the inbox to be read.

Answers are translated in ``_translate`` into the ``warta.errors`` tree:

    ok                                              -> delivered (message_id)
    403 (bot blocked, user deactivated)             -> ContactGone
    400 "chat not found"                            -> ContactGone
    other 400                                       -> TechnicalFailure (our request)
    401, 404 (bad token)                            -> TechnicalFailure
    429 retry_after <= 5 s                          -> wait, try once more
    429 longer                                      -> TemporaryFailure
    5xx, connect error, timeout                     -> ProviderUnavailable

The token is part of every URL, so httpx's errors (which quote the URL) are never passed
on: messages carry the HTTP status and Telegram's code only.

Written with httpx rather than python-telegram-bot or aiogram: Warta needs two methods
and a webhook parser, not a framework with its own dispatcher and update loop.
"""

from __future__ import annotations

import asyncio
import hmac
import secrets
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

from warta.channels.base import ChannelName, OutboundMessage, SendResult
from warta.errors import (
    ConfigurationError,
    ContactGone,
    DeliveryError,
    ProviderUnavailable,
    TechnicalFailure,
    TemporaryFailure,
)

PROVIDER = "telegram"
ADDRESS_PREFIX = "telegram:"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_TEXT = 4096
#: Longest 429 wait spent inside one send; longer ones go back to the pipeline's retry.
MAX_INLINE_WAIT = 5.0


@dataclass(frozen=True)
class TelegramConfig:
    token: str = field(repr=False)
    username: str
    webhook_secret: str = field(repr=False)
    base_url: str = "https://api.telegram.org"
    timeout: float = 10.0

    def __post_init__(self) -> None:
        if ":" not in self.token:
            raise ConfigurationError("Telegram token must look like 123456:ABC... (from BotFather)")
        if not self.username or not _is_deep_link_safe(self.webhook_secret, 256):
            raise ConfigurationError(
                "Telegram needs the bot's username and a webhook secret of A-Z a-z 0-9 _ -"
            )


def _is_deep_link_safe(text: str, limit: int) -> bool:
    return 0 < len(text) <= limit and all(c.isascii() and (c.isalnum() or c in "_-") for c in text)


def new_link_code() -> str:
    """A ``start`` parameter: Telegram allows 64 characters of ``A-Za-z0-9_-``."""
    return secrets.token_urlsafe(24)  # 32 characters, 192 bits


def link_url(config: TelegramConfig, code: str) -> str:
    return f"https://t.me/{config.username}?start={code}"


def verify_secret(config: TelegramConfig, header: str | None) -> bool:
    return header is not None and hmac.compare_digest(
        header.encode(), config.webhook_secret.encode()
    )


@dataclass(frozen=True)
class Update:
    """What Warta does with an update: link (``start``) or answer (``text``)."""

    kind: Literal["start", "text"]
    chat_id: str
    code: str | None = None
    text: str | None = None


def parse_update(update: dict[str, Any]) -> Update | None:
    """A private chat's text message, or None for what Warta ignores (edits, channel
    posts, groups, stickers and photos)."""
    message = update.get("message")
    if not isinstance(message, dict):
        return None
    chat = message.get("chat")
    text = message.get("text")
    if not isinstance(chat, dict) or chat.get("type") != "private" or not isinstance(text, str):
        return None
    chat_id = str(chat.get("id", ""))
    if not chat_id.lstrip("-").isdigit():
        return None
    command, _, argument = text.strip().partition(" ")
    if command == "/start" or command.startswith("/start@"):
        code = argument.strip()
        return Update("start", chat_id, code=code if _is_deep_link_safe(code, 64) else None)
    return Update("text", chat_id, text=text)


def compose(message: OutboundMessage) -> str:
    lines = [message.subject, message.body, message.url]
    return "\n\n".join(line for line in lines if line)


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Telegram's 4,096-character cap: longer text goes as several messages, cut at a
    line break or a space when there is one near the end."""
    parts: list[str] = []
    while len(text) > limit:
        cut = max(text.rfind("\n", 0, limit), text.rfind(" ", 0, limit))
        cut = cut if cut > limit // 2 else limit
        parts.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    return [*parts, text] if text else parts


class TelegramChannel:
    name: ChannelName = "chat"

    def __init__(self, config: TelegramConfig, client: httpx.AsyncClient | None = None) -> None:
        self.config = config
        self._own_client = client is None
        self._client = client or httpx.AsyncClient()

    def __repr__(self) -> str:
        return f"TelegramChannel(@{self.config.username})"

    async def send(self, message: OutboundMessage) -> SendResult:
        if not message.to.startswith(ADDRESS_PREFIX):
            raise TechnicalFailure("not a Telegram address (telegram:<chat id>)")
        chat_id = message.to.removeprefix(ADDRESS_PREFIX)
        first: str | None = None
        for part in split_text(compose(message)):
            sent = await self.reply(chat_id, part)
            first = first or sent
        return SendResult(status="delivered", provider_reference=first, provider=PROVIDER)

    async def reply(self, chat_id: str, text: str) -> str:
        """sendMessage; returns Telegram's message_id."""
        body = {"chat_id": chat_id, "text": text, "link_preview_options": {"is_disabled": True}}
        result = await self._call("sendMessage", body)
        return str(result.get("message_id", ""))

    async def set_webhook(self, url: str) -> None:
        body = {
            "url": url,
            "secret_token": self.config.webhook_secret,
            "allowed_updates": ["message"],
        }
        await self._call("setWebhook", body)

    async def aclose(self) -> None:
        if self._own_client:
            await self._client.aclose()

    async def _call(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        url = f"{self.config.base_url.rstrip('/')}/bot{self.config.token}/{method}"
        for attempt in range(2):
            try:
                response = await self._client.post(url, json=body, timeout=self.config.timeout)
            except httpx.TimeoutException:
                raise ProviderUnavailable("Telegram did not answer in time") from None
            except httpx.HTTPError as exc:  # its text quotes the URL, and so the token
                raise ProviderUnavailable(f"Telegram unreachable ({type(exc).__name__})") from None
            answer = _json(response)
            if response.status_code == 200 and answer.get("ok"):
                result = answer.get("result")
                return result if isinstance(result, dict) else {}
            wait = _retry_after(answer)
            if response.status_code == 429 and attempt == 0 and wait <= MAX_INLINE_WAIT:
                await asyncio.sleep(wait)
                continue
            raise _translate(response.status_code, answer)
        raise TemporaryFailure("Telegram 429: still throttled")  # pragma: no cover


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _retry_after(answer: dict[str, Any]) -> float:
    parameters = answer.get("parameters")
    value = parameters.get("retry_after") if isinstance(parameters, dict) else None
    return float(value) if isinstance(value, int | float) else MAX_INLINE_WAIT + 1


def _translate(status: int, answer: dict[str, Any]) -> DeliveryError:
    # Telegram's descriptions hold no personal data ("Forbidden: bot was blocked by the
    # user"), but they are free text: only known ones are matched, never quoted.
    description = str(answer.get("description", "")).lower()
    if status == 403:
        return ContactGone("Telegram 403: the citizen blocked the bot or left Telegram")
    if status == 400 and "chat not found" in description:
        return ContactGone("Telegram 400: chat not found")
    if status == 429:
        return TemporaryFailure("Telegram 429: too many requests")
    if status >= 500:
        return ProviderUnavailable(f"Telegram {status}")
    if status in (401, 404):
        return TechnicalFailure(f"Telegram {status}: the bot token is not accepted")
    return TechnicalFailure(f"Telegram {status}: request refused")
