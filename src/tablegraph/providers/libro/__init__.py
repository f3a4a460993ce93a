"""Libro adapter (``kind = "libro"``).

API: Libro restricted API v2, JSON:API documents with kebab-case attributes
(``shared/seeds/libro-api.txt``; tables and later changes in ``shared/providers/libro.md``).
Every call sends ``Accept: application/vnd.libro-restricted-v2+json`` and, on
``/restricted/restaurant/*`` and ``/restricted/people``, the ``restaurant-code``.

Auth: OAuth 2.0 bearer tokens. The partner account uses client credentials (token cached until
60 s before ``expires_in``, renewed single-flight). Restaurants connected through the
authorization-code flow (``libro_oauth_routes``) use their own account's token, renewed with a
rotating refresh token kept in a durable encrypted ``TokenStore``; a refresh that fails marks
only that account ``needs_reconnect`` (``health_details``). A 401 or 403 renews the token once
and replays the call.

Quirks and choices (where Libro is silent, per providers/libro.md):
- Restaurants are addressed by ``code``: ``Restaurant.native_id`` is the code, ``reference``
  Libro's numeric id. Bookings name their restaurant by numeric id; the adapter maps it back.
- Seatings keys are local wall times without an offset, read in the restaurant's ``tz``
  (``timeutil.localize``: a time skipped by DST moves forward, an ambiguous one is the first).
  One ``Slot`` per start and payment requirement; ``amount-cents`` carries no currency, the
  ``currency`` option (default CAD) supplies it. Slots last 90 minutes (DOC examples).
- The nine statuses map through ``mapping.STATUSES``; the raw value stays in
  ``provider_status``. ``modification-restricted`` and ``cancelation-allowed-until`` are checked
  before any write. Libro has no idempotency: ``find_booking_by_idempotency_key`` searches by
  date, time, size and guest.
- Libro cannot create a person on its own: ``upsert_guest`` updates an existing one (found by
  e-mail, then phone) and raises ``NotSupported`` otherwise.
- Error codes 1001–4001 and HTTP statuses map through ``errors.CODES`` / ``errors.STATUSES``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

from tablegraph.errors import (
    GatewayError,
    InvalidInput,
    InvalidState,
    NotFound,
    NotSupported,
    UpstreamAuthError,
    UpstreamBadResponse,
)
from tablegraph.model import (
    Booking,
    BookingChange,
    BookingQuery,
    BookingStatus,
    BookingUpdate,
    Capability,
    Guest,
    GuestUpsert,
    NewBooking,
    OpeningHours,
    Restaurant,
    Review,
    Slot,
    WebhookEvent,
)
from tablegraph.providers import register
from tablegraph.providers.base import BatchResult, Provider
from tablegraph.providers.kit import Runtime
from tablegraph.providers.libro.auth import Account, Now, TokenAuth
from tablegraph.providers.libro.connections import Connections
from tablegraph.providers.libro.errors import raise_for
from tablegraph.providers.libro.jsonapi import (
    Document,
    Included,
    Resource,
    related_id,
    resources,
)
from tablegraph.providers.libro.mapping import (
    ACTIVE,
    _to_booking,
    _to_guest,
    _to_opening_hours,
    _to_restaurant,
    _to_review,
    _to_slots,
    day_of,
    libro_statuses,
)
from tablegraph.providers.libro.webhooks import touched, verify_signature
from tablegraph.settings import ConfigError
from tablegraph.timeutil import parse_instant, to_zone
from tablegraph.tokenstore import DEFAULT_KEY_ENV, MemoryTokenStore, SqliteTokenStore, TokenStore
from tablegraph.upstream import RetryPolicy, UpstreamClient, json_body

__all__ = ["LibroProvider", "libro_oauth_routes"]

ACCEPT = "application/vnd.libro-restricted-v2+json"
MAX_PAGE = 250
T = TypeVar("T")


@register
class LibroProvider(Provider):
    kind = "libro"
    display_name = "Libro"
    capabilities = frozenset(
        {
            Capability.AVAILABILITY,
            Capability.BOOKINGS_READ,
            Capability.BOOKING_CREATE,
            Capability.BOOKING_RESCHEDULE,
            Capability.BOOKING_CANCEL,
            Capability.BOOKING_UPDATE,
            Capability.GUESTS_READ,
            Capability.GUEST_UPSERT,
            Capability.REVIEWS,
            Capability.OPENING_HOURS,
            Capability.WEBHOOKS,
        }
    )
    credential_names = ("client_id", "client_secret", "webhook_secret", "token_store_key")
    option_names = (
        "restaurant_codes",
        "client_credentials",
        "token_url",
        "oauth_token_url",
        "authorize_url",
        "redirect_uri",
        "scopes",
        "token_store_path",
        "token_store_key_env",
        "page_size",
        "max_concurrency",
        "refresh_margin_seconds",
        "currency",
        "reference_ttl_seconds",
    )

    def __init__(self, config: Any, runtime: Runtime | None = None) -> None:
        super().__init__(config, runtime)
        opts = config.options
        clock = opts.get("_clock")
        self._now: Now = clock.now if clock is not None else (lambda: datetime.now(UTC))
        base = config.base_url.rstrip("/")
        self._codes = tuple(str(c) for c in opts.get("restaurant_codes") or ())
        self._page_size = max(1, min(int(opts.get("page_size", MAX_PAGE)), MAX_PAGE))
        self._max_concurrency = int(opts.get("max_concurrency", 5))
        self._currency = str(opts.get("currency", "CAD"))
        self._ref_ttl = timedelta(seconds=float(opts.get("reference_ttl_seconds", 300)))
        # Libro documents no rate numbers: back off 1 s, 2 s, 4 s on 429 (providers/libro.md).
        self._retry = RetryPolicy(attempts=4, base_delay=1.0, max_delay=4.0)
        self._sleep = opts.get("_sleep", asyncio.sleep)
        self._token_client = self._client(retry=self._retry, sleep=self._sleep)
        token_url = str(opts.get("token_url", f"{base}/oauth/token"))
        self._conn = Connections(
            upstream=self.name,
            client_id=lambda: self._credential("client_id"),
            client_secret=lambda: self._credential("client_secret"),
            token_client=self._token_client,
            make_client=self._api_client,
            store=opts.get("_token_store") or self._make_store(),
            now=self._now,
            margin=float(opts.get("refresh_margin_seconds", 60)),
            token_url=token_url,
            oauth_token_url=str(opts.get("oauth_token_url", token_url)),
            authorize_url=str(opts.get("authorize_url", f"{base}/oauth/authorize")),
            scopes=str(opts.get("scopes", "bookings people reviews")),
            use_client_credentials=bool(opts.get("client_credentials", True)),
        )
        self._semaphores: dict[int, asyncio.Semaphore] = {}
        self._restaurants: dict[str, tuple[Restaurant, Resource]] = {}
        self._restaurants_at: datetime | None = None
        self._restaurants_lock = asyncio.Lock()
        self._ref_to_code: dict[str, str] = {}
        self._booking_codes: dict[str, str] = {}
        self._person_codes: dict[str, str] = {}
        self._idempotency: dict[str, str] = {}

    # ---- lifecycle and auth ---------------------------------------------------------------

    def _make_store(self) -> TokenStore:
        path = self.config.options.get("token_store_path")
        if not path:
            return MemoryTokenStore()
        secret = self.config.credentials.get("token_store_key")
        if secret is not None:
            return SqliteTokenStore(path, secret.reveal())
        env = str(self.config.options.get("token_store_key_env", DEFAULT_KEY_ENV))
        try:
            return SqliteTokenStore.from_env(path, env)
        except RuntimeError:
            raise ConfigError(
                f"upstream {self.name!r}: token store key not set (credential "
                f"'token_store_key' or environment variable {env})"
            ) from None

    def _api_client(self, auth: TokenAuth) -> UpstreamClient:
        return self._client(
            auth=auth, retry=self._retry, sleep=self._sleep, default_headers={"Accept": ACCEPT}
        )

    @property
    def clients(self) -> Sequence[UpstreamClient]:
        return [self._token_client, *self._conn.clients()]

    async def start(self) -> None:
        await self._conn.ensure_loaded()
        # Learn restaurant ids -> codes early (webhooks name restaurants by id); the upstream
        # may be down at start-up, and then the first call retries.
        with contextlib.suppress(GatewayError):
            await self._restaurant_map()

    def http_routes(self) -> list[Any]:
        return libro_oauth_routes(self)

    def health_details(self) -> dict[str, Any]:
        return self._conn.health()

    async def _route(self, code: str | None) -> UpstreamClient:
        return await self._conn.route(code)

    # ---- the HTTP boundary -----------------------------------------------------------------

    def _semaphore(self, client: UpstreamClient) -> asyncio.Semaphore:
        return self._semaphores.setdefault(id(client), asyncio.Semaphore(self._max_concurrency))

    async def _call(
        self,
        client: UpstreamClient,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
    ) -> Any:
        async with self._semaphore(client):
            # A 403 for an expired token is renewed and replayed by the client (TokenAuth).
            resp = await client.request(method, path, params=params, json=json)
        if resp.status_code >= 400:
            raise_for(resp, self.name)
        return json_body(resp, self.name)

    def _one(self, doc: Document) -> Resource:
        found = resources(doc)
        if not found or "id" not in found[0]:
            raise UpstreamBadResponse("Libro answered without the resource", upstream=self.name)
        return found[0]

    async def _pages(
        self, client: UpstreamClient, path: str, params: dict[str, Any]
    ) -> tuple[list[Resource], Included]:
        """Every page of a list endpoint (``limit`` ≤ 250 / ``offset``)."""
        items: list[Resource] = []
        included = Included()
        offset = 0
        while True:
            doc: Document = await self._call(
                client, "GET", path, params={**params, "limit": self._page_size, "offset": offset}
            )
            page = resources(doc)
            items.extend(page)
            included.add(doc.get("included") or [])
            offset += len(page)
            total = ((doc.get("meta") or {}).get("page") or {}).get("total")
            if len(page) < self._page_size or (isinstance(total, int) and offset >= total):
                return items, included

    async def _bounded(
        self, keys: Sequence[str], fetch: Callable[[str], Awaitable[T | None]]
    ) -> BatchResult:
        """One call per distinct key, at most 8 at once; results in key order."""
        sem = asyncio.Semaphore(8)
        unique = list(dict.fromkeys(keys))

        async def one(key: str) -> Any:
            async with sem:
                try:
                    return await fetch(key)
                except NotFound:
                    return None
                except GatewayError as exc:
                    return exc

        results = dict(zip(unique, await asyncio.gather(*(one(k) for k in unique)), strict=True))
        return [results[k] for k in keys]

    # ---- restaurants ----------------------------------------------------------------------

    async def _restaurant_map(self) -> dict[str, tuple[Restaurant, Resource]]:
        now = self._now()
        if self._restaurants_at is not None and now < self._restaurants_at + self._ref_ttl:
            return self._restaurants
        async with self._restaurants_lock:
            if self._restaurants_at is not None and now < self._restaurants_at + self._ref_ttl:
                return self._restaurants
            await self._conn.ensure_loaded()
            found: dict[str, tuple[Restaurant, Resource]] = {}
            if self._conn.use_client_credentials:
                items, _ = await self._pages(self._conn.default, "/restricted/restaurants", {})
                for res in items:
                    code = str((res.get("attributes") or {}).get("code"))
                    if not self._codes or code in self._codes:
                        found[code] = (self._to_restaurant(res), res)
            for account in self._conn.connected():
                assert account.client is not None
                try:
                    items, _ = await self._pages(account.client, "/restricted/restaurants", {})
                except UpstreamAuthError:
                    continue  # that account alone is affected; health_details says so
                for res in items:
                    code = str((res.get("attributes") or {}).get("code"))
                    if code in account.restaurant_codes:
                        found[code] = (self._to_restaurant(res), res)
            self._restaurants, self._restaurants_at = found, now
            return found

    def _to_restaurant(self, res: Resource) -> Restaurant:
        restaurant = _to_restaurant(self.name, res, self.capabilities)
        if restaurant.reference:
            self._ref_to_code[restaurant.reference] = restaurant.native_id
        return restaurant

    async def _restaurant(self, code: str) -> tuple[Restaurant, Resource]:
        known = (await self._restaurant_map()).get(code)
        if known is not None:
            return known
        covered = any(code in a.restaurant_codes for a in self._conn.connected())
        if self._codes and code not in self._codes and not covered:
            raise NotFound("no such Libro restaurant", upstream=self.name)
        client = await self._route(code)
        doc: Document = await self._call(
            client, "GET", "/restricted/restaurants", params={"restaurant-code": code}
        )
        items = resources(doc)
        if not items:
            raise NotFound("no such Libro restaurant", upstream=self.name)
        entry = (self._to_restaurant(items[0]), items[0])
        self._restaurants[code] = entry
        return entry

    async def list_restaurants(self) -> list[Restaurant]:
        return [r for r, _ in (await self._restaurant_map()).values()]

    async def get_restaurants(self, ids: Sequence[str]) -> BatchResult:
        async def fetch(code: str) -> Restaurant:
            return (await self._restaurant(code))[0]

        return await self._bounded(ids, fetch)

    async def get_opening_hours(self, restaurant_id: str) -> OpeningHours:
        return _to_opening_hours((await self._restaurant(restaurant_id))[1])

    async def get_availability(self, restaurant_id: str, day: date, party_size: int) -> list[Slot]:
        restaurant, raw = await self._restaurant(restaurant_id)
        client = await self._route(restaurant_id)
        body = await self._call(
            client,
            "GET",
            "/restricted/restaurant/seatings",
            params={"restaurant-code": restaurant_id, "date": day.isoformat(), "size": party_size},
        )
        try:
            return _to_slots(body, restaurant.timezone, party_size, self._currency, raw)
        except (KeyError, TypeError, ValueError):
            raise UpstreamBadResponse(
                "Libro sent seatings the gateway cannot read", upstream=self.name
            ) from None

    # ---- bookings -------------------------------------------------------------------------

    async def _booking_from(
        self, res: Resource, included: Included, code: str | None = None
    ) -> Booking:
        ref = related_id(res, "restaurant")
        if ref is not None and ref not in self._ref_to_code:
            await self._restaurant_map()
        code = self._ref_to_code.get(ref or "", code)
        if code is None:
            raise NotFound("the booking's Libro restaurant is not exposed", upstream=self.name)
        restaurant, _ = await self._restaurant(code)
        try:
            booking = _to_booking(self.name, res, restaurant, included)
        except (KeyError, TypeError, ValueError):
            raise UpstreamBadResponse(
                "Libro sent a booking the gateway cannot read", upstream=self.name
            ) from None
        self._booking_codes[booking.native_id] = code
        if booking.guest_id:
            self._person_codes.setdefault(booking.guest_id, code)
        return booking

    async def _get_by_id(self, path: str, known: str | None) -> tuple[Document, str]:
        """GET a booking or person by id with its ``restaurant-code``; when the restaurant is
        not known yet, try each exposed restaurant in turn (a 404 means "not this one")."""
        codes = [known] if known else list(await self._restaurant_map())
        auth_error: UpstreamAuthError | None = None
        for code in codes:
            try:
                client = await self._route(code)
                return await self._call(client, "GET", path, params={"restaurant-code": code}), code
            except NotFound:
                continue
            except UpstreamAuthError as exc:  # one disconnected account hides only its own
                auth_error = exc
        if auth_error is not None:
            raise auth_error
        raise NotFound("not found at Libro", upstream=self.name)

    async def _raw_booking(self, booking_id: str) -> tuple[Resource, Included, str]:
        doc, code = await self._get_by_id(
            f"/restricted/restaurant/bookings/{booking_id}", self._booking_codes.get(booking_id)
        )
        return self._one(doc), Included([doc]), code

    async def list_bookings(self, query: BookingQuery) -> list[Booking]:
        code = query.restaurant_id
        restaurant, _ = await self._restaurant(code)
        params: dict[str, Any] = {"restaurant-code": code}
        day = day_of(query.start, query.end, restaurant.timezone)
        if day is not None:
            params["date"] = day.isoformat()
        else:
            params["started-after"] = query.start.isoformat()
            params["started-before"] = query.end.isoformat()
        raw_statuses = libro_statuses(query.statuses) if query.statuses else None
        if raw_statuses is not None and len(raw_statuses) == 1:
            params["status"] = raw_statuses[0]
        if query.guest_id:
            params["guest-id"] = query.guest_id
        items, included = await self._pages(
            await self._route(code), "/restricted/restaurant/bookings", params
        )
        out = [await self._booking_from(res, included, code) for res in items]
        return sorted(
            (
                b
                for b in out
                if query.start <= b.start < query.end
                and (query.statuses is None or b.status in query.statuses)
            ),
            key=lambda b: (b.start, b.native_id),
        )

    async def get_bookings(self, ids: Sequence[str]) -> BatchResult:
        async def fetch(booking_id: str) -> Booking:
            res, included, code = await self._raw_booking(booking_id)
            return await self._booking_from(res, included, code)

        return await self._bounded(ids, fetch)

    async def _find_person(
        self, client: UpstreamClient, code: str, email: str | None, phone: str | None
    ) -> str | None:
        for param, value in (("guest-email", email), ("guest-phone", phone)):
            if not value:
                continue
            doc = await self._call(
                client,
                "GET",
                "/restricted/people",
                params={"restaurant-code": code, param: value, "limit": 1},
            )
            found = resources(doc)
            if found:
                return str(found[0]["id"])
        return None

    async def create_booking(self, request: NewBooking) -> Booking:
        code = request.restaurant_id
        restaurant, _ = await self._restaurant(code)
        client = await self._route(code)
        guest = request.guest
        person_id = await self._find_person(client, code, guest.email, guest.phone)
        person: dict[str, Any]
        if person_id is not None:
            person = {"type": "people", "id": int(person_id) if person_id.isdigit() else person_id}
        elif not (guest.email and guest.phone):
            # Libro's person table marks first-name, last-name, email and phone required.
            raise InvalidInput(
                "Libro needs the guest's e-mail and phone for a new guest",
                upstream=self.name,
                field=("guest",),
            )
        else:
            attrs = {
                "first-name": guest.first_name,
                "last-name": guest.last_name,
                "email": guest.email,
                "phone": guest.phone,
                "preferred-communication-channel": "email" if guest.email else "phone",
                "locale": guest.locale,
            }
            person = {
                "type": "people",
                "attributes": {k: v for k, v in attrs.items() if v is not None},
            }
        local = to_zone(request.start, restaurant.timezone)
        attributes: dict[str, Any] = {
            "size": request.party_size,
            "date": local.date().isoformat(),
            "time": local.strftime("%H:%M:%S"),
        }
        if request.notes:
            attributes["note"] = request.notes
        if guest.locale:
            attributes["locale"] = guest.locale
        if request.area_id:
            try:
                attributes["booking-experience-id"] = int(request.area_id)
            except ValueError:
                raise InvalidInput(
                    "unknown Libro experience id", upstream=self.name, field=("areaId",)
                ) from None
        body = {
            "restaurant-code": code,
            "data": {"attributes": attributes, "relationships": {"person": {"data": person}}},
        }
        doc = await self._call(client, "POST", "/restricted/restaurant/bookings", json=body)
        booking = await self._booking_from(self._one(doc), Included([doc]), code)
        self._idempotency[request.idempotency_key] = booking.native_id
        return booking

    async def find_booking_by_idempotency_key(
        self, restaurant_id: str, key: str, request: NewBooking
    ) -> Booking | None:
        known = self._idempotency.get(key)
        if known is not None:
            found = (await self.get_bookings([known]))[0]
            return found if isinstance(found, Booking) else None
        # Libro keeps no key: look for the same guest at the same time with the same size.
        restaurant, _ = await self._restaurant(restaurant_id)
        local = to_zone(request.start, restaurant.timezone)
        params = {
            "restaurant-code": restaurant_id,
            "date": local.date().isoformat(),
            "time": local.strftime("%H:%M"),
        }
        if request.guest.phone:
            params["guest-phone"] = request.guest.phone
        items, included = await self._pages(
            await self._route(restaurant_id), "/restricted/restaurant/bookings", params
        )
        candidates = [await self._booking_from(r, included, restaurant_id) for r in items]
        candidates = [
            b
            for b in candidates
            if b.party_size == request.party_size and b.status != BookingStatus.CANCELLED
        ]
        guests = await self.get_guests([b.guest_id or "" for b in candidates])
        for booking, guest in zip(candidates, guests, strict=True):
            if isinstance(guest, Guest) and (
                (request.guest.email and guest.email == request.guest.email)
                or (request.guest.phone and guest.phone == request.guest.phone)
            ):
                self._idempotency[key] = booking.native_id
                return booking
        return None

    def _check_modifiable(self, res: Resource) -> None:
        restricted = (res.get("attributes") or {}).get("modification-restricted") or {}
        if isinstance(restricted, dict) and restricted.get("restricted"):
            raise InvalidState(
                "only the restaurant can change this booking",
                upstream=self.name,
                code="MODIFICATION_RESTRICTED",
                details={"reason": restricted.get("reason")},
            )

    async def reschedule_booking(self, booking_id: str, change: BookingChange) -> Booking:
        res, included, code = await self._raw_booking(booking_id)
        current = await self._booking_from(res, included, code)
        if current.provider_status not in ACTIVE:
            raise InvalidState("the booking can no longer be moved", upstream=self.name)
        self._check_modifiable(res)
        restaurant, _ = await self._restaurant(current.restaurant_id)
        start = to_zone(change.start or current.start, restaurant.timezone)
        body = {
            "restaurant-code": current.restaurant_id,
            "data": {
                "attributes": {
                    "date": start.date().isoformat(),
                    "time": start.strftime("%H:%M:%S"),
                    "size": change.party_size or current.party_size,
                }
            },
        }
        doc = await self._call(
            await self._route(current.restaurant_id),
            "PUT",
            f"/restricted/restaurant/bookings/{booking_id}/reschedule",
            json=body,
        )
        return await self._booking_from(self._one(doc), Included([doc]), current.restaurant_id)

    async def cancel_booking(self, booking_id: str, reason: str | None) -> Booking:
        res, included, code = await self._raw_booking(booking_id)
        current = await self._booking_from(res, included, code)
        if current.status == BookingStatus.CANCELLED:
            return current
        if current.provider_status not in ACTIVE:
            raise InvalidState(
                "the booking can no longer be cancelled", upstream=self.name, code="NOT_CANCELLABLE"
            )
        self._check_modifiable(res)
        until = (res.get("attributes") or {}).get("cancelation-allowed-until")
        if until and self._now() >= parse_instant(str(until)):
            raise InvalidState(
                "the cancellation deadline has passed",
                upstream=self.name,
                code="NOT_CANCELLABLE",
                details={"deadline": str(until)},
            )
        doc = await self._call(
            await self._route(current.restaurant_id),
            "DELETE",
            f"/restricted/restaurant/bookings/{booking_id}",
            params={"restaurant-code": current.restaurant_id},
        )
        return await self._booking_from(self._one(doc), Included([doc]), current.restaurant_id)

    async def update_booking(self, booking_id: str, update: BookingUpdate) -> Booking:
        if update.status is not None or update.tables is not None:
            raise NotSupported("Libro's API changes only note, tags and locale", upstream=self.name)
        res, included, code = await self._raw_booking(booking_id)
        current = await self._booking_from(res, included, code)
        attributes: dict[str, Any] = {}
        if update.notes is not None:
            attributes["note"] = update.notes
        if update.tags is not None:
            attributes["tags"] = list(update.tags)
        if update.locale is not None:
            attributes["locale"] = update.locale
        if not attributes:
            return current
        doc = await self._call(
            await self._route(current.restaurant_id),
            "PATCH",
            f"/restricted/restaurant/bookings/{booking_id}",
            json={"restaurant-code": current.restaurant_id, "data": {"attributes": attributes}},
        )
        return await self._booking_from(self._one(doc), Included([doc]), current.restaurant_id)

    # ---- guests and reviews ---------------------------------------------------------------

    async def _person(self, person_id: str) -> Guest:
        doc, code = await self._get_by_id(
            f"/restricted/people/{person_id}", self._person_codes.get(person_id)
        )
        self._person_codes.setdefault(person_id, code)
        return _to_guest(self.name, self._one(doc))

    async def get_guests(self, ids: Sequence[str]) -> BatchResult:
        return await self._bounded(ids, self._person)

    async def list_guests(self, restaurant_id: str, search: str | None, limit: int) -> list[Guest]:
        params: dict[str, Any] = {"restaurant-code": restaurant_id}
        name: str | None = None
        if search and "@" in search:
            params["guest-email"] = search.strip()
        elif search and search.strip().lstrip("+").replace(" ", "").replace("-", "").isdigit():
            params["guest-phone"] = search.strip()
        elif search:
            name = search.strip().lower()  # Libro has no name search: filter locally
        client = await self._route(restaurant_id)
        out: list[Guest] = []
        offset = 0
        while len(out) < limit:
            doc = await self._call(
                client,
                "GET",
                "/restricted/people",
                params={**params, "limit": self._page_size, "offset": offset},
            )
            page = resources(doc)
            for res in page:
                guest = _to_guest(self.name, res)
                self._person_codes.setdefault(guest.native_id, restaurant_id)
                full = f"{guest.first_name or ''} {guest.last_name or ''}".lower()
                if name is None or name in full:
                    out.append(guest)
            offset += len(page)
            if len(page) < self._page_size:
                break
        return out[:limit]

    async def upsert_guest(self, request: GuestUpsert) -> Guest:
        code = request.restaurant_id
        client = await self._route(code)
        g = request.guest
        person_id = await self._find_person(client, code, g.email, g.phone)
        if person_id is None:
            raise NotSupported(
                "Libro creates a guest only together with a booking", upstream=self.name
            )
        attrs = {
            "first-name": g.first_name,
            "last-name": g.last_name,
            "email": g.email,
            "phone": g.phone,
            "locale": g.locale,
            "note": request.notes,
        }
        doc = await self._call(
            client,
            "PATCH",
            f"/restricted/people/{person_id}",
            params={"restaurant-code": code},
            json={"data": {"attributes": {k: v for k, v in attrs.items() if v is not None}}},
        )
        return _to_guest(self.name, self._one(doc))

    async def list_reviews(self, restaurant_id: str) -> list[Review]:
        restaurant, _ = await self._restaurant(restaurant_id)
        items, _ = await self._pages(
            await self._route(restaurant_id),
            "/restricted/restaurant/reviews",
            {"restaurant-code": restaurant_id},
        )
        return [_to_review(self.name, res, restaurant) for res in items]

    # ---- webhooks -------------------------------------------------------------------------

    def verify_webhook(self, headers: dict[str, str], body: bytes) -> WebhookEvent:
        secret = self.config.credentials.get("webhook_secret")
        if secret is None:
            raise NotSupported(
                "no webhook secret is configured for this upstream", upstream=self.name
            )
        event_id = verify_signature(secret.reveal(), headers, body, self._now(), self.name)
        restaurants, bookings, people = touched(body, self.name)
        return WebhookEvent(
            event_id=event_id,
            # Libro names restaurants by numeric id; the gateway addresses them by code.
            restaurant_ids=tuple(self._ref_to_code.get(r, r) for r in restaurants),
            booking_ids=tuple(bookings),
            guest_ids=tuple(people),
            kind=next((v for k, v in headers.items() if k.lower() == "x-libro-event"), None),
        )

    # ---- authorization-code flow (used by libro_oauth_routes) -----------------------------

    def authorization_url(self, redirect_uri: str, label: str | None = None) -> str:
        return self._conn.authorization_url(redirect_uri, label)

    async def complete_connection(self, state: str, code: str) -> Account:
        """Exchange a callback's code for tokens and remember the account durably."""

        async def list_codes(client: UpstreamClient) -> list[str]:
            items, _ = await self._pages(client, "/restricted/restaurants", {})
            return [str((r.get("attributes") or {}).get("code")) for r in items]

        account = await self._conn.complete(state, code, list_codes)
        self._restaurants_at = None
        return account


def libro_oauth_routes(provider: LibroProvider) -> list[Any]:
    from tablegraph.providers.libro.oauth import libro_oauth_routes as routes

    return routes(provider)
