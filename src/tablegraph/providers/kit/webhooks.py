"""Webhook signatures of the ``t=<unix seconds>,v1=<hex HMAC-SHA256 of "{t}.{body}">`` form
(Vardvik and Libro both sign this way), and the JSON body every webhook carries.

A delivery older or newer than the tolerance is refused, so a captured one cannot be
replayed later; the gateway de-duplicates deliveries inside the tolerance by event id.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from tablegraph.errors import InvalidInput

TOLERANCE_SECONDS = 300.0


def header(headers: Mapping[str, str], name: str) -> str | None:
    lowered = name.lower()
    return next((v for k, v in headers.items() if k.lower() == lowered), None)


def verify_timestamped_hmac(
    secret: str,
    signature: str | None,
    body: bytes,
    now: datetime,
    *,
    upstream: str,
    tolerance: float = TOLERANCE_SECONDS,
) -> tuple[int, str]:
    """Check one signature header; return ``(timestamp, matching v1)`` or ``InvalidInput``."""
    if not signature:
        raise InvalidInput("webhook without a signature", upstream=upstream)
    stamp: int | None = None
    candidates: list[str] = []
    for part in signature.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t":
            stamp = int(value) if value.isascii() and value.isdigit() else None
        elif key == "v1":
            candidates.append(value)
    if stamp is None or not candidates:
        raise InvalidInput("webhook with a malformed signature", upstream=upstream)
    if abs(now.timestamp() - stamp) > tolerance:
        raise InvalidInput("webhook signature is stale", upstream=upstream)
    expected = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    for candidate in candidates:
        if hmac.compare_digest(expected, candidate):
            return stamp, candidate
    raise InvalidInput("webhook signature does not match", upstream=upstream)


def json_object(body: bytes, *, upstream: str) -> dict[str, Any]:
    """The delivery's JSON object; anything else (a list, bad UTF-8, deep nesting) is 400."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        raise InvalidInput("webhook body is not JSON", upstream=upstream) from None
    if not isinstance(data, dict):
        raise InvalidInput("webhook body is not a JSON object", upstream=upstream)
    return data


def object_field(data: Mapping[str, Any], key: str, *, upstream: str) -> dict[str, Any]:
    """``data[key]`` when it is an object (missing: empty); a list or scalar is 400."""
    value = data.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidInput(f"webhook field {key!r} is not an object", upstream=upstream)
    return value
