"""``availabilityChanged``: fresh slots of one restaurant, date and party size whenever a
booking of that day changes.

One watch per (restaurant, date, party size) on a worker, however many subscribers: it follows
the restaurant's booking events on the bus with one bus subscription, and for an event that
touches the day (the booking starts on that local date, or did before a reschedule) drops
the cached availability of that restaurant and day and reads it once, through the
availability path every query uses (``Gateway.slots``: cached, single-flight). Then it wakes
its subscribers, which answer from the cache just filled: one upstream read per change and
key on a worker. Availability is a state, not a log: a subscriber still busy with the last
answer is woken once, for the newest.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date, datetime

from tablegraph.events.hub import SHUTTING_DOWN, Stream, Subscriber, SubscriptionClosed
from tablegraph.events.model import BookingEvent
from tablegraph.events.storebus import StoreEventBus
from tablegraph.model import Restaurant, Slot
from tablegraph.timeutil import zone

log = logging.getLogger(__name__)

Key = tuple[str, str, date, int]  # (upstream, native restaurant id, local date, party size)
#: Reads a restaurant's slots for a day and party size (``Gateway.slots``).
Read = Callable[[Restaurant, date, int], Awaitable[list[Slot]]]
#: Drops cached availability of an upstream's restaurant and day (``Gateway``).
Drop = Callable[[str, str, date], int]


def touches(event: BookingEvent, day: date, timezone: str) -> bool:
    """Whether the change frees or takes a table on the local date ``day``."""
    z = zone(timezone)
    if event.booking.start.astimezone(z).date() == day:
        return True
    return any(
        change.field == "start"
        and change.old is not None
        and datetime.fromisoformat(change.old).astimezone(z).date() == day
        for change in event.changes
    )


class Wakeup:
    """One subscriber's signal: set when fresh slots are in the cache."""

    def __init__(self) -> None:
        self._event = asyncio.Event()
        self._ended: SubscriptionClosed | None = None

    def set(self) -> None:
        self._event.set()

    def end(self, reason: SubscriptionClosed) -> None:
        self._ended = reason
        self._event.set()

    async def wait(self) -> None:
        """Until fresh slots are cached; ``SubscriptionClosed`` once the watch has ended."""
        await self._event.wait()
        self._event.clear()
        if self._ended is not None:
            raise self._ended


class _Watch:
    def __init__(
        self,
        bus: StoreEventBus,
        restaurant: Restaurant,
        key: Key,
        refresh: Callable[[], Awaitable[None]],
    ) -> None:
        self.members: set[Wakeup] = set()
        self._bus = bus
        self._restaurant = restaurant
        self._key = key
        self._refresh = refresh
        self._subscriber: Subscriber | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def stream(self) -> Stream:
        return (self._restaurant.upstream, self._restaurant.native_id)

    async def start(self) -> None:
        self._subscriber = await self._bus.subscribe([self.stream])
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._subscriber is not None:
            self._subscriber.close()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        _, _, day, _ = self._key
        while True:
            assert self._subscriber is not None
            try:
                async for event in self._subscriber:
                    if touches(event, day, self._restaurant.timezone):
                        await self._fresh()
                return  # closed: the last subscriber left
            except SubscriptionClosed as closed:
                if closed.code == SHUTTING_DOWN:
                    for member in self.members:
                        member.end(closed)
                    return
                # Fell behind the bus: start over and read afresh, since whatever was missed
                # may have changed the day.
                self._subscriber = await self._bus.subscribe([self.stream])
                await self._fresh()

    async def _fresh(self) -> None:
        try:
            await self._refresh()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the subscribers' own reads report it
            log.warning("availability refresh of %s failed: %s", self._key, exc)
        for member in self.members:
            member.set()


class AvailabilityWatches:
    """Every watch of this worker (see the module)."""

    def __init__(self, bus: StoreEventBus, read: Read, drop: Drop) -> None:
        self._bus = bus
        self._read = read
        self._drop = drop
        self._watches: dict[Key, _Watch] = {}
        #: Reads made after a change, per key, for tests and /metrics.
        self.refreshes: dict[Key, int] = {}

    def watching(self, key: Key) -> int:
        watch = self._watches.get(key)
        return len(watch.members) if watch else 0

    @contextlib.asynccontextmanager
    async def watch(
        self, restaurant: Restaurant, day: date, party_size: int
    ) -> AsyncIterator[Wakeup]:
        """Be woken whenever the slots of ``restaurant`` on ``day`` for ``party_size`` may
        have changed (and fresh ones are in the gateway's cache)."""
        key: Key = (restaurant.upstream, restaurant.native_id, day, party_size)
        watch = self._watches.get(key)
        if watch is None:
            watch = _Watch(self._bus, restaurant, key, lambda: self._refresh(restaurant, key))
            self._watches[key] = watch
            try:
                await watch.start()
            except BaseException:
                del self._watches[key]
                raise
        wakeup = Wakeup()
        watch.members.add(wakeup)
        try:
            yield wakeup
        finally:
            watch.members.discard(wakeup)
            if not watch.members and self._watches.get(key) is watch:
                del self._watches[key]
                await watch.stop()

    async def _refresh(self, restaurant: Restaurant, key: Key) -> None:
        upstream, native_id, day, party_size = key
        self._drop(upstream, native_id, day)
        self.refreshes[key] = self.refreshes.get(key, 0) + 1
        await self._read(restaurant, day, party_size)

    async def close(self) -> None:
        watches = list(self._watches.values())
        self._watches.clear()
        for watch in watches:
            await watch.stop()
