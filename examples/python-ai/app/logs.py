"""JSON lines on stdout, uvicorn's own records included.

The log collector then needs no per-service format.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone

from .settings import SERVICE

_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "error": logging.ERROR,
}
_NAMES = {logging.WARNING: "warn", logging.CRITICAL: "error"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(
                timespec="milliseconds"
            ),
            "level": _NAMES.get(record.levelno, record.levelname.lower()),
            "service": SERVICE,
            "msg": record.getMessage(),
        }
        if record.name != "app":
            line["logger"] = record.name
        line.update(getattr(record, "fields", {}))
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def configure(level: str) -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(_LEVELS[level])
