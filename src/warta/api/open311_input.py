"""What a reporting app POSTs to ``/open311/v2/``: a form, read and capped here.

Read here rather than by Starlette: a multipart body (a file) is not Open311's and is
refused unread, the cap holds for a body sent without a length too, and every refusal is
an ``ApiError`` the Open311 routes answer in Open311's error format.
"""

from __future__ import annotations

from typing import Final
from urllib.parse import parse_qsl

from fastapi import Request

from warta.errors import ApiError, BadRequest

#: A form a reporting app POSTs: a description, a few fields and attribute answers.
FORM_LIMIT: Final = 256 * 1024
MAX_FIELDS: Final = 200
FORM_TYPE: Final = "application/x-www-form-urlencoded"


class TooLarge(ApiError):
    status_code = 413
    error = "RequestTooLarge"


async def read_form(request: Request) -> dict[str, list[str]]:
    """The POSTed form, at most ``FORM_LIMIT`` bytes, as lists of values by name."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != FORM_TYPE:
        raise BadRequest("send the request as a form (%(type)s)", type=FORM_TYPE)
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > FORM_LIMIT:
        raise TooLarge("the request body is larger than %(limit)s bytes", limit=FORM_LIMIT)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > FORM_LIMIT:
            raise TooLarge("the request body is larger than %(limit)s bytes", limit=FORM_LIMIT)
    try:
        pairs = parse_qsl(
            body.decode("utf-8"),
            keep_blank_values=True,
            max_num_fields=MAX_FIELDS,
            encoding="utf-8",
            errors="strict",
        )
    except UnicodeDecodeError as exc:
        raise BadRequest("the form is not UTF-8") from exc
    except ValueError as exc:
        raise BadRequest("the form has more than %(max)s fields", max=MAX_FIELDS) from exc
    fields: dict[str, list[str]] = {}
    for name, value in pairs:
        if "\x00" in value:
            raise BadRequest("%(name)s cannot contain a NUL character", name=name)
        fields.setdefault(name, []).append(value)
    return fields


def one_value(fields: dict[str, list[str]], name: str) -> str:
    values = fields.get(name, [])
    if len(values) > 1:
        raise BadRequest("%(name)s is given more than once", name=name)
    return values[0].strip() if values else ""


def attribute_answers(fields: dict[str, list[str]]) -> dict[str, list[str]]:
    """``attribute[code]=v`` (and ``attribute[code][]=v`` for a multivaluelist, as PHP and
    Rails clients send it) as each code's values; the service checks them."""
    answers: dict[str, list[str]] = {}
    for name, values in fields.items():
        if not name.startswith("attribute[") or not name.endswith("]"):
            continue
        code = name[len("attribute[") : -1].removesuffix("][")
        answers.setdefault(code, []).extend(values)
    return answers
