"""Free start times computed from ``Schedules/{id}/Slots`` (never from
``Resources/Availability``, which a real server computes for the current time only).

In the slots answer each free slot is its own entry (``isReservable``, not ``isReserved``);
a booking is one merged slot with its reservation embedded; closed hours are long
non-reservable slots. A table can take a booking at ``s`` when consecutive free reservable
slots run from ``s`` to the first slot boundary at or after ``s + duration``, the resource's
buffer time separates it from every other booking, and ``s`` respects the minimum notice.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from tablegraph.errors import InvalidInput, PolicyViolation
from tablegraph.model import Area, OpeningHours, Slot
from tablegraph.providers.librebooking.parse import to_bool, to_datetime, to_minutes, to_str_id
from tablegraph.timeutil import zone

#: Offered starts keep this much room over the minimum notice (and "now").
SAFETY = timedelta(minutes=1)


@dataclass(frozen=True)
class Table:
    id: str
    name: str
    seats: int
    location: str | None = None
    buffer: timedelta = timedelta()
    min_notice: timedelta = timedelta()
    #: How far ahead it may be booked (``maxNotice``); None: no limit.
    max_notice: timedelta | None = None
    requires_approval: bool = False


@dataclass
class Grid:
    """One table's slots: free reservable pieces and booked spans (with their reference)."""

    free: list[tuple[datetime, datetime]] = field(default_factory=list)
    busy: list[tuple[datetime, datetime, str | None, timedelta]] = field(default_factory=list)


def read_grids(body: Any) -> dict[str, Grid]:
    """``dates[] → resources[] → slots[]`` folded into one grid per resource id."""
    grids: dict[str, Grid] = {}
    dates = body.get("dates") if isinstance(body, dict) else None
    for day in dates if isinstance(dates, list) else []:
        for res in day.get("resources") or [] if isinstance(day, dict) else []:
            rid = to_str_id(res.get("resourceId")) if isinstance(res, dict) else None
            if rid is None:
                continue
            grid = grids.setdefault(rid, Grid())
            for slot in res.get("slots") or []:
                start = to_datetime(slot.get("startDateTime"))
                end = to_datetime(slot.get("endDateTime"))
                if start is None or end is None:
                    continue
                reservation = slot.get("reservation")
                if to_bool(slot.get("isReserved")) or isinstance(reservation, dict):
                    ref = (
                        reservation.get("referenceNumber")
                        if isinstance(reservation, dict)
                        else None
                    )
                    buffer = timedelta(
                        minutes=to_minutes(reservation.get("bufferTime"))
                        if isinstance(reservation, dict)
                        else 0
                    )
                    r_start = (
                        to_datetime(reservation.get("startDate"))
                        if isinstance(reservation, dict)
                        else None
                    )
                    r_end = (
                        to_datetime(reservation.get("endDate"))
                        if isinstance(reservation, dict)
                        else None
                    )
                    grid.busy.append((r_start or start, r_end or end, ref, buffer))
                elif to_bool(slot.get("isReservable")):
                    grid.free.append((start, end))
    for grid in grids.values():
        grid.free = sorted(set(grid.free))
        grid.busy = sorted(set(grid.busy), key=lambda b: (b[0], b[1]))
    return grids


def _slot_length(free: list[tuple[datetime, datetime]]) -> timedelta | None:
    lengths = Counter(end - start for start, end in free)
    return lengths.most_common(1)[0][0] if lengths else None


def _pieces(grid: Grid, exclude_ref: str | None) -> list[tuple[datetime, datetime]]:
    """Free pieces, with the excluded booking's span (a reschedule's own) split back into slots."""
    pieces = list(grid.free)
    step = _slot_length(grid.free)
    for start, end, ref, _ in grid.busy:
        if exclude_ref is None or ref != exclude_ref:
            continue
        if step is None:
            pieces.append((start, end))
            continue
        cursor = start
        while cursor < end:
            pieces.append((cursor, min(cursor + step, end)))
            cursor += step
    return sorted(set(pieces))


def free_starts(
    table: Table,
    grid: Grid,
    duration: timedelta,
    *,
    not_before: datetime,
    window: tuple[datetime, datetime],
    exclude_ref: str | None = None,
) -> list[tuple[datetime, datetime]]:
    """``(start, end)`` of every booking this table can take with a start inside ``window``."""
    pieces = _pieces(grid, exclude_ref)
    busy = [b for b in grid.busy if exclude_ref is None or b[2] != exclude_ref]
    # A slot that would expire while the guest is still booking it is not offered.
    earliest = not_before + table.min_notice + SAFETY
    latest = not_before + table.max_notice if table.max_notice is not None else None
    out: list[tuple[datetime, datetime]] = []
    for i, (start, _) in enumerate(pieces):
        if not (window[0] <= start < window[1]) or start < earliest:
            continue
        if latest is not None and start > latest:
            continue
        wanted = start + duration
        j, cursor = i, start
        while j < len(pieces) and pieces[j][0] == cursor and cursor < wanted:
            cursor = pieces[j][1]
            j += 1
        if cursor < wanted:
            continue
        end = cursor
        if any(
            start < b_end + max(table.buffer, b_buffer)
            and b_start < end + max(table.buffer, b_buffer)
            for b_start, b_end, _, b_buffer in busy
        ):
            continue
        out.append((start, end))
    return out


