"""Cancels made through this gateway, kept so that cancelling twice or reading the booking
back gives the same CANCELLED booking: LibreBooking deletes a cancelled reservation (a GET
then answers 404, a second DELETE an empty 200), so the server cannot say it any more.

Kept in the gateway's caches (``Runtime``), for a week, per process — a restart forgets them
and such a booking then reads as not found (issue 14 item 7: the durable store)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from tablegraph.cache import AsyncTTLCache
from tablegraph.model import Booking

TTL = 7 * 24 * 3600.0
MEMORY = 4096


class Cancelled:
    def __init__(self, cache: Callable[[str, float], AsyncTTLCache[Any]]) -> None:
        self._bookings: AsyncTTLCache[Booking] = cache("cancelled", TTL)
        self._refs: AsyncTTLCache[tuple[str, ...]] = cache("cancelled-refs", TTL)

    def get(self, ref: str) -> Booking | None:
        return self._bookings.get(ref)

    def remember(self, booking: Booking) -> None:
        self._bookings.set(booking.native_id, booking)
        refs = self._refs.get("refs") or ()
        self._refs.set("refs", (*refs[-(MEMORY - 1) :], booking.native_id))

    def between(self, restaurant_id: str, start: datetime, end: datetime) -> Iterator[Booking]:
        for ref in self._refs.get("refs") or ():
            booking = self._bookings.get(ref)
            mine = booking is not None and booking.restaurant_id == restaurant_id
            if mine and booking is not None and start <= booking.start < end:
                yield booking
