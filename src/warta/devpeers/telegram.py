"""A local Telegram Bot API server, for testing ``TelegramChannel`` and the webhook.

    POST /bot<token>/sendMessage    chat_id, text (1-4096 after trimming), link_preview_options
    POST /bot<token>/setWebhook     url, secret_token, allowed_updates

Parameters come as JSON, a form or the query string, as the Bot API takes them; method
names are case-insensitive, as there. Answers are the Bot API's own JSON:
``{"ok": true, "result": ...}`` or ``{"ok": false, "error_code", "description",
"parameters"}``. It refuses an unknown token with 401 Unauthorized, a chat nobody started
with 400 "chat not found", a chat that blocked the bot with 403, text over 4096 characters
with 400 "message is too long", and can be told to throttle (429 with ``retry_after``),
fail (500) or hang.

``deliver_update`` POSTs an Update to the registered webhook with the
``X-Telegram-Bot-Api-Secret-Token`` header, as Telegram does; ``start`` plays a citizen
opening the bot's ``t.me`` link. Unlike Telegram, a webhook on plain http is allowed for
127.0.0.1 only, so tests can serve Warta without TLS.

Written out on purpose instead of importing ``warta.channels.telegram``, so a mistake on
Warta's side cannot be mirrored by the peer it is tested against.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import secrets
import time
from collections import deque
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from warta.devpeers.loopback import serve_asgi

BOT_ID = 7012345678
SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")
_DESCRIPTIONS = {
    429: "Too Many Requests: retry after {retry_after}",
    500: "Internal Server Error",
    502: "Bad Gateway",
}


@dataclass(frozen=True)
class Sent:
    chat_id: int
    text: str
    message_id: int
    link_preview_options: dict[str, Any] | None


@dataclass(frozen=True)
class Webhook:
    url: str
    secret_token: str | None
    allowed_updates: list[str] | None


@dataclass(frozen=True)
class Call:
    method: str
    at: float  # time.monotonic() when it arrived
    status: int  # what the peer answered


@dataclass(frozen=True)
class Failure:
    status: int
    retry_after: int | None = None
    stall: bool = False  # hold the request until the peer stops (for timeouts)


@dataclass
class BotApi:
    token: str = field(default_factory=lambda: f"{BOT_ID}:AA{secrets.token_urlsafe(24)}")
    username: str = "WartaLokalBot"
    #: Chats whose citizen pressed Start; sending elsewhere answers "chat not found".
    chats: set[int] = field(default_factory=set)
    blocked: set[int] = field(default_factory=set)
    sent: list[Sent] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    webhook: Webhook | None = None
    url: str = ""
    _message_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _update_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(500_000))
    _failures: deque[Failure] = field(default_factory=deque)
    _release: asyncio.Event = field(default_factory=asyncio.Event)

    def fail_next(
        self, count: int = 1, *, status: int, retry_after: int | None = None, stall: bool = False
    ) -> None:
        """Answer the next ``count`` calls (with a valid token) with ``status``."""
        self._failures.extend([Failure(status, retry_after, stall)] * count)

    def block(self, chat_id: int) -> None:
        """The citizen blocked the bot: sendMessage to the chat answers 403."""
        self.chats.add(chat_id)
        self.blocked.add(chat_id)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[BotApi]:
        app = Starlette(
            routes=[Route("/bot{token}/{method}", self._method, methods=["GET", "POST"])]
        )
        async with serve_asgi(app) as url:
            self.url = url
            try:
                yield self
            finally:
                self._release.set()

    async def deliver_update(self, update: Mapping[str, Any]) -> int:
        """POST an Update to the webhook as Telegram does; Warta's HTTP status."""
        if self.webhook is None:
            raise RuntimeError("no webhook set: call setWebhook first")
        body = {"update_id": next(self._update_ids), **update}
        headers = {}
        if self.webhook.secret_token:
            headers["X-Telegram-Bot-Api-Secret-Token"] = self.webhook.secret_token
        async with httpx.AsyncClient(timeout=10.0) as client:
            response = await client.post(self.webhook.url, json=body, headers=headers)
        return response.status_code

    async def start(self, chat_id: int, code: str) -> int:
        """The citizen opened ``t.me/<bot>?start=<code>`` and pressed Start."""
        self.chats.add(chat_id)
        return await self.deliver_update({"message": private_message(chat_id, f"/start {code}")})

    async def write(self, chat_id: int, text: str) -> int:
        self.chats.add(chat_id)
        return await self.deliver_update({"message": private_message(chat_id, text)})

    async def _method(self, request: Request) -> Response:
        response = await self._answer(request)
        method = request.path_params["method"]
        self.calls.append(Call(method, time.monotonic(), response.status_code))
        return response

    async def _answer(self, request: Request) -> Response:
        if not secrets.compare_digest(request.path_params["token"], self.token):
            return _error(401, "Unauthorized")
        if self._failures:
            failure = self._failures.popleft()
            if failure.stall:
                await self._release.wait()
            description = _DESCRIPTIONS.get(failure.status, "Error").format(
                retry_after=failure.retry_after
            )
            return _error(failure.status, description, failure.retry_after)
        params = await _parameters(request)
        if params is None:
            return _error(400, "Bad Request: can't parse request JSON object")
        method = request.path_params["method"].lower()
        if method == "sendmessage":
            return self._send_message(params)
        if method == "setwebhook":
            return self._set_webhook(params)
        return _error(404, "Not Found")

    def _send_message(self, params: dict[str, Any]) -> Response:
        chat_id = params.get("chat_id")
        if chat_id in (None, ""):
            return _error(400, "Bad Request: chat_id is empty")
        try:
            chat = int(chat_id)  # Integer or String, as the Bot API takes it
        except (TypeError, ValueError):
            return _error(400, "Bad Request: chat not found")
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            return _error(400, "Bad Request: message text is empty")
        text = text.strip()  # Telegram trims a message
        if len(text.encode("utf-16-le")) // 2 > 4096:  # counted in UTF-16 code units
            return _error(400, "Bad Request: message is too long")
        preview = _json_field(params.get("link_preview_options"))
        if preview is not None and not isinstance(preview, dict):
            return _error(400, "Bad Request: can't parse link preview options JSON object")
        if chat not in self.chats:
            return _error(400, "Bad Request: chat not found")
        if chat in self.blocked:
            return _error(403, "Forbidden: bot was blocked by the user")
        sent = Sent(chat, text, next(self._message_ids), preview)
        self.sent.append(sent)
        message: dict[str, Any] = {
            "message_id": sent.message_id,
            "from": {
                "id": BOT_ID,
                "is_bot": True,
                "first_name": "Warta",
                "username": self.username,
            },
            "chat": {"id": chat, "first_name": "Warga", "type": "private"},
            "date": int(time.time()),
            "text": text,
        }
        if preview:
            message["link_preview_options"] = preview
        return JSONResponse({"ok": True, "result": message})

    def _set_webhook(self, params: dict[str, Any]) -> Response:
        url = params.get("url")
        if not isinstance(url, str):
            return _error(400, "Bad Request: bad webhook: Failed to resolve host")
        parts = urlsplit(url)
        if url and not (
            parts.scheme == "https" or (parts.scheme == "http" and parts.hostname == "127.0.0.1")
        ):
            return _error(
                400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"
            )
        secret = params.get("secret_token")
        if secret is not None and not (isinstance(secret, str) and SECRET_TOKEN.fullmatch(secret)):
            return _error(400, "Bad Request: secret token contains unallowed characters")
        allowed = _json_field(params.get("allowed_updates"))
        if allowed is not None and not (
            isinstance(allowed, list) and all(isinstance(kind, str) for kind in allowed)
        ):
            return _error(400, "Bad Request: can't parse allowed updates")
        if not url:  # an empty url removes the webhook
            self.webhook = None
            return JSONResponse({"ok": True, "result": True, "description": "Webhook was deleted"})
        self.webhook = Webhook(url, secret, allowed)
        return JSONResponse({"ok": True, "result": True, "description": "Webhook was set"})