def to_table(raw: dict[str, Any]) -> Table | None:
    """A resource that can seat guests (known ``maxParticipants``, status available)."""
    rid = to_str_id(raw.get("resourceId"))
    seats = raw.get("maxParticipants")
    seats_n = int(seats) if isinstance(seats, (int, str)) and str(seats).strip().isdigit() else None
    status = to_str_id(raw.get("statusId"))
    if rid is None or not seats_n or status not in (None, "1"):
        return None
    return Table(
        id=rid,
        name=str(raw.get("name") or f"Table {rid}"),
        seats=seats_n,
        location=raw.get("location") or None,
        buffer=timedelta(minutes=to_minutes(raw.get("bufferTime"))),
        min_notice=timedelta(minutes=to_minutes(raw.get("minNoticeAdd"))),
        max_notice=timedelta(minutes=to_minutes(raw.get("maxNotice"))) or None,
        requires_approval=to_bool(raw.get("requiresApproval")),
    )


def advance_limit(tables: list[Table], fallback: timedelta) -> timedelta:
    """How far ahead the restaurant can be booked: the tables' own limits when every table
    has one, else the configured ``fallback`` (which the adapter then enforces itself)."""
    limits = [t.max_notice for t in tables]
    if tables and all(limit is not None for limit in limits):
        return max(limit for limit in limits if limit is not None)
    return fallback


def within_hours(
    hours: OpeningHours, start: datetime, end: datetime, tz: str, slot: timedelta
) -> bool:
    """``[start, end)`` starts on the slot grid of one opening period and ends inside it
    (the real server refuses anything else: "The start date and time requested is not
    valid")."""
    local_start, local_end = start.astimezone(zone(tz)), end.astimezone(zone(tz))
    for period in hours.weekly:
        if period.day_of_week != local_start.isoweekday():
            continue
        opens = datetime.combine(local_start.date(), period.opens, tzinfo=local_start.tzinfo)
        closes = datetime.combine(local_start.date(), period.closes, tzinfo=local_start.tzinfo)
        if closes <= opens:
            closes += timedelta(days=1)
        on_grid = slot.total_seconds() > 0 and (local_start - opens) % slot == timedelta()
        if opens <= local_start and local_end <= closes and on_grid:
            return True
    return False


def offered(
    tables: list[Table],
    grids: dict[str, Grid],
    duration: timedelta,
    now: datetime,
    window: tuple[datetime, datetime],
    party_size: int,
    tz: str,
) -> list[Slot]:
    """Every start inside ``window`` that some table can take, with the areas that can."""
    by_start: dict[datetime, tuple[datetime, set[str]]] = {}
    for table in tables:
        grid = grids.get(table.id, Grid())
        for start, end in free_starts(table, grid, duration, not_before=now, window=window):
            _, areas = by_start.setdefault(start, (end, set()))
            if table.location:
                areas.add(table.location)
    z = zone(tz)
    return [
        Slot(
            start=s.astimezone(z),
            end=e.astimezone(z),
            party_size=party_size,
            areas=tuple(Area(a, a) for a in sorted(areas)),
        )
        for s, (e, areas) in sorted(by_start.items())
    ]


def refuse(
    tables: list[Table],
    hours: OpeningHours,
    step: timedelta,
    start: datetime,
    duration: timedelta,
    now: datetime,
    tz: str,
    *,
    upstream: str,
    party_size: int,
) -> None:
    """Raise for a booking the restaurant's rules refuse, whoever asks (the server holds an
    administrator account to none of notice, advance limit or buffer): no table that seats the
    party, a duration off the slot grid, a start outside the hours or off the grid, a booking
    running past closing, too soon, too far ahead."""
    if not tables:
        raise PolicyViolation(
            f"no table seats a party of {party_size}", upstream=upstream, field=("party_size",)
        )
    if duration % step:
        raise InvalidInput(
            f"the duration must be a multiple of {int(step.total_seconds() // 60)} minutes",
            upstream=upstream,
            field=("duration_minutes",),
        )
    if not within_hours(hours, start, start + duration, tz, step):
        raise PolicyViolation(
            "The start date and time requested is not valid: outside the opening hours, "
            "off the slot grid or running past closing",
            upstream=upstream,
            field=("start",),
        )
    if start < now + min(t.min_notice for t in tables):
        raise PolicyViolation(
            "the start time is too soon or in the past", upstream=upstream, field=("start",)
        )
    if all(t.max_notice is not None and start > now + t.max_notice for t in tables):
        raise PolicyViolation(
            "the start time is too far ahead", upstream=upstream, field=("start",)
        )


def free_tables(
    tables: list[Table],
    grids: dict[str, Grid],
    start: datetime,
    duration: timedelta,
    now: datetime,
    exclude_ref: str | None,
) -> list[tuple[Table, datetime]]:
    """Tables (in the given order) that can take a booking at exactly ``start``, with its end."""
    out = []
    window = (start, start + timedelta(seconds=1))
    for table in tables:
        grid = grids.get(table.id, Grid())
        for s, e in free_starts(
            table, grid, duration, not_before=now, window=window, exclude_ref=exclude_ref
        ):
            if s == start:
                out.append((table, e))
    return out
