"""The console: log levels and formats, and one access-log line per GraphQL request.

``configure(level, fmt)`` sets up the root logger once per process: ``text`` (time, level,
message: for a terminal) or ``json`` (one object per line: for a log shipper). The per-call
``httpx: HTTP Request: …`` lines — one per upstream request, a hundred and more in a short
session — go to debug level, so the console shows what a person needs: the start-up banner,
warnings, and the access log, where each GraphQL request is one line::

    POST /graphql op=Restaurants client=127.0.0.1 status=200 14.2ms upstreams=libro:2,resos:1

In ``json`` the same facts are fields (``operation``, ``client``, ``status``, ``durationMs``,
``upstreams``).
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, TextIO

from aiohttp import web

FORMATS = ("text", "json")
LEVELS = ("debug", "info", "warning", "error")
ACCESS = logging.getLogger("tablegraph.access")
#: Loggers that speak once per upstream call: shown only at debug level.
_CHATTY = ("httpx", "httpcore", "aiohttp.access")
_FIELDS = ("method", "path", "operation", "client", "status", "durationMs", "upstreams")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in _FIELDS:
            if hasattr(record, name):
                out[name] = getattr(record, name)
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


class _Console(logging.StreamHandler):  # type: ignore[type-arg]
    """The command line's handler: writes to the ``sys.stderr`` of the moment (so a test's
    captured stream, once closed, is never written to), and keeps the per-upstream-call
    loggers to debug level without touching their own levels (other handlers still hear
    them)."""

    def __init__(self, stream: TextIO | None, chatty_level: int) -> None:
        super().__init__(stream or sys.stderr)
        self._fixed = stream
        self._chatty_level = chatty_level

    @property
    def stream(self) -> TextIO:
        return self._fixed or sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass

    def filter(self, record: logging.LogRecord) -> bool:
        chatty = record.name.split(".")[0] in _CHATTY_ROOTS or record.name in _CHATTY
        if chatty and record.levelno < self._chatty_level:
            return False
        return bool(super().filter(record))


_CHATTY_ROOTS = ("httpx", "httpcore")


def configure(level: str = "info", fmt: str = "text", stream: TextIO | None = None) -> None:
    """The command line's console logging (replaces what an earlier call installed)."""
    numeric = getattr(logging, level.upper())
    handler = _Console(stream, logging.DEBUG if numeric <= logging.DEBUG else logging.WARNING)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S"))
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _Console)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(numeric)


def log_request(
    request: web.Request,
    *,
    client: str,
    status: int,
    seconds: float,
    operation: str | None,
    upstreams: Mapping[str, int],
) -> None:
    """One access-log line for a GraphQL request."""
    if not ACCESS.isEnabledFor(logging.INFO):
        return
    ms = round(seconds * 1000, 1)
    calls = ",".join(f"{name}:{n}" for name, n in sorted(upstreams.items())) or "-"
    ACCESS.info(
        "%s %s op=%s client=%s status=%d %.1fms upstreams=%s",
        request.method,
        request.path,
        operation or "-",
        client,
        status,
        ms,
        calls,
        extra={
            "method": request.method,
            "path": request.path,
            "operation": operation,
            "client": client,
            "status": status,
            "durationMs": ms,
            "upstreams": dict(upstreams),
        },
    )
