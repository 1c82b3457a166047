"""The accept path's ceiling (``bench/api_accept.py``): one FastAPI endpoint under the same
uvicorn as ``warta serve``, parsing a body shaped like a Notify SMS send and answering 201.
No authentication, database or rendering: the framework's own cost per request."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from pydantic import BaseModel

app = FastAPI()


class Send(BaseModel):
    phone_number: str
    template_id: str
    personalisation: dict[str, Any] = {}
    reference: str | None = None


@app.get("/ready")
async def ready() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/v2/notifications/sms", status_code=201)
async def send(body: Send) -> JSONResponse:
    return JSONResponse(
        {"id": str(uuid.uuid4()), "reference": body.reference, "content": {"body": ""}},
        status_code=201,
    )
