"""What a personalisation may hold, and how its values are written into a message.

Notify takes text, numbers and lists (a list becomes a bulleted list in an email, "a, b
dan c" in an SMS). Anything else has no sensible rendering, so it is refused when the
send is accepted rather than shown as Python wrote it:

=========================================  ==============================================
``{"nama": "Budi"}``                       ``Budi``
``{"nomor": 7}``, ``7.0``, ``1.5``         ``7``, ``7``, ``1.5`` (as JSON writes numbers)
``{"lunas": true}``                        ``true`` (not Python's ``True``)
``{"dokumen": ["KTP", 2]}``                a list of ``KTP`` and ``2``
``{"alamat": {"kota": "Bandung"}}``        refused: "must be text, a number or a list"
``{"x": NaN}``, ``Infinity``, ``1e400``    refused: "is not a finite number"
``{"x": [["a"]]}``                         refused: a list holds text and numbers only
more than 2,000,000 bytes as JSON          refused: Notify caps personalisation at 2 MB
=========================================  ==============================================

``None`` (JSON ``null``) stays what it was: a missing value (``templates.py``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Final

from warta.errors import InvalidInput

#: The largest personalisation, counted as its compact UTF-8 JSON (keys included), in
#: bytes: Notify's 2 MB. The request body cap (2,500,000 bytes) leaves room around it.
MAX_BYTES: Final = 2_000_000
#: Floats written without a fraction up to here (``1e20`` -> ``100000000000000000000``),
#: beyond it in exponent form (``1e+21``): JavaScript's ``JSON.stringify`` does the same.
_PLAIN_UP_TO: Final = 1e21


class InvalidPersonalisation(InvalidInput):
    """A personalisation that cannot be written into a message."""


def _scalar_problem(value: object) -> str | None:
    if value is None or isinstance(value, str | bool | int):
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else "personalisation.%(name)s is not a finite number"
    return "personalisation.%(name)s must be text, a number or a list of them"


def check(personalisation: Mapping[str, object]) -> None:
    """Raises ``InvalidPersonalisation`` naming the first value Warta cannot write, or
    when the whole is over ``MAX_BYTES``."""
    for name, value in personalisation.items():
        items = value if isinstance(value, list | tuple) else [value]
        for item in items:
            problem = (
                "personalisation.%(name)s must be text, a number or a list of them"
                if isinstance(item, list | tuple)
                else _scalar_problem(item)
            )
            if problem is not None:
                raise InvalidPersonalisation(problem, name=name)
    compact = json.dumps(personalisation, ensure_ascii=False, separators=(",", ":"))
    size = len(compact.encode(errors="surrogatepass"))
    if size > MAX_BYTES:
        raise InvalidPersonalisation(
            "personalisation is larger than %(limit)s bytes", limit=MAX_BYTES
        )


def as_text(value: object) -> str:
    """One value as a message shows it: text as it is, numbers and booleans as JSON
    writes them (``True`` -> ``true``, ``7.0`` -> ``7``, ``0.1`` -> ``0.1``)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and math.isfinite(value):
        if value.is_integer() and abs(value) < _PLAIN_UP_TO:
            return str(int(value))
        return repr(value)
    return str(value)
