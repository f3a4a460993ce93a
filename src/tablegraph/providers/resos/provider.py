"""resOS API v1.2 adapter (``https://api.resos.com/v1``; seeds/resos-api.txt, providers/resos.md).

Auth: HTTP Basic, the restaurant's API key as user name and an empty password
(``base64(key + ":")``); one key per restaurant, so one client and one rate governor per key.

Quirks handled here:
- Rate limit: a budget per key per fixed calendar minute (default 100), enforced client-side
  by ``RateGovernor`` with mutations ahead of queued reads; 429 ``Retry-After`` is in
  milliseconds.
- No restaurant endpoint: name, zone, address come from the gateway configuration.
- Lists are bare arrays paged by ``skip``/``limit`` (100 max, no total): page until a short
  page; long ranges are split into windows. ``customQuery`` filters are re-applied locally.
- ``POST /bookings`` answers only the new id (read back with GET); ``PUT`` answers ``true``.
  Cancelling is ``PUT {"status": "canceled"}``; PATCH (405) and DELETE (400) are never sent.
- resOS may accept a booking on a full slot: the exact time is re-checked in
  ``/bookingFlow/times`` before a create or a reschedule, and check and write run under a
  per-restaurant lock, so concurrent writes through this gateway cannot overbook a slot
  (writes by other clients of the account still can; resOS offers nothing against that).
- No idempotency: the gateway's key goes into ``metadata.tablegraphIdempotencyKey``; a create
  whose answer was lost is reconciled by looking the key up among that day's bookings.
- No guest endpoint: guests are derived from bookings (identity = E.164 phone, else e-mail).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta
from datetime import time as wall_time
from typing import Any

import httpx

from tablegraph.errors import (
    GatewayError,
    IdempotencyConflict,
    InvalidInput,
    InvalidState,
    NotFound,
    NotSupported,
    OutcomeUnknown,
    PolicyViolation,
    SlotUnavailable,
    UpstreamBadResponse,
    UpstreamRateLimited,
)
from tablegraph.model import (
    Booking,
    BookingChange,
    BookingPolicy,
    BookingQuery,
    BookingUpdate,
    Capability,
    Guest,
    NewBooking,
    OpeningHours,
    Restaurant,
    Slot,
    WaitlistEntry,
    WaitlistRequest,
)
from tablegraph.providers import register
from tablegraph.providers.base import BatchResult, Provider
from tablegraph.providers.kit import Runtime
from tablegraph.providers.resos.bodies import (
    METADATA_KEY,
    booking_body,
    create_body,
    stored_key,
)
from tablegraph.providers.resos.config import RestaurantConfig, parse_restaurants
from tablegraph.providers.resos.governor import MUTATION, READ, RateGovernor
from tablegraph.providers.resos.guests import (
    guests_from,
    identity_term,
    quote,
    search_hit,
    search_term,
)
from tablegraph.providers.resos.payloads import (
    LANGUAGES,
    NOT_CANCELLABLE,
    STATUS_OUT,
    PeriodPolicy,
    RawBooking,
    RawOpeningHour,
    RawTimesPeriod,
    join_id,
    split_id,
    to_booking,
    to_opening_hours,
    to_period_policies,
    to_policy,
    to_slots,
)
from tablegraph.providers.resos.transport import (
    GovernedBasicAuth,
    RateLimitObserver,
    error_from,
)
from tablegraph.providers.resos.transport import priority as use_priority
from tablegraph.settings import UpstreamConfig
from tablegraph.timeutil import format_utc_millis, local_day_bounds, to_zone, zone
from tablegraph.upstream import RetryPolicy, UpstreamClient, json_body

log = logging.getLogger(__name__)

PAGE = 100
MAX_PAGES = 200
GUEST_PAGES = 5
_RESOS_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


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
        }
    )
    #: One credential per restaurant, named by ``restaurants[].api_key_credential``.
    credential_names = ("*",)
    option_names = (
        "restaurants",
        "rate_limit_per_minute",
        "list_window_days",
        "guest_lookback_days",
        "guest_lookahead_days",
        "max_retry_after_seconds",
        "opening_hours_ttl_seconds",
    )

    def __init__(self, config: UpstreamConfig, runtime: Runtime | None = None) -> None:
        super().__init__(config, runtime)
        opts = config.options
        self._restaurants = {
            r.id: r for r in parse_restaurants(self.name, opts, config.credentials)
        }
        self._now = opts.get("_now") or time.time
        sleep = opts.get("_sleep") or asyncio.sleep
        budget = int(opts.get("rate_limit_per_minute", 100))
        self._window_days = int(opts.get("list_window_days", 7))
        self._guest_back = int(opts.get("guest_lookback_days", 365))
        self._guest_ahead = int(opts.get("guest_lookahead_days", 180))
        self._hours_ttl = float(opts.get("opening_hours_ttl_seconds", 300))
        self._max_wait = float(opts.get("max_retry_after_seconds", 10.0))
        retry = RetryPolicy(
            retry_after_unit=0.001,  # resOS sends Retry-After in milliseconds
            max_retry_after=self._max_wait,
        )
        self.governors: dict[str, RateGovernor] = {}
        self._clients: dict[str, UpstreamClient] = {}
        shared = opts.get("_transport")
        for credential in sorted({r.credential for r in self._restaurants.values()}):
            governor = RateGovernor(budget, now=self._now, sleep=sleep)
            self.governors[credential] = governor
            inner = shared or httpx.AsyncHTTPTransport(
                limits=httpx.Limits(
                    max_connections=config.max_connections,
                    max_keepalive_connections=config.max_connections,
                )
            )
            self._clients[credential] = self._client(
                auth=GovernedBasicAuth(self._credential(credential), governor),
                retry=retry,
                sleep=sleep,
                transport=RateLimitObserver(inner, governor),
                default_headers={"Accept": "application/json"},
            )
        self._hours: dict[str, tuple[float, list[RawOpeningHour]]] = {}
        self._hours_locks: dict[str, asyncio.Lock] = {}
        #: Idempotency keys whose create this instance made or reconciled → booking id.
        self._known_keys: OrderedDict[str, str] = OrderedDict()
        #: Keys whose create may or may not have been stored upstream.
        self._ambiguous: set[str] = set()
        #: Per restaurant: held from the availability re-check to the write it allows.
        self._write_locks: dict[str, asyncio.Lock] = {}

    # ---- lifecycle -----------------------------------------------------------------------

    @property
    def clients(self) -> Sequence[UpstreamClient]:
        return list(self._clients.values())

    async def close(self) -> None:
        for governor in self.governors.values():
            governor.close()
        await super().close()

    async def start(self) -> None:
        """One cheap call per key, so each budget window is aligned with resOS' minute
        (from ``Retry-After``) before the first burst; an unreachable resOS is fine here."""
        for r in {r.credential: r for r in self._restaurants.values()}.values():
            try:
                await self._json(r, "GET", "/healthcheck")
            except GatewayError:
                log.info("resOS %s: not reachable at start-up", r.id)

    async def check_health(self) -> None:
        for r in self._restaurants.values():
            await self._json(r, "GET", "/healthcheck")

    def health_details(self) -> dict[str, Any]:
        return {
            "rateBudget": {
                r.id: self.governors[r.credential].details() for r in self._restaurants.values()
            }
        }

    # ---- plumbing ------------------------------------------------------------------------

    def _restaurant(self, restaurant_id: str) -> RestaurantConfig:
        r = self._restaurants.get(restaurant_id)
        if r is None:
            raise NotFound(f"unknown restaurant {restaurant_id!r}", upstream=self.name)
        return r

    async def _call(
        self,
        r: RestaurantConfig,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        priority: int = READ,
    ) -> httpx.Response:
        with use_priority(priority):
            for attempt in range(3):
                try:
                    return await self._clients[r.credential].request(
                        method, path, params=params, json=json
                    )
                except UpstreamRateLimited as exc:
                    self.governors[r.credential].exhaust(exc.retry_after)
                    # A 429 was refused, not applied: a write may wait for the reset and go
                    # again; reads were already retried by the client.
                    if (
                        method == "GET"
                        or attempt == 2
                        or exc.retry_after is None
                        or exc.retry_after > self._max_wait
                    ):
                        raise
        raise AssertionError("unreachable")

    async def _json(
        self,
        r: RestaurantConfig,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        priority: int = READ,
    ) -> Any:
        response = await self._call(r, method, path, params=params, json=json, priority=priority)
        if response.status_code >= 400:
            raise error_from(response, self.name)
        return json_body(response, self.name)

    # ---- restaurants and opening hours ---------------------------------------------------

    async def _opening_rows(self, r: RestaurantConfig) -> list[RawOpeningHour]:
        cached = self._hours.get(r.id)
        if cached and cached[0] > self._now():
            return cached[1]
        lock = self._hours_locks.setdefault(r.id, asyncio.Lock())
        async with lock:  # single flight: a burst of availability reads fetches once
            cached = self._hours.get(r.id)
            if cached and cached[0] > self._now():
                return cached[1]
            rows = await self._json(r, "GET", "/openingHours")
            if not isinstance(rows, list):
                raise UpstreamBadResponse("resOS opening hours are not a list", upstream=self.name)
            self._hours[r.id] = (self._now() + self._hours_ttl, rows)
            return rows

    async def _policies(self, r: RestaurantConfig) -> dict[str, PeriodPolicy]:
        return to_period_policies(await self._opening_rows(r))

    def _to_restaurant(self, r: RestaurantConfig, rows: list[RawOpeningHour]) -> Restaurant:
        base = BookingPolicy(
            min_party_size=r.min_party_size,
            max_party_size=r.max_party_size,
            default_duration_minutes=120,
        )
        return Restaurant(
            upstream=self.name,
            native_id=r.id,
            name=r.name,
            timezone=r.timezone,
            reference=r.id,
            city=r.city,
            address=r.address,
            latitude=r.latitude,
            longitude=r.longitude,
            phone=r.phone,
            policy=to_policy(rows, base),
            capabilities=self.capabilities,
        )

    async def list_restaurants(self) -> list[Restaurant]:
        configs = list(self._restaurants.values())
        rows = await asyncio.gather(*(self._opening_rows(r) for r in configs))
        return [self._to_restaurant(r, rs) for r, rs in zip(configs, rows, strict=True)]

    async def get_restaurants(self, ids: Sequence[str]) -> BatchResult:
        out: list[Any] = []
        for rid in ids:
            r = self._restaurants.get(rid)
            if r is None:
                out.append(None)
                continue
            try:
                out.append(self._to_restaurant(r, await self._opening_rows(r)))
            except GatewayError as exc:
                out.append(exc)
        return out

    async def get_opening_hours(self, restaurant_id: str) -> OpeningHours:
        return to_opening_hours(await self._opening_rows(self._restaurant(restaurant_id)))

    # ---- availability --------------------------------------------------------------------

    async def _times(
        self, r: RestaurantConfig, day: date, people: int, priority: int
    ) -> list[RawTimesPeriod]:
        periods = await self._json(
            r,
            "GET",
            "/bookingFlow/times",
            params={"date": day.isoformat(), "people": people},
            priority=priority,
        )
        if not isinstance(periods, list):
            raise UpstreamBadResponse("resOS times are not a list", upstream=self.name)
        return periods

    async def get_availability(self, restaurant_id: str, day: date, party_size: int) -> list[Slot]:
        r = self._restaurant(restaurant_id)
        if party_size < 1:
            raise InvalidInput("party size must be at least 1", upstream=self.name)
        periods, policies = await asyncio.gather(
            self._times(r, day, party_size, READ), self._policies(r)
        )
        if not periods:
            return []  # closed that day
        return to_slots(periods, day, party_size, r.timezone, policies)

    async def _check_slot(
        self, r: RestaurantConfig, local: datetime, people: int
    ) -> tuple[date, RawTimesPeriod]:
        """The service day and period offering exactly this time, or ``SlotUnavailable``."""
        hhmm = local.strftime("%H:%M")
        days = [local.date()]
        if local.hour < 6:  # may belong to the previous evening's period
            days.append(local.date() - timedelta(days=1))
        for day in days:
            for period in await self._times(r, day, people, MUTATION):
                if hhmm in (period.get("availableTimes") or []):
                    return day, period
        raise SlotUnavailable(
            f"{hhmm} on {local.date().isoformat()} is not available for {people}",
            upstream=self.name,
            details={"restaurantId": r.id},
        )

    # ---- bookings: reads -----------------------------------------------------------------

    async def _pages(
        self,
        r: RestaurantConfig,
        start: datetime,
        end: datetime,
        *,
        custom_query: str | None = None,
        priority: int = READ,
        newest_first: bool = False,
        max_pages: int = MAX_PAGES,
    ) -> AsyncIterator[list[RawBooking]]:
        """Pages of the bookings in [start, end] (resOS' bounds) until a short page."""
        for page_no in range(max_pages):
            page = await self._json(
                r,
                "GET",
                "/bookings",
                priority=priority,
                params={
                    "fromDateTime": format_utc_millis(start),
                    "toDateTime": format_utc_millis(end),
                    "sort": "dateTime:-1,_id:1" if newest_first else "dateTime:1,_id:1",
                    "customQuery": custom_query,
                    "skip": page_no * PAGE,
                    "limit": PAGE,
                },
            )
            if not isinstance(page, list):
                raise UpstreamBadResponse("resOS bookings are not a list", upstream=self.name)
            yield page
            if len(page) < PAGE:
                return
        log.warning("resOS %s: stopped paging bookings after %d pages", r.id, max_pages)

    async def _fetch(
        self,
        r: RestaurantConfig,
        start: datetime,
        end: datetime,
        *,
        custom_query: str | None = None,
        priority: int = READ,
    ) -> list[RawBooking]:
        out: list[RawBooking] = []
        async for page in self._pages(r, start, end, custom_query=custom_query, priority=priority):
            out.extend(page)
        return out

    async def _fetch_range(
        self,
        r: RestaurantConfig,
        start: datetime,
        end: datetime,
        *,
        custom_query: str | None = None,
        priority: int = READ,
    ) -> list[RawBooking]:
        """A long range in windows of ``list_window_days``; deduplicated by ``_id``."""
        seen: dict[str, RawBooking] = {}
        window = timedelta(days=max(1, self._window_days))
        cursor = start
        while cursor < end:
            upper = min(end, cursor + window)
            for raw in await self._fetch(
                r, cursor, upper, custom_query=custom_query, priority=priority
            ):
                if isinstance(raw, dict) and raw.get("_id"):
                    seen.setdefault(raw["_id"], raw)
            cursor = upper
        return list(seen.values())

    def _map(self, r: RestaurantConfig, raw: RawBooking) -> Booking:
        try:
            return to_booking(self.name, r.id, raw, r.timezone)
        except (KeyError, ValueError, TypeError):
            raise UpstreamBadResponse(
                "resOS sent a booking that cannot be read", upstream=self.name
            ) from None

    async def list_bookings(self, query: BookingQuery) -> list[Booking]:
        r = self._restaurant(query.restaurant_id)
        terms: list[str] = []
        if query.statuses is not None and len(query.statuses) == 1:
            (only,) = query.statuses
            if only in STATUS_OUT:
                terms.append(f"status:{quote(STATUS_OUT[only])}")
        identity: str | None = None
        if query.guest_id is not None:
            parsed = split_id(query.guest_id)
            if parsed is None or parsed[0] != r.id:
                return []
            identity = parsed[1]
            terms.append(identity_term(identity))
        raws = await self._fetch_range(
            r, query.start, query.end, custom_query=",".join(terms) or None
        )
        out: list[Booking] = []
        for raw in raws:  # never trust the server-side filter: re-apply every condition
            booking = self._map(r, raw)
            if not query.start <= booking.start < query.end:
                continue
            if query.statuses is not None and booking.status not in query.statuses:
                continue
            if identity is not None and (
                booking.guest is None or booking.guest_id != join_id(r.id, identity)
            ):
                continue
            out.append(booking)
        out.sort(key=lambda b: (b.start, b.native_id))
        return out

    async def _get_raw(
        self, r: RestaurantConfig, booking_id: str, priority: int = READ
    ) -> RawBooking:
        raw = await self._json(r, "GET", f"/bookings/{booking_id}", priority=priority)
        if not isinstance(raw, dict) or raw.get("_id") != booking_id:
            raise UpstreamBadResponse("resOS sent an unexpected booking", upstream=self.name)
        return raw  # type: ignore[return-value]

    def _resolve(self, native_id: str) -> tuple[RestaurantConfig, str]:
        parsed = split_id(native_id)
        if parsed is None or parsed[0] not in self._restaurants or not _RESOS_ID.match(parsed[1]):
            raise NotFound("booking not found", upstream=self.name)
        return self._restaurants[parsed[0]], parsed[1]

    async def get_bookings(self, ids: Sequence[str]) -> BatchResult:
        semaphore = asyncio.Semaphore(5)

        async def one(native_id: str) -> Any:
            try:
                r, booking_id = self._resolve(native_id)
            except NotFound:
                return None
            async with semaphore:
                try:
                    return self._map(r, await self._get_raw(r, booking_id))
                except NotFound:
                    return None
                except GatewayError as exc:
                    return exc

        return list(await asyncio.gather(*(one(i) for i in ids)))

    # ---- bookings: writes ----------------------------------------------------------------

    async def create_booking(self, request: NewBooking) -> Booking:
        r = self._restaurant(request.restaurant_id)
        if not r.min_party_size <= request.party_size <= r.max_party_size:
            raise PolicyViolation(
                f"party size must be between {r.min_party_size} and {r.max_party_size}",
                upstream=self.name,
                field=("partySize",),
            )
        key = request.idempotency_key
        local = to_zone(request.start, r.timezone)
        known = self._known_keys.get(key)
        if known is not None:
            kr, booking_id = self._resolve(known)
            existing = self._map(kr, await self._get_raw(kr, booking_id, MUTATION))
            return self._same_request(existing, local, request)
        if key in self._ambiguous:  # an earlier answer was lost: look before booking again
            found = await self.find_booking_by_idempotency_key(r.id, key, request)
            if found is not None:
                return self._remember(key, self._same_request(found, local, request))
        async with self._write_lock(r):
            return await self._create_checked(r, request, key, local)

    def _write_lock(self, r: RestaurantConfig) -> asyncio.Lock:
        return self._write_locks.setdefault(r.id, asyncio.Lock())

    async def _create_checked(
        self, r: RestaurantConfig, request: NewBooking, key: str, local: datetime
    ) -> Booking:
        """Re-check the slot and create (under the restaurant's write lock)."""
        service_day, period = await self._check_slot(r, local, request.party_size)
        body = create_body(r, request, local, service_day, period, self.name)
        for attempt in (1, 2):
            try:
                created = await self._json(r, "POST", "/bookings", json=body, priority=MUTATION)
                break
            except OutcomeUnknown as lost:
                self._ambiguous.add(key)
                try:
                    found = await self._reconcile(r, key, request)
                except GatewayError:
                    raise lost from None  # still unknown; the key stays marked ambiguous
                if found is not None:
                    return self._remember(key, found)
                if attempt == 2:
                    raise
                # Not stored upstream: the one retry cannot make a second booking.
        if not isinstance(created, str) or not _RESOS_ID.match(created):
            raise UpstreamBadResponse("resOS did not answer a booking id", upstream=self.name)
        booking = self._map(r, await self._get_raw(r, created, MUTATION))
        return self._remember(key, booking)

    def _same_request(self, booking: Booking, local: datetime, request: NewBooking) -> Booking:
        """A key already used must come back with the same booking request."""
        if booking.start != local or booking.party_size != request.party_size:
            raise IdempotencyConflict(
                "this idempotency key was already used for another booking request",
                upstream=self.name,
                field=("idempotencyKey",),
            )
        return booking

    def _remember(self, key: str, booking: Booking) -> Booking:
        self._ambiguous.discard(key)
        self._known_keys[key] = booking.native_id
        self._known_keys.move_to_end(key)
        while len(self._known_keys) > 10_000:
            self._known_keys.popitem(last=False)
        return booking

    async def find_booking_by_idempotency_key(
        self, restaurant_id: str, key: str, request: NewBooking
    ) -> Booking | None:
        return await self._reconcile(self._restaurant(restaurant_id), key, request)

    async def _reconcile(
        self, r: RestaurantConfig, key: str, request: NewBooking
    ) -> Booking | None:
        """The booking this key made on the request's day (±1 for past-midnight), if any."""
        stored = stored_key(key)
        local = to_zone(request.start, r.timezone)
        start, _ = local_day_bounds(local.date() - timedelta(days=1), r.timezone)
        _, end = local_day_bounds(local.date() + timedelta(days=1), r.timezone)
        raws = await self._fetch(
            r,
            start,
            end,
            priority=MUTATION,
            custom_query=f"metadata.{METADATA_KEY}:{quote(stored)}",
        )
        for raw in raws:
            if (raw.get("metadata") or {}).get(METADATA_KEY) == stored:
                return self._map(r, raw)
        return None

    async def _put(self, r: RestaurantConfig, booking_id: str, body: dict[str, Any]) -> None:
        answer = await self._json(r, "PUT", f"/bookings/{booking_id}", json=body, priority=MUTATION)
        if answer is not True:
            raise UpstreamBadResponse("resOS did not confirm the update", upstream=self.name)

    async def reschedule_booking(self, booking_id: str, change: BookingChange) -> Booking:
        r, rid = self._resolve(booking_id)
        raw = await self._get_raw(r, rid, MUTATION)
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
        async with self._write_lock(r):
            service_day, period = await self._check_slot(r, local, people)
            body: dict[str, Any] = {
                "date": service_day.isoformat(),
                "time": local.strftime("%H:%M"),
                "people": people,
            }
            if period.get("_id") and period.get("_id") != raw.get("openingHourId"):
                body["openingHourId"] = period["_id"]
                if period.get("name"):
                    body["openingHourName"] = period["name"]
                policy = (await self._policies(r)).get(period["_id"])
                if policy is not None:
                    body["duration"] = policy.duration
            await self._put(r, rid, body)
        return self._map(r, await self._get_raw(r, rid, MUTATION))

    async def cancel_booking(self, booking_id: str, reason: str | None) -> Booking:
        r, rid = self._resolve(booking_id)
        raw = await self._get_raw(r, rid, MUTATION)
        status = raw.get("status")
        if status == "canceled":
            return self._map(r, raw)  # cancelling twice is not an error
        if status in NOT_CANCELLABLE:
            raise InvalidState(
                f"a {status} booking cannot be cancelled",
                upstream=self.name,
                code="NOT_CANCELLABLE",
            )
        await self._put(r, rid, {"status": "canceled"})
        if reason:
            try:
                await self._json(
                    r,
                    "POST",
                    f"/bookings/{rid}/restaurantNote",
                    json={"text": f"Cancelled: {reason}"[:1000]},
                    priority=MUTATION,
                )
            except GatewayError:
                log.warning("resOS %s: cancellation reason not stored", r.id)
        return self._map(r, await self._get_raw(r, rid, MUTATION))

    async def update_booking(self, booking_id: str, update: BookingUpdate) -> Booking:
        r, rid = self._resolve(booking_id)
        if update.tags is not None:
            raise self._unsupported_field("tags")
        body: dict[str, Any] = {}
        if update.status is not None:
            if update.status not in STATUS_OUT:
                raise InvalidInput(
                    f"status {update.status.value} cannot be set in resOS",
                    upstream=self.name,
                    field=("status",),
                )
            body["status"] = STATUS_OUT[update.status]
        if update.tables is not None:
            body["tables"] = list(update.tables)
        if update.locale is not None:
            language = update.locale.split("-")[0].lower()
            if language not in LANGUAGES:
                raise InvalidInput(
                    "resOS speaks en, es, de, da or sv only", upstream=self.name, field=("locale",)
                )
            body["languageCode"] = language
        if body:
            await self._put(r, rid, body)
        if update.notes:
            # Internal notes are added, never replaced: the newest one is the booking's notes.
            await self._json(
                r,
                "POST",
                f"/bookings/{rid}/restaurantNote",
                json={"text": update.notes[:1000]},
                priority=MUTATION,
            )
        return self._map(r, await self._get_raw(r, rid, MUTATION))

    def _unsupported_field(self, name: str) -> GatewayError:
        return NotSupported(
            f"resOS bookings have no {name}",
            upstream=self.name,
            field=(name,),
            details={"capability": "BOOKING_UPDATE"},
        )

    # ---- waitlist ------------------------------------------------------------------------

    async def join_waitlist(self, request: WaitlistRequest) -> WaitlistEntry:
        """A ``waitlist`` booking at one of the day's ``waitlistTimes`` (nearest preferred)."""
        r = self._restaurant(request.restaurant_id)
        offered: list[tuple[str, RawTimesPeriod]] = [
            (hhmm, period)
            for period in await self._times(r, request.day, request.party_size, MUTATION)
            for hhmm in period.get("waitlistTimes") or []
        ]
        if not offered:
            raise SlotUnavailable("no waitlist is open that day", upstream=self.name)
        wanted = request.preferred_time or wall_time(0)
        minutes = wanted.hour * 60 + wanted.minute
        hhmm, period = min(
            offered, key=lambda o: abs(int(o[0][:2]) * 60 + int(o[0][3:5]) - minutes)
        )
        body = booking_body(
            r,
            request.day,
            hhmm,
            request.party_size,
            request.guest,
            period,
            "waitlist",
            request.notes,
            self.name,
        )
        created = await self._json(r, "POST", "/bookings", json=body, priority=MUTATION)
        if not isinstance(created, str) or not _RESOS_ID.match(created):
            raise UpstreamBadResponse("resOS did not answer a booking id", upstream=self.name)
        booking = self._map(r, await self._get_raw(r, created, MUTATION))
        return WaitlistEntry(
            upstream=self.name,
            native_id=booking.native_id,
            restaurant_id=r.id,
            day=request.day,
            party_size=booking.party_size,
            status=booking.provider_status,
            preferred_time=booking.start.time().replace(tzinfo=None),
            guest=booking.guest,
            created_at=booking.created_at,
        )

    # ---- guests --------------------------------------------------------------------------

    def _guest_range(self, r: RestaurantConfig) -> tuple[datetime, datetime]:
        today = datetime.fromtimestamp(self._now(), zone(r.timezone)).date()
        start, _ = local_day_bounds(today - timedelta(days=self._guest_back), r.timezone)
        _, end = local_day_bounds(today + timedelta(days=self._guest_ahead), r.timezone)
        return start, end

    async def get_guests(self, ids: Sequence[str]) -> BatchResult:
        semaphore = asyncio.Semaphore(5)

        async def one(native_id: str) -> Any:
            parsed = split_id(native_id)
            if parsed is None or parsed[0] not in self._restaurants:
                return None
            r = self._restaurants[parsed[0]]
            identity = parsed[1]
            if not identity.startswith(("phone:", "email:")):
                return None
            start, end = self._guest_range(r)
            async with semaphore:
                try:
                    raws = await self._fetch(r, start, end, custom_query=identity_term(identity))
                except GatewayError as exc:
                    return exc
            return guests_from(self.name, r.id, raws).get(native_id)

        return list(await asyncio.gather(*(one(i) for i in ids)))

    async def list_guests(self, restaurant_id: str, search: str | None, limit: int) -> list[Guest]:
        """The guests of the most recent bookings (newest first, at most ``GUEST_PAGES``
        pages); ``visit_count`` is left unknown when the scan stopped early."""
        r = self._restaurant(restaurant_id)
        needle = (search or "").strip().lower()
        start, end = self._guest_range(r)
        raws: list[RawBooking] = []
        complete = False
        found: list[Guest] = []
        async for page in self._pages(
            r,
            start,
            end,
            custom_query=search_term(needle),
            newest_first=True,
            max_pages=GUEST_PAGES,
        ):
            raws.extend(page)
            complete = len(page) < PAGE
            found = [
                g
                for g in guests_from(self.name, r.id, raws).values()
                if not needle or search_hit(g, needle)
            ]
            if len(found) >= limit:
                break
        if not complete:
            found = [replace(g, visit_count=None) for g in found]
        found.sort(key=lambda g: (g.last_name or "", g.first_name or "", g.native_id))
        return found[: max(0, limit)]
