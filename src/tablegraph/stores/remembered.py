"""Bookings an adapter must remember because its upstream forgets them.

LibreBooking deletes a cancelled reservation: afterwards it reads 404, and without a memory a
cancelled booking would read ``NOT_FOUND`` and a second cancel fail. The adapter keeps each
cancellation here (the gateway's store, ``Runtime.store``), so it still reads ``CANCELLED``
after a restart and on every worker.
"""

from __future__ import annotations

import json

from tablegraph.model import Booking
from tablegraph.stores import codec
from tablegraph.stores.base import Store

#: How long a forgotten booking is remembered: longer than anyone asks about a cancellation.
KEEP_SECONDS = 90 * 24 * 3600.0


class RememberedBookings:
    def __init__(self, store: Store, namespace: str, ttl: float = KEEP_SECONDS) -> None:
        self.store, self.namespace, self.ttl = store, namespace, ttl

    def _key(self, native_id: str) -> str:
        return f"remembered:{self.namespace}:{native_id}"

    async def remember(self, booking: Booking) -> None:
        data = json.dumps(codec.dump(booking))
        await self.store.set(self._key(booking.native_id), data, self.ttl)

    async def get(self, native_id: str) -> Booking | None:
        raw = await self.store.get(self._key(native_id))
        return codec.load(Booking, json.loads(raw)) if raw else None
