"""The WhatsApp Business Cloud API's webhooks, as pure functions: the GET handshake Meta
makes when the webhook URL is set (``verify_subscription``), the ``X-Hub-Signature-256``
every POST carries (``valid_signature``), and what a POST says (``parse_webhook``):
delivery statuses of what ``warta.channels.whatsapp`` sent, and citizens' texts, taps
and photos.

``warta.api.chat_webhooks`` serves them; ``warta.channels.whatsapp`` re-exports the names.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from warta.domain.channels import Receipt, ReceiptStatus
from warta.errors import InvalidInput

PROVIDER = "whatsapp"
SIGNATURE_HEADER = "X-Hub-Signature-256"
#: A citizen's number as WhatsApp addresses it, with "+".
E164 = re.compile(r"\+[1-9][0-9]{6,14}")
_HEX_SHA256 = re.compile(r"[0-9a-fA-F]{64}")

#: ``failed`` statuses after which the same message may still arrive if sent again later;
#: every other code is permanent-failure. 131047 is here because a retry goes out as the
#: template, which the closed window allows.
TEMPORARY_STATUS_CODES = frozenset({130429, 131000, 131016, 131047, 131048, 131056})


class WebhookSecrets(Protocol):
    """What the webhooks need of a ``WhatsAppConfig``."""

    @property
    def app_secret(self) -> str: ...  # signs webhooks: X-Hub-Signature-256

    @property
    def verify_token(self) -> str: ...  # the GET hub.challenge handshake


@dataclass(frozen=True, slots=True)
class InboundChat:
    """A text a citizen sent to our WhatsApp number; it opens the 24-hour window.

    A tapped quick reply (a reply button or a list row) comes as one too: ``option`` is
    the option's id and ``text`` its title, as the citizen saw it in the chat. A photo
    (an ``image`` message) has ``media_id``, for ``WhatsAppChannel.download``, and
    ``text`` its caption ("" without one).
    """

    sender: str  # E.164 with "+"
    text: str
    wamid: str
    timestamp: datetime  # when WhatsApp received it, UTC
    option: str | None = None
    media_id: str | None = None


@dataclass(frozen=True, slots=True)
class WebhookEvents:
    """What one webhook POST said. ``reads`` are wamids the citizen opened."""

    receipts: list[Receipt] = field(default_factory=list)
    reads: list[str] = field(default_factory=list)
    inbound: list[InboundChat] = field(default_factory=list)


def verify_subscription(config: WebhookSecrets, params: Mapping[str, str]) -> str | None:
    """The GET handshake Meta makes when the webhook URL is set: ``hub.challenge`` to echo
    when ``hub.mode=subscribe`` and ``hub.verify_token`` is ours, else ``None`` (answer 403).
    """
    challenge = params.get("hub.challenge")
    if params.get("hub.mode") != "subscribe" or not challenge:
        return None
    given = params.get("hub.verify_token", "").encode()
    if not hmac.compare_digest(given, config.verify_token.encode()):
        return None
    return challenge


def signature(app_secret: str, body: bytes) -> str:
    """``X-Hub-Signature-256``: ``sha256=`` + hex HMAC-SHA256 of the raw body."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def valid_signature(config: WebhookSecrets, body: bytes, header: str | None) -> bool:
    """Whether ``header`` signs exactly these bytes (check before parsing the JSON)."""
    if not header:
        return False
    scheme, _, given = header.strip().partition("=")
    if scheme != "sha256" or not _HEX_SHA256.fullmatch(given):
        return False
    expected = signature(config.app_secret, body).removeprefix("sha256=")
    return hmac.compare_digest(expected.encode(), given.lower().encode())


