"""The one logging setup. Log lines carry ids and reasons, never personal data: no
recipient, name or personalisation is ever passed to a logger (a test scans the output).

Every line logged while the API answers a request carries that request's id (the
``X-Request-Id`` it came with, or one made for it: ``api/observability.py``): JSON lines
as ``request_id``, text lines as ``[req <id>]`` after the logger's name.
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys

#: The id of the request being answered in this task; None outside a request.
request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "warta_request_id", default=None
)

#: Loggers kept to warnings whatever the level: what they say at INFO carries secrets.
QUIETED = ("httpx", "httpcore")


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if rid := getattr(record, "request_id", None):
            entry["request_id"] = rid
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry)


class _WithRequestId(logging.Filter):
    """Puts the current request's id on every record the handler formats."""

    def filter(self, record: logging.LogRecord) -> bool:
        rid = request_id.get()
        record.request_id = rid
        record.request_tag = f" [req {rid}]" if rid else ""
        return True


def configure(level: str = "INFO", *, as_json: bool = False) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        _JsonFormatter()
        if as_json
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s%(request_tag)s: %(message)s")
    )
    handler.addFilter(_WithRequestId())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # aiosmtpd logs every envelope (with addresses) at INFO; keep it to warnings.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    # flufl.bounce logs each detector it runs at INFO, and a detector tripping over a
    # malformed message at ERROR; domain.bounces reads that message as no bounce.
    logging.getLogger("flufl.bounce").setLevel(logging.CRITICAL)
    # httpx logs every request's URL at INFO (httpcore its connections at DEBUG): a Web Push
    # endpoint's path is a per-subscription secret, a Telegram URL holds the bot token.
    for name in QUIETED:
        logging.getLogger(name).setLevel(logging.WARNING)
