"""Strict-Transport-Security on every response of a Warta reached over https.

Under https (the request's scheme, which uvicorn takes from ``X-Forwarded-Proto`` behind a
trusted proxy, or an https ``WARTA_PUBLIC_URL``) browsers are told to use https only for
a year, so a later visit typed as ``http://`` cannot be intercepted before the redirect.
Browsers ignore the header over plain http, so a TLS proxy in front of an http Warta
passes it on correctly. Cookies follow the same rule (``pages.is_https``).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

HSTS = (b"strict-transport-security", b"max-age=31536000")


class StrictTransport:
    def __init__(self, app: ASGIApp, *, public_url: str = "") -> None:
        self.app = app
        self.always = public_url.startswith("https:")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not (self.always or scope.get("scheme") == "https"):
            await self.app(scope, receive, send)
            return

        async def with_hsts(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), HSTS]
            await send(message)

        await self.app(scope, receive, with_hsts)
