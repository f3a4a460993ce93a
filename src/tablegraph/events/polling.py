"""Polling for booking events, for upstreams whose providers send no webhooks.

One poller per watched restaurant, however many subscribers watch it: the hub tells
``Pollers`` when a restaurant's stream gets its first subscriber (start) and loses its last
(stop). A poller lists the restaurant's bookings from a day ago to ``poll_window_days`` ahead
every interval (``UpstreamConfig.poll_interval_seconds``, else ``[events]``'), keeps the
previous list, and feeds every booking that differs (one that left the list is read by id:
gone means deleted, which is how LibreBooking cancels) to the feed (which diffs and publishes,
``source: POLL``). The first list is the baseline: it reports nothing. Polls are background
calls (``tablegraph.background``): an upstream with a request budget serves them after every
request a client is waiting for. A failed poll is logged and retried at the next interval.

Across workers, a lease in the store will make one worker's poller the only one
(wip/store); until then each process polls for its own subscribers.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from tablegraph import background
from tablegraph.events.feeds import BookingFeed
from tablegraph.events.hub import Stream
from tablegraph.events.model import EventSource
from tablegraph.model import Booking, BookingQuery, BookingStatus
from tablegraph.providers.base import Provider
from tablegraph.settings import EventSettings

log = logging.getLogger(__name__)


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
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._providers = providers
        self._feed = feed
        self._settings = settings
        self._intervals = intervals
        self._now = now
        self.tasks: dict[Stream, asyncio.Task[None]] = {}
        #: Polls made per stream, for tests and /metrics.
        self.polls: dict[Stream, int] = {}

    def interval(self, upstream: str) -> float:
        own = self._intervals.get(upstream)
        return own if own is not None else self._settings.poll_interval_seconds

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
        self, provider: Provider, previous: dict[str, Booking], current: dict[str, Booking]
    ) -> None:
        for native_id, booking in current.items():
            before = previous.get(native_id)
            if before != booking:
                await self._feed.seen(before, booking, EventSource.POLL)
        gone = [native_id for native_id in previous if native_id not in current]
        if not gone:
            return
        # Moved out of the window, or deleted (LibreBooking deletes what it cancels).
        with background.calls():
            found = await provider.get_bookings(gone)
        for native_id, now in zip(gone, found, strict=True):
            before = previous[native_id]
            if isinstance(now, Booking):
                await self._feed.seen(before, now, EventSource.POLL)
            elif now is None:
                deleted = replace(before, status=BookingStatus.CANCELLED, provider_status="deleted")
                await self._feed.seen(before, deleted, EventSource.POLL)

    async def _run(self, provider: Provider, stream: Stream) -> None:
        interval = self.interval(stream[0])
        previous: dict[str, Booking] | None = None
        while True:
            try:
                current = await self._list(provider, stream[1])
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the next poll tries again
                log.warning("poll of %s/%s failed: %s", stream[0], stream[1], exc)
            else:
                self.polls[stream] = self.polls.get(stream, 0) + 1
                if previous is not None:
                    await self._compare(provider, previous, current)
                previous = current
            await asyncio.sleep(interval)
