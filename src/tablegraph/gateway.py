"""The gateway's long-lived core: providers by upstream name and the shared caches.

Resolvers never talk to providers about reference data or availability directly; they come
through here so that caching and invalidation live in one place:

- restaurant lists and opening hours per upstream: TTL (minutes), single-flight, served stale
  (and marked so in the response's provenance) while their upstream is failing;
- availability per (upstream, restaurant, local date, party size): TTL (seconds), dropped by
  any booking write through the gateway for that restaurant and date, and by webhooks;
- idempotency records for booking mutations, and the booking service that uses them
  (``gateway.bookings``, ``tablegraph.bookings``).

What must outlive the process or be shared between workers — idempotency records, write
intents — lives in the store (``gateway.store``, ``tablegraph.stores``). The caches stay in
each process; an availability invalidation is also published on the store, so every worker
sharing it drops the same entries.

Every cache hit and stale fallback is recorded in the request's provenance
(``tablegraph.provenance``); the upstream client records the calls themselves.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Hashable, Iterable, Sequence
from datetime import date
from typing import Any, TypeVar

import httpx

from tablegraph import deadline, inputs, provenance
from tablegraph.bookings import BookingService, dump_outcome, load_outcome
from tablegraph.cache import AsyncTTLCache, Timer
from tablegraph.errors import GatewayError, NotFound, NotSupported, UpstreamError, UpstreamTimeout
from tablegraph.events.availability import AvailabilityWatches
from tablegraph.events.feeds import BookingFeed
from tablegraph.events.polling import Pollers
from tablegraph.events.storebus import StoreEventBus
from tablegraph.idempotency import IdempotencyStore
from tablegraph.metrics import Metrics
from tablegraph.model import (
    Booking,
    BookingQuery,
    Capability,
    Guest,
    OpeningHours,
    Restaurant,
    Review,
    Slot,
    Table,
)
from tablegraph.providers import provider_class
from tablegraph.providers.base import Provider
from tablegraph.providers.kit import Runtime
from tablegraph.providers.kit.batch import Batch
from tablegraph.reconcile import LostCreates
from tablegraph.settings import GatewaySettings
from tablegraph.stores import MemoryStore, Store, Subscription, open_store
from tablegraph.stores.timed import TimedStore

log = logging.getLogger(__name__)
V = TypeVar("V")
#: The store channel on which workers tell each other which availability to drop.
INVALIDATIONS = "invalidate-availability"
#: How long a provider's webhook event id is remembered (a redelivery within it is dropped).
WEBHOOK_DEDUPE_SECONDS = 24 * 3600.0


def _of_upstream(key: Hashable, upstream: str) -> bool:
    """A shared read's key, ``(upstream, …)``, of ``upstream``."""
    return isinstance(key, tuple) and key[0] == upstream


def _outage(exc: BaseException) -> bool:
    """Failures that stale reference data may paper over (not a bug, not a bad request)."""
    return isinstance(exc, UpstreamError)


