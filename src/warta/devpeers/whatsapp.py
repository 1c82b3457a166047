"""A local WhatsApp Cloud API (Meta Graph API), for testing ``WhatsAppChannel``.

    POST /{version}/{phone_number_id}/messages     Authorization: Bearer <access token>
    GET  /{version}/{media_id}                     Authorization: Bearer <access token>
         -> {"messaging_product", "url", "mime_type", "sha256", "file_size", "id"}
    GET  /whatsapp_business/attachments/?mid=<media id>    Authorization: Bearer ...
         -> the media's bytes (the ``url`` above; Meta's lives on lookaside.fbsbx.com)

It checks what Graph checks (the token, the phone number id, ``messaging_product``, the
shape of a text or template message: the template exists, in that language, with as many
body parameters as it was approved with, none holding a newline or over 1024 characters;
of an interactive message: 1-3 reply buttons, titles 1-20 characters and unique, ids
1-256, body up to 1024; or a list of 1-10 rows in 1-10 sections, row titles 1-24, ids 1-200, the
list's button 1-20, body up to 4096; ids unique. Over a limit Graph answers 131009, a
missing field 131008), records each accepted message and answers as Graph does. Errors
carry Graph's real body, whose ``error_data.details`` quotes the number, so a leak on
Warta's side shows in tests.

``status_webhook`` and ``inbound_webhook`` build the webhooks Meta would POST to Warta,
signed with X-Hub-Signature-256; ``tap_webhook`` the one for a tapped reply button or
list row; ``image_webhook`` the one for a photo, whose bytes it keeps for the media
routes. The signing and payload shapes are written out here on purpose instead of
importing ``warta.channels.whatsapp``, so a mistake on Warta's side cannot be mirrored by
the peer it is tested against.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import re
import secrets
import time
from collections import deque
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from warta.devpeers.loopback import serve_asgi

ACCESS_TOKEN = "EAAG" + "x7Qk" * 40
PHONE_NUMBER_ID = "106540352242922"
WABA_ID = "102290129340398"
DISPLAY_NUMBER = "15550783881"
APP_SECRET = "6f1c" * 8
VERIFY_TOKEN = "warta-verify-7d2e"
DIGITS = re.compile(r"[1-9][0-9]{6,14}")
#: Graph refuses these in a template parameter (error 132018).
BAD_PARAMETER = re.compile(r"[\n\t]| {5,}")

#: Error titles as Graph gives them, with the HTTP status it answers with.
ERRORS: dict[int, tuple[int, str]] = {
    100: (400, "Invalid parameter"),
    190: (401, "Error validating access token: Session has expired"),
    130429: (400, "Rate limit hit"),
    131026: (400, "Message undeliverable"),
    131047: (400, "Re-engagement message"),
    131000: (500, "Something went wrong"),
    131008: (400, "Required parameter is missing"),
    131009: (400, "Parameter value is not valid"),
    132000: (400, "Number of parameters does not match the expected number of params"),
    132001: (400, "Template name does not exist in the translation"),
    132005: (400, "Translated text too long"),
    132018: (400, "There was an issue with the parameters in your template."),
}


def hub_signature(app_secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(app_secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def envelope(value: dict[str, Any]) -> dict[str, Any]:
    """The wrapping every WhatsApp webhook has: one entry, one change of field messages."""
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": WABA_ID,
                "changes": [
                    {
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": DISPLAY_NUMBER,
                                "phone_number_id": PHONE_NUMBER_ID,
                            },
                        }
                        | value,
                        "field": "messages",
                    }
                ],
            }
        ],
    }


def status_value(
    wamid: str, status: str, recipient: str, error_code: int | None = None
) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": wamid,
        "status": status,
        "timestamp": str(int(time.time())),
        "recipient_id": recipient,
    }
    if status in ("sent", "delivered"):
        item["conversation"] = {
            "id": secrets.token_hex(16),
            "origin": {"type": "utility"},
        }
        item["pricing"] = {"billable": True, "pricing_model": "CBP", "category": "utility"}
    if error_code is not None:
        title = ERRORS.get(error_code, (400, "Error"))[1]
        item["errors"] = [
            {
                "code": error_code,
                "title": title,
                "message": title,
                "error_data": {"details": f"Message to {recipient} failed: {title}"},
                "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/",
            }
        ]
    return {"statuses": [item]}


def text_value(number: str, text: str, *, wamid: str | None = None) -> dict[str, Any]:
    return {
        "contacts": [{"profile": {"name": "Siti Rahayu"}, "wa_id": number}],
        "messages": [
            {
                "from": number,
                "id": wamid or _wamid(),
                "timestamp": str(int(time.time())),
                "text": {"body": text},
                "type": "text",
            }
        ],
    }


def reply_value(
    number: str, option_id: str, title: str, *, kind: str = "button_reply", context: str | None
) -> dict[str, Any]:
    """A citizen's tap on a reply button (``button_reply``) or list row (``list_reply``)
    of the interactive message ``context`` (its wamid)."""
    message: dict[str, Any] = {
        "from": number,
        "id": _wamid(),
        "timestamp": str(int(time.time())),
        "type": "interactive",
        "interactive": {"type": kind, kind: {"id": option_id, "title": title}},
    }
    if context is not None:
        message["context"] = {"from": DISPLAY_NUMBER, "id": context}
    return {
        "contacts": [{"profile": {"name": "Siti Rahayu"}, "wa_id": number}],
        "messages": [message],
    }


def image_value(number: str, media_id: str, data: bytes, caption: str = "") -> dict[str, Any]:
    """A citizen's photo: an ``image`` message naming the media by id."""
    image: dict[str, Any] = {
        "mime_type": "image/jpeg",
        "sha256": hashlib.sha256(data).hexdigest(),
        "id": media_id,
    }
    if caption:
        image["caption"] = caption
    return {
        "contacts": [{"profile": {"name": "Siti Rahayu"}, "wa_id": number}],
        "messages": [
            {
                "from": number,
                "id": _wamid(),
                "timestamp": str(int(time.time())),
                "type": "image",
                "image": image,
            }
        ],
    }


