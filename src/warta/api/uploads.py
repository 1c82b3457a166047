"""Uploads that would reach the disk are turned away unread.

Starlette keeps an uploaded file in memory only up to its spool size (1 MiB) and writes
the rest to a temporary file while it parses the form, before any route or dependency
runs. A list of citizens must not reach the disk in plain text, so a multipart form
larger than ``services.uploads.MAX_BYTES`` is answered 413 from its Content-Length, its
body read and dropped unparsed; a form without a length is refused the same way.
"""

from __future__ import annotations

from starlette.formparsers import MultiPartParser
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from warta.api.errors import problem_page
from warta.api.pages import translate
from warta.services.uploads import MAX_BYTES, TOO_BIG

#: The whole form, not just its file, so the file is always under the spool size.
LIMIT = min(MAX_BYTES, MultiPartParser.spool_max_size)


class UploadLimit:
    """ASGI middleware: a multipart POST over the limit gets the problem page, unread."""

    def __init__(self, app: ASGIApp, limit: int = LIMIT) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self._too_big(scope):
            await _discard(receive)  # so the browser, still sending, gets to see the page
            request = Request(scope)
            response = problem_page(request, 413, translate(request, TOO_BIG))
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _too_big(self, scope: Scope) -> bool:
        headers = dict(scope["headers"])
        if not headers.get(b"content-type", b"").startswith(b"multipart/form-data"):
            return False
        length = headers.get(b"content-length", b"")
        return not length.isdigit() or int(length) > self.limit


async def _discard(receive: Receive) -> None:
    """Read the body to its end, keeping none of it."""
    while True:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            return
