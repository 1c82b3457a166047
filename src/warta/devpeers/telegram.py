"""A local Telegram Bot API server, for testing ``TelegramChannel`` and the webhook.

    POST /bot<token>/sendMessage    chat_id, text (1-4096 after trimming), link_preview_options,
                                    reply_markup (an inline keyboard)
    POST /bot<token>/answerCallbackQuery   callback_query_id, text (0-200)
    POST /bot<token>/setWebhook     url, secret_token, allowed_updates
    POST /bot<token>/getFile        file_id -> {file_id, file_unique_id, file_size, file_path}
    GET  /file/bot<token>/<file_path>   the file's bytes (404 for an unknown path)

Parameters come as JSON, a form or the query string, as the Bot API takes them; method
names are case-insensitive, as there. Answers are the Bot API's own JSON:
``{"ok": true, "result": ...}`` or ``{"ok": false, "error_code", "description",
"parameters"}``. It refuses an unknown token with 401 Unauthorized, a chat nobody started
with 400 "chat not found", a chat that blocked the bot with 403, text over 4096 characters
with 400 "message is too long", an inline keyboard button without text or with
``callback_data`` outside 1-64 bytes with 400 (``BUTTON_DATA_INVALID``), and can be told
to throttle (429 with ``retry_after``), fail (500) or hang.

``deliver_update`` POSTs an Update to the registered webhook with the
``X-Telegram-Bot-Api-Secret-Token`` header, as Telegram does; ``start`` plays a citizen
opening the bot's ``t.me`` link, ``write`` typing a message, ``send_photo`` sending a
photo (kept under a new file_id, offered as two PhotoSizes of the same bytes, for
getFile and the file route), and ``tap`` pressing an inline
button under a message the bot sent (a ``callback_query`` Update; the query then waits
for answerCallbackQuery, recorded in ``answered``). As Telegram does, an Update whose kind
is not in the webhook's ``allowed_updates`` is not delivered. Unlike Telegram, a webhook
on plain http is allowed for 127.0.0.1 only, so tests can serve Warta without TLS.

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
    #: The inline keyboard as sent: ``{"inline_keyboard": [[{"text", "callback_data"}]]}``.
    reply_markup: dict[str, Any] | None = None


@dataclass(frozen=True)
class Answered:
    """An answerCallbackQuery the bot made."""

    callback_query_id: str
    text: str | None


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
    answered: list[Answered] = field(default_factory=list)
    url: str = ""
    #: Callback queries delivered and not answered yet.
    _open_queries: set[str] = field(default_factory=set)
    #: Photos citizens sent: file_id -> (file_path, bytes).
    _files: dict[str, tuple[str, bytes]] = field(default_factory=dict)
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
            routes=[
                Route("/bot{token}/{method}", self._method, methods=["GET", "POST"]),
                Route("/file/bot{token}/{path:path}", self._file, methods=["GET"]),
            ]
        )
        async with serve_asgi(app) as url:
            self.url = url
            try:
                yield self
            finally:
                self._release.set()

    async def deliver_update(self, update: Mapping[str, Any]) -> int:
        """POST an Update to the webhook as Telegram does; Warta's HTTP status, or 0 when
        Telegram would not send it (its kind is not in the webhook's allowed_updates)."""
        if self.webhook is None:
            raise RuntimeError("no webhook set: call setWebhook first")
        allowed = self.webhook.allowed_updates
        # Telegram's default (no list, or an empty one) is every kind but a few we never use.
        if allowed and not any(kind in allowed for kind in update):
            return 0
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

    async def send_photo(self, chat_id: int, data: bytes, caption: str = "") -> int:
        """The citizen sent a photo (``data``, with ``caption``); Warta's HTTP status. As
        Telegram does, the message lists the photo in several sizes, smallest first: here
        a thumbnail entry and the full one, whose file_id getFile and the file route
        serve ``data`` under."""
        self.chats.add(chat_id)
        file_id = "AgACAgUAAxkBAAI" + secrets.token_urlsafe(30)
        thumb_id = "AgACAgUAAxkBAAI" + secrets.token_urlsafe(30)
        number = len(self._files)
        self._files[file_id] = (f"photos/file_{number}.jpg", data)
        self._files[thumb_id] = (f"photos/file_{number}_s.jpg", data[:1024])
        message = private_message(chat_id, "")
        del message["text"]
        message["photo"] = [
            {"file_id": thumb_id, "file_unique_id": secrets.token_hex(8), "file_size": 1024,
             "width": 90, "height": 67},
            {"file_id": file_id, "file_unique_id": secrets.token_hex(8), "file_size": len(data),
             "width": 1280, "height": 960},
        ]  # fmt: skip
        if caption:
            message["caption"] = caption
        return await self.deliver_update({"message": message})

    async def tap(self, chat_id: int, data: str) -> int:
        """The citizen pressed the button with ``callback_data`` ``data`` under the latest
        message to the chat that has one; Warta's HTTP status (0: not delivered)."""
        sent = next(
            (s for s in reversed(self.sent) if s.chat_id == chat_id and data in _data_of(s)),
            None,
        )
        if sent is None:
            raise RuntimeError(f"no button with callback_data {data!r} was sent to {chat_id}")
        query_id = str(secrets.randbits(63))
        self._open_queries.add(query_id)
        callback = {
            "id": query_id,
            "from": _citizen(chat_id),
            "message": {
                "message_id": sent.message_id,
                "from": _bot(self.username),
                "chat": {"id": chat_id, "first_name": "Warga", "type": "private"},
                "date": int(time.time()),
                "text": sent.text,
                "reply_markup": sent.reply_markup,
            },
            "chat_instance": str(-chat_id * 7919 % 2**63),
            "data": data,
        }
        return await self.deliver_update({"callback_query": callback})

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
        if method == "answercallbackquery":
            return self._answer_callback(params)
        if method == "getfile":
            return self._get_file(params)
        return _error(404, "Not Found")

    def _get_file(self, params: dict[str, Any]) -> Response:
        file_id = params.get("file_id")
        if not isinstance(file_id, str) or not file_id:
            return _error(400, "Bad Request: file_id is empty")
        if file_id not in self._files:
            return _error(400, "Bad Request: invalid file_id")
        path, data = self._files[file_id]
        result = {
            "file_id": file_id,
            "file_unique_id": file_id[-12:],
            "file_size": len(data),
            "file_path": path,
        }
        return JSONResponse({"ok": True, "result": result})

    async def _file(self, request: Request) -> Response:
        """A file's bytes, as Telegram's file server gives them (not a Bot API method: a
        plain 404 for a wrong token or path)."""
        path = request.path_params["path"]
        found = next((data for p, data in self._files.values() if p == path), None)
        if not secrets.compare_digest(request.path_params["token"], self.token):
            found = None
        response = (
            Response("Not Found", status_code=404)
            if found is None
            else Response(found, media_type="image/jpeg")
        )
        self.calls.append(Call("file", time.monotonic(), response.status_code))
        return response

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
        markup = _json_field(params.get("reply_markup"))
        refused = _keyboard_error(markup)
        if refused is not None:
            return _error(400, refused)
        if chat not in self.chats:
            return _error(400, "Bad Request: chat not found")
        if chat in self.blocked:
            return _error(403, "Forbidden: bot was blocked by the user")
        sent = Sent(chat, text, next(self._message_ids), preview, markup)
        self.sent.append(sent)
        message: dict[str, Any] = {
            "message_id": sent.message_id,
            "from": _bot(self.username),
            "chat": {"id": chat, "first_name": "Warga", "type": "private"},
            "date": int(time.time()),
            "text": text,
        }
        if preview:
            message["link_preview_options"] = preview
        if markup is not None:
            message["reply_markup"] = markup
        return JSONResponse({"ok": True, "result": message})

    def _answer_callback(self, params: dict[str, Any]) -> Response:
        query_id = params.get("callback_query_id")
        if not isinstance(query_id, str) or not query_id:
            return _error(400, "Bad Request: query_id is empty")
        text = params.get("text")
        if text is not None and not isinstance(text, str):
            return _error(400, "Bad Request: can't parse text")
        if text is not None and len(text) > 200:
            return _error(400, "Bad Request: MESSAGE_TOO_LONG")
        if query_id not in self._open_queries:  # unknown, or answered already
            return _error(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is invalid",
            )
        self._open_queries.discard(query_id)
        self.answered.append(Answered(query_id, text))
        return JSONResponse({"ok": True, "result": True})

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


def _bot(username: str) -> dict[str, Any]:
    return {"id": BOT_ID, "is_bot": True, "first_name": "Warta", "username": username}


def _citizen(chat_id: int) -> dict[str, Any]:
    return {"id": chat_id, "is_bot": False, "first_name": "Warga", "language_code": "id"}


def _data_of(sent: Sent) -> list[str]:
    """The callback_data of every button under a sent message."""
    rows = (sent.reply_markup or {}).get("inline_keyboard", [])
    return [button.get("callback_data") for row in rows for button in row]


#: An inline keyboard holds at most 100 buttons.
MAX_BUTTONS = 100


def _keyboard_error(markup: Any) -> str | None:
    """Why Telegram would refuse this ``reply_markup`` (an inline keyboard), or None.

    Only inline keyboards of callback buttons are checked closely: the only kind Warta
    sends. Each button needs ``text`` and exactly one action field.
    """
    if markup is None:
        return None
    if not isinstance(markup, dict):
        return "Bad Request: can't parse reply keyboard markup JSON object"
    if "inline_keyboard" not in markup:
        return None  # a reply keyboard or a force reply: not modelled here
    rows = markup["inline_keyboard"]
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        return (
            'Bad Request: field "inline_keyboard" of the InlineKeyboardMarkup must be an '
            "Array of Arrays"
        )
    buttons = [button for row in rows for button in row]
    if len(buttons) > MAX_BUTTONS:
        return "Bad Request: REPLY_MARKUP_TOO_LONG"
    for button in buttons:
        if not isinstance(button, dict) or not isinstance(button.get("text"), str):
            return "Bad Request: can't parse inline keyboard button: Text must be a String"
        if not button["text"].strip():
            return "Bad Request: BUTTON_TEXT_INVALID"
        actions = [key for key in button if key != "text"]
        if len(actions) != 1:
            return (
                "Bad Request: can't parse inline keyboard button: Text buttons are unallowed "
                "in the inline keyboard"
            )
        data = button.get("callback_data")
        if actions == ["callback_data"] and not (
            isinstance(data, str) and 1 <= len(data.encode("utf-8")) <= 64
        ):
            return "Bad Request: BUTTON_DATA_INVALID"
    return None


def private_message(chat_id: int, text: str) -> dict[str, Any]:
    """A Message a citizen typed to the bot, as in an Update's ``message``."""
    message: dict[str, Any] = {
        "message_id": secrets.randbelow(10**6) + 1,
        "from": _citizen(chat_id),
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
