"""The gateway's long-lived core: providers by upstream name and the shared caches.

Resolvers never talk to providers about reference data or availability directly; they come
through here so that caching and invalidation live in one place:

- restaurant lists per upstream: TTL (minutes), single-flight;
- availability per (upstream, restaurant, local date, party size): TTL (seconds), dropped by
  any booking write through the gateway for that restaurant and date, and by webhooks;
- idempotency records for booking mutations.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Hashable, Iterable
from datetime import date
from typing import Any

from tablegraph.cache import AsyncTTLCache, Timer
from tablegraph.errors import GatewayError, NotFound, NotSupported, UpstreamError
from tablegraph.idempotency import IdempotencyStore
from tablegraph.model import Capability, OpeningHours, Restaurant, Review, Slot
from tablegraph.providers import provider_class
from tablegraph.providers.base import Provider
from tablegraph.settings import GatewaySettings

log = logging.getLogger(__name__)


class Gateway:
    def __init__(
        self,
        settings: GatewaySettings,
        providers: Iterable[Provider] | None = None,
        *,
        timer: Timer = time.monotonic,
    ) -> None:
        self.settings = settings
        if providers is None:
            providers = [provider_class(u.kind)(u) for u in settings.upstreams]
        self.providers: dict[str, Provider] = {p.name: p for p in providers}
        self.restaurant_lists: AsyncTTLCache[list[Restaurant]] = AsyncTTLCache(
            settings.reference_ttl_seconds, timer=timer
        )
        self.availability: AsyncTTLCache[list[Slot]] = AsyncTTLCache(
            settings.availability_ttl_seconds, timer=timer
        )
        self.opening: AsyncTTLCache[OpeningHours] = AsyncTTLCache(
            settings.reference_ttl_seconds, timer=timer
        )
        self.review_lists: AsyncTTLCache[list[Review]] = AsyncTTLCache(60.0, timer=timer)
        self.idempotency: IdempotencyStore[Any] = IdempotencyStore(timer=timer)
        #: Last known health per upstream: None (never checked), or the error code.
        self.last_error: dict[str, str | None] = {name: None for name in self.providers}
        self.seen_webhook_events: AsyncTTLCache[bool] = AsyncTTLCache(3600.0, timer=timer)

    async def start(self) -> None:
        await asyncio.gather(*(p.start() for p in self.providers.values()))

    async def close(self) -> None:
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
            restaurants = await self.restaurant_lists.get_or_load(
                upstream, provider.list_restaurants
            )
        except UpstreamError as exc:
            self.last_error[upstream] = exc.code
            raise
        self.last_error[upstream] = None
        return restaurants

    async def opening_hours(self, restaurant: Restaurant) -> OpeningHours:
        provider = self.provider(restaurant.upstream)
        return await self.opening.get_or_load(
            (restaurant.upstream, restaurant.native_id),
            lambda: provider.get_opening_hours(restaurant.native_id),
        )

    async def reviews(self, restaurant: Restaurant) -> list[Review]:
        provider = self.provider(restaurant.upstream)
        if Capability.REVIEWS not in restaurant.capabilities:
            raise NotSupported(
                f"{provider.display_name} has no reviews", upstream=restaurant.upstream
            )
        return await self.review_lists.get_or_load(
            (restaurant.upstream, restaurant.native_id),
            lambda: provider.list_reviews(restaurant.native_id),
        )

    # ---- availability -------------------------------------------------------------------

    async def slots(self, restaurant: Restaurant, day: date, party_size: int) -> list[Slot]:
        provider = self.provider(restaurant.upstream)
        key = (restaurant.upstream, restaurant.native_id, day, party_size)
        return await self.availability.get_or_load(
            key, lambda: provider.get_availability(restaurant.native_id, day, party_size)
        )

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
        except asyncio.TimeoutError:
            code = "UPSTREAM_TIMEOUT"
        except GatewayError as exc:
            code = exc.code
        except Exception:  # a provider bug must not take /readyz down with it
            log.exception("health check of %s failed unexpectedly", upstream)
            code = "INTERNAL"
        self.last_error[upstream] = code
        return code is None, code, (time.perf_counter() - started) * 1000