def _wamid() -> str:
    return "wamid.HBgN" + secrets.token_urlsafe(24)


@dataclass(frozen=True)
class Accepted:
    wamid: str
    to: str  # digits, as Graph got them
    type: str  # "text", "template" or "interactive"
    text: str  # the text body, the template's one parameter, or the interactive body
    template: str | None = None
    language: str | None = None
    parameters: tuple[str, ...] = ()
    #: interactive: "button" or "list", its options as (id, title), a list's button label.
    interactive: str | None = None
    options: tuple[tuple[str, str], ...] = ()
    button: str | None = None


@dataclass
class GraphLike:
    access_token: str = ACCESS_TOKEN
    phone_number_id: str = PHONE_NUMBER_ID
    app_secret: str = APP_SECRET
    #: Approved templates: name -> (languages, number of body parameters).
    templates: Mapping[str, tuple[frozenset[str], int]] = field(
        default_factory=lambda: {"warta_notifikasi": (frozenset({"id", "en"}), 1)}
    )
    #: Numbers (digits) that have no WhatsApp account: 131026.
    not_on_whatsapp: set[str] = field(default_factory=set)
    #: Numbers whose 24-hour window is closed: free text gets 131047.
    closed_windows: set[str] = field(default_factory=set)
    accepted: list[Accepted] = field(default_factory=list)
    requests: int = 0
    url: str = ""
    _failures: deque[tuple[int, int | None]] = field(default_factory=deque)
    #: Media citizens sent: media id -> bytes.
    media: dict[str, bytes] = field(default_factory=dict)

    def fail_next(self, count: int = 1, *, status: int, code: int | None = None) -> None:
        """Answer the next ``count`` requests with ``status`` (and Graph error ``code``)."""
        self._failures.extend([(status, code)] * count)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[GraphLike]:
        app = Starlette(
            routes=[
                Route("/whatsapp_business/attachments/", self._download, methods=["GET"]),
                Route("/{version}/{phone_id}/messages", self._messages, methods=["POST"]),
                Route("/{version}/{media_id}", self._media, methods=["GET"]),
            ]
        )
        async with serve_asgi(app) as url:
            self.url = url
            yield self

    def status_webhook(
        self, wamid: str, status: str, error_code: int | None = None
    ) -> tuple[bytes, str]:
        """The signed body and X-Hub-Signature-256 Meta would POST for this status."""
        to = next((a.to for a in self.accepted if a.wamid == wamid), "6281234567890")
        return self._signed(envelope(status_value(wamid, status, to, error_code)))

    def inbound_webhook(self, number: str, text: str) -> tuple[bytes, str]:
        """A citizen's text to us; ``number`` in E.164, sent on as Meta does (no "+")."""
        return self._signed(envelope(text_value(number.removeprefix("+"), text)))

    def tap_webhook(self, number: str, option_id: str, title: str) -> tuple[bytes, str]:
        """The citizen tapped the option ``option_id`` (shown as ``title``) under the latest
        interactive message to ``number`` that offered it: a ``list_reply`` for a list, a
        ``button_reply`` otherwise (also when none offered it: a stale or forged tap)."""
        digits = number.removeprefix("+")
        offered = next(
            (
                a
                for a in reversed(self.accepted)
                if a.to == digits and option_id in (o for o, _ in a.options)
            ),
            None,
        )
        kind = "list_reply" if offered is not None and offered.interactive == "list" else None
        value = reply_value(
            digits,
            option_id,
            title,
            kind=kind or "button_reply",
            context=offered.wamid if offered is not None else None,
        )
        return self._signed(envelope(value))

    def image_webhook(self, number: str, data: bytes, caption: str = "") -> tuple[bytes, str]:
        """A citizen's photo (``data``, with ``caption``) to us, kept under a new media id
        for the media routes; the signed body and X-Hub-Signature-256, as
        ``inbound_webhook``."""
        media_id = str(10**15 + secrets.randbelow(9 * 10**15))
        self.media[media_id] = data
        value = image_value(number.removeprefix("+"), media_id, data, caption)
        return self._signed(envelope(value))

    def _authorised(self, request: Request) -> bool:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        return scheme == "Bearer" and hmac.compare_digest(token, self.access_token)

    async def _media(self, request: Request) -> Response:
        """What Graph says of a media id: where to download it (for about 5 minutes)."""
        self.requests += 1
        if not self._authorised(request):
            return _error(190, "Error validating access token", kind="OAuthException")
        media_id = request.path_params["media_id"]
        data = self.media.get(media_id)
        if data is None:
            return _error(100, "Unsupported get request. Object does not exist", subcode=33)
        return JSONResponse(
            {
                "messaging_product": "whatsapp",
                "url": f"{self.url}/whatsapp_business/attachments/?mid={media_id}&ext=1",
                "mime_type": "image/jpeg",
                "sha256": hashlib.sha256(data).hexdigest(),
                "file_size": len(data),
                "id": media_id,
            }
        )

    async def _download(self, request: Request) -> Response:
        self.requests += 1
        if not self._authorised(request):
            return _error(190, "Error validating access token", kind="OAuthException")
        data = self.media.get(request.query_params.get("mid", ""))
        if data is None:
            return Response("Not Found", status_code=404)
        return Response(data, media_type="image/jpeg")

    def _signed(self, payload: dict[str, Any]) -> tuple[bytes, str]:
        # Meta escapes non-ASCII in its JSON; the signature covers these exact bytes.
        body = json.dumps(payload, separators=(",", ":")).encode()
        return body, hub_signature(self.app_secret, body)

    async def _messages(self, request: Request) -> Response:
        # Long on purpose: the Cloud API's checks in the order it makes them (injected
        # failures, auth, body, the 24-hour window), each with its own documented error.
        self.requests += 1
        if self._failures:
            status, code = self._failures.popleft()
            if code is None:  # as a load balancer in front of Graph answers
                return Response("Internal Server Error", status_code=status)
            return _error(code, "injected failure", status=status)
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme != "Bearer" or not hmac.compare_digest(token, self.access_token):
            return _error(190, "Error validating access token", kind="OAuthException")
        if request.path_params["phone_id"] != self.phone_number_id:
            return _error(100, "Unsupported post request. Object does not exist", subcode=33)
        try:
            data = json.loads(await request.body())
        except ValueError:
            return _error(100, "Invalid JSON")
        if not isinstance(data, dict) or data.get("messaging_product") != "whatsapp":
            return _error(100, "The parameter messaging_product is required.")
        to = data.get("to")
        if not isinstance(to, str) or not DIGITS.fullmatch(to):
            return _error(100, "Invalid parameter", details="to must be digits only")
        if data.get("recipient_type", "individual") != "individual":
            return _error(100, "Invalid parameter", details="recipient_type")
        kind = data.get("type")
        if kind == "text":
            checked = self._check_text(data)
        elif kind == "template":
            checked = self._check_template(data)
        elif kind == "interactive":
            checked = _check_interactive(data)
        else:
            return _error(100, "Invalid parameter", details="type")
        if isinstance(checked, Response):
            return checked
        if to in self.not_on_whatsapp:
            return _error(131026, "Message undeliverable", details=f"{to} is not on WhatsApp")
        if kind in ("text", "interactive") and to in self.closed_windows:
            return _error(
                131047,
                "Re-engagement message",
                details=f"More than 24 hours since {to} last replied",
            )
        message = Accepted(wamid=_wamid(), to=to, type=kind, **checked)
        self.accepted.append(message)
        answer: dict[str, Any] = {"id": message.wamid}
        if kind == "template":
            answer["message_status"] = "accepted"
        return JSONResponse(
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": to, "wa_id": to}],
                "messages": [answer],
            }
        )

    def _check_text(self, data: dict[str, Any]) -> dict[str, Any] | Response:
        text = data.get("text")
        if not isinstance(text, dict):
            return _error(100, "Invalid parameter", details="text is required")
        body = text.get("body")
        if not isinstance(body, str) or not body.strip():
            return _error(100, "Invalid parameter", details="text.body is required")
        if len(body) > 4096:
            return _error(100, "Invalid parameter", details="text.body too long")
        if not isinstance(text.get("preview_url", False), bool):
            return _error(100, "Invalid parameter", details="text.preview_url")
        return {"text": body}

    def _check_template(self, data: dict[str, Any]) -> dict[str, Any] | Response:
        template = data.get("template")
        if not isinstance(template, dict) or not isinstance(template.get("name"), str):
            return _error(100, "Invalid parameter", details="template.name is required")
        language = template.get("language")
        code = language.get("code") if isinstance(language, dict) else None
        if not isinstance(code, str) or not code:
            return _error(100, "Invalid parameter", details="template.language.code")
        name = template["name"]
        if name not in self.templates or code not in self.templates[name][0]:
            return _error(132001, "Template name does not exist in the translation")
        parameters: list[str] = []
        for component in template.get("components", []):
            if not isinstance(component, dict) or component.get("type") != "body":
                return _error(100, "Invalid parameter", details="template.components")
            for parameter in component.get("parameters", []):
                if not isinstance(parameter, dict) or parameter.get("type") != "text":
                    return _error(100, "Invalid parameter", details="parameter type")
                if not isinstance(parameter.get("text"), str):
                    return _error(100, "Invalid parameter", details="parameter text")
                parameters.append(parameter["text"])
        if len(parameters) != self.templates[name][1]:
            return _error(132000, "Number of parameters does not match")
        for text in parameters:
            if not text.strip() or BAD_PARAMETER.search(text):
                return _error(132018, "There was an issue with the parameters in your template.")
            if len(text) > 1024:
                return _error(132005, "Translated text too long")
        return {
            "text": parameters[0] if parameters else "",
            "template": name,
            "language": code,
            "parameters": tuple(parameters),
        }


