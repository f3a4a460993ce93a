"""The event hub: one stream per restaurant, de-duplicated, replayable, never held up by a
slow subscriber.

Contract (``EventBus``; ``MemoryEventHub`` is the in-process implementation, and
``events.storebus.StoreEventBus`` puts the store's pub/sub and event log under one, so a write
on one worker reaches a subscriber on another):

- ``publish`` drops an event whose id it has already seen within the retention window (the
  same change from a webhook and a poll) and answers whether it was new.
- Every subscriber has its own bounded queue. A subscriber whose queue is full when an event
  arrives is closed with ``SLOW_CONSUMER``: it gets what it had queued, then
  ``SubscriptionClosed``; the others never wait for it.
- ``subscribe(after=<event id>)`` first replays the retained events of its streams published
  after that id, then live ones, with nothing in between lost or repeated. An id no longer
  retained is ``REPLAY_UNAVAILABLE``.
- Watchers hear when a stream gets its first subscriber and loses its last (the pollers).
- ``close_all`` ends every subscription with ``SHUTTING_DOWN`` so a stopping process does not
  wait on open streams.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from typing import Protocol

from tablegraph.errors import GatewayError
from tablegraph.events.model import BookingEvent

Stream = tuple[str, str]  # (upstream, native restaurant id)
#: Where an event sits in the store's log (``events.storebus``), in log order.
Position = tuple[int, int]

SLOW_CONSUMER = "SLOW_CONSUMER"
REPLAY_UNAVAILABLE = "REPLAY_UNAVAILABLE"
SHUTTING_DOWN = "SHUTTING_DOWN"


class SubscriptionClosed(GatewayError):
    """The hub ended a subscription; ``code`` says why (``SLOW_CONSUMER``…)."""

    code = "SUBSCRIPTION_CLOSED"

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message, code=code)


class Watcher(Protocol):
    def watch(self, stream: Stream) -> None: ...

    def unwatch(self, stream: Stream) -> None: ...


class Subscriber:
    """One subscription's queue. Iterate it for events; ``close`` it when done."""

    def __init__(self, hub: MemoryEventHub, streams: frozenset[Stream], limit: int) -> None:
        self.streams = streams
        self._hub = hub
        self._limit = limit
        self._items: deque[BookingEvent] = deque()
        self._wake = asyncio.Event()
        self._ended: SubscriptionClosed | None = None
        self.closed = False
        #: While a replay is read elsewhere (the store), live events wait here.
        self._held: list[tuple[BookingEvent, Position | None]] | None = None
        #: The log position the replay reached: live events at or before it are not repeated.
        self._horizon: Position | None = None

    def hold(self) -> None:
        """Keep live events aside until ``release`` (a replay is being read)."""
        self._held = []

    def release(self, backlog: Iterable[BookingEvent], horizon: Position) -> None:
        """Queue ``backlog`` (the replay, not held to the live limit), then the live events
        held meanwhile that come after ``horizon``, the log position the replay reached."""
        held, self._held = self._held or [], None
        self._horizon = horizon
        self._items.extend(backlog)
        for event, position in held:
            self.offer(event, position)
        self._wake.set()

    def offer(self, event: BookingEvent, position: Position | None = None) -> None:
        if self.closed or self._ended is not None:
            return
        if self._held is not None:
            self._held.append((event, position))
            return
        if position is not None and self._horizon is not None and position <= self._horizon:
            return
        if len(self._items) >= self._limit:
            self._end(
                SubscriptionClosed(
                    SLOW_CONSUMER,
                    f"the subscriber fell {self._limit} events behind and was disconnected; "
                    "reconnect with the last event id it received",
                )
            )
            return
        self._items.append(event)
        self._wake.set()

    def _end(self, reason: SubscriptionClosed) -> None:
        self._ended = reason
        self._hub._leave(self)
        self._wake.set()

    def __aiter__(self) -> Subscriber:
        return self

    async def __anext__(self) -> BookingEvent:
        while True:
            if self._items:
                return self._items.popleft()
            if self._ended is not None:
                raise self._ended
            if self.closed:
                raise StopAsyncIteration
            self._wake.clear()
            await self._wake.wait()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._hub._leave(self)
            self._wake.set()


