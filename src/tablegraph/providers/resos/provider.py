"""resOS API v1.2 adapter (``https://api.resos.com/v1``; seeds/resos-api.txt, providers/resos.md).

Auth: HTTP Basic, the restaurant's API key as user name and an empty password
(``base64(key + ":")``); one key per restaurant, so one client and one rate governor per key
(``auth``, ``governor``). Endpoints: ``endpoints``; error answers: ``errors``.

Quirks handled here:
- Rate limit: a budget per key per fixed calendar minute (default 100), enforced client-side
  by ``RateGovernor`` with writes ahead of queued reads, counted in the gateway's store so
  every worker spends one budget, and shared fairly between clients; 429 ``Retry-After`` is in
  milliseconds. A 429 was refused, not applied, so the upstream client's policy lets a write
  wait for the reset and go again (``retry_refused_writes``).
- No restaurant endpoint: name, zone, address come from the gateway configuration
  (``options``).
- Lists are bare arrays paged by ``skip``/``limit`` (100 max, no total): page until a short
  page; long ranges are split into windows. ``customQuery`` filters are re-applied locally.
- ``POST /bookings`` answers only the new id (read back with GET); ``PUT`` answers ``true``.
  Cancelling is ``PUT {"status": "canceled"}``; PATCH (405) and DELETE (400) are never sent.
- resOS may accept a booking on a full slot: the exact time is re-checked in
  ``/bookingFlow/times`` before a create or a reschedule, and check and write run under a
  per-restaurant lock, so concurrent writes through this gateway cannot overbook a slot
  (writes by other clients of the account still can; resOS offers nothing against that).
- No idempotency: the gateway's key goes into ``metadata.tablegraphIdempotencyKey``
  (``bodies``), and ``find_booking_by_idempotency_key`` finds it among the bookings of the
  request's day (±1). A create whose answer was lost is ``OutcomeUnknown`` here and never sent
  again by the adapter: ``tablegraph.reconcile`` looks the marker up and decides.
- No guest endpoint: guests are derived from bookings (identity = E.164 phone, else e-mail).
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from tablegraph import inputs, prefetch
from tablegraph.cache import AsyncTTLCache
from tablegraph.errors import (
    GatewayError,
    InvalidInput,
    InvalidState,
    NotFound,
    PolicyViolation,
    SlotUnavailable,
    UpstreamAuthError,
    UpstreamBadResponse,
)
from tablegraph.model import (
    Booking,
    BookingChange,
    BookingQuery,
    BookingUpdate,
    Capability,
    Guest,
    NewBooking,
    OpeningHours,
    Restaurant,
    Slot,
    Table,
    WaitlistEntry,
    WaitlistRequest,
)
from tablegraph.providers import register
from tablegraph.providers.base import Provider
from tablegraph.providers.kit import Batch, Caller, Runtime, batch_by_key
from tablegraph.providers.kit import ids as kit_ids
from tablegraph.providers.resos import endpoints as api
from tablegraph.providers.resos import guests
from tablegraph.providers.resos.auth import GovernedBasicAuth, mutation
from tablegraph.providers.resos.bodies import (
    METADATA_KEY,
    create_body,
    reschedule_body,
    stored_key,
    update_body,
    waitlist_body,
)
from tablegraph.providers.resos.errors import ERRORS
from tablegraph.providers.resos.governor import RateGovernor, RateLimitObserver
from tablegraph.providers.resos.mapping import (
    NOT_CANCELLABLE,
    PeriodPolicy,
    nearest_waitlist_time,
    service_days,
    to_booking,
    to_opening_hours,
    to_period_policies,
    to_restaurant,
    to_slots,
    to_tables,
    to_waitlist_entry,
)
from tablegraph.providers.resos.options import Options as ResosOptions
from tablegraph.providers.resos.options import RestaurantConfig, parse_restaurants
from tablegraph.providers.resos.payloads import RawBooking, RawOpeningHour, RawTimesPeriod
from tablegraph.providers.resos.queries import booking_filter, booking_hit
from tablegraph.settings import UpstreamConfig
from tablegraph.timeutil import local_day_bounds, to_zone
from tablegraph.upstream import RetryPolicy, UpstreamClient

log = logging.getLogger(__name__)

#: Single-booking and single-guest reads in flight per batch (they share the key's budget).
BATCH_CONCURRENCY = 5


@register
class ResosProvider(Provider):
    kind = "resos"
    display_name = "resOS"
    capabilities = frozenset(
        {
            Capability.AVAILABILITY,
            Capability.BOOKINGS_READ,
            Capability.BOOKING_CREATE,
            Capability.BOOKING_RESCHEDULE,
            Capability.BOOKING_CANCEL,
            Capability.BOOKING_UPDATE,
            Capability.STATUS_CHANGE,
            Capability.WAITLIST,
            Capability.GUESTS_READ,
            Capability.OPENING_HOURS,
            Capability.TABLES,
        }
    )
    #: One credential per restaurant, named by ``restaurants[].api_key_credential``.
    credential_names = ("*",)
    required_credentials = ()
    base_path = "/v1"
    example_base_url = "https://api.resos.com/v1"
    Options = ResosOptions

    def __init__(self, config: UpstreamConfig, runtime: Runtime | None = None) -> None:
        super().__init__(config, runtime)
        self.options = ResosOptions.parse(config.options, self.name)
        configured = parse_restaurants(self.name, self.options.restaurants, config.credentials)
        self._restaurants = {r.id: r for r in configured}
        retry = RetryPolicy(
            retry_after_unit=0.001,  # resOS sends Retry-After in milliseconds
            max_retry_after=self.options.max_retry_after_seconds,
            retry_refused_writes=True,
        )
        self.governors: dict[str, RateGovernor] = {}
        self._callers: dict[str, Caller] = {}
        for credential in sorted({r.credential for r in configured}):
            governor = RateGovernor(
                self.options.rate_limit_per_minute,
                now=self._wall_seconds,  # the budget follows the calendar minute
                sleep=self.runtime.sleep,
                # Every worker sharing the gateway's store spends this key's budget together.
                store=self.runtime.store,
                name=f"resos:{self.name}:{credential}",
                reserve=self.options.client_reserve,
            )
            self.governors[credential] = governor
            client = self._client(
                auth=GovernedBasicAuth(self._credential(credential), governor),
                retry=retry,
                transport=RateLimitObserver.around(
                    self.runtime.transport, governor, self.config.max_connections
                ),
                default_headers={"Accept": "application/json"},
                on_rate_limited=governor.exhaust,
            )
            self._callers[credential] = Caller(client, ERRORS)
        self._hours: AsyncTTLCache[list[RawOpeningHour]] = self._cache(
            "opening_hours", self.options.opening_hours_ttl_seconds
        )
        #: Per restaurant: held from the availability re-check to the write it allows.
        self._write_locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    def _wall_seconds(self) -> float:
        return self.runtime.now().timestamp()

    # ---- lifecycle -----------------------------------------------------------------------

    @property
    def clients(self) -> Sequence[UpstreamClient]:
        return [caller.client for caller in self._callers.values()]

    async def close(self) -> None:
        for governor in self.governors.values():
            governor.close()
        await super().close()

    async def start(self) -> None:
        """One cheap call per key, so each budget window is aligned with resOS' minute
        (from ``Retry-After``) before the first burst; an unreachable resOS is fine here."""
        for r in {r.credential: r for r in self._restaurants.values()}.values():
            try:
                await api.healthcheck(self._api(r))
            except UpstreamAuthError as exc:
                # Answered, and refused the key: not an outage (a 404 here is a base_url
                # without /v1, which the configuration check refuses before start-up).
                log.warning("resOS %s: the API key was refused at start-up (%s)", r.id, exc.message)
            except GatewayError as exc:
                log.warning("resOS %s: not reachable at start-up (%s)", r.id, exc.code)

    async def check_health(self) -> None:
        for r in self._restaurants.values():
            await api.healthcheck(self._api(r))

    def health_details(self) -> dict[str, Any]:
        return {
            "rateBudget": {
                r.id: self.governors[r.credential].details() for r in self._restaurants.values()
            }
        }

    def rate_budgets(self) -> dict[str, int]:
        """One budget per API key, named by its credential (never the key itself)."""
        return {credential: g.remaining() for credential, g in self.governors.items()}

    def _api(self, r: RestaurantConfig) -> Caller:
        return self._callers[r.credential]

    def _restaurant(self, restaurant_id: str) -> RestaurantConfig:
        r = self._restaurants.get(restaurant_id)
        if r is None:
            raise NotFound(f"unknown restaurant {restaurant_id!r}", upstream=self.name)
        return r

    # ---- restaurants and opening hours ---------------------------------------------------

    async def _opening_rows(self, r: RestaurantConfig) -> list[RawOpeningHour]:
        """Cached, and loaded once for a burst of availability reads (single flight)."""
        return await self._hours.get_or_load(r.id, lambda: api.opening_hours(self._api(r)))

    async def _policies(self, r: RestaurantConfig) -> dict[str, PeriodPolicy]:
        return to_period_policies(await self._opening_rows(r))

    async def _restaurant_or_none(self, restaurant_id: str) -> Restaurant | None:
        r = self._restaurants.get(restaurant_id)
        if r is None:
            return None
        return to_restaurant(self.name, r, await self._opening_rows(r), self.capabilities)

    async def list_restaurants(self) -> list[Restaurant]:
        found = await self.get_restaurants(list(self._restaurants))
        for item in found:
            if isinstance(item, GatewayError):
                raise item
        return [r for r in found if isinstance(r, Restaurant)]

    async def get_restaurants(self, ids: Sequence[str]) -> Batch[Restaurant]:
        return await batch_by_key(ids, self._restaurant_or_none)

    async def get_opening_hours(self, restaurant_id: str) -> OpeningHours:
        return to_opening_hours(await self._opening_rows(self._restaurant(restaurant_id)))

    async def list_tables(self, restaurant_id: str) -> list[Table]:
        r = self._restaurant(restaurant_id)
        return to_tables(self.name, await api.tables(self._api(r)))

    # ---- availability --------------------------------------------------------------------

    async def get_availability(self, restaurant_id: str, day: date, party_size: int) -> list[Slot]:
        r = self._restaurant(restaurant_id)
        if party_size < 1:
            raise InvalidInput(
                "party size must be at least 1", upstream=self.name, field=("party_size",)
            )
        periods, policies = await asyncio.gather(
            api.times(self._api(r), day, party_size), self._policies(r)
        )
        if not periods:
            return []  # closed that day
        return to_slots(periods, day, party_size, r.timezone, policies)

    async def _check_slot(
        self, r: RestaurantConfig, local: datetime, people: int
    ) -> tuple[date, RawTimesPeriod]:
        """The service day and period offering exactly this time, or ``SlotUnavailable``."""
        hhmm = local.strftime("%H:%M")
        offering = await api.period_offering(self._api(r), service_days(local), hhmm, people)
        if offering is None:
            raise SlotUnavailable(
                f"{hhmm} on {local.date().isoformat()} is not available for {people}",
                upstream=self.name,
                details={"restaurantId": r.id},
            )
        return offering

    # ---- bookings: reads -----------------------------------------------------------------

    def _map(self, r: RestaurantConfig, raw: RawBooking) -> Booking:
        try:
            return to_booking(self.name, r.id, raw, r.timezone)
        except (KeyError, ValueError, TypeError):
            raise UpstreamBadResponse(
                "resOS sent a booking that cannot be read", upstream=self.name
            ) from None

    def _split(self, native_id: str) -> tuple[str, str] | None:
        """``<restaurant>/<rest>`` of a booking or guest id, or None."""
        try:
            restaurant_id, rest = kit_ids.split(native_id, 2, upstream=self.name)
        except NotFound:
            return None
        return restaurant_id, rest

    def _resolve(self, native_id: str) -> tuple[RestaurantConfig, str]:
        """``<restaurant>/<resOS _id>`` → the restaurant and the id, or ``NotFound``."""
        parsed = self._split(native_id)
        if parsed is None or parsed[0] not in self._restaurants or not api.is_booking_id(parsed[1]):
            raise NotFound("booking not found", upstream=self.name)
        return self._restaurants[parsed[0]], parsed[1]

    async def _read(self, r: RestaurantConfig, booking_id: str) -> Booking:
        return self._map(r, await api.booking(self._api(r), booking_id))

    async def list_bookings(self, query: BookingQuery) -> list[Booking]:
        r = self._restaurant(query.restaurant_id)
        identity: str | None = None
        if query.guest_id is not None:
            guest = self._split(query.guest_id)
            if guest is None or guest[0] != r.id:
                return []
            identity = guest[1]
        listed = await api.bookings_in_windows(
            self._api(r),
            query.start,
            query.end,
            booking_filter(query, identity),
            self.options.list_window_days,
            row=lambda raw: self._map(r, raw),
            answers=self.runtime.answers(f"{self.name}.booking-lists"),
            key=(r.id, r.timezone),
        )
        # Never trust the server-side filter: every condition is checked again.
        bookings = [b for b in listed if booking_hit(query, b)]
        return sorted(bookings, key=lambda b: (b.start, b.native_id))

    async def _booking(self, native_id: str) -> Booking:
        r, rid = self._resolve(native_id)
        return self._map(r, await self._before_write(r, rid))

    async def _before_write(self, r: RestaurantConfig, rid: str) -> RawBooking:
        """The booking as read before a write: the booking service's own read of it, handed
        over (``tablegraph.prefetch``), so a write reads its booking once."""
        return await prefetch.reuse(
            (self.name, "booking", rid), lambda: api.booking(self._api(r), rid)
        )

    async def get_bookings(self, ids: Sequence[str]) -> Batch[Booking]:
        return await batch_by_key(ids, self._booking, concurrency=BATCH_CONCURRENCY)

    # ---- bookings: writes (at MUTATION priority) -----------------------------------------

    async def _post(self, r: RestaurantConfig, body: dict[str, Any]) -> Booking:
        return await self._read(r, await api.create_booking(self._api(r), body))

    @mutation
    async def create_booking(self, request: NewBooking) -> Booking:
        r = self._restaurant(request.restaurant_id)
        if not r.min_party_size <= request.party_size <= r.max_party_size:
            raise PolicyViolation(
                f"party size must be between {r.min_party_size} and {r.max_party_size}",
                upstream=self.name,
                field=("party_size",),
            )
        local = to_zone(request.start, r.timezone)
        async with self._write_locks[r.id]:
            service_day, period = await self._check_slot(r, local, request.party_size)
            body = create_body(r, request, local, service_day, period, self.name)
            # A lost answer is OutcomeUnknown: never sent again from here. The gateway
            # (``tablegraph.reconcile.LostCreates``) looks the key's marker up first.
            return await self._post(r, body)

    @mutation
    async def find_booking_by_idempotency_key(
        self, restaurant_id: str, key: str, request: NewBooking
    ) -> Booking | None:
        """The booking marked with this key on the request's day (±1 for past-midnight)."""
        r = self._restaurant(restaurant_id)
        day = to_zone(request.start, r.timezone).date()
        start, _ = local_day_bounds(day - timedelta(days=1), r.timezone)
        _, end = local_day_bounds(day + timedelta(days=1), r.timezone)
        raw = await api.booking_marked(self._api(r), METADATA_KEY, stored_key(key), start, end)
        return None if raw is None else self._map(r, raw)

    @mutation
    async def reschedule_booking(self, booking_id: str, change: BookingChange) -> Booking:
        r, rid = self._resolve(booking_id)
        raw = await self._before_write(r, rid)
        current = self._map(r, raw)
        if raw.get("status") in NOT_CANCELLABLE or raw.get("status") == "canceled":
            raise InvalidState(
                f"a {raw.get('status')} booking cannot be moved",
                upstream=self.name,
                code="INVALID_TRANSITION",
            )
        local = to_zone(change.start, r.timezone) if change.start else current.start
        people = change.party_size or current.party_size
        if local == current.start and people == current.party_size:
            return current
        async with self._write_locks[r.id]:
            service_day, period = await self._check_slot(r, local, people)
            moved_to = period.get("_id")
            policy = None
            if moved_to and moved_to != raw.get("openingHourId"):  # another period's duration
                policy = (await self._policies(r)).get(moved_to)
            body = reschedule_body(
                service_day, local, people, period, raw.get("openingHourId"), policy
            )
            await api.update_booking(self._api(r), rid, body)
        return await self._read(r, rid)

    @mutation
    async def cancel_booking(self, booking_id: str, reason: str | None) -> Booking:
        r, rid = self._resolve(booking_id)
        raw = await self._before_write(r, rid)
        status = raw.get("status")
        if status == "canceled":
            return self._map(r, raw)  # cancelling twice is not an error
        if status in NOT_CANCELLABLE:
            raise InvalidState(
                f"a {status} booking cannot be cancelled",
                upstream=self.name,
                code="NOT_CANCELLABLE",
            )
        await api.update_booking(self._api(r), rid, {"status": "canceled"})
        if reason:
            try:
                await api.add_note(self._api(r), rid, f"Cancelled: {reason}")
            except GatewayError:
                log.warning("resOS %s: cancellation reason not stored", r.id)
        return await self._read(r, rid)

    @mutation
    async def update_booking(self, booking_id: str, update: BookingUpdate) -> Booking:
        r, rid = self._resolve(booking_id)
        body = update_body(update, self.name)
        if body:
            await api.update_booking(self._api(r), rid, body)
        if update.notes:
            await api.add_note(self._api(r), rid, update.notes)
        return await self._read(r, rid)

    @mutation
    async def join_waitlist(self, request: WaitlistRequest) -> WaitlistEntry:
        """A ``waitlist`` booking at one of the day's ``waitlistTimes`` (nearest preferred)."""
        r = self._restaurant(request.restaurant_id)
        periods = await api.times(self._api(r), request.day, request.party_size)
        offered = nearest_waitlist_time(periods, request.preferred_time)
        if offered is None:
            raise SlotUnavailable("no waitlist is open that day", upstream=self.name)
        hhmm, period = offered
        body = waitlist_body(r, request, hhmm, period, self.name)
        return to_waitlist_entry(await self._post(r, body), request.day)

    # ---- guests (derived from bookings) ---------------------------------------------------

    def _guest_window(self, r: RestaurantConfig) -> guests.Window:
        inputs.cannot_repeat("searched guests in a window around today")  # the clock decides
        return guests.window(r, self.runtime.now(), self.options)

    async def _guest(self, native_id: str) -> Guest | None:
        parsed = self._split(native_id)
        if parsed is None or parsed[0] not in self._restaurants:
            return None
        r = self._restaurants[parsed[0]]
        return await guests.find_guest(self._api(r), r, native_id, parsed[1], self._guest_window(r))

    async def get_guests(self, ids: Sequence[str]) -> Batch[Guest]:
        return await batch_by_key(ids, self._guest, concurrency=BATCH_CONCURRENCY)

    async def list_guests(self, restaurant_id: str, search: str | None, limit: int) -> list[Guest]:
        r = self._restaurant(restaurant_id)
        return await guests.search_guests(self._api(r), r, search, limit, self._guest_window(r))