def _check_interactive(data: dict[str, Any]) -> dict[str, Any] | Response:
    """Reply buttons or a list, against the Cloud API's limits (131009 over one)."""
    interactive = data.get("interactive")
    if not isinstance(interactive, dict):
        return _error(131008, "Required parameter is missing", details="interactive")
    kind = interactive.get("type")
    body = interactive.get("body")
    text = body.get("text") if isinstance(body, dict) else None
    if not isinstance(text, str) or not text.strip():
        return _error(131008, "Required parameter is missing", details="interactive.body.text")
    action = interactive.get("action")
    if not isinstance(action, dict):
        return _error(131008, "Required parameter is missing", details="interactive.action")
    for part in ("header", "footer"):
        extra = interactive.get(part)
        if extra is not None and not (
            isinstance(extra, dict) and len(str(extra.get("text", ""))) <= 60
        ):
            return _invalid(f"interactive.{part}: Max length: 60")
    checked: tuple[tuple[tuple[str, str], ...], str | None] | Response
    if kind == "button":
        checked = _check_buttons(action, text)
    elif kind == "list":
        checked = _check_list(action, text)
    else:
        return _invalid("interactive.type")
    if isinstance(checked, Response):
        return checked
    options, button = checked
    ids = [option_id for option_id, _ in options]
    if len(set(ids)) != len(ids):
        return _invalid("Duplicate button/row ids are not allowed")
    return {"text": text, "interactive": kind, "options": options, "button": button}


