"""Structured logs for the server: one JSON object per line on stderr.

Code logs with ``extra={"fields": {...}}``; the fields become top-level keys::

    {"ts": "2024-05-01T10:00:00.123Z", "level": "info", "logger": "grader.api.access",
     "msg": "POST /v1/grade 200 12.3ms", "request_id": "…", "status": 200, "ms": 12.3}
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
import time
from typing import Any

# The id of the request being served: set by the request-id middleware, carried into the
# grading threads (api/pool.py copies the context), added to every log line written meanwhile.
REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        out: dict[str, Any] = {
            "ts": f"{ts}.{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        rid = REQUEST_ID.get()
        if rid is not None:
            out["request_id"] = rid
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            out.update(fields)
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str, ensure_ascii=False)


def configure_logging(level: str = "info", json_lines: bool = True) -> None:
    """Send every logger (ours and uvicorn's) to stderr, as JSON lines or plain text."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter() if json_lines else logging.Formatter("%(levelname)s %(name)s %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
