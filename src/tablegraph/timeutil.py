"""Time helpers shared by adapters and simulators.

Providers disagree about time: UTC with ``Z``, ``+0000`` without a colon, local times without
an offset, separate date and time fields. Everything converges here on aware datetimes in the
restaurant's zone, and a ``date`` always means the restaurant's local calendar date.
"""

from __future__ import annotations

import re
from datetime import UTC as UTC
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tablegraph.errors import InvalidInput

_COMPACT_OFFSET = re.compile(r"([+-]\d{2})(\d{2})$")


@lru_cache(maxsize=256)
def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInput(f"unknown time zone {name!r}") from exc


def local_day_bounds(day: date, tz: str) -> tuple[datetime, datetime]:
    """The aware [start, end) of a local calendar day (23 or 25 hours long across DST)."""
    z = zone(tz)
    start = datetime.combine(day, time(0), tzinfo=z)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=z)
    return start, end


def localize(day: date, wall: time, tz: str) -> datetime:
    """A local wall-clock time on a local date, as an aware datetime in ``tz``.

    A wall time skipped by a DST jump is moved forward by the gap (02:30 → 03:30); an
    ambiguous one takes its first occurrence (fold=0) — the way a guest reads a menu card.
    """
    z = zone(tz)
    naive = datetime.combine(day, wall)
    aware = naive.replace(tzinfo=z)
    if aware.astimezone(UTC).astimezone(z).replace(tzinfo=None) != naive:  # skipped by DST
        # fold=0 carries the offset from before the jump: the instant it names is the moved time.
        return (naive - (aware.utcoffset() or timedelta())).replace(tzinfo=UTC).astimezone(z)
    return aware


def to_zone(moment: datetime, tz: str) -> datetime:
    if moment.tzinfo is None:
        raise InvalidInput("a date-time without an offset is ambiguous")
    return moment.astimezone(zone(tz))


@lru_cache(maxsize=8192)
def parse_instant(text: str) -> datetime:
    """Parse an ISO 8601 instant with ``Z``, ``+00:00`` or ``+0000``; refuse a naive one.

    Cached: a gateway reads the same bookings' instants again and again (datetimes are
    immutable, so sharing them is safe)."""
    try:
        value = datetime.fromisoformat(text)  # the common shapes, fast
    except ValueError:
        s = text.strip()
        if s.endswith("Z") or s.endswith("z"):
            s = s[:-1] + "+00:00"
        value = datetime.fromisoformat(_COMPACT_OFFSET.sub(r"\1:\2", s))
    if value.tzinfo is None:
        raise ValueError(f"instant without offset: {text!r}")
    return value


@lru_cache(maxsize=8192)
def instant_in(text: str, tz: str) -> datetime:
    """``parse_instant(text)`` in the zone ``tz`` (cached likewise)."""
    return parse_instant(text).astimezone(zone(tz))


def format_utc_millis(moment: datetime) -> str:
    """``2026-06-12T17:00:00.000Z`` (the Vardvik style)."""
    u = moment.astimezone(UTC)
    return u.strftime("%Y-%m-%dT%H:%M:%S.") + f"{u.microsecond // 1000:03d}Z"
