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

from tablegraph.providers.librebooking.parse import to_bool, to_datetime, to_minutes, to_str_id


@dataclass(frozen=True)
class Table:
    id: str
    name: str
    seats: int
    location: str | None = None
    buffer: timedelta = timedelta()
    min_notice: timedelta = timedelta()
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
    earliest = not_before + table.min_notice
    out: list[tuple[datetime, datetime]] = []
    for i, (start, _) in enumerate(pieces):
        if not (window[0] <= start < window[1]) or start < earliest:
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
        requires_approval=to_bool(raw.get("requiresApproval")),
    )
