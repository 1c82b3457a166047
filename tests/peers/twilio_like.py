"""A local gateway speaking Twilio's Messages API, for testing ``HttpSmsChannel``.

    POST /2010-04-01/Accounts/{AccountSid}/Messages.json   (Basic auth AccountSid:AuthToken)

It checks the credentials and the form as Twilio does, records each accepted message and
answers with Twilio's JSON. Then, like Twilio, it POSTs status callbacks to the message's
StatusCallback URL: ``sent`` and then ``delivered`` (or ``undelivered`` with an error
code, for the numbers given in ``undelivered``), each signed with X-Twilio-Signature.

The signing here is written out on purpose instead of importing ``warta.channels.sms_http``,
so a mistake on Warta's side cannot be mirrored by the peer it is tested against.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import re
import uuid
from collections import deque
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from warta.devpeers.loopback import serve_asgi

E164 = re.compile(r"\+[1-9][0-9]{6,14}")
ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "f" * 32


def twilio_signature(auth_token: str, url: str, params: Mapping[str, str]) -> str:
    data = url + "".join(f"{key}{params[key]}" for key in sorted(params))
    mac = hmac.new(auth_token.encode("utf-8"), data.encode("utf-8"), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode("ascii")


@dataclass(frozen=True)
class Accepted:
    sid: str
    to: str
    sender: str
    body: str
    status_callback: str | None
    account_sid: str


@dataclass(frozen=True)
class Failure:
    status: int
    code: int | None = None
    stall: bool = False  # hold the request until the gateway stops (for timeouts)


@dataclass(frozen=True)
class CallbackSent:
    url: str
    params: dict[str, str]
    answer: int  # the HTTP status the callback URL answered with


@dataclass
class TwilioLike:
    account_sid: str = ACCOUNT_SID
    auth_token: str = AUTH_TOKEN
    #: Numbers whose messages end ``undelivered``, with the ErrorCode to report.
    undelivered: Mapping[str, str] = field(default_factory=dict)
    accepted: list[Accepted] = field(default_factory=list)
    callbacks: list[CallbackSent] = field(default_factory=list)
    url: str = ""
    _client: httpx.AsyncClient | None = None
    _failures: deque[Failure] = field(default_factory=deque)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _release: asyncio.Event = field(default_factory=asyncio.Event)
    _callback_done: asyncio.Condition = field(default_factory=asyncio.Condition)

    def fail_next(
        self, count: int = 1, *, status: int, code: int | None = None, stall: bool = False
    ) -> None:
        """Answer the next ``count`` requests with ``status`` (and Twilio error ``code``)."""
        self._failures.extend([Failure(status, code, stall)] * count)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[TwilioLike]:
        app = Starlette(
            routes=[
                Route(
                    "/2010-04-01/Accounts/{account}/Messages.json", self._messages, methods=["POST"]
                )
            ]
        )
        async with httpx.AsyncClient(timeout=5.0) as client, serve_asgi(app) as url:
            self.url = url
            self._client = client
            try:
                yield self
            finally:
                self._release.set()
                for task in list(self._tasks):
                    task.cancel()
                await asyncio.gather(*self._tasks, return_exceptions=True)

    async def wait_callbacks(self, count: int, timeout: float = 5.0) -> list[CallbackSent]:
        """Wait until ``count`` status callbacks were posted and answered."""
        async with asyncio.timeout(timeout), self._callback_done:
            await self._callback_done.wait_for(lambda: len(self.callbacks) >= count)
        return self.callbacks

    async def _messages(self, request: Request) -> Response:
        if self._failures:
            failure = self._failures.popleft()
            if failure.stall:
                await self._release.wait()
            return _error(failure.status, failure.code, "injected failure")
        account = request.path_params["account"]
        if _basic_auth(request) != (self.account_sid, self.auth_token):
            return _error(401, 20003, "Authenticate")
        if account != self.account_sid:
            return _error(404, 20404, "The requested resource was not found")
        async with request.form() as form:
            fields = {k: v for k, v in form.items() if isinstance(v, str)}
        to, sender, body = fields.get("To", ""), fields.get("From", ""), fields.get("Body", "")
        if not E164.fullmatch(to):
            # Twilio's real text quotes the number: Warta must not pass it on.
            return _error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        if not sender:
            return _error(400, 21603, "A 'From' phone number is required.")
        if not body:
            return _error(400, 21602, "Message body is required.")
        message = Accepted(
            sid="SM" + uuid.uuid4().hex,
            to=to,
            sender=sender,
            body=body,
            status_callback=fields.get("StatusCallback"),
            account_sid=account,
        )
        self.accepted.append(message)
        if message.status_callback:
            task = asyncio.create_task(self._report(message))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return JSONResponse(
            {
                "sid": message.sid,
                "account_sid": account,
                "to": to,
                "from": sender,
                "body": body,
                "status": "queued",
                "num_segments": str(max(1, -(-len(body) // 153))),
                "direction": "outbound-api",
                "error_code": None,
                "error_message": None,
                "uri": f"/2010-04-01/Accounts/{account}/Messages/{message.sid}.json",
            },
            status_code=201,
        )

    async def _report(self, message: Accepted) -> None:
        assert message.status_callback is not None and self._client is not None
        base = {
            "AccountSid": message.account_sid,
            "MessageSid": message.sid,
            "SmsSid": message.sid,
            "From": message.sender,
            "To": message.to,
            "ApiVersion": "2010-04-01",
        }
        code = self.undelivered.get(message.to)
        final = {"MessageStatus": "delivered", "SmsStatus": "delivered"}
        if code is not None:
            final = {"MessageStatus": "undelivered", "SmsStatus": "undelivered", "ErrorCode": code}
        for status in ({"MessageStatus": "sent", "SmsStatus": "sent"}, final):
            params = base | status
            signed = twilio_signature(self.auth_token, message.status_callback, params)
            answer = await self._client.post(
                message.status_callback, data=params, headers={"X-Twilio-Signature": signed}
            )
            async with self._callback_done:
                self.callbacks.append(
                    CallbackSent(message.status_callback, params, answer.status_code)
                )
                self._callback_done.notify_all()


def _basic_auth(request: Request) -> tuple[str, str] | None:
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, _, password = base64.b64decode(encoded).decode().partition(":")
    except ValueError:
        return None
    return user, password


def _error(status: int, code: int | None, message: str) -> Response:
    body: dict[str, Any] = {"status": status, "message": message}
    if code is not None:
        body |= {"code": code, "more_info": f"https://www.twilio.com/docs/errors/{code}"}
    return JSONResponse(body, status_code=status)
