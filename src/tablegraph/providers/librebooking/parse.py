"""Lenient readers for LibreBooking JSON (the raw shapes themselves are in ``payloads.py``).

A real server (2.9) sends most ids and numbers as strings (``"resourceId":"3"``), booleans
as ``0``/``1`` or ``"1"``, empty dates as ``""``, offsets without a colon (``-0500``),
``resources`` as an object keyed by id on a single reservation, ``participants`` as ``[]``
when empty but as an object when not, durations as text (``"1 hours 30 minutes"`` in lists
and slots, ``"1d0h0m"`` on resources), and empty bodies (HTTP 200) where API.md promises JSON.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from tablegraph.timeutil import parse_instant


def to_int(value: Any) -> int | None:
    """``"3"``, ``3``, ``" 3 "`` → 3; anything else → None."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def to_str_id(value: Any) -> str | None:
    number = to_int(value)
    if number is not None:
        return str(number)
    return value.strip() if isinstance(value, str) and value.strip() else None


_TRUE = {"1", "true", "yes", "on"}


def to_bool(value: Any) -> bool:
    """``true``, ``1``, ``"1"``, ``"true"`` → True; ``0``, ``"0"``, ``""``, null → False."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    if isinstance(value, str):
        return value.strip().lower() in _TRUE
    return False


def to_datetime(value: Any) -> datetime | None:
    """``2026-11-23T12:00:00-0500`` / ``+00:00`` / ``Z`` → aware; ``""`` or null → None."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return parse_instant(value)
    except ValueError:
        return None


#: ``"1 hours 30 minutes"`` (list items, slots) and ``"1d0h0m"`` (resources: no word boundary
#: between the parts, so none is required).
_DURATION_PART = re.compile(r"(\d+)\s*(days?|hours?|minutes?|d|h|m)(?![a-z])", re.IGNORECASE)


def to_minutes(value: Any) -> int:
    """``"1 hours 30 minutes"``, ``"2 minutes"``, ``"1d0h0m"``, ``"0d1h30m"`` → minutes;
    ``""`` → 0.

    A bare number is seconds, as LibreBooking takes it on input (``"minNotice": "86400"``).
    """
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return int(value) // 60
    if not isinstance(value, str) or not value.strip():
        return 0
    text = value.strip()
    if text.isdigit():
        return int(text) // 60
    total = 0
    for amount, unit in _DURATION_PART.findall(text):
        u = unit.lower()[0]
        total += int(amount) * (1440 if u == "d" else 60 if u == "h" else 1)
    return total


def keyed_items(value: Any) -> list[dict[str, Any]]:
    """An array of objects, or an object keyed by id (observed for ``resources``), as a list."""
    if isinstance(value, dict):
        return [v for v in value.values() if isinstance(v, dict)]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, dict)]
    return []


def people_ids(value: Any) -> list[str]:
    """Participants/invitees: ``[]``, ``{"1": "User User"}``, or a list of user objects."""
    if isinstance(value, dict):
        return [k for k in value if to_int(k) is not None]
    out: list[str] = []
    for item in value if isinstance(value, list) else []:
        if isinstance(item, dict):
            uid = to_str_id(item.get("userId", item.get("id")))
            if uid:
                out.append(uid)
        elif (uid := to_str_id(item)) is not None:
            out.append(uid)
    return out
