"""The provider contract: what every adapter implements, documented once, here.

An adapter is one class per provider kind (package name = registry key), constructed from an
``UpstreamConfig`` and a ``Runtime`` (test seams and the gateway's caches). It speaks its
provider's HTTP API through the provider kit (``providers.kit``: a ``Caller`` with the
provider's error table, batch and paging helpers) and returns only the unified model
(``tablegraph.model``); provider JSON never leaves its package. Options are a typed
``Options`` model per adapter, validated when the configuration is read.

Rules every adapter follows:

- **Batch-shaped reads.** ``get_restaurants``, ``get_bookings`` and ``get_guests`` take native
  ids and return a ``Batch``: one entry per id *in key order*, the object, ``None`` for not
  found, or the ``GatewayError`` of a key that failed alone. DataLoaders map straight onto
  them. Use a native batch/list endpoint where there is one, else ``kit.batch_by_key``.
- **Priming.** A booking whose provider payload embeds its guest returns it in
  ``Booking.guest``; the GraphQL layer primes the guest loader with it.
- **Time.** Every datetime returned is aware, in the restaurant's zone. ``day`` arguments are
  the restaurant's local calendar date.
- **Capabilities.** ``capabilities`` declares what the provider can do at all (the README
  table is generated from it); ``Restaurant.capabilities`` narrows it per restaurant. A method
  outside them raises ``NotSupported`` — the defaults below do exactly that.
- **Errors.** Business outcomes raise ``BookingRejected`` subclasses, unknown ids
  ``NotFound``; upstream failures ``UpstreamError`` subclasses, all naming the upstream.
  Messages never contain raw upstream bodies or credentials. A field blamed for an error is
  named by its *model* path (``("guest", "email")``, ``("party_size",)``); the GraphQL layer
  turns it into the input path, the same for every provider.
- **Memory.** Adapters keep no caches and no idempotency memories of their own: caches come
  from ``self.runtime.cache(...)``; reconciling writes is ``tablegraph.reconcile``'s job,
  helped by ``find_booking_by_idempotency_key``.
- **Writes.** ``create_booking`` carries an idempotency key: the adapter passes it to a
  provider that supports one and otherwise marks the booking with it, so that an ambiguous
  outcome can be reconciled without booking twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any, ClassVar, TypeVar

from tablegraph.breaker import BreakerPolicy, CircuitBreaker
from tablegraph.cache import AsyncTTLCache
from tablegraph.errors import NotSupported
from tablegraph.model import (
    Booking,
    BookingChange,
    BookingQuery,
    BookingUpdate,
    Capability,
    Guest,
    GuestUpsert,
    NewBooking,
    OpeningHours,
    Restaurant,
    Review,
    Slot,
    Table,
    WaitlistEntry,
    WaitlistRequest,
    WebhookEvent,
)
from tablegraph.providers.kit import Batch, ProviderOptions, Runtime
from tablegraph.settings import ConfigError, UpstreamConfig
from tablegraph.upstream import UpstreamClient

V = TypeVar("V")


class Provider:
    """Base class of every adapter; unsupported operations raise ``NotSupported``."""

    #: Registry key, e.g. ``"vardvik"``.
    kind: ClassVar[str]
    #: Human name for the README.
    display_name: ClassVar[str]
    capabilities: ClassVar[frozenset[Capability]] = frozenset()
    #: A create (or waitlist entry) naming a guest's e-mail updates that guest's profile
    #: upstream; clients without ``guests:write`` then book under the profile on file
    #: (``tablegraph.guests_on_file``).
    create_updates_guest: ClassVar[bool] = False
    #: Credential names the TOML ``credentials`` table may set (values come from env vars);
    #: ``("*",)`` accepts any name (the adapter validates them itself, e.g. one per restaurant).
    credential_names: ClassVar[tuple[str, ...]] = ()
    #: Credentials without which the adapter cannot work (``tablegraph check`` and the
    #: configuration loader say which is missing).
    required_credentials: ClassVar[tuple[str, ...]] = ()
    #: The path every ``base_url`` of this kind ends with (``"/api/v1"``); a URL without it
    #: is refused with the corrected URL.
    base_path: ClassVar[str] = ""
    #: An example ``base_url`` (``tablegraph init``, the README).
    example_base_url: ClassVar[str] = "https://api.example.com"
    #: The typed ``options`` table (each adapter declares its own subclass).
    Options: ClassVar[type[ProviderOptions]] = ProviderOptions
    #: ``cancel_booking`` needs no read before it: the cancel answers with the whole booking,
    #: an unknown id raises ``NotFound``, and cancelling a cancelled booking answers it
    #: unchanged. The booking service then skips its read where the caller may touch every
    #: restaurant of the upstream (there is nothing to check the booking against).
    cancel_answers_booking: ClassVar[bool] = False

    def __init__(self, config: UpstreamConfig, runtime: Runtime | None = None) -> None:
        self.config = config
        self.name = config.name
        self.runtime = runtime or Runtime()
        #: One breaker per upstream, shared by all of this adapter's clients.
        self.breaker = CircuitBreaker(
            config.name,
            BreakerPolicy(config.breaker_failures, config.breaker_reset_seconds),
        )

    @classmethod
    def check_options(cls, raw: Any, upstream: str) -> None:
        """Refuse a bad ``options`` table at configuration time (``ConfigError``)."""
        cls.Options.parse(raw, upstream)

    # ---- lifecycle ----------------------------------------------------------------------

    @property
    def clients(self) -> Sequence[UpstreamClient]:
        """Every HTTP client this adapter owns (closed on shutdown, counted in metrics)."""
        return ()

    async def start(self) -> None:
        """Called once when the gateway starts; must not fail if the upstream is down."""

    async def close(self) -> None:
        for client in self.clients:
            await client.aclose()

    async def check_health(self) -> None:
        """Raise an ``UpstreamError`` if the upstream cannot serve requests now."""
        await self.list_restaurants()

    @property
    def requests_sent(self) -> int:
        return sum(c.requests_sent for c in self.clients)

    def http_routes(self) -> list[Any]:
        """aiohttp route definitions the gateway mounts for this upstream (OAuth connect…)."""
        return []

    def health_details(self) -> dict[str, Any]:
        """Extra per-upstream state shown in ``upstreams`` and ``/readyz``."""
        return {}

    def rate_budgets(self) -> dict[str, int]:
        """Requests left in each client-side rate budget, by budget name (``/metrics``);
        none for providers without one."""
        return {}

    # ---- restaurants ----------------------------------------------------------------------

    async def list_restaurants(self) -> list[Restaurant]:
        raise NotImplementedError

    async def get_restaurants(self, ids: Sequence[str]) -> Batch[Restaurant]:
        by_id = {r.native_id: r for r in await self.list_restaurants()}
        return [by_id.get(i) for i in ids]

    async def get_opening_hours(self, restaurant_id: str) -> OpeningHours:
        raise self._unsupported(Capability.OPENING_HOURS)

    async def get_availability(self, restaurant_id: str, day: date, party_size: int) -> list[Slot]:
        raise self._unsupported(Capability.AVAILABILITY)

    # ---- bookings -------------------------------------------------------------------------

    async def list_bookings(self, query: BookingQuery) -> list[Booking]:
        raise self._unsupported(Capability.BOOKINGS_READ)

    async def get_bookings(self, ids: Sequence[str]) -> Batch[Booking]:
        raise self._unsupported(Capability.BOOKINGS_READ)

    async def create_booking(self, request: NewBooking) -> Booking:
        raise self._unsupported(Capability.BOOKING_CREATE)

    async def find_booking_by_idempotency_key(
        self, restaurant_id: str, key: str, request: NewBooking
    ) -> Booking | None:
        """Reconcile an ambiguous create: the booking this key made, if any."""
        return None

    async def reschedule_booking(self, booking_id: str, change: BookingChange) -> Booking:
        raise self._unsupported(Capability.BOOKING_RESCHEDULE)

    async def cancel_booking(self, booking_id: str, reason: str | None) -> Booking:
        raise self._unsupported(Capability.BOOKING_CANCEL)

    async def update_booking(self, booking_id: str, update: BookingUpdate) -> Booking:
        raise self._unsupported(Capability.BOOKING_UPDATE)

    async def join_waitlist(self, request: WaitlistRequest) -> WaitlistEntry:
        raise self._unsupported(Capability.WAITLIST)

    # ---- guests and reviews ---------------------------------------------------------------

    async def get_guests(self, ids: Sequence[str]) -> Batch[Guest]:
        raise self._unsupported(Capability.GUESTS_READ)

    async def list_tables(self, restaurant_id: str) -> list[Table]:
        """The restaurant's tables, smallest first (``Capability.TABLES``)."""
        raise self._unsupported(Capability.TABLES)

    async def list_guests(self, restaurant_id: str, search: str | None, limit: int) -> list[Guest]:
        raise self._unsupported(Capability.GUESTS_READ)

    async def upsert_guest(self, request: GuestUpsert) -> Guest:
        raise self._unsupported(Capability.GUEST_UPSERT)

    async def list_reviews(self, restaurant_id: str) -> list[Review]:
        raise self._unsupported(Capability.REVIEWS)

    # ---- webhooks -------------------------------------------------------------------------

    def verify_webhook(self, headers: dict[str, str], body: bytes) -> WebhookEvent:
        """Check a webhook delivery's signature and read what it touches. A malformed or
        unsigned delivery is ``InvalidInput``; an upstream without webhooks (or without a
        configured secret) is ``NotSupported``."""
        raise self._unsupported(Capability.WEBHOOKS)

    # ---- helpers --------------------------------------------------------------------------

    def _unsupported(self, capability: Capability) -> NotSupported:
        return NotSupported(
            f"{self.display_name} does not support {capability.value.lower().replace('_', ' ')}",
            upstream=self.name,
            details={"capability": capability.value},
        )

    def _client(self, **kwargs: Any) -> UpstreamClient:
        """A new client for this upstream with the configured base URL and timeouts."""
        kwargs.setdefault("timeout", self.config.timeout_seconds)
        kwargs.setdefault("max_connections", self.config.max_connections)
        kwargs.setdefault("breaker", self.breaker)
        kwargs.setdefault("sleep", self.runtime.sleep)
        kwargs.setdefault("observer", self.runtime.calls)
        if self.runtime.transport is not None:
            kwargs.setdefault("transport", self.runtime.transport)
        return UpstreamClient(self.name, self.config.base_url, **kwargs)

    def _cache(self, what: str, ttl: float, *, stale_ttl: float = 0.0) -> AsyncTTLCache[V]:
        """A gateway cache of this upstream (``"<upstream>.<what>"``)."""
        return self.runtime.cache(f"{self.name}.{what}", ttl, stale_ttl=stale_ttl)

    def _credential(self, key: str) -> str:
        secret = self.config.credentials.get(key)
        if secret is None:
            raise ConfigError(f"upstream {self.name!r}: credential {key!r} is not configured")
        return secret.reveal()
