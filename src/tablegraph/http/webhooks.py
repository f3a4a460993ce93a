"""What a verified webhook touches, checked before the gateway acts on it.

Adapters return ``{"event_id": ..., "restaurant_ids": [...], ...}`` built from the provider's
JSON; a payload of an unexpected shape (a validly signed ``{"data": []}``) must end as a 400,
not as an unhashable cache key or a 500 further on.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def webhook_touches(touched: Mapping[str, Any]) -> dict[str, Any]:
    """``touched`` with its event id a string (or None) and its id lists lists of strings;
    ``ValueError`` otherwise."""
    if not isinstance(touched, Mapping):
        raise ValueError("an adapter's webhook result is not a mapping")
    out = dict(touched)
    event_id = out.get("event_id")
    if event_id is not None and not isinstance(event_id, str | int):
        raise ValueError("the webhook's event id is not a string")
    out["event_id"] = None if event_id is None else str(event_id)
    for key in ("restaurant_ids", "booking_ids", "guest_ids"):
        ids = out.get(key)
        if ids is None:
            continue
        if not isinstance(ids, list | tuple) or not all(isinstance(i, str | int) for i in ids):
            raise ValueError(f"the webhook's {key} are not a list of ids")
        out[key] = [str(i) for i in ids]
    return out
