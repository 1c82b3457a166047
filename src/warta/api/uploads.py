"""Request bodies are capped before anything parses them; uploads that would reach the
disk are turned away unread.

Starlette keeps an uploaded file in memory only up to its spool size (1 MiB) and writes
the rest to a temporary file while it parses the form, before any route or dependency
runs. A list of citizens must not reach the disk in plain text, so a multipart form
larger than ``services.uploads.MAX_BYTES`` is answered 413 from its Content-Length, its
body read and dropped unparsed; a form without a length is refused the same way. The
media type is compared as HTTP says, without regard to case (``Multipart/Form-Data``).

Every other body is capped too (see "Limits and failure behaviour" in docs/api.md): from
its Content-Length when it gives one, and by counting the body as it streams in when it
does not (chunked), so a 30 MB JSON body is never read into memory, let alone parsed.
The answer is 413 in the area's shape: Notify's error body on the API, the problem page
on the console and the portal's pages.

One form may be larger: the portal's report form (``PHOTO_FORMS``) carries a photo of up
to ``WARTA_CASE_PHOTO_MAX_BYTES``; its route parses it in memory, never spooled to disk
(``api.portal_pages.reports``), so its cap (``photo_limit``) is that size and a margin.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartParser
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from warta.api.errors import error_body, problem_page
from warta.api.pages import translate
from warta.services.uploads import MAX_BYTES, TOO_BIG

#: The whole form, not just its file, so the file is always under the spool size.
LIMIT = min(MAX_BYTES, MultiPartParser.spool_max_size)
#: Any other body (JSON on /v2 and /portal/api, forms on the console and the portal):
#: Notify caps personalisation at 2 MB, so a request that carries that much still fits.
BODY_LIMIT = 2_500_000
#: Provider webhooks (delivery receipts, chat updates) are small by nature.
WEBHOOK_LIMIT = 256 * 1024
BODY_TOO_BIG = "The request body is larger than %(limit)s bytes"
#: What a page shows (translated), without the figure.
PAGE_TOO_BIG = "The request is too large"
#: Multipart forms parsed in memory by their route (a case photo), capped at ``photo_limit``.
PHOTO_FORMS = frozenset({"/portal/reports"})


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` when a body without a length passes its cap. An
    ``HTTPException`` so that FastAPI's body parsing lets it through to the handlers,
    which answer it in the area's shape."""

    def __init__(self, message: str) -> None:
        super().__init__(413, message)


def _limit(path: str) -> int:
    return WEBHOOK_LIMIT if path.startswith("/providers") else BODY_LIMIT


def _is_page(path: str) -> bool:
    return path.startswith("/console") or (
        path.startswith("/portal") and not path.startswith("/portal/api")
    )


def _message(path: str, limit: int) -> str:
    return PAGE_TOO_BIG if _is_page(path) else BODY_TOO_BIG % {"limit": limit}


class UploadLimit:
    """ASGI middleware: a body over its limit gets a 413, unread."""

    def __init__(self, app: ASGIApp, limit: int = LIMIT, photo_limit: int = LIMIT) -> None:
        self.app, self.limit, self.photo_limit = app, limit, photo_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        media = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        length = headers.get(b"content-length", b"")
        if media == b"multipart/form-data":
            photo = scope["path"] in PHOTO_FORMS
            if not length.isdigit() or int(length) > (self.photo_limit if photo else self.limit):
                refusal = PAGE_TOO_BIG if photo else TOO_BIG
                await _refuse(scope, receive, send, translate(Request(scope), refusal))
                return
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        limit = _limit(path)
        if length.isdigit() and int(length) > limit:
            await _refuse(scope, receive, send, _message(path, limit))
            return
        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, _counted(receive, limit, _message(path, limit)), watched)
        except BodyTooLarge as exc:  # read where no handler answers it
            if started:
                raise
            await _refuse(scope, receive, send, str(exc.detail), discard=False)


def _counted(receive: Receive, limit: int, refusal: str) -> Receive:
    seen = 0

    async def counted() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise BodyTooLarge(refusal)
        return message

    return counted


async def _refuse(
    scope: Scope, receive: Receive, send: Send, message: str, *, discard: bool = True
) -> None:
    if discard:
        await _discard(receive)  # so the client, still sending, gets to see the answer
    request = Request(scope)
    response: Response
    if _is_page(request.url.path):
        response = problem_page(request, 413, translate(request, message))
    else:
        response = error_body(413, [("BadRequestError", message)])
    await response(scope, receive, send)


async def _discard(receive: Receive) -> None:
    """Read the body to its end, keeping none of it."""
    while True:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            return
