"""Request bodies of the Notify v2 API (additional properties refused, as Notify does),
and response shapes for the OpenAPI document."""

from __future__ import annotations

import math
import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

#: The error ``Strict`` raises for text that is not valid Unicode.
NOT_UNICODE = "text_not_unicode"
#: The error ``Strict`` raises for any other value no request may hold (NUL, NaN...).
REFUSED = "value_refused"

_LONE_SURROGATE = "{where} is not valid Unicode text (it holds a lone surrogate)"
#: PostgreSQL's text cannot hold U+0000, and no message needs it: refused on both stores.
_NUL = "{where} holds a NUL character (\\u0000), which Warta does not accept in text"
#: Python's JSON parser reads ``NaN``, ``Infinity`` and ``1e400`` (as infinity), which
#: are not JSON numbers, nor anything a message or a count can hold.
_NOT_FINITE = "{where} is not a finite number (NaN and Infinity are not JSON)"


def _string_problem(value: str) -> str | None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return _LONE_SURROGATE
    return _NUL if "\x00" in value else None


def unsound(value: Any, where: str = "") -> tuple[str, str] | None:
    """Where in a parsed JSON value something no request may hold is, and the message
    (with ``{where}``) saying what: a string (value or key) with a lone surrogate
    (``"\\udc00"``) or a NUL, or a number that is not finite. None when all is sound."""
    if isinstance(value, str):
        problem = _string_problem(value)
        return None if problem is None else (where or "request", problem)
    if isinstance(value, float) and not math.isfinite(value):
        return where or "request", _NOT_FINITE
    if isinstance(value, dict):
        for key, item in value.items():
            name = f"{where}.{key}" if where else str(key)
            if isinstance(key, str) and (problem := _string_problem(key)) is not None:
                shown = name.encode("utf-8", "backslashreplace").decode()
                return shown.replace("\x00", "\\u0000"), problem  # never echo it back
            if (found := unsound(item, name)) is not None:
                return found
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            if (found := unsound(item, f"{where}[{index}]")) is not None:
                return found
    return None


def lone_surrogate(value: Any, where: str = "") -> str | None:
    """Where in a parsed JSON value a string (a value or a key) holds a lone surrogate
    (``"\\udc00"``): text that is not Unicode, that no UTF-8 database, template or
    provider can take. None when every string is sound."""
    found = unsound(value, where)
    return found[0] if found is not None and found[1] == _LONE_SURROGATE else None


def form_refused(form: Any) -> bool:
    """Whether a parsed form (``await request.form()``) holds text no page may send: a
    NUL, which PostgreSQL cannot store (a lone surrogate cannot come through a form)."""
    return any(isinstance(value, str) and "\x00" in value for value in form.values())


class Strict(BaseModel):
    """Every request body: additional properties refused, and every value in it (at any
    depth: personalisation, reference, rows...) sound before anything is stored: strings
    valid Unicode without NUL, numbers finite."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _sound_only(cls, data: Any) -> Any:
        if (found := unsound(data)) is not None:
            where, message = found
            kind = NOT_UNICODE if message == _LONE_SURROGATE else REFUSED
            raise PydanticCustomError(kind, message, {"where": where})
        return data


class _Send(Strict):
    template_id: uuid.UUID
    personalisation: dict[str, Any] | None = None
    reference: str | None = Field(None, max_length=1000)
    priority: Literal["urgent", "normal", "low"] = Field(
        "normal",
        description="Warta extension. `urgent` SMS still reach numbers that replied "
        "BERHENTI/STOP (use it only for emergencies: it is audited).",
    )


class SendSms(_Send):
    phone_number: str = Field(
        description="Indonesian mobile in any common form: 0812..., +62812..."
    )
    sms_sender_id: uuid.UUID | None = None


class SendEmail(_Send):
    email_address: str
    email_reply_to_id: uuid.UUID | None = None
    one_click_unsubscribe_url: str | None = None


class SendToCitizen(Strict):
    """Warta extension: send to a citizen, on the channel their preferences pick."""

    template_id: uuid.UUID
    citizen_id: uuid.UUID | None = None
    nik: str | None = Field(None, description="Instead of citizen_id.")
    personalisation: dict[str, Any] | None = None
    priority: Literal["urgent", "normal", "low"] = Field(
        "normal",
        description="urgent ignores quiet hours, caps and digests (and is audited); "
        "low may wait for the citizen's daily digest.",
    )
    topic: str | None = Field(None, description="One of this agency's topic slugs.")
    reference: str | None = Field(None, max_length=1000)
    scheduled_for: datetime | None = Field(None, description="Not before this time.")
    expires_at: datetime | None = Field(None, description="Cancelled, never sent late.")
    all_channels: bool = Field(
        False,
        description="Send on every usable channel at once rather than one, with "
        "escalation (emergencies).",
    )


class Bulk(Strict):
    """A bulk send, as GC Notify takes it: ``rows`` (a header row, then one row per
    recipient) or ``csv`` text with the same shape."""

    name: str = Field(max_length=255)
    template_id: uuid.UUID
    rows: list[list[str]] | None = None
    csv: str | None = None
    reference: str | None = Field(None, max_length=1000)
    scheduled_for: datetime | None = None
    reply_to_id: uuid.UUID | None = None


class Preview(Strict):
    personalisation: dict[str, Any] | None = None


class TemplateRef(BaseModel):
    id: uuid.UUID
    version: int
    uri: str


class SentNotification(BaseModel):
    id: uuid.UUID
    reference: str | None
    content: dict[str, Any]
    uri: str
    template: TemplateRef
    scheduled_for: str | None = None


class NotificationOut(BaseModel):
    id: uuid.UUID
    reference: str | None
    email_address: str | None
    phone_number: str | None
    type: str
    status: str
    template: TemplateRef
    body: str
    subject: str | None
    created_at: str
    sent_at: str | None
    completed_at: str | None
    scheduled_for: str | None = None
    created_by_name: str | None = None
    billable_units: int = 0


class Links(BaseModel):
    current: str
    next: str | None = None


class NotificationPage(BaseModel):
    notifications: list[NotificationOut]
    links: Links


class TemplateOut(BaseModel):
    id: uuid.UUID
    name: str
    type: str
    created_at: str
    updated_at: str | None
    created_by: str
    version: int
    body: str
    subject: str | None
    letter_contact_block: str | None = None
    postage: str | None = None


class TemplateList(BaseModel):
    templates: list[TemplateOut]


class TemplatePreviewOut(BaseModel):
    id: uuid.UUID
    type: str
    version: int
    body: str
    subject: str | None
    html: str | None = None
    postage: str | None = None


class ReceivedText(BaseModel):
    id: uuid.UUID
    created_at: str
    notify_number: str
    user_number: str
    service_id: uuid.UUID
    content: str


class ReceivedTextPage(BaseModel):
    received_text_messages: list[ReceivedText]
    links: Links


class ErrorItem(BaseModel):
    error: str
    message: str


class ErrorBody(BaseModel):
    status_code: int
    errors: list[ErrorItem]
