"""The resOS endpoints the adapter uses, one typed function each (providers/resos.md,
"Endpoints"). Each goes through the key's ``kit.Caller`` (errors by ``errors.ERRORS``) and
checks the shape of what came back; none maps to the model.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Hashable
from datetime import date, datetime, timedelta
from typing import Any, TypeVar, cast

from tablegraph.errors import UpstreamBadResponse
from tablegraph.providers.kit import Caller, Page, offset_pages
from tablegraph.providers.kit.answers import MappedAnswers
from tablegraph.providers.resos.payloads import (
    RawBooking,
    RawOpeningHour,
    RawTable,
    RawTimesPeriod,
)
from tablegraph.providers.resos.queries import quote
from tablegraph.timeutil import format_utc_millis

#: ``limit`` is at most 100; lists carry no total, so a short page ends them.
PAGE = 100
#: A guard against a list that never ends: 200 pages.
MAX_ROWS = 200 * PAGE
_RESOS_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
T = TypeVar("T")


def is_booking_id(value: str) -> bool:
    return bool(_RESOS_ID.match(value))


def _bad(api: Caller, what: str) -> UpstreamBadResponse:
    return UpstreamBadResponse(f"resOS sent {what}", upstream=api.name)


async def healthcheck(api: Caller) -> None:
    await api.response("GET", "/healthcheck")


async def opening_hours(api: Caller) -> list[RawOpeningHour]:
    rows = await api.json("GET", "/openingHours")
    if not isinstance(rows, list):
        raise _bad(api, "opening hours that are not a list")
    return rows


async def tables(api: Caller) -> list[RawTable]:
    rows = await api.json("GET", "/tables")
    if not isinstance(rows, list):
        raise _bad(api, "tables that are not a list")
    return [cast(RawTable, row) for row in rows if isinstance(row, dict)]


async def times(api: Caller, day: date, people: int) -> list[RawTimesPeriod]:
    """One entry per opening-hour period of ``day``; ``[]`` when closed."""
    params = {"date": day.isoformat(), "people": people}
    periods = await api.json("GET", "/bookingFlow/times", params=params)
    if not isinstance(periods, list):
        raise _bad(api, "times that are not a list")
    return periods


async def bookings_page(
    api: Caller,
    start: datetime,
    end: datetime,
    offset: int,
    limit: int,
    *,
    custom_query: str | None = None,
    newest_first: bool = False,
) -> Page[RawBooking]:
    """One page of the bookings in [start, end] (resOS' bounds)."""
    params = _page_params(start, end, offset, limit, custom_query, newest_first)
    return Page(_booking_rows(api, await api.json("GET", "/bookings", params=params)))


def _booking_rows(api: Caller, rows: Any) -> list[Any]:
    if not isinstance(rows, list):
        raise _bad(api, "bookings that are not a list")
    return rows


def _page_params(
    start: datetime,
    end: datetime,
    offset: int,
    limit: int,
    custom_query: str | None,
    newest_first: bool,
) -> dict[str, Any]:
    return {
        "fromDateTime": format_utc_millis(start),
        "toDateTime": format_utc_millis(end),
        "sort": "dateTime:-1,_id:1" if newest_first else "dateTime:1,_id:1",
        "customQuery": custom_query,
        "skip": offset,
        "limit": limit,
    }


async def bookings(
    api: Caller, start: datetime, end: datetime, custom_query: str | None = None
) -> list[RawBooking]:
    """Every booking in [start, end] matching ``custom_query``."""

    async def page(offset: int, limit: int) -> Page[RawBooking]:
        return await bookings_page(api, start, end, offset, limit, custom_query=custom_query)

    return await offset_pages(page, page_size=PAGE, max_rows=MAX_ROWS)


#: A page's rows by ``_id``, mapped; None for a row without one (kept, so the page's length
#: still tells whether it was the last).
MappedRows = tuple[tuple[str, T] | None, ...]


async def bookings_in_windows(
    api: Caller,
    start: datetime,
    end: datetime,
    custom_query: str | None,
    window_days: int,
    *,
    row: Callable[[RawBooking], T],
    answers: MappedAnswers[MappedRows[T]],
    key: Hashable,
) -> list[T]:
    """A long range in windows of ``window_days``, each row mapped by ``row`` (the adapter's
    mapping, with whatever it reads named by ``key``; a page's body unchanged since the last
    read is not mapped again: ``kit.answers``); deduplicated by ``_id``."""

    def mapped(rows: Any) -> MappedRows[T]:
        return tuple(
            (raw["_id"], row(cast(RawBooking, raw)))
            if isinstance(raw, dict) and raw.get("_id")
            else None
            for raw in _booking_rows(api, rows)
        )

    def window_of(lower: datetime, upper: datetime) -> Callable[[int, int], Awaitable[Page[Any]]]:
        async def page(offset: int, limit: int) -> Page[Any]:
            params = _page_params(lower, upper, offset, limit, custom_query, False)
            found = await api.mapped(
                "/bookings", params=params, answers=answers, key=key, build=mapped
            )
            return Page(list(found))

        return page

    seen: dict[str, T] = {}
    window = timedelta(days=window_days)
    cursor = start
    while cursor < end:
        upper = min(end, cursor + window)
        for item in await offset_pages(window_of(cursor, upper), page_size=PAGE, max_rows=MAX_ROWS):
            if item is not None:
                seen.setdefault(item[0], item[1])
        cursor = upper
    return list(seen.values())


async def booking(api: Caller, booking_id: str) -> RawBooking:
    raw = await api.json("GET", f"/bookings/{booking_id}")
    if not isinstance(raw, dict) or raw.get("_id") != booking_id:
        raise _bad(api, "an unexpected booking")
    return raw  # type: ignore[return-value]


async def create_booking(api: Caller, body: dict[str, Any]) -> str:
    """The new booking's ``_id`` (resOS answers nothing else)."""
    created = await api.json("POST", "/bookings", json=body)
    if not isinstance(created, str) or not is_booking_id(created):
        raise _bad(api, "no booking id")
    return created


async def update_booking(api: Caller, booking_id: str, body: dict[str, Any]) -> None:
    if await api.json("PUT", f"/bookings/{booking_id}", json=body) is not True:
        raise _bad(api, "no confirmation of the update")


async def add_note(api: Caller, booking_id: str, text: str) -> None:
    """Internal notes are added, never replaced: the newest one is the booking's notes."""
    await api.json("POST", f"/bookings/{booking_id}/restaurantNote", json={"text": text[:1000]})


async def booking_marked(
    api: Caller, marker: str, value: str, start: datetime, end: datetime
) -> RawBooking | None:
    """The booking in [start, end] whose ``metadata[marker]`` is ``value``, if any (the
    ``customQuery`` narrows the list; the match is checked here)."""
    for raw in await bookings(api, start, end, f"metadata.{marker}:{quote(value)}"):
        if (raw.get("metadata") or {}).get(marker) == value:
            return raw
    return None


async def period_offering(
    api: Caller, days: list[date], hhmm: str, people: int
) -> tuple[date, RawTimesPeriod] | None:
    """The first of ``days`` (service days) with a period offering ``hhmm`` to ``people``."""
    for day in days:
        for period in await times(api, day, people):
            if hhmm in (period.get("availableTimes") or []):
                return day, period
    return None
