"""The one logging setup. Log lines carry ids and reasons, never personal data: no
recipient, name or personalisation is ever passed to a logger (a test scans the output)."""

from __future__ import annotations

import json
import logging
import sys

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
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def configure(level: str = "INFO", *, as_json: bool = False) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        _JsonFormatter()
        if as_json
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # aiosmtpd logs every envelope (with addresses) at INFO; keep it to warnings.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    # httpx logs every request's URL at INFO (httpcore its connections at DEBUG): a Web Push
    # endpoint's path is a per-subscription secret, a Telegram URL holds the bot token.
    for name in QUIETED:
        logging.getLogger(name).setLevel(logging.WARNING)
