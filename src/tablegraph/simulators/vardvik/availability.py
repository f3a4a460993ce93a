"""Opening hours, the slot grid, table assignment and slot evaluation.

A table is busy for a new booking ``[s, e)`` when an active booking ``[rs, re)`` on it has
``s < re + buffer`` and ``rs < e + buffer`` (the buffer follows every booking). Tables combine
only in adjacent pairs: two tables next to each other in the location's table list and in the
same area. Assignment prefers the smallest fitting single table, then the smallest pair.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from tablegraph.simulators.vardvik.model import (
    ACTIVE,
    Location,
    Policy,
    Reservation,
    Table,
)
from tablegraph.timeutil import UTC, localize, zone


@dataclass(frozen=True)
class ServiceWindow:
    service_date: date
    opens: datetime  # UTC
    closes: datetime  # UTC
    service_name: str


def service_windows(loc: Location, day: date) -> list[ServiceWindow]:
    """The service periods of a location-local service date; a special day overrides the week."""
    special = loc.special_days.get(day)
    if special is not None:
        if special.closed or special.opens is None or special.closes is None:
            return []
        spans = [(special.opens, special.closes, special.note or "Special")]
    else:
        spans = [
            (p.opens, p.closes, p.service_name)
            for p in sorted(loc.weekly, key=lambda p: p.opens)
            if p.day_of_week == day.isoweekday()
        ]
    out = []
    for opens, closes, name in spans:
        close_day = day if closes > opens else day + timedelta(days=1)  # past midnight
        out.append(
            ServiceWindow(
                day,
                localize(day, opens, loc.timezone).astimezone(UTC),
                localize(close_day, closes, loc.timezone).astimezone(UTC),
                name,
            )
        )
    return out


def grid(
    loc: Location, day: date, interval: int, duration: int
) -> Iterator[tuple[datetime, ServiceWindow]]:
    """Every start from ``opens`` every ``interval`` local minutes with start+duration ≤ closes."""
    length = timedelta(minutes=duration)
    for window in service_windows(loc, day):
        wall_naive = window.opens.astimezone(zone(loc.timezone)).replace(tzinfo=None)
        while True:
            start = localize(wall_naive.date(), wall_naive.time(), loc.timezone).astimezone(UTC)
            if start + length > window.closes:
                break
            yield start, window
            wall_naive += timedelta(minutes=interval)


def window_for(loc: Location, start: datetime, duration: int) -> ServiceWindow | None:
    """The service period a booking fits into whole (checks the local day and the one before)."""
    local_day = start.astimezone(zone(loc.timezone)).date()
    end = start + timedelta(minutes=duration)
    for day in (local_day, local_day - timedelta(days=1)):
        for window in service_windows(loc, day):
            if window.opens <= start and end <= window.closes:
                return window
    return None


def pairs(loc: Location) -> list[tuple[Table, Table]]:
    """Combinable pairs: neighbours in the table list within the same area."""
    t = loc.tables
    return [(t[i], t[i + 1]) for i in range(len(t) - 1) if t[i].area == t[i + 1].area]


def busy_tables(
    bookings: Iterable[Reservation],
    start: datetime,
    end: datetime,
    buffer_minutes: int,
    exclude: str | None = None,
) -> set[str]:
    buffer = timedelta(minutes=buffer_minutes)
    busy: set[str] = set()
    for r in bookings:
        if (
            r.status in ACTIVE
            and r.id != exclude
            and start < r.end + buffer
            and r.start < end + buffer
        ):
            busy.update(r.table_ids)
    return busy


def assign(loc: Location, party: int, busy: set[str]) -> list[str] | None:
    singles = [t for t in loc.tables if t.seats >= party and t.id not in busy]
    if singles:
        return [min(singles, key=lambda t: t.seats).id]
    combos = [
        (a, b)
        for a, b in pairs(loc)
        if a.seats + b.seats >= party and a.id not in busy and b.id not in busy
    ]
    if combos:
        a, b = min(combos, key=lambda ab: ab[0].seats + ab[1].seats)
        return [a.id, b.id]
    return None


def largest_free(loc: Location, busy: set[str]) -> int:
    sizes = [t.seats for t in loc.tables if t.id not in busy]
    sizes += [a.seats + b.seats for a, b in pairs(loc) if a.id not in busy and b.id not in busy]
    return max(sizes, default=0)


def covers_left(
    loc: Location, bookings: Iterable[Reservation], start: datetime, day: date, exclude: str | None
) -> int | None:
    """Seats left under the tightest active ``maxCoversPerSlot`` rule (None: no limit)."""
    limits = [
        r.max_covers_per_slot
        for r in loc.rules
        if r.max_covers_per_slot is not None
        and r.valid_from <= day
        and (r.valid_to is None or day <= r.valid_to)
    ]
    if not limits:
        return None
    taken = sum(
        r.party_size
        for r in bookings
        if r.status in ACTIVE and r.start == start and r.id != exclude
    )
    return max(min(limits) - taken, 0)


@dataclass(frozen=True)
class Verdict:
    table_ids: list[str] | None  # None: nothing fits
    capacity: int
    policy_breach: str | None  # the config field breached, e.g. "minLeadTimeMinutes"

    @property
    def available(self) -> bool:
        return self.table_ids is not None and self.policy_breach is None


def policy_breach(policy: Policy, start: datetime, party: int, now: datetime) -> str | None:
    if party < policy.min_party_size:
        return "minPartySize"
    if party > policy.max_party_size:
        return "maxPartySize"
    if start < now + timedelta(minutes=policy.min_lead_time_minutes):
        return "minLeadTimeMinutes"
    if start > now + timedelta(days=policy.max_advance_booking_days):
        return "maxAdvanceBookingDays"
    return None


def evaluate(
    loc: Location,
    policy: Policy,
    bookings: list[Reservation],
    start: datetime,
    duration: int,
    party: int,
    service_date: date,
    now: datetime,
    exclude: str | None = None,
) -> Verdict:
    """Whether ``party`` can sit at ``start`` for ``duration`` minutes, and on which tables."""
    end = start + timedelta(minutes=duration)
    busy = busy_tables(bookings, start, end, loc.buffer_minutes, exclude)
    capacity = min(largest_free(loc, busy), policy.max_party_size)
    left = covers_left(loc, bookings, start, service_date, exclude)
    if left is not None:
        capacity = min(capacity, left)
    breach = policy_breach(policy, start, party, now)
    if breach in ("minLeadTimeMinutes", "maxAdvanceBookingDays"):
        return Verdict(None, 0, breach)
    tables = assign(loc, party, busy) if party <= capacity else None
    return Verdict(tables, capacity, breach)
