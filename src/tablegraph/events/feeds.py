"""Where events come from: the gateway's own writes and verified provider webhooks.

``BookingFeed`` turns "this booking is now in this state" into an event by diffing against the
state it last saw of that booking (``events.model.diff``) and publishes it on the bus. The
booking service tells it about every write (``wrote``); the webhook route about every verified,
not yet seen delivery (``webhook``), after reading the bookings it names. A feed failing never
fails the write or the webhook that fed it: it is logged and the poll or the next delivery
catches up.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime

from tablegraph.events.hub import EventBus
from tablegraph.events.model import BookingEvent, EventSource, diff, unseen
from tablegraph.model import Booking, WebhookEvent

log = logging.getLogger(__name__)

#: Reads bookings of one upstream by native id (``Provider.get_bookings``).
Fetch = Callable[[Sequence[str]], Awaitable[Sequence[object]]]


def _utc_now() -> datetime:
    return datetime.now(UTC)


class BookingFeed:
    def __init__(
        self,
        bus: EventBus,
        *,
        remember: int = 10_000,
        now: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.bus = bus
        self._now = now
        self._remember = remember
        self._known: OrderedDict[tuple[str, str], Booking] = OrderedDict()

    def last_seen(self, booking: Booking) -> Booking | None:
        return self._known.get((booking.upstream, booking.native_id))

    def _note(self, booking: Booking) -> None:
        key = (booking.upstream, booking.native_id)
        self._known[key] = booking
        self._known.move_to_end(key)
        while len(self._known) > self._remember:
            self._known.popitem(last=False)

    async def seen(
        self, before: Booking | None, after: Booking, source: EventSource
    ) -> BookingEvent | None:
        """Publish what changed from ``before`` (else the last state seen) to ``after``."""
        if before is None:
            before = self.last_seen(after)
        self._note(after)
        event = diff(before, after, source, self._now())
        if event is None:
            return None
        await self._publish(event)
        return event

    async def _publish(self, event: BookingEvent) -> None:
        try:
            await self.bus.publish(event)
        except Exception:  # a bus outage must not fail the write or webhook that fed it
            log.exception("could not publish booking event %s", event.id)

    async def wrote(self, before: Booking | None, after: Booking) -> None:
        """The booking service made ``before`` into ``after`` (``None``: a new booking)."""
        await self.seen(before, after, EventSource.GATEWAY)

    async def wrote_unread(self, after: Booking) -> BookingEvent | None:
        """The booking service wrote ``after`` without reading the booking first (a cancel
        its provider answers in full): the change from the last state seen, or, for a
        booking never seen here, an event saying what it is now (``unseen``)."""
        if self.last_seen(after) is not None:
            return await self.seen(None, after, EventSource.GATEWAY)
        self._note(after)
        event = unseen(after, EventSource.GATEWAY, self._now())
        try:
            await self.bus.publish(event)
        except Exception:  # a bus outage must not fail the write that fed it
            log.exception("could not publish booking event %s", event.id)
        return event

    async def webhook(self, upstream: str, delivery: WebhookEvent, fetch: Fetch) -> int:
        """Read the bookings a verified delivery names and publish what changed; how many."""
        if not delivery.booking_ids:
            return 0
        try:
            found = await fetch(delivery.booking_ids)
        except Exception:
            log.warning(
                "could not read the bookings of %s webhook %s",
                upstream,
                delivery.event_id,
                exc_info=True,
            )
            return 0
        published = 0
        creation = "creat" in (delivery.kind or "").lower()
        for booking in found:
            if not isinstance(booking, Booking):
                continue
            if self.last_seen(booking) is None and not creation:
                # A change to a booking this process never saw: what it was is unknown, so
                # the event says what it is now.
                now_is = unseen(booking, EventSource.WEBHOOK, self._now())
                self._note(booking)
                await self._publish(now_is)
                event: BookingEvent | None = now_is
            else:
                event = await self.seen(None, booking, EventSource.WEBHOOK)
            published += event is not None
        return published
