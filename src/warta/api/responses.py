"""JSON responses serialised with orjson (FastAPI's JsonResponse is deprecated; the
handlers build plain dicts, so a response model would only add a validation pass)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import JSONResponse

from warta.services.content import sound


class JsonResponse(JSONResponse):
    """A JSONResponse (so the OpenAPI document shows each route's response model, not
    ``"type": "string"``), rendered by orjson."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        try:
            return orjson.dumps(content)
        except orjson.JSONEncodeError:
            # Text that is not Unicode: answer with it shown safely rather than a 500.
            return orjson.dumps(sound(content))
