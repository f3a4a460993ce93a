"""Bookings an adapter must remember because its upstream forgets them.

LibreBooking deletes a cancelled reservation: afterwards it reads 404, and without a memory a
cancelled booking would read ``NOT_FOUND``, a second cancel fail, and a list of cancelled
bookings come back empty. The adapter keeps each cancellation here (the gateway's store,
``Runtime.store``), so it still reads ``CANCELLED`` after a restart and on every worker.

Key layout (``namespace`` is the upstream's name, so two upstreams never meet):

- ``remembered:<namespace>:<native id>`` — the booking itself (``codec`` JSON);
- ``remembered:<namespace>:day:<restaurant id>:<YYYY-MM-DD>`` — a JSON list of the native ids
  whose booking *starts* on that UTC date: the index ``between`` reads, one key per day of
  the window (booking lists span at most 31 days). The list grows by compare-and-set, so two
  workers remembering on one day at once both stay in it.

Both expire ``ttl`` seconds after the last write to them (90 days): an index entry whose
booking expired first is skipped, and the index goes with its last booking.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, date, datetime, timedelta

from tablegraph.model import Booking
from tablegraph.stores import codec
from tablegraph.stores.base import Store

#: How long a forgotten booking is remembered: longer than anyone asks about a cancellation.
KEEP_SECONDS = 90 * 24 * 3600.0
#: Compare-and-set rounds before an index update gives up (only under heavy contention).
_ROUNDS = 50

log = logging.getLogger(__name__)


class RememberedBookings:
    def __init__(self, store: Store, namespace: str, ttl: float = KEEP_SECONDS) -> None:
        self.store, self.namespace, self.ttl = store, namespace, ttl

    def _key(self, native_id: str) -> str:
        return f"remembered:{self.namespace}:{native_id}"

    def _day_key(self, restaurant_id: str, day: date) -> str:
        return f"remembered:{self.namespace}:day:{restaurant_id}:{day.isoformat()}"

    async def remember(self, booking: Booking) -> None:
        data = json.dumps(codec.dump(booking))
        await self.store.set(self._key(booking.native_id), data, self.ttl)
        await self._index(booking.restaurant_id, _utc_day(booking.start), booking.native_id)

    async def _index(self, restaurant_id: str, day: date, native_id: str) -> None:
        key = self._day_key(restaurant_id, day)
        for _ in range(_ROUNDS):
            held = await self.store.get(key)
            refs: list[str] = json.loads(held) if held else []
            if native_id in refs:
                return
            grown = json.dumps([*refs, native_id])
            if await self.store.compare_and_set(key, held, grown, self.ttl):
                return
        # The booking itself is remembered (reads and cancels find it); only lists miss it.
        log.warning("remembered booking %s left out of the contended index %s", native_id, key)

    async def get(self, native_id: str) -> Booking | None:
        raw = await self.store.get(self._key(native_id))
        return codec.load(Booking, json.loads(raw)) if raw else None

    async def between(self, restaurant_id: str, start: datetime, end: datetime) -> list[Booking]:
        """Remembered bookings of ``restaurant_id`` starting in ``[start, end)``."""
        days, day = [], _utc_day(start)
        while datetime.combine(day, datetime.min.time(), UTC) < end:
            days.append(day)
            day += timedelta(days=1)
        keys = [self._day_key(restaurant_id, d) for d in days]
        held = await asyncio.gather(*(self.store.get(k) for k in keys))
        refs = [ref for h in held if h for ref in json.loads(h)]
        found = await asyncio.gather(*(self.get(ref) for ref in refs))
        return [
            b
            for b in found
            if b is not None and b.restaurant_id == restaurant_id and start <= b.start < end
        ]


def _utc_day(moment: datetime) -> date:
    return moment.astimezone(UTC).date()
