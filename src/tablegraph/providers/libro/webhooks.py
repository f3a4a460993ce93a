"""Libro webhook signatures (DOC ``webhooks/*.md``).

``X-Libro-Signature: t=<unix seconds>,v1=<hex>``; ``v1`` is the lowercase hex HMAC-SHA256 of
``"{t}.{raw body}"`` keyed by the signing secret. Deliveries older (or newer) than the
tolerance, 300 s by default, are refused so a captured one cannot be replayed later.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime
from typing import Any

from tablegraph.errors import InvalidInput

SIGNATURE_HEADER = "X-Libro-Signature"
TOLERANCE_SECONDS = 300


def _header(headers: dict[str, str], name: str) -> str | None:
    lowered = name.lower()
    return next((v for k, v in headers.items() if k.lower() == lowered), None)


def verify_signature(
    secret: str,
    headers: dict[str, str],
    body: bytes,
    now: datetime,
    upstream: str,
    tolerance: float = TOLERANCE_SECONDS,
) -> str:
    """Raise ``InvalidInput`` unless the delivery is authentic and fresh; return an event id.

    Libro sends no event id: ``"<t>.<v1>"`` identifies a delivery (a retry of the same body at
    the same second is the same event), so a replay inside the tolerance can be dropped.
    """
    header = _header(headers, SIGNATURE_HEADER)
    if not header:
        raise InvalidInput("webhook without a signature", upstream=upstream)
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t":
            try:
                timestamp = int(value)
            except ValueError:
                timestamp = None
        elif key == "v1":
            signatures.append(value)
    if timestamp is None or not signatures:
        raise InvalidInput("webhook with a malformed signature", upstream=upstream)
    if abs(now.timestamp() - timestamp) > tolerance:
        raise InvalidInput("webhook signature is stale", upstream=upstream)
    expected = hmac.new(
        secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256
    ).hexdigest()
    if not any(hmac.compare_digest(expected, s.lower()) for s in signatures):
        raise InvalidInput("webhook signature does not match", upstream=upstream)
    return f"{timestamp}.{expected}"


def touched(body: bytes, upstream: str) -> tuple[list[str], list[str], list[str]]:
    """(restaurant ids, booking ids, person ids) named by a JSON:API delivery."""
    try:
        doc: Any = json.loads(body)
    except ValueError:
        raise InvalidInput("webhook body is not JSON", upstream=upstream) from None
    data = doc.get("data") if isinstance(doc, dict) else None
    items = data if isinstance(data, list) else [data] if isinstance(data, dict) else []
    restaurants: list[str] = []
    bookings: list[str] = []
    people: list[str] = []
    for item in items:
        kind, ident = item.get("type"), item.get("id")
        if ident is None:
            continue
        {"booking": bookings, "restaurant": restaurants, "person": people, "people": people}.get(
            str(kind), []
        ).append(str(ident))
        for name, bucket in (("restaurant", restaurants), ("person", people)):
            rel = ((item.get("relationships") or {}).get(name) or {}).get("data")
            if isinstance(rel, dict) and rel.get("id") is not None:
                bucket.append(str(rel["id"]))
    return (
        list(dict.fromkeys(restaurants)),
        list(dict.fromkeys(bookings)),
        list(dict.fromkeys(people)),
    )