def parse_webhook(payload: Mapping[str, Any]) -> WebhookEvents:
    """Receipts, reads and inbound texts from a ``whatsapp_business_account`` webhook.

    One payload may hold several ``entry`` items, each with several ``changes``; statuses
    map as (Meta adds fields and kinds over time, so what is not understood is skipped):

        sent                   -> nothing: still on its way
        delivered              -> Receipt "delivered"
        read                   -> Receipt "delivered" and the wamid in ``reads``
        failed, code in TEMPORARY_STATUS_CODES, or no code -> Receipt "temporary-failure"
        failed, any other code (131026 not on WhatsApp...) -> Receipt "permanent-failure"

    ``detail`` is ``"whatsapp error 131026"`` for a failure (Meta's title and details may
    quote the number). Inbound ``messages`` become ``InboundChat``: of type text, and
    the replies to our quick replies: ``interactive`` (``button_reply`` or
    ``list_reply``: ``{"id", "title"}``) and ``button`` (a template's quick-reply button:
    ``{"payload", "text"}``), with ``option`` the id; and ``image`` (``{"id", "caption",
    "mime_type", "sha256"}``), with ``media_id`` its id and ``text`` its caption. Audio,
    video, documents, stickers and the rest are not read.
    """
    if not isinstance(payload, Mapping) or payload.get("object") != "whatsapp_business_account":
        raise InvalidInput("not a WhatsApp Business Account webhook")
    events = WebhookEvents()
    for entry in _dicts(payload.get("entry")):
        for change in _dicts(entry.get("changes")):
            value = change.get("value")
            if change.get("field") != "messages" or not isinstance(value, dict):
                continue
            for status in _dicts(value.get("statuses")):
                _read_status(status, events)
            for message in _dicts(value.get("messages")):
                chat = _inbound(message)
                if chat is not None:
                    events.inbound.append(chat)
    return events


def _read_status(status: dict[str, Any], events: WebhookEvents) -> None:
    wamid, kind = status.get("id"), status.get("status")
    if not isinstance(wamid, str) or not wamid:
        return
    if kind == "delivered":
        events.receipts.append(Receipt(PROVIDER, wamid, "delivered", "delivered"))
    elif kind == "read":
        events.receipts.append(Receipt(PROVIDER, wamid, "delivered", "read"))
        events.reads.append(wamid)
    elif kind == "failed":
        codes = [e.get("code") for e in _dicts(status.get("errors"))]
        code = next((c for c in codes if isinstance(c, int)), None)
        # No code means no reason given: waiting may help, as a phone that was off.
        mapped: ReceiptStatus = (
            "temporary-failure"
            if code is None or code in TEMPORARY_STATUS_CODES
            else "permanent-failure"
        )
        detail = "whatsapp failed" if code is None else f"whatsapp error {code}"
        events.receipts.append(Receipt(PROVIDER, wamid, mapped, detail))


def _inbound(message: dict[str, Any]) -> InboundChat | None:
    sender, wamid = message.get("from"), message.get("id")
    body, option = _said(message)
    media_id = _image(message)
    if media_id is not None:
        body, option = _caption(message), None
    if body is None:
        return None
    number = f"+{sender}"  # Meta gives the number as digits only
    if not (isinstance(sender, str) and E164.fullmatch(number) and isinstance(wamid, str)):
        return None
    try:
        when = datetime.fromtimestamp(int(message.get("timestamp", "")), UTC)
    except (ValueError, TypeError, OverflowError, OSError):
        return None
    return InboundChat(
        sender=number, text=body, wamid=wamid, timestamp=when, option=option, media_id=media_id
    )


def _image(message: dict[str, Any]) -> str | None:
    """An ``image`` message's media id, else None."""
    image = message.get("image")
    if message.get("type") != "image" or not isinstance(image, dict):
        return None
    media_id = image.get("id")
    return media_id if isinstance(media_id, str) and media_id else None


def _caption(message: dict[str, Any]) -> str:
    caption = message["image"].get("caption")
    return caption if isinstance(caption, str) else ""


def _said(message: dict[str, Any]) -> tuple[str | None, str | None]:
    """A message's text and the option it chose: ``("halo", None)`` for a text,
    ``("Cek status", "cek_status")`` for a tapped reply; ``(None, None)`` for the rest."""
    kind = message.get("type")
    if kind == "text":
        text = message.get("text")
        body = text.get("body") if isinstance(text, dict) else None
        return (body, None) if isinstance(body, str) else (None, None)
    if kind == "interactive":
        interactive = message.get("interactive")
        reply_kind = interactive.get("type") if isinstance(interactive, dict) else None
        if reply_kind not in ("button_reply", "list_reply"):
            return None, None
        reply = interactive.get(reply_kind) if isinstance(interactive, dict) else None
        id_key, title_key = "id", "title"
    elif kind == "button":
        reply, id_key, title_key = message.get("button"), "payload", "text"
    else:
        return None, None
    if not isinstance(reply, dict):
        return None, None
    option, title = reply.get(id_key), reply.get(title_key)
    if not (isinstance(option, str) and option):
        return None, None
    return (title if isinstance(title, str) else ""), option


def _dicts(items: object) -> list[dict[str, Any]]:
    return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []
