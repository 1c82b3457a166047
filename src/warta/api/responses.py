"""JSON responses serialised with orjson (FastAPI's JsonResponse is deprecated; the
handlers build plain dicts, so a response model would only add a validation pass)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response


class JsonResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)
