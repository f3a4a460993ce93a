"""Log redaction: no log line carries an e-mail address, a phone number, an API key, a JWT or
a booking-management token.

Installed as the process's log-record factory, so it covers every logger — ours, aiohttp's
access log, httpx's, third-party ones created later — and every handler: a record is redacted
the moment it is made (its message, its arguments, and the text of its exception).
"""

from __future__ import annotations

import logging
import re
import traceback
from typing import Any

_PATTERNS = [
    # JWTs (three base64url parts, the first two starting with '{"' encoded).
    (re.compile(r"eyJ[\w-]*\.eyJ[\w-]*\.[\w-]*"), "[jwt]"),
    (re.compile(r"tgk_[\w-]{8,}"), "[api-key]"),
    (re.compile(r"tgm1\.[\w-]+\.[\w-]+"), "[manage-token]"),
    (re.compile(r"(?i)(bearer|basic)\s+[\w.~+/=-]{8,}"), r"\1 [credential]"),
    (re.compile(r"(?i)(x-api-key['\"]?\s*[:=]\s*['\"]?)[^\s'\",}]+"), r"\1[api-key]"),
    (re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+"), "[email]"),
    # The same, URL-encoded (an upstream lookup by e-mail in a logged request line).
    (re.compile(r"[\w.%+-]+%40[\w-]+(?:\.[\w-]+)+"), "[email]"),
    (re.compile(r"(?i)%2B\d(?:[\d().-]|%20|\+){6,}\d"), "[phone]"),
    # International numbers (+49 30 1234567, +1 (514) 555-0100) and long local ones
    # written with separators (030 1234 5678), but not dates, times or plain ids.
    (re.compile(r"\+\d[\d ()./-]{6,}\d"), "[phone]"),
    (re.compile(r"(?<![\w:-])0\d{1,4}[ /-]\d{3,4}[ -]?\d{3,5}(?![\w:-])"), "[phone]"),
]


def redact(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


_base_factory = logging.getLogRecordFactory()
_installed = False


def _factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
    record = _base_factory(*args, **kwargs)
    try:
        message = record.getMessage()
    except Exception:  # a malformed format string: keep what can be kept
        message = str(record.msg)
    record.msg, record.args = redact(message), None
    if record.exc_info and record.exc_info[0] is not None:
        record.exc_text = redact("".join(traceback.format_exception(*record.exc_info)).rstrip())
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    return record


def install() -> None:
    """Redact every log record of this process from now on (idempotent)."""
    global _installed
    if not _installed:
        logging.setLogRecordFactory(_factory)
        _installed = True