class Gateway:
    def __init__(
        self,
        settings: GatewaySettings,
        providers: Iterable[Provider] | None = None,
        *,
        timer: Timer = time.monotonic,
        runtime: Runtime | None = None,
        store: Store | None = None,
    ) -> None:
        self.settings = settings
        self._owns_store = store is None
        if store is None:
            kind = settings.store.kind
            store = MemoryStore(clock=timer) if kind == "memory" else open_store(settings.store)
        #: Read by ``/metrics``; made first, so the store and every upstream client report to it.
        self.metrics = Metrics(self)
        #: Everything remembered beyond a request (``tablegraph.stores``), each call timed.
        self.store: Store = TimedStore(store, self.metrics.observe_store)
        #: What every adapter is built with: test seams and the gateway's own caches.
        self.runtime = runtime or Runtime(monotonic=timer)
        if self.runtime.store is None:
            self.runtime.store = self.store
        self.runtime.calls = self.metrics  # a runtime reused after a restart: the new gateway's
        assert self.runtime.caches is not None
        # The naive baseline keeps nothing: every answer is decoded and mapped again.
        self.runtime.caches.keep_answers = not settings.naive
        #: Tells this gateway's own invalidation messages from other workers'.
        self.instance = uuid.uuid4().hex
        self._listener: asyncio.Task[None] | None = None
        self._publishing: set[asyncio.Task[None]] = set()
        if providers is None:
            providers = [provider_class(u.kind)(u, self.runtime) for u in settings.upstreams]
        self.providers: dict[str, Provider] = {p.name: p for p in providers}
        stale = settings.reference_stale_seconds
        # The naive baseline keeps nothing: every read goes upstream.
        reference_ttl = 0.0 if settings.naive else settings.reference_ttl_seconds
        availability_ttl = 0.0 if settings.naive else settings.availability_ttl_seconds
        self.restaurant_lists: AsyncTTLCache[list[Restaurant]] = AsyncTTLCache(
            reference_ttl, timer=timer, stale_ttl=stale
        )
        self.availability: AsyncTTLCache[list[Slot]] = AsyncTTLCache(availability_ttl, timer=timer)
        self.opening: AsyncTTLCache[OpeningHours] = AsyncTTLCache(
            reference_ttl, timer=timer, stale_ttl=stale
        )
        self.table_lists: AsyncTTLCache[list[Table]] = AsyncTTLCache(
            reference_ttl, timer=timer, stale_ttl=stale
        )
        self.review_lists: AsyncTTLCache[list[Review]] = AsyncTTLCache(60.0, timer=timer)
        #: Booking and guest reads are never kept, only shared while in flight
        #: (``booking_list``, ``booking_batch``, ``guest_batch``).
        share = settings.share_reads_in_flight and not settings.naive

        def in_flight() -> AsyncTTLCache[Any] | None:
            return AsyncTTLCache(0.0, timer=timer) if share else None

        self.booking_lists: AsyncTTLCache[list[Booking]] | None = in_flight()
        self.booking_batches: AsyncTTLCache[Batch[Booking]] | None = in_flight()
        self.guest_batches: AsyncTTLCache[Batch[Guest]] | None = in_flight()
        #: Upstream reads sent again to revalidate a kept answer (``graphql/revalidated.py``),
        #: shared while in flight and detached by a booking change as the reads above are.
        self.reads_again: AsyncTTLCache[httpx.Response] | None = in_flight()
        self.idempotency: IdempotencyStore[Any] = IdempotencyStore(
            self.store, dump=dump_outcome, load=load_outcome
        )
        self.lost_creates = LostCreates(self.store)
        #: Last known health per upstream: None (never checked), or the error code.
        self.last_error: dict[str, str | None] = {name: None for name in self.providers}
        #: Every booking write goes through here, whatever transport asked for it.
        self.bookings = BookingService(self)
        #: Live booking events: the bus, what feeds it, and the pollers its subscribers start.
        ev = settings.events
        self.events = StoreEventBus(
            store, queue_size=ev.queue_size, retention_seconds=ev.retention_seconds, clock=timer
        )
        self.feed = BookingFeed(self.events)
        intervals = {u.name: u.poll_interval_seconds for u in settings.upstreams}
        self.pollers = Pollers(self.providers, self.feed, ev, intervals, store=store)
        self.events.add_watcher(self.pollers)
        #: ``availabilityChanged``: one watch per (restaurant, day, party size) on this worker.
        self.availability_watches = AvailabilityWatches(
            self.events, self.slots, self._drop_availability
        )

    async def start(self) -> None:
        subscription = await self.store.subscribe(INVALIDATIONS)
        self._listener = asyncio.create_task(self._hear_invalidations(subscription))
        await asyncio.gather(*(p.start() for p in self.providers.values()))

    async def close(self) -> None:
        await self.availability_watches.close()
        await self.pollers.close()
        await self.events.close()
        await asyncio.gather(*(p.close() for p in self.providers.values()), return_exceptions=True)
        if self._publishing:
            await asyncio.gather(*self._publishing, return_exceptions=True)
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
        if self._owns_store:
            await self.store.close()

    async def first_delivery(self, upstream: str, event_id: str) -> bool:
        """Claim a webhook delivery by the provider's event id, in the store: True for the
        first delivery on any worker (or before a restart) within ``WEBHOOK_DEDUPE_SECONDS``."""
        key = f"webhook-delivery:{upstream}:{event_id}"
        return await self.store.set_if_absent(key, "1", WEBHOOK_DEDUPE_SECONDS)

    def provider(self, upstream: str) -> Provider:
        try:
            return self.providers[upstream]
        except KeyError:
            raise NotFound(f"no upstream named {upstream!r}") from None

    # ---- reference data -----------------------------------------------------------------

    async def restaurants_of(self, upstream: str) -> list[Restaurant]:
        provider = self.provider(upstream)
        try:
            restaurants = await self._cached(
                self.restaurant_lists, upstream, upstream, provider.list_restaurants, stale=True
            )
        except UpstreamError as exc:
            self.last_error[upstream] = exc.code
            raise
        return restaurants

    async def opening_hours(self, restaurant: Restaurant) -> OpeningHours:
        provider = self.provider(restaurant.upstream)
        return await self._cached(
            self.opening,
            restaurant.upstream,
            (restaurant.upstream, restaurant.native_id),
            lambda: provider.get_opening_hours(restaurant.native_id),
            stale=True,
        )

    async def tables(self, restaurant: Restaurant) -> list[Table]:
        """Reference data: cached like opening hours, and served stale while the upstream
        fails."""
        provider = self._capable(restaurant, Capability.TABLES, "does not list tables")
        return await self._cached(
            self.table_lists,
            restaurant.upstream,
            (restaurant.upstream, restaurant.native_id),
            lambda: provider.list_tables(restaurant.native_id),
            stale=True,
        )

    async def reviews(self, restaurant: Restaurant) -> list[Review]:
        provider = self._capable(restaurant, Capability.REVIEWS, "has no reviews")
        return await self._cached(
            self.review_lists,
            restaurant.upstream,
            (restaurant.upstream, restaurant.native_id),
            lambda: provider.list_reviews(restaurant.native_id),
        )

    def _capable(self, restaurant: Restaurant, capability: Capability, lacking: str) -> Provider:
        """The restaurant's provider, if the restaurant has ``capability``; else
        ``NotSupported`` saying "<provider> <lacking>"."""
        provider = self.provider(restaurant.upstream)
        if capability not in restaurant.capabilities:
            raise NotSupported(f"{provider.display_name} {lacking}", upstream=restaurant.upstream)
        return provider

    # ---- bookings -------------------------------------------------------------------------

    async def booking_list(self, upstream: str, query: BookingQuery) -> list[Booking]:
        """The bookings ``query`` asks for, from the upstream — never from a cache. A request
        that asks exactly what another is reading at the moment shares that read (its answer
        is at most one upstream round trip old, as if it had arrived a moment earlier), unless
        a booking write or change of that restaurant has been seen since the read began
        (``_drop_availability``): then it reads anew, and sees the change. Twenty tablets
        polling one restaurant's day make one upstream call at a time, not twenty, and the
        rows are parsed and mapped once (issue #16)."""
        provider = self.provider(upstream)
        key = (upstream, query.restaurant_id, query)
        return await self._shared(
            self.booking_lists, upstream, key, lambda: provider.list_bookings(query)
        )

    async def booking_batch(self, upstream: str, ids: Sequence[str]) -> Batch[Booking]:
        """``get_bookings(ids)``, shared as ``booking_list`` is; any booking change of the
        upstream seen since the read began detaches it."""
        provider = self.provider(upstream)
        key = (upstream, tuple(ids))
        return await self._shared(
            self.booking_batches, upstream, key, lambda: provider.get_bookings(ids)
        )

    async def guest_batch(self, upstream: str, ids: Sequence[str]) -> Batch[Guest]:
        """``get_guests(ids)``, shared as ``booking_list`` is; a booking change or guest write
        of the upstream seen since the read began detaches it (``guests_changed``)."""
        provider = self.provider(upstream)
        key = (upstream, tuple(ids))
        return await self._shared(
            self.guest_batches, upstream, key, lambda: provider.get_guests(ids)
        )

    def guests_changed(self, upstream: str) -> None:
        """A guest of ``upstream`` was written here: reads of its guests begun before are not
        shared any more."""
        if self.guest_batches is not None:
            self.guest_batches.invalidate(lambda key: _of_upstream(key, upstream))

    async def _shared(
        self,
        reads: AsyncTTLCache[list[V]] | None,
        upstream: str,
        key: Hashable,
        load: Callable[[], Awaitable[list[V]]],
    ) -> list[V]:
        """``load()``, or the same load another request has in flight (``reads`` None: not
        shared). Every caller gets its own list; the values in it are immutable."""
        got = await (load() if reads is None else self._cached(reads, upstream, key, load))
        return list(got)

    # ---- availability -------------------------------------------------------------------

    async def slots(self, restaurant: Restaurant, day: date, party_size: int) -> list[Slot]:
        """Never stale: a failing upstream fails the read (bookings are re-checked anyway)."""
        provider = self.provider(restaurant.upstream)
        key = (restaurant.upstream, restaurant.native_id, day, party_size)
        return await self._cached(
            self.availability,
            restaurant.upstream,
            key,
            lambda: provider.get_availability(restaurant.native_id, day, party_size),
        )

    async def _cached(
        self,
        cache: AsyncTTLCache[V],
        upstream: str,
        key: Hashable,
        loader: Callable[[], Awaitable[V]],
        *,
        stale: bool = False,
    ) -> V:
        """A cache read that records its provenance; ``stale`` serves old data in an outage."""
        try:
            got = await cache.fetch(key, loader, stale_if=_outage if stale else None)
        except TimeoutError:  # waited on another request's load past our deadline
            raise UpstreamTimeout(
                f"{upstream} did not answer within the request's deadline", upstream=upstream
            ) from None
        record = provenance.current()
        if record is not None:
            record.touched(upstream)
        if got.stale:
            code = got.error.code if isinstance(got.error, GatewayError) else "UPSTREAM_ERROR"
            self.last_error[upstream] = code
            log.warning("serving stale data of %s (%s)", upstream, code)
            if record is not None:
                record.failed(upstream, code)
        elif got.age is None:
            self.last_error[upstream] = None  # it just answered
        if record is not None and got.age is not None:
            record.served_cached(upstream, got.age, stale=got.stale)
        noting = inputs.current()
        if noting is not None and got.age is not None:
            noting.served.append((upstream, cache, key))
        return got.value

    def invalidate_availability(
        self, upstream: str, restaurant_id: str | None = None, day: date | None = None
    ) -> int:
        """Drop cached availability here, and tell every other worker sharing the store."""
        message = json.dumps(
            {
                "from": self.instance,
                "upstream": upstream,
                "restaurant": restaurant_id,
                "day": day.isoformat() if day is not None else None,
            }
        )
        with contextlib.suppress(RuntimeError):  # no running loop: nobody else to tell
            task = asyncio.get_running_loop().create_task(
                self.store.publish(INVALIDATIONS, message)
            )
            self._publishing.add(task)
            task.add_done_callback(self._published)
        return self._drop_availability(upstream, restaurant_id, day)

    def _published(self, task: asyncio.Task[None]) -> None:
        self._publishing.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("could not publish an invalidation: %s", task.exception())

    async def _hear_invalidations(self, subscription: Subscription) -> None:
        try:
            async for raw in subscription:
                try:
                    message = json.loads(raw)
                    if message.get("from") == self.instance:
                        continue
                    day = message.get("day")
                    self._drop_availability(
                        message["upstream"],
                        message.get("restaurant"),
                        date.fromisoformat(day) if day else None,
                    )
                except (ValueError, KeyError, TypeError):
                    log.warning("ignored a malformed invalidation message")
        except asyncio.CancelledError:
            raise
        except Exception:  # the store went away: caches still expire by their TTL
            log.exception("stopped hearing invalidations from the store")
        finally:
            await subscription.aclose()

    def _drop_availability(
        self, upstream: str, restaurant_id: str | None = None, day: date | None = None
    ) -> int:
        """What a booking change of the restaurant on ``day`` makes stale here: its cached
        availability (the count returned), and the booking and guest reads in flight."""

        def listed(key: Hashable) -> bool:
            assert isinstance(key, tuple)
            return key[0] == upstream and (restaurant_id is None or key[1] == restaurant_id)

        def hit(key: Hashable) -> bool:
            assert isinstance(key, tuple)
            return listed(key) and (day is None or key[2] == day)

        if self.booking_lists is not None:
            self.booking_lists.invalidate(listed)
        if self.reads_again is not None:  # keyed by upstream and request: all of it
            self.reads_again.invalidate(lambda key: _of_upstream(key, upstream))
        if self.booking_batches is not None:  # keyed by booking id, not restaurant: all
            self.booking_batches.invalidate(lambda key: _of_upstream(key, upstream))
        self.guests_changed(upstream)  # a booking write may change its guest too
        return self.availability.invalidate(hit)

    # ---- health ---------------------------------------------------------------------------

    async def check(self, upstream: str, timeout: float = 3.0) -> tuple[bool, str | None, float]:
        """Probe one upstream: (ok, error code, latency in ms)."""
        provider = self.provider(upstream)
        started = time.perf_counter()
        try:
            # The probe's deadline is the upstream client's to keep (its own timeouts, never a
            # cancellation inside httpx: see ``upstream.UpstreamClient._attempt``); the outer
            # bound only catches a provider that waits on something else.
            with deadline.scope(timeout):
                await asyncio.wait_for(provider.check_health(), timeout + 1.0)
            code: str | None = None
        except TimeoutError:
            code = "UPSTREAM_TIMEOUT"
        except GatewayError as exc:
            code = exc.code
        except Exception:  # a provider bug must not take /readyz down with it
            log.exception("health check of %s failed unexpectedly", upstream)
            code = "INTERNAL"
        self.last_error[upstream] = code
        return code is None, code, (time.perf_counter() - started) * 1000
