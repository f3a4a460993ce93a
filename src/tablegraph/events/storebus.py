"""The event bus across workers: the store's pub/sub and event log under a local hub.

``StoreEventBus`` keeps the ``EventBus`` contract (``events.hub``) when several processes share
one store (Redis, or one SQLite file on a host):

- ``publish`` claims the event's id in the store (``set_if_absent``, kept for the retention
  window), so the same change learnt by two workers — one from a webhook, one from a poll —
  is published once; then appends it to the shared event log and announces it on the
  restaurant's channel with its log entry id.
- Each worker listens on a restaurant's channel while it has a local subscriber for it: one
  store subscription per worker and restaurant, however many subscribers; what it hears goes
  to the local ``MemoryEventHub``, which fans it out to the bounded per-subscriber queues.
  A worker hears its own events the same way, so every subscriber sees one order.
- ``subscribe(after=<event id>)`` reads the replay from the store's log (one log for every
  restaurant, so one position serves a subscription to several), which is what lets a client
  reconnect to another worker. Live events are held while the replay is read, and those at or
  before the log position it reached are not repeated (a message may be heard after the log
  was read).
- The local hub's watchers (the pollers) still hear a restaurant's first and last local
  subscriber; the poll lease (``events.polling``) makes one worker's poller the only one.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable, Iterable

from tablegraph.events.hub import (
    REPLAY_UNAVAILABLE,
    MemoryEventHub,
    Position,
    Stream,
    Subscriber,
    SubscriptionClosed,
    Watcher,
)
from tablegraph.events.model import BookingEvent
from tablegraph.stores import codec
from tablegraph.stores.base import Store, Subscription

log = logging.getLogger(__name__)

#: The one event log of every restaurant's events.
LOG = "booking-events"
#: Entries read from the log per store call during a replay.
PAGE = 200


def channel(stream: Stream) -> str:
    return f"booking-events:{stream[0]}:{stream[1]}"


def position(entry: str) -> Position:
    """A log entry id in log order: the stores' ids are integers (memory, SQLite) or Redis
    stream ids (``<ms>-<seq>``)."""
    head, _, tail = entry.partition("-")
    return int(head), int(tail or 0)


def _seen_key(event_id: str) -> str:
    return f"booking-event:{event_id}"


def encode(event: BookingEvent) -> str:
    return json.dumps(codec.dump(event), separators=(",", ":"))


def decode(data: str) -> BookingEvent:
    return codec.load(BookingEvent, json.loads(data))


class StoreEventBus:
    """``EventBus`` over a shared ``Store`` (see the module)."""

    def __init__(
        self,
        store: Store,
        *,
        queue_size: int = 100,
        retention_seconds: float = 900.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.retention_seconds = retention_seconds
        #: The local fan-out: bounded queues, slow-consumer closing, first/last watchers.
        self.local = MemoryEventHub(
            queue_size=queue_size, retention_seconds=retention_seconds, clock=clock
        )
        self.local.add_watcher(self)
        self._listeners: dict[Stream, asyncio.Task[None]] = {}
        self._ready: dict[Stream, asyncio.Future[None]] = {}
        #: Events this worker published / found already published by someone, for tests.
        self.published = 0
        self.duplicates = 0

    # ---- EventBus -------------------------------------------------------------------------

    async def publish(self, event: BookingEvent) -> bool:
        key = _seen_key(event.id)
        if not await self.store.set_if_absent(key, "", self.retention_seconds):
            self.duplicates += 1
            return False
        data = encode(event)
        try:
            entry = await self.store.append(LOG, data, self.retention_seconds)
            await self.store.set(key, entry, self.retention_seconds)
        except BaseException:
            # Not in the log: give the id back, so the next feed to learn the change (a poll,
            # a redelivered webhook) publishes it instead of taking it for a repeat.
            with contextlib.suppress(Exception):
                await self.store.delete(key)
            raise
        await self.store.publish(channel(event.stream), f"{entry} {data}")
        self.published += 1
        return True

    async def subscribe(
        self, streams: Iterable[Stream], *, after: str | None = None, limit: int | None = None
    ) -> Subscriber:
        subscriber = self.local.attach(streams, limit=limit, hold=after is not None)
        try:
            await self._listening(subscriber.streams)
            if after is not None:
                backlog, horizon = await self._replay(subscriber.streams, after)
                subscriber.release(backlog, horizon)
        except BaseException:
            subscriber.close()
            raise
        return subscriber

    def subscribers(self, stream: Stream) -> int:
        return self.local.subscribers(stream)

    def add_watcher(self, watcher: Watcher) -> None:
        self.local.add_watcher(watcher)

    def close_all(self) -> None:
        self.local.close_all()

    async def close(self) -> None:
        """Stop listening to the store (the gateway is closing)."""
        tasks = list(self._listeners.values())
        self._listeners.clear()
        self._ready.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # ---- the store ------------------------------------------------------------------------

    async def _replay(
        self, streams: frozenset[Stream], after: str
    ) -> tuple[list[BookingEvent], Position]:
        """The events of ``streams`` after the event ``after``, and the log position read to."""
        entry = await self.store.get(_seen_key(after))
        if not entry:
            raise SubscriptionClosed(
                REPLAY_UNAVAILABLE,
                "that event id is outside the retention window; subscribe afresh",
            )
        backlog: list[BookingEvent] = []
        while True:
            page = await self.store.read(LOG, after=entry, limit=PAGE)
            for item in page:
                try:
                    event = decode(item.data)
                except (ValueError, TypeError, KeyError):
                    log.warning("skipped an unreadable entry %s of the event log", item.id)
                    continue
                if event.stream in streams:
                    backlog.append(event)
            if page:
                entry = page[-1].id
            if len(page) < PAGE:
                return backlog, position(entry)

    async def _listening(self, streams: Iterable[Stream]) -> None:
        """Wait until this worker hears every one of ``streams`` from the store."""
        for stream in streams:
            ready = self._ready.get(stream)
            if ready is None:
                continue
            try:
                await asyncio.shield(ready)
            except asyncio.CancelledError:
                if not ready.cancelled():
                    raise  # this task was cancelled, not the listener
                # the listener stopped because the stream lost its subscribers meanwhile

    def hearing(self, stream: Stream) -> bool:
        """Whether this worker listens to ``stream`` on the store (tests, /metrics)."""
        ready = self._ready.get(stream)
        if ready is None or not ready.done() or ready.cancelled():
            return False
        return ready.exception() is None

    def watch(self, stream: Stream) -> None:
        """The stream's first local subscriber: start hearing it from the store."""
        loop = asyncio.get_running_loop()
        self._ready[stream] = loop.create_future()
        self._listeners[stream] = loop.create_task(self._listen(stream, self._ready[stream]))

    def unwatch(self, stream: Stream) -> None:
        self._ready.pop(stream, None)
        task = self._listeners.pop(stream, None)
        if task is not None:
            task.cancel()

    async def _listen(self, stream: Stream, ready: asyncio.Future[None]) -> None:
        subscription: Subscription | None = None
        try:
            subscription = await self.store.subscribe(channel(stream))
            if not ready.done():
                ready.set_result(None)
            async for data in subscription:
                self._deliver(data)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("stopped hearing booking events of %s/%s", *stream)
            if not ready.done():
                ready.set_exception(exc)
        finally:
            if not ready.done():
                ready.cancel()
            if subscription is not None:
                with contextlib.suppress(Exception):
                    await subscription.aclose()

    def _deliver(self, message: str) -> None:
        entry, _, data = message.partition(" ")
        try:
            event, at = decode(data), position(entry)
        except (ValueError, TypeError, KeyError):
            log.warning("ignored an unreadable booking event message")
            return
        self.local.deliver(event, at)


__all__ = ["StoreEventBus", "channel", "decode", "encode"]