def _check_buttons(
    action: dict[str, Any], body: str
) -> tuple[tuple[tuple[str, str], ...], None] | Response:
    if len(body) > 1024:
        return _invalid("interactive.body.text: Max length: 1024")
    buttons = action.get("buttons")
    if not isinstance(buttons, list) or not buttons:
        return _error(131008, "Required parameter is missing", details="action.buttons")
    if len(buttons) > 3:
        return _invalid("action.buttons: Too many elements. Max: 3")
    options: list[tuple[str, str]] = []
    for button in buttons:
        reply = button.get("reply") if isinstance(button, dict) else None
        if not isinstance(button, dict) or button.get("type") != "reply" or reply is None:
            return _invalid("action.buttons: type must be reply")
        checked = _option(reply, id_limit=256, title_limit=20, what="Button")
        if isinstance(checked, Response):
            return checked
        options.append(checked)
    titles = [title for _, title in options]
    if len(set(titles)) != len(titles):
        return _invalid("Buttons titles must be unique")
    return tuple(options), None


def _check_list(
    action: dict[str, Any], body: str
) -> tuple[tuple[tuple[str, str], ...], str] | Response:
    if len(body) > 4096:
        return _invalid("interactive.body.text: Max length: 4096")
    button, sections = action.get("button"), action.get("sections")
    if not isinstance(button, str) or not button.strip():
        return _error(131008, "Required parameter is missing", details="action.button")
    if len(button) > 20:
        return _invalid("action.button: Max length: 20")
    if not isinstance(sections, list) or not sections:
        return _error(131008, "Required parameter is missing", details="action.sections")
    if len(sections) > 10:
        return _invalid("action.sections: Too many elements. Max: 10")
    options: list[tuple[str, str]] = []
    for section in sections:
        if not isinstance(section, dict) or not isinstance(section.get("rows"), list):
            return _error(131008, "Required parameter is missing", details="sections.rows")
        title = section.get("title")
        if len(sections) > 1 and not (isinstance(title, str) and title.strip()):
            return _invalid("sections.title is required with more than one section")
        if title is not None and (not isinstance(title, str) or len(title) > 24):
            return _invalid("sections.title: Max length: 24")
        for row in section["rows"]:
            checked = _option(row, id_limit=200, title_limit=24, what="Row")
            if isinstance(checked, Response):
                return checked
            description = row.get("description")
            if description is not None and len(str(description)) > 72:
                return _invalid("Row description length invalid. Max length: 72")
            options.append(checked)
    if not options:
        return _invalid("action.sections: at least one row is required")
    if len(options) > 10:
        return _invalid("Total row count exceed max allowed count: 10")
    return tuple(options), button


