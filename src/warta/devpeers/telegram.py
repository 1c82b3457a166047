"""A local Telegram Bot API server, for testing ``TelegramChannel`` and for ``make run``.

    POST /bot<token>/sendMessage    chat_id, text (1..4096 characters)
    POST /bot<token>/setWebhook     url, secret_token

It answers with the Bot API's own JSON (``{"ok": true, "result": Message}`` or
``{"ok": false, "error_code", "description", "parameters"}``), refuses unknown tokens with
401, unknown chats with 400 "chat not found" and chats that blocked the bot with 403, and
can be told to throttle (429 with ``retry_after``) or fail. ``start(chat_id, code)`` plays
a citizen opening the bot's ``t.me`` link: the ``/start <code>`` update goes to the
registered webhook with its ``X-Telegram-Bot-Api-Secret-Token``, as Telegram sends it.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import secrets
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from warta.devpeers.loopback import serve_asgi

BOT_ID = 7012345678


@dataclass(frozen=True)
class Sent:
    chat_id: int
    text: str
    message_id: int


@dataclass
class BotApi:
    token: str = field(default_factory=lambda: f"{BOT_ID}:AA{secrets.token_urlsafe(24)}")
    username: str = "WartaLokalBot"
    #: Chats that exist (a citizen pressed Start); others answer "chat not found".
    chats: set[int] = field(default_factory=set)
    blocked: set[int] = field(default_factory=set)
    sent: list[Sent] = field(default_factory=list)
    webhook_url: str | None = None
    webhook_secret: str | None = None
    url: str = ""
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _updates: itertools.count[int] = field(default_factory=lambda: itertools.count(100))
    _failures: deque[tuple[int, int | None]] = field(default_factory=deque)

    def fail_next(self, count: int = 1, *, status: int, retry_after: int | None = None) -> None:
        self._failures.extend([(status, retry_after)] * count)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[BotApi]:
        app = Starlette(routes=[Route("/bot{token}/{method}", self._method, methods=["POST"])])
        async with serve_asgi(app) as url:
            self.url = url
            yield self

    async def start(self, chat_id: int, code: str) -> int:
        """The citizen opened ``t.me/<bot>?start=<code>``: POST the update to the webhook.
        Returns Warta's HTTP status."""
        self.chats.add(chat_id)
        return await self.deliver_update(_message(chat_id, f"/start {code}"))

    async def write(self, chat_id: int, text: str) -> int:
        self.chats.add(chat_id)
        return await self.deliver_update(_message(chat_id, text))

    async def deliver_update(self, message: dict[str, Any]) -> int:
        if self.webhook_url is None:
            raise RuntimeError("no webhook set: call setWebhook first")
        update = {"update_id": next(self._updates), "message": message}
        headers = {"X-Telegram-Bot-Api-Secret-Token": self.webhook_secret or ""}
        async with httpx.AsyncClient() as client:
            response = await client.post(self.webhook_url, json=update, headers=headers)
        return response.status_code

    async def _method(self, request: Request) -> Response:
        if request.path_params["token"] != self.token:
            return _error(401, "Unauthorized")
        if self._failures:
            status, retry_after = self._failures.popleft()
            return _error(
                status, "Too Many Requests" if status == 429 else "Bad Gateway", retry_after
            )
        try:
            body = json.loads(await request.body())
        except ValueError:
            return _error(400, "Bad Request: can't parse JSON")
        method = request.path_params["method"]
        if method == "setWebhook":
            self.webhook_url = body.get("url")
            self.webhook_secret = body.get("secret_token")
            return JSONResponse({"ok": True, "result": True, "description": "Webhook was set"})
        if method == "sendMessage":
            return self._send_message(body)
        return _error(404, "Not Found: method not found")

    def _send_message(self, body: dict[str, Any]) -> Response:
        try:
            chat_id = int(body["chat_id"])
        except (KeyError, TypeError, ValueError):
            return _error(400, "Bad Request: chat_id is empty")
        text = body.get("text")
        if not isinstance(text, str) or not text.strip():
            return _error(400, "Bad Request: message text is empty")
        if len(text) > 4096:
            return _error(400, "Bad Request: message is too long")
        if chat_id in self.blocked:
            return _error(403, "Forbidden: bot was blocked by the user")
        if chat_id not in self.chats:
            return _error(400, "Bad Request: chat not found")
        sent = Sent(chat_id, text, next(self._ids))
        self.sent.append(sent)
        result = {
            "message_id": sent.message_id,
            "from": {
                "id": BOT_ID,
                "is_bot": True,
                "first_name": "Warta",
                "username": self.username,
            },
            "chat": {"id": chat_id, "type": "private"},
            "date": int(time.time()),
            "text": text,
        }
        return JSONResponse({"ok": True, "result": result})


def _message(chat_id: int, text: str) -> dict[str, Any]:
    return {
        "message_id": secrets.randbelow(10**6),
        "from": {"id": chat_id, "is_bot": False, "first_name": "Warga", "language_code": "id"},
        "chat": {"id": chat_id, "first_name": "Warga", "type": "private"},
        "date": int(time.time()),
        "text": text,
        **(
            {"entities": [{"offset": 0, "length": 6, "type": "bot_command"}]}
            if text.startswith("/start")
            else {}
        ),
    }


def _error(status: int, description: str, retry_after: int | None = None) -> Response:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return JSONResponse(body, status_code=status)