class EventBus(Protocol):
    async def publish(self, event: BookingEvent) -> bool: ...

    async def subscribe(
        self, streams: Iterable[Stream], *, after: str | None = None, limit: int | None = None
    ) -> Subscriber: ...

    def subscribers(self, stream: Stream) -> int: ...

    def add_watcher(self, watcher: Watcher) -> None: ...

    def close_all(self) -> None:
        """End every subscription (``SHUTTING_DOWN``): the process is stopping."""
        ...


class MemoryEventHub:
    """``EventBus`` within one process (see the module)."""

    def __init__(
        self,
        *,
        queue_size: int = 100,
        retention_seconds: float = 900.0,
        max_retained: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.queue_size = queue_size
        self.retention_seconds = retention_seconds
        self._max_retained = max_retained
        self._clock = clock
        self._order = itertools.count(1)
        self._log: deque[tuple[int, float, BookingEvent]] = deque()
        self._seq_of: dict[str, int] = {}
        self._subs: dict[Stream, set[Subscriber]] = defaultdict(set)
        self._watchers: list[Watcher] = []
        #: Events published / dropped as duplicates, for /metrics and tests.
        self.published = 0
        self.duplicates = 0

    def add_watcher(self, watcher: Watcher) -> None:
        self._watchers.append(watcher)

    def subscribers(self, stream: Stream) -> int:
        return len(self._subs.get(stream, ()))

    def watched(self) -> dict[Stream, int]:
        """Every stream with subscribers, and how many."""
        return {stream: len(members) for stream, members in self._subs.items() if members}

    def close_all(self) -> None:
        everyone = {s for members in self._subs.values() for s in members}
        for subscriber in everyone:
            subscriber._end(
                SubscriptionClosed(
                    SHUTTING_DOWN,
                    "the gateway is stopping; reconnect with the last event id received",
                )
            )

    async def publish(self, event: BookingEvent) -> bool:
        return self.deliver(event)

    def deliver(self, event: BookingEvent, position: Position | None = None) -> bool:
        """``publish`` without awaiting: what the store bus hears goes out this way, with the
        event's ``position`` in the store's log."""
        self._expire()
        if event.id in self._seq_of:
            self.duplicates += 1
            return False
        seq = next(self._order)
        self._log.append((seq, self._clock(), event))
        self._seq_of[event.id] = seq
        self.published += 1
        for subscriber in list(self._subs.get(event.stream, ())):
            subscriber.offer(event, position)
        return True

    async def subscribe(
        self, streams: Iterable[Stream], *, after: str | None = None, limit: int | None = None
    ) -> Subscriber:
        return self.attach(streams, after=after, limit=limit)

    def attach(
        self,
        streams: Iterable[Stream],
        *,
        after: str | None = None,
        limit: int | None = None,
        hold: bool = False,
    ) -> Subscriber:
        """``subscribe`` without awaiting: replay from this hub's own log (``after``), or
        ``hold`` live events until the caller ``release``s the subscriber with a replay it
        read elsewhere."""
        self._expire()
        subscriber = Subscriber(self, frozenset(streams), limit or self.queue_size)
        if hold:
            subscriber.hold()
        if after is not None:
            since = self._seq_of.get(after)
            if since is None:
                raise SubscriptionClosed(
                    REPLAY_UNAVAILABLE,
                    "that event id is outside the retention window; subscribe afresh",
                )
            for seq, _, event in self._log:
                if seq > since and event.stream in subscriber.streams:
                    subscriber._items.append(event)  # replay is not held to the live limit
        for stream in subscriber.streams:
            first = not self._subs[stream]
            self._subs[stream].add(subscriber)
            if first:
                for watcher in self._watchers:
                    watcher.watch(stream)
        return subscriber

    def _leave(self, subscriber: Subscriber) -> None:
        for stream in subscriber.streams:
            members = self._subs.get(stream)
            if members is None or subscriber not in members:
                continue
            members.discard(subscriber)
            if not members:
                del self._subs[stream]
                for watcher in self._watchers:
                    watcher.unwatch(stream)

    def _expire(self) -> None:
        horizon = self._clock() - self.retention_seconds
        while self._log and (self._log[0][1] < horizon or len(self._log) > self._max_retained):
            _, _, event = self._log.popleft()
            self._seq_of.pop(event.id, None)