def _option(item: Any, *, id_limit: int, title_limit: int, what: str) -> tuple[str, str] | Response:
    if not isinstance(item, dict):
        return _invalid(f"{what} must be an object")
    option_id, title = item.get("id"), item.get("title")
    if not isinstance(option_id, str) or not option_id.strip() or len(option_id) > id_limit:
        return _invalid(f"{what} id length invalid. Min length: 1, Max length: {id_limit}")
    if not isinstance(title, str) or not title.strip() or len(title) > title_limit:
        return _invalid(f"{what} title length invalid. Min length: 1, Max length: {title_limit}")
    return option_id, title


def _invalid(details: str) -> Response:
    return _error(131009, "Parameter value is not valid", details=details)


def _error(
    code: int,
    message: str,
    *,
    status: int | None = None,
    kind: str = "OAuthException",
    subcode: int | None = None,
    details: str | None = None,
) -> Response:
    error: dict[str, Any] = {
        "message": f"(#{code}) {message}",
        "type": kind,
        "code": code,
        "fbtrace_id": "A" + secrets.token_urlsafe(16),
    }
    if subcode is not None:
        error["error_subcode"] = subcode
    if details is not None:
        error["error_data"] = {"messaging_product": "whatsapp", "details": details}
    default_status = ERRORS.get(code, (400, ""))[0]
    return JSONResponse({"error": error}, status_code=status or default_status)
