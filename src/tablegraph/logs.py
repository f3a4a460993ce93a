"""Structured logs: one JSON object per line, with the request's context, secrets and guest
data redacted.

``configure(settings)`` installs the formatter on the root logger (``serve`` does it; ``demo``
keeps human-readable lines). Every record carries the time, level, logger and message, and —
inside a request — ``request_id``, ``client_id`` and ``operation`` from a context variable the
HTTP layer sets (``request_scope``, then ``annotate`` as they become known). A GraphQL request
logs exactly one line of its own: the access log's (``log_request``).

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
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import IO, Any, TextIO

from aiohttp import web

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


def annotate(**fields: Any) -> None:
    """Add fields to the current request's scope (a no-op outside one)."""
    scope = _request.get()
    if scope is not None:
        scope.update(fields)


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


# ---- the console: levels, formats and the access log ------------------------------------------
#
# ``configure_console(level, fmt)`` is the command line's logging: ``text`` (time, level,
# message) or ``json`` (the formatter above). The per-call ``httpx: HTTP Request: …`` lines —
# one per upstream request — are shown only at debug level, so the console shows the start-up
# banner, warnings and the access log: one line per GraphQL request (its only line), which in
# JSON also carries ``request_id``, ``outcome``, ``duration_ms`` and ``upstreams``::
#
#     POST /graphql op=Restaurants client=web status=200 14.2ms upstreams=libro:2,resos:1 id=…

FORMATS = ("text", "json")
LEVELS = ("debug", "info", "warning", "error")
ACCESS = logging.getLogger("tablegraph.access")
_CHATTY = ("httpx", "httpcore", "aiohttp.access")


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


def configure_console(
    level: str = "info",
    fmt: str = "text",
    stream: TextIO | None = None,
    settings: GatewaySettings | None = None,
) -> None:
    """The command line's console logging (replaces what an earlier call installed):
    ``text`` for a terminal, ``json`` (``JsonFormatter``, redacted) for a log shipper; the
    credentials of ``settings`` are registered for redaction."""
    for upstream in settings.upstreams if settings is not None else ():
        for secret in upstream.credentials.values():
            register_secret(secret.reveal())
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
    request_id: str,
    client: str,
    status: int,
    seconds: float,
    operation: str | None,
    outcome: str | None,
    upstreams: Mapping[str, int],
) -> None:
    """The access-log line of a GraphQL request (``outcome``: "ok" or the first error code;
    None for a request refused before its document reached the schema — 400, 401, 413…)."""
    if not ACCESS.isEnabledFor(logging.INFO):
        return
    ms = round(seconds * 1000, 1)
    calls = ",".join(f"{name}:{n}" for name, n in sorted(upstreams.items())) or "-"
    ACCESS.info(
        "%s %s op=%s client=%s status=%d %.1fms upstreams=%s id=%s",
        request.method,
        request.path,
        operation or "-",
        client,
        status,
        ms,
        calls,
        request_id,
        extra={
            "method": request.method,
            "path": request.path,
            "request_id": request_id,
            "operation": operation,
            "client_id": client,
            "status": status,
            "outcome": outcome,
            "duration_ms": ms,
            "upstreams": dict(upstreams),
        },
    )
