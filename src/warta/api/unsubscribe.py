"""One-click unsubscribe (RFC 8058): ``/u/{token}``, the link in every non-urgent email's
List-Unsubscribe header (``services/unsubscribe.py`` makes it).

``POST /u/{token}`` with the body ``List-Unsubscribe=One-Click`` (form-urlencoded or
multipart, as RFC 8058 allows) is what Gmail and Yahoo send when the reader presses their
"Unsubscribe": no cookie, no session, no CSRF token (the token is the proof: only the
recipient's mailbox ever held it). It stops the agency's non-urgent email to the address,
or one topic's, and answers a tiny page. Any other body is a 400 and a body over
``MAX_BODY`` a 413; a token Warta did not make is a 404: nothing changes.

``GET /u/{token}`` only shows what the link does, with a button that POSTs the same body:
link scanners and previews fetch every URL in a mail, and must not unsubscribe anybody.
The page speaks the recipient's language (a citizen's, else Indonesian; ``?lang=`` to
switch).
"""

from __future__ import annotations

import urllib.parse
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import HTTP
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from warta.api.auth import warta
from warta.api.errors import problem_page
from warta.api.pages import LANGUAGES, language_of, render
from warta.api.pages import translate as _t
from warta.deps import Warta
from warta.services import unsubscribe
from warta.services.unsubscribe import Confirmation

router = APIRouter(include_in_schema=False)
AppDep = Annotated[Warta, Depends(warta)]
#: ``List-Unsubscribe=One-Click`` is 26 bytes; a multipart spelling of it a few hundred.
MAX_BODY = 2048
_FORM = "application/x-www-form-urlencoded"
_MULTIPART = "multipart/form-data"


def _language(request: Request, found: Confirmation) -> str:
    """A ``?lang=`` switch, else the citizen's language, else the usual (Indonesian)."""
    asked = request.query_params.get("lang")
    if asked in LANGUAGES:
        return asked
    return found.language if found.language in LANGUAGES else language_of(request)


def _page(request: Request, found: Confirmation, *, done: bool) -> HTMLResponse:
    language = _language(request, found)
    response = render(
        request, "public/unsubscribe.html", language=language, found=found, done=done,
        action=f"{request.url.path}?lang={language}", title=found.agency,
    )  # fmt: skip
    response.headers["X-Robots-Tag"] = "noindex"
    return response


@router.get("/u/{token}", response_class=HTMLResponse)
async def confirm(request: Request, app: AppDep, token: str) -> Response:
    found = await unsubscribe.confirmation(app, token)
    if found is None:
        return problem_page(request, 404, _t(request, "Page not found"))
    return _page(request, found, done=False)


@router.post("/u/{token}", response_class=HTMLResponse)
async def one_click(request: Request, app: AppDep, token: str) -> Response:
    body = await _capped(request)
    if body is None:
        return problem_page(request, 413, _t(request, "The request is too large"))
    found = await unsubscribe.confirmation(app, token)
    if found is None:
        return problem_page(request, 404, _t(request, "Page not found"))
    if not _is_one_click(request.headers.get("content-type", _FORM), body):
        refusal = _t(request, "Send List-Unsubscribe=One-Click to unsubscribe")
        return problem_page(request, 400, refusal)
    if not await unsubscribe.unsubscribe(app, token, source=unsubscribe.SOURCE):
        return problem_page(request, 404, _t(request, "Page not found"))
    return _page(request, found, done=True)


async def _capped(request: Request) -> bytes | None:
    """The body, or None once it passes ``MAX_BODY`` (the rest is not read)."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_BODY:
        return None
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            return None
    return body


def _is_one_click(content_type: str, body: bytes) -> bool:
    """Whether the body is RFC 8058's one field ``List-Unsubscribe=One-Click`` and nothing
    else, form-urlencoded or multipart.

    >>> _is_one_click("application/x-www-form-urlencoded", b"List-Unsubscribe=One-Click")
    True
    >>> _is_one_click("application/x-www-form-urlencoded", b"List-Unsubscribe=Yes")
    False
    """
    media = content_type.split(";")[0].strip().lower()
    if media == _FORM:
        try:
            fields = urllib.parse.parse_qsl(body.decode("ascii"), strict_parsing=True)
        except (UnicodeDecodeError, ValueError):
            return False
        return fields == [("List-Unsubscribe", "One-Click")]
    if media == _MULTIPART:
        return _multipart_fields(content_type, body) == [("List-Unsubscribe", "One-Click")]
    return False


def _multipart_fields(content_type: str, body: bytes) -> list[tuple[str, str]] | None:
    """A small multipart form's text fields, read with the standard library's MIME parser
    (the body is capped, so nothing spools to disk); None if it is not one."""
    try:
        header = f"Content-Type: {content_type}\r\n\r\n".encode("latin-1")
        message = BytesParser(_class=EmailMessage, policy=HTTP).parsebytes(header + body)
    except (UnicodeEncodeError, ValueError):
        return None
    if not message.is_multipart() or message.defects:
        return None
    fields = []
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if not isinstance(name, str) or not isinstance(payload, bytes):
            return None
        fields.append((name, payload.decode("utf-8", errors="replace").strip()))
    return fields
