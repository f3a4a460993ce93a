"""Structured logs: one JSON object per line, with the request's context, secrets and guest
data redacted.

``configure(settings)`` installs the formatter on the root logger (``serve`` does it; ``demo``
keeps human-readable lines). Every record carries the time, level, logger and message, and —
inside a request — ``request_id``, ``client_id`` and ``operation`` from a context variable the
HTTP handler sets (``request_scope``); the handler's own line per request adds ``duration_ms``
and ``outcome``.

Redaction happens in the formatter, so nothing that reaches a log line escapes it: e-mail
addresses, phone numbers, bearer tokens and ``key=value`` credentials by pattern, and every
configured credential's value by name (``register_secret``), whatever the message, arguments
or extra fields held.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import IO, Any

from tablegraph.settings import GatewaySettings

MASK = "[redacted]"
_PATTERNS = [
    re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"),  # e-mail
    re.compile(r"\+\d[\d ()-]{6,}\d"),  # phone numbers in international format
    re.compile(r"(?i)\bbearer\s+[\w.~+/=-]+"),
    re.compile(
        r"(?i)\b(?:token|api[_-]?key|secret|password|authorization)\b[\"']?\s*[:=]\s*[\"']?[^\s\"',}]+"
    ),
]
_secrets: set[str] = set()
_request: ContextVar[dict[str, Any] | None] = ContextVar("tablegraph_log_request", default=None)
#: Attributes every LogRecord has; anything else was passed as ``extra``.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def register_secret(value: str) -> None:
    """Never print ``value`` (a configured credential) in a log line."""
    if len(value) >= 4:
        _secrets.add(value)


def redact(text: str) -> str:
    for secret in sorted(_secrets, key=len, reverse=True):
        text = text.replace(secret, MASK)
    for pattern in _PATTERNS:
        text = pattern.sub(MASK, text)
    return text


@contextmanager
def request_scope(**fields: Any) -> Iterator[dict[str, Any]]:
    """Fields added to every log line of this request (updated as they become known)."""
    scope = dict(fields)
    token = _request.set(scope)
    try:
        yield scope
    finally:
        _request.reset(token)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update(_request.get() or {})
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                line[key] = value
        if record.exc_info:
            line["error"] = "".join(traceback.format_exception(*record.exc_info))
        clean = {k: v if k in ("ts", "level") else _scrub(v) for k, v in line.items()}
        return json.dumps(clean, default=str, ensure_ascii=False)


def _scrub(value: Any) -> Any:
    """Redact every string inside ``value`` (before JSON encoding, so lines stay valid)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {str(k): _scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(v) for v in value]
    if value is None or isinstance(value, int | float | bool):
        return value
    return redact(str(value))


def configure(settings: GatewaySettings, stream: IO[str] | None = None) -> logging.Handler:
    """JSON lines on ``stream`` (stderr) for the root logger; credentials registered."""
    for upstream in settings.upstreams:
        for secret in upstream.credentials.values():
            register_secret(secret.reveal())
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    return handler
