"""Polling for booking events, for upstreams whose providers send no webhooks.

One poller per watched restaurant, however many subscribers watch it: the hub tells
``Pollers`` when a restaurant's stream gets its first subscriber (start) and loses its last
(stop). A poller lists the restaurant's bookings from a day ago to ``poll_window_days`` ahead
every interval (``UpstreamConfig.poll_interval_seconds``, else ``[events]``'), keeps the
previous list, and feeds every booking that differs (one that left the list is read by id:
gone means deleted, which is how LibreBooking cancels) to the feed (which diffs and publishes,
``source: POLL``). The first list is the baseline: it reports nothing. Polls are background
calls (``tablegraph.background``): an upstream with a request budget serves them after every
request a client is waiting for. A failed poll is logged and retried at the next interval;
a comparison that fails half-way (a booking that left the list cannot be read) leaves what it
has not told to the next poll, which tells it once.

Across workers sharing a store, a lease makes one poller per restaurant in all: a worker with
subscribers takes ``poll-lease:<upstream>:<restaurant>`` (``set_if_absent`` with a TTL of
three intervals, at least three seconds), renews it while it polls (a heartbeat beside the polls,
so a slow poll does not lose it), and gives it back when its last local subscriber leaves.
The others retry every interval and take over when it is given back or expires (its holder
died). What the leader polls reaches every worker through the store's event bus
(``events.storebus``). The leader keeps its last listing in the store for a few intervals, so
a worker that takes over diffs against it instead of starting from a silent baseline.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from tablegraph import background
from tablegraph.events.feeds import BookingFeed
from tablegraph.events.hub import Stream
from tablegraph.events.model import EventSource
from tablegraph.model import Booking, BookingQuery, BookingStatus
from tablegraph.providers.base import Provider
from tablegraph.settings import EventSettings
from tablegraph.stores import codec
from tablegraph.stores.base import Store

log = logging.getLogger(__name__)
T = TypeVar("T")
#: The shortest poll lease: a held-up event loop should not lose it between renewals.
MIN_LEASE_SECONDS = 3.0


def polled(provider: Provider) -> bool:
    """Providers that cannot tell the gateway about changes themselves."""
    return type(provider).verify_webhook is Provider.verify_webhook


class Pollers:
    """The hub's watcher that runs one polling task per watched restaurant."""

    def __init__(
        self,
        providers: dict[str, Provider],
        feed: BookingFeed,
        settings: EventSettings,
        intervals: dict[str, float | None],
        *,
        store: Store | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._providers = providers
        self._feed = feed
        self._settings = settings
        self._intervals = intervals
        #: Where the lease lives; ``None``: this process polls for its own subscribers.
        self._store = store
        self._now = now
        self.tasks: dict[Stream, asyncio.Task[None]] = {}
        #: Polls made per stream, for tests and /metrics.
        self.polls: dict[Stream, int] = {}
        #: Streams whose lease this worker holds (it is the one polling them).
        self.leading: set[Stream] = set()
        #: Times this worker took a stream's lease (a lapse it got back does not count).
        self.leads: dict[Stream, int] = {}

    def interval(self, upstream: str) -> float:
        own = self._intervals.get(upstream)
        return own if own is not None else self._settings.poll_interval_seconds

    def lease_seconds(self, upstream: str) -> float:
        return max(3 * self.interval(upstream), MIN_LEASE_SECONDS)

    def watch(self, stream: Stream) -> None:
        provider = self._providers.get(stream[0])
        if provider is None or not polled(provider) or stream in self.tasks:
            return
        task = asyncio.get_running_loop().create_task(self._run(provider, stream))
        self.tasks[stream] = task

    def unwatch(self, stream: Stream) -> None:
        task = self.tasks.pop(stream, None)
        if task is not None:
            task.cancel()

    async def close(self) -> None:
        tasks = list(self.tasks.values())
        self.tasks.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _list(self, provider: Provider, restaurant_id: str) -> dict[str, Booking]:
        now = self._now()
        query = BookingQuery(
            restaurant_id=restaurant_id,
            start=now - timedelta(days=1),
            end=now + timedelta(days=self._settings.poll_window_days),
        )
        with background.calls():
            found = await provider.list_bookings(query)
        return {b.native_id: b for b in found}

    async def _compare(
        self, provider: Provider, told: dict[str, Booking], current: dict[str, Booking]
    ) -> None:
        """Tell the feed what changed from the listing ``told`` to ``current``, bringing
        ``told`` up to date as each change is told: when this fails half-way (a booking that
        left the list cannot be read, the bus is down), the next poll tells what is left,
        once. A booking that left the list and could not be read stays to be read again."""
        for native_id, booking in current.items():
            before = told.get(native_id)
            if before != booking:
                await self._feed.seen(before, booking, EventSource.POLL)
                told[native_id] = booking
        gone = [native_id for native_id in told if native_id not in current]
        if not gone:
            return
        # Moved out of the window, or deleted (LibreBooking deletes what it cancels).
        with background.calls():
            found = await provider.get_bookings(gone)
        for native_id, now in zip(gone, found, strict=True):
            before = told[native_id]
            if isinstance(now, Booking):
                await self._feed.seen(before, now, EventSource.POLL)
            elif now is None:
                deleted = replace(before, status=BookingStatus.CANCELLED, provider_status="deleted")
                await self._feed.seen(before, deleted, EventSource.POLL)
            else:  # not read this time (an error in its place): read again next poll
                continue
            del told[native_id]

    async def _told(
        self,
        provider: Provider,
        stream: Stream,
        told: dict[str, Booking],
        current: dict[str, Booking],
    ) -> None:
        """``_compare``, which never ends the poller: one stopped on an error would keep its
        lease, and nobody would poll the restaurant while it did."""
        try:
            await self._compare(provider, told, current)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("poll of %s/%s: changes left to tell: %s", stream[0], stream[1], exc)

    async def _run(self, provider: Provider, stream: Stream) -> None:
        if self._store is None:
            await self._poll(provider, stream)
            return
        store, upstream = self._store, stream[0]
        key, token = _lease_key(stream), uuid.uuid4().hex
        lease, retry = self.lease_seconds(upstream), self.interval(upstream)
        try:
            while True:
                if await _quietly(store.set_if_absent(key, token, lease), False):
                    self.leading.add(stream)
                    self.leads[stream] = self.leads.get(stream, 0) + 1
                    try:
                        await self._lead(provider, stream, store, key, token)
                    finally:
                        self.leading.discard(stream)
                else:
                    await asyncio.sleep(retry)  # another worker polls; take over when it stops
        finally:
            with contextlib.suppress(Exception):
                await store.compare_and_set(key, token, None)

    async def _lead(
        self, provider: Provider, stream: Stream, store: Store, key: str, token: str
    ) -> None:
        """Poll while the lease is ours; return once another worker holds it."""
        lease = self.lease_seconds(stream[0])
        polling = asyncio.create_task(self._poll(provider, stream, await self._handed(stream)))
        try:
            while True:
                await asyncio.sleep(lease / 3)
                # A store outage keeps this poller going: nobody else can take the lease then.
                if await _quietly(store.compare_and_set(key, token, token, lease), True):
                    continue
                # Lapsed while this process was held up: ours again if nobody took it (the
                # poll under way goes on), else the other worker's.
                if not await _quietly(store.set_if_absent(key, token, lease), True):
                    log.info("poll lease of %s/%s went to another worker", *stream)
                    return
        finally:
            polling.cancel()
            await asyncio.gather(polling, return_exceptions=True)

    async def _handed(self, stream: Stream) -> dict[str, Booking] | None:
        """The listing a previous leader left (``None``: start from a baseline)."""
        if self._store is None:
            return None
        raw = await _quietly(self._store.get(_state_key(stream)), None)
        if not raw:
            return None
        try:
            return {b.native_id: b for b in (codec.load(Booking, d) for d in json.loads(raw))}
        except (ValueError, TypeError, KeyError):
            return None

    async def _hand_over(self, stream: Stream, current: dict[str, Booking]) -> None:
        if self._store is None:
            return
        data = json.dumps([codec.dump(b) for b in current.values()], separators=(",", ":"))
        ttl = 2 * self.lease_seconds(stream[0])
        await _quietly(self._store.set(_state_key(stream), data, ttl), None)

    async def _poll(
        self, provider: Provider, stream: Stream, previous: dict[str, Booking] | None = None
    ) -> None:
        interval = self.interval(stream[0])
        while True:
            try:
                current = await self._list(provider, stream[1])
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the next poll tries again
                log.warning("poll of %s/%s failed: %s", stream[0], stream[1], exc)
            else:
                self.polls[stream] = self.polls.get(stream, 0) + 1
                if previous is None:
                    previous = current
                else:  # brought up to date in place (this poller's own listing)
                    await self._told(provider, stream, previous, current)
                await self._hand_over(stream, previous)
            await asyncio.sleep(interval)


def _lease_key(stream: Stream) -> str:
    return f"poll-lease:{stream[0]}:{stream[1]}"


def _state_key(stream: Stream) -> str:
    return f"poll-state:{stream[0]}:{stream[1]}"


async def _quietly(call: Awaitable[T], otherwise: T) -> T:
    """``call``'s answer, or ``otherwise`` when the store fails (logged)."""
    try:
        return await call
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        log.warning("poll lease: the store failed: %s", exc)
        return otherwise