def private_message(chat_id: int, text: str) -> dict[str, Any]:
    """A Message a citizen typed to the bot, as in an Update's ``message``."""
    message: dict[str, Any] = {
        "message_id": secrets.randbelow(10**6) + 1,
        "from": {"id": chat_id, "is_bot": False, "first_name": "Warga", "language_code": "id"},
        "chat": {"id": chat_id, "first_name": "Warga", "type": "private"},
        "date": int(time.time()),
        "text": text,
    }
    command = re.match(r"/[A-Za-z0-9_]+(@[A-Za-z0-9_]+)?", text)
    if command:
        message["entities"] = [{"offset": 0, "length": len(command.group()), "type": "bot_command"}]
    return message


async def _parameters(request: Request) -> dict[str, Any] | None:
    """JSON body, form body or query string, as the Bot API accepts."""
    params: dict[str, Any] = dict(request.query_params)
    content_type = request.headers.get("content-type", "").split(";")[0].strip()
    if content_type == "application/json":
        try:
            body = json.loads(await request.body())
        except ValueError:
            return None
        return {**params, **body} if isinstance(body, dict) else None
    if content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        async with request.form() as form:
            params |= {k: v for k, v in form.items() if isinstance(v, str)}
    return params


def _json_field(value: Any) -> Any:
    """Objects and arrays come JSON-serialised in a form or query string."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _error(status: int, description: str, retry_after: int | None = None) -> Response:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return JSONResponse(body, status_code=status)
