"""The gateway's long-lived core: providers by upstream name and the shared caches.

Resolvers never talk to providers about reference data or availability directly; they come
through here so that caching and invalidation live in one place:

- restaurant lists and opening hours per upstream: TTL (minutes), single-flight, served stale
  (and marked so in the response's provenance) while their upstream is failing;
- availability per (upstream, restaurant, local date, party size): TTL (seconds), dropped by
  any booking write through the gateway for that restaurant and date, and by webhooks;
- idempotency records for booking mutations, and the booking service that uses them
  (``gateway.bookings``, ``tablegraph.bookings``).

Every cache hit and stale fallback is recorded in the request's provenance
(``tablegraph.provenance``); the upstream client records the calls themselves.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Hashable, Iterable
from datetime import date
from typing import Any, TypeVar

from tablegraph import provenance
from tablegraph.bookings import BookingService
from tablegraph.cache import AsyncTTLCache, Timer
from tablegraph.errors import GatewayError, NotFound, NotSupported, UpstreamError, UpstreamTimeout
from tablegraph.events.feeds import BookingFeed
from tablegraph.events.hub import EventBus, MemoryEventHub
from tablegraph.events.polling import Pollers
from tablegraph.idempotency import IdempotencyStore
from tablegraph.model import Capability, OpeningHours, Restaurant, Review, Slot
from tablegraph.providers import provider_class
from tablegraph.providers.base import Provider
from tablegraph.providers.kit import Runtime
from tablegraph.reconcile import LostCreates
from tablegraph.settings import GatewaySettings

log = logging.getLogger(__name__)
V = TypeVar("V")


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
    ) -> None:
        self.settings = settings
        #: What every adapter is built with: test seams and the gateway's own caches.
        self.runtime = runtime or Runtime(monotonic=timer)
        if providers is None:
            providers = [provider_class(u.kind)(u, self.runtime) for u in settings.upstreams]
        self.providers: dict[str, Provider] = {p.name: p for p in providers}
        stale = settings.reference_stale_seconds
        self.restaurant_lists: AsyncTTLCache[list[Restaurant]] = AsyncTTLCache(
            settings.reference_ttl_seconds, timer=timer, stale_ttl=stale
        )
        self.availability: AsyncTTLCache[list[Slot]] = AsyncTTLCache(
            settings.availability_ttl_seconds, timer=timer
        )
        self.opening: AsyncTTLCache[OpeningHours] = AsyncTTLCache(
            settings.reference_ttl_seconds, timer=timer, stale_ttl=stale
        )
        self.review_lists: AsyncTTLCache[list[Review]] = AsyncTTLCache(60.0, timer=timer)
        self.idempotency: IdempotencyStore[Any] = IdempotencyStore(timer=timer)
        self.lost_creates = LostCreates()
        #: Last known health per upstream: None (never checked), or the error code.
        self.last_error: dict[str, str | None] = {name: None for name in self.providers}
        self.seen_webhook_events: AsyncTTLCache[bool] = AsyncTTLCache(3600.0, timer=timer)
        #: Every booking write goes through here, whatever transport asked for it.
        self.bookings = BookingService(self)
        #: Live booking events: the bus, what feeds it, and the pollers its subscribers start.
        ev = settings.events
        self.events: EventBus = MemoryEventHub(
            queue_size=ev.queue_size, retention_seconds=ev.retention_seconds, clock=timer
        )
        self.feed = BookingFeed(self.events)
        intervals = {u.name: u.poll_interval_seconds for u in settings.upstreams}
        self.pollers = Pollers(self.providers, self.feed, ev, intervals)
        self.events.add_watcher(self.pollers)

    async def start(self) -> None:
        await asyncio.gather(*(p.start() for p in self.providers.values()))

    async def close(self) -> None:
        await self.pollers.close()
        await asyncio.gather(*(p.close() for p in self.providers.values()), return_exceptions=True)

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

    async def reviews(self, restaurant: Restaurant) -> list[Review]:
        provider = self.provider(restaurant.upstream)
        if Capability.REVIEWS not in restaurant.capabilities:
            raise NotSupported(
                f"{provider.display_name} has no reviews", upstream=restaurant.upstream
            )
        return await self._cached(
            self.review_lists,
            restaurant.upstream,
            (restaurant.upstream, restaurant.native_id),
            lambda: provider.list_reviews(restaurant.native_id),
        )

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
        return got.value

    def invalidate_availability(
        self, upstream: str, restaurant_id: str | None = None, day: date | None = None
    ) -> int:
        def hit(key: Hashable) -> bool:
            assert isinstance(key, tuple)
            return (
                key[0] == upstream
                and (restaurant_id is None or key[1] == restaurant_id)
                and (day is None or key[2] == day)
            )

        return self.availability.invalidate(hit)

    # ---- health ---------------------------------------------------------------------------

    async def check(self, upstream: str, timeout: float = 3.0) -> tuple[bool, str | None, float]:
        """Probe one upstream: (ok, error code, latency in ms)."""
        provider = self.provider(upstream)
        started = time.perf_counter()
        try:
            await asyncio.wait_for(provider.check_health(), timeout)
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
