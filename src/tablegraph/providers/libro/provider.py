"""Libro adapter (``kind = "libro"``).

API: Libro restricted API v2, JSON:API documents with kebab-case attributes
(``shared/seeds/libro-api.txt``; tables and later changes in ``shared/providers/libro.md``).
Every call sends ``Accept: application/vnd.libro-restricted-v2+json`` and, on
``/restricted/restaurant/*`` and ``/restricted/people``, the ``restaurant-code``.

Auth: OAuth 2.0 bearer tokens (``auth``, ``connections``). The partner account uses client
credentials (token kept until 60 s before ``expires_in``, renewed single-flight). Restaurants
connected through the authorization-code flow (``oauth``) use their own account's token,
renewed with a rotating refresh token kept in a durable encrypted ``TokenStore``; a refresh
that fails marks only that account ``needs_reconnect`` (``health_details``). ``TokenAuth``
declares 401 and 403 as "refresh and replay once"; ``UpstreamClient`` does the replay.
Where tokens live (``_make_store``): the encrypted file when ``token_store_path`` is set;
otherwise the gateway's store, sealed with the token key (``token_store_key`` or
``TABLEGRAPH_TOKEN_KEY``), so every worker shares the tokens and one renews them at a time.
A Redis or SQLite store never holds a readable token: without a key the tokens stay in this
process (a warning says so), as they do in adapter tests without a gateway store.

Quirks and choices (where Libro is silent, per providers/libro.md):
- Restaurants are addressed by ``code``: ``Restaurant.native_id`` is the code, ``reference``
  Libro's numeric id. Bookings and webhooks name their restaurant by numeric id; the adapter
  maps it back. Every booking or person GET needs a ``restaurant-code``: where the restaurant
  of an id is not known yet, each exposed restaurant is asked in turn (a 404 means "not this
  one"), and the answer is kept in a gateway cache (ids never move between restaurants).
- Seatings keys are local wall times without an offset, read in the restaurant's ``tz``
  (``timeutil.localize``: a time skipped by DST moves forward, an ambiguous one is the first).
  One ``Slot`` per start and payment requirement; ``amount-cents`` carries no currency, the
  ``currency`` option (default CAD) supplies it. Slots last 90 minutes (DOC examples).
- The nine statuses map through ``mapping.STATUSES``; the raw value stays in
  ``provider_status``. ``modification-restricted`` and ``cancelation-allowed-until`` are checked
  before any write. Libro has no idempotency key, and matching guest, time and size (the
  reference's suggestion) cannot tell a lost create from the same guest's earlier booking, as
  Libro files both under one deduplicated person: a create appends ``[tablegraph:<16 hex of
  SHA-256(key)>]`` to the booking's ``note`` (stripped when read back; a later note update
  replaces it), and ``find_booking_by_idempotency_key`` looks for it at that date and time.
- Libro cannot create a person on its own: ``upsert_guest`` updates an existing one (found by
  e-mail, then phone) and raises ``NotSupported`` otherwise.
- Libro documents no rate numbers: ≤ ``max_concurrency`` connections per token, 429 retried
  after 1 s, 2 s, 4 s. Error codes 1001–4001 and HTTP statuses map through ``errors.ERRORS``.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Sequence
from datetime import date
from functools import partial
from typing import Any, TypeVar

from tablegraph import prefetch, wanted
from tablegraph.errors import GatewayError, NotFound, NotSupported
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
from tablegraph.providers.base import Provider
from tablegraph.providers.kit import Batch, Runtime, batch_by_key
from tablegraph.providers.kit.answers import MappedAnswers
from tablegraph.providers.libro import bodies, guards
from tablegraph.providers.libro.api import (
    BOOKINGS,
    PEOPLE,
    RESTAURANTS,
    REVIEWS,
    SEATINGS,
    LibroApi,
    readable,
)
from tablegraph.providers.libro.auth import Account, TokenAuth
from tablegraph.providers.libro.connections import Connections
from tablegraph.providers.libro.directory import Directory
from tablegraph.providers.libro.jsonapi import Included, related_id
from tablegraph.providers.libro.mapping import (
    marked,
    marker_of,
    to_booking,
    to_guest,
    to_opening_hours,
    to_review,
    to_slots,
)
from tablegraph.providers.libro.options import LibroOptions
from tablegraph.providers.libro.payloads import Document, Resource
from tablegraph.providers.libro.people import People
from tablegraph.providers.libro.webhooks import read_delivery
from tablegraph.settings import ConfigError, UpstreamConfig
from tablegraph.stores.tokens import StoreTokenStore
from tablegraph.timeutil import to_zone
from tablegraph.tokenstore import MemoryTokenStore, SqliteTokenStore, TokenStore
from tablegraph.upstream import RetryPolicy, UpstreamClient

__all__ = ["LibroProvider", "libro_oauth_routes"]

log = logging.getLogger(__name__)
T = TypeVar("T")
ACCEPT = "application/vnd.libro-restricted-v2+json"
#: 429: back off 1 s, 2 s, 4 s (providers/libro.md "Rate limits").
RETRY = RetryPolicy(attempts=4, base_delay=1.0, max_delay=4.0)
#: How long "this id lives at that restaurant" is kept (Libro ids never move).
HOME_TTL = 24 * 3600.0
#: How often connected accounts are read again from a token store other workers write to.
ACCOUNTS_RELOAD_SECONDS = 5.0


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
    required_credentials = ("client_id", "client_secret")
    base_path = ""
    example_base_url = "https://libro.example.com"
    Options = LibroOptions

    def __init__(self, config: UpstreamConfig, runtime: Runtime | None = None) -> None:
        super().__init__(config, runtime)
        self.options = LibroOptions.parse(config.options, config.name)
        opts = self.options
        base = config.base_url.rstrip("/")
        token_url = opts.token_url or f"{base}/oauth/token"
        self._token_client = self._client(retry=RETRY)
        tokens = self.runtime.token_store or self._make_store()
        self._conn = Connections(
            upstream=self.name,
            client_id=lambda: self._credential("client_id"),
            client_secret=lambda: self._credential("client_secret"),
            token_client=self._token_client,
            make_client=self._api_client,
            store=tokens,
            locks=self.runtime.store,
            now=self.runtime.now,
            monotonic=self.runtime.monotonic,
            reload_seconds=None
            if isinstance(tokens, MemoryTokenStore)
            else ACCOUNTS_RELOAD_SECONDS,
            margin=opts.refresh_margin_seconds,
            token_url=token_url,
            oauth_token_url=opts.oauth_token_url or token_url,
            authorize_url=opts.authorize_url or f"{base}/oauth/authorize",
            scopes=opts.scopes,
            use_client_credentials=opts.client_credentials,
        )
        self._api = LibroApi(self._conn, self.name, opts.page_size)
        ttl = opts.reference_ttl_seconds
        self._directory = Directory(
            self._api,
            capabilities=self.capabilities,
            codes=opts.restaurant_codes,
            restaurants=self._cache("restaurants", ttl),
            lookups=self._cache("restaurant", ttl),
            homes=self._cache("homes", max(HOME_TTL, ttl)),
        )
        self._people = People(
            self._api,
            self._directory,
            self._person,
            concurrency=opts.max_concurrency,
            answers=lambda: self.runtime.answers(f"{self.name}.people-pages"),
        )

    # ---- lifecycle and auth ---------------------------------------------------------------

    def _token_key(self) -> str | None:
        secret = self.config.credentials.get("token_store_key")
        if secret is not None:
            return secret.reveal()
        return os.environ.get(self.options.token_store_key_env) or None

    def _make_store(self) -> TokenStore:
        """The encrypted file when configured, else the gateway's store (sealed), else memory."""
        path, key = self.options.token_store_path, self._token_key()
        if path:
            if key is None:
                raise ConfigError(
                    f"upstream {self.name!r}: token store key not set (credential "
                    f"'token_store_key' or environment variable {self.options.token_store_key_env})"
                )
            return SqliteTokenStore(path, key)
        shared = self.runtime.store
        if shared is None:
            return MemoryTokenStore()
        if shared.kind == "memory":  # this process's memory either way
            return StoreTokenStore(shared, key)
        if key is None:
            log.warning(
                "%s: no token key (credential 'token_store_key' or environment variable %s): "
                "Libro tokens stay in this process, not shared with other workers nor kept "
                "across restarts",
                self.name,
                self.options.token_store_key_env,
            )
            return MemoryTokenStore()
        return StoreTokenStore(shared, key)

    def _api_client(self, auth: TokenAuth) -> UpstreamClient:
        return self._client(
            auth=auth,
            retry=RETRY,
            max_connections=self.options.max_concurrency,
            default_headers={"Accept": ACCEPT},
        )

    @property
    def clients(self) -> Sequence[UpstreamClient]:
        return [self._token_client, *self._conn.clients()]

    async def start(self) -> None:
        await self._conn.ensure_loaded()
        # Learn restaurant ids -> codes early (webhooks name restaurants by id); the upstream
        # may be down at start-up, and then the first call retries.
        with contextlib.suppress(GatewayError):
            await self._directory.all()

    def http_routes(self) -> list[Any]:
        return libro_oauth_routes(self)

    def health_details(self) -> dict[str, Any]:
        return self._conn.health()

    def _read(self, what: str, convert: Callable[[], T]) -> T:
        return readable(what, self.name, convert)

    # ---- restaurants ----------------------------------------------------------------------

    async def list_restaurants(self) -> list[Restaurant]:
        return [r for r, _ in (await self._directory.all()).values()]

    async def get_restaurants(self, ids: Sequence[str]) -> Batch[Restaurant]:
        async def fetch(code: str) -> Restaurant:
            return (await self._directory.entry(code))[0]

        return await batch_by_key(ids, fetch, concurrency=self.options.max_concurrency)

    async def get_opening_hours(self, restaurant_id: str) -> OpeningHours:
        raw = (await self._directory.entry(restaurant_id))[1]
        return self._read("opening hours", lambda: to_opening_hours(raw))

    async def get_availability(self, restaurant_id: str, day: date, party_size: int) -> list[Slot]:
        restaurant, raw = await self._directory.entry(restaurant_id)
        caller = await self._api.route(restaurant_id)
        params = {"restaurant-code": restaurant_id, "date": day.isoformat(), "size": party_size}
        body = await caller.json("GET", SEATINGS, params=params)
        currency = self.options.currency
        return self._read(
            "seatings", lambda: to_slots(body, restaurant.timezone, party_size, currency, raw)
        )

    # ---- bookings -------------------------------------------------------------------------

    async def _booking_from(
        self, res: Resource, included: Included, code: str | None = None
    ) -> Booking:
        ref = related_id(res, "restaurant")
        code = (await self._directory.code_of(ref) if ref is not None else None) or code
        if code is None:
            raise NotFound("the booking's Libro restaurant is not exposed", upstream=self.name)
        restaurant, _ = await self._directory.entry(code)
        booking = self._read("a booking", partial(to_booking, self.name, res, restaurant, included))
        self._directory.remember("booking", booking.native_id, code)
        if booking.guest_id:
            self._directory.remember("person", booking.guest_id, code)
        return booking

    async def _written(self, doc: Document, code: str) -> Booking:
        """The booking a write answered with."""
        return await self._booking_from(self._api.one(doc), Included([doc]), code)

    async def _raw_booking(self, booking_id: str) -> tuple[Resource, Booking]:
        # The booking service's read before a write is handed to the write's own read.
        doc, code = await prefetch.reuse(
            (self.name, "booking", booking_id),
            lambda: self._directory.get_by_id("booking", f"{BOOKINGS}/{booking_id}", booking_id),
        )
        res = self._api.one(doc)
        return res, await self._booking_from(res, Included([doc]), code)

    async def list_bookings(self, query: BookingQuery) -> list[Booking]:
        """A restaurant's bookings in the query's window; each page's mapping is reused
        while Libro answers it with the same bytes (a polled day usually is)."""
        code = query.restaurant_id
        restaurant, _ = await self._directory.entry(code)
        params = bodies.booking_list_params(query, restaurant.timezone)
        answers: MappedAnswers[tuple[tuple[tuple[Booking, str | None], ...], int | None]]
        answers = self.runtime.answers(f"{self.name}.booking-pages")

        def row(res: Resource, included: Included) -> tuple[Booking, str | None]:
            mapped = partial(to_booking, self.name, res, restaurant, included)
            return self._read("a booking", mapped), related_id(res, "restaurant")

        listing = (code, query.start, query.end)
        if wanted.guests_wanted():
            self._people.read_ahead(code, listing)  # beside the list: it does not need it
        caller = await self._api.route(code)
        key = (restaurant.native_id, restaurant.timezone)
        rows = await self._api.mapped_rows(
            caller, BOOKINGS, params, answers=answers, key=key, build=row
        )
        homes: dict[str | None, str] = {}  # a page's rows nearly all name one restaurant
        out = [b for b, ref in rows if await self._listed_here(b, ref, code, homes)]
        self._people.listed(listing, out)
        statuses = query.statuses
        return sorted(
            (
                b
                for b in out
                if query.start <= b.start < query.end and (statuses is None or b.status in statuses)
            ),
            key=lambda b: (b.start, b.native_id),
        )

    async def _listed_here(
        self, booking: Booking, ref: str | None, code: str, homes: dict[str | None, str]
    ) -> bool:
        """Whether a row of restaurant ``code``'s list is that restaurant's (its relationship
        names no other restaurant), remembering where it and its guest live. A row of
        another restaurant is left to that restaurant's list: it is not this one's to show
        (nor, perhaps, the caller's to see). ``homes``: the list's restaurant references
        looked up so far."""
        home = homes.get(ref)
        if home is None:
            found = await self._directory.code_of(ref) if ref is not None else None
            home = homes[ref] = found or code
        if home != code:
            log.warning("%s listed booking %s of another restaurant", self.name, booking.native_id)
            return False
        self._directory.remember("booking", booking.native_id, code)
        if booking.guest_id:
            self._directory.remember("person", booking.guest_id, code)
        return True

    async def get_bookings(self, ids: Sequence[str]) -> Batch[Booking]:
        async def fetch(booking_id: str) -> Booking:
            return (await self._raw_booking(booking_id))[1]

        return await batch_by_key(ids, fetch, concurrency=self.options.max_concurrency)

    async def create_booking(self, request: NewBooking) -> Booking:
        code = request.restaurant_id
        restaurant, _ = await self._directory.entry(code)
        caller = await self._api.route(code)
        guest = request.guest
        person_id = await self._api.find_person(caller, code, guest.email, guest.phone)
        person = bodies.person(guest, person_id, upstream=self.name)
        local = to_zone(request.start, restaurant.timezone)
        body = bodies.new_booking(request, local, person, upstream=self.name)
        doc = await self._api.send(caller, "POST", BOOKINGS, json=body)
        return await self._written(doc, code)

    async def find_booking_by_idempotency_key(
        self, restaurant_id: str, key: str, request: NewBooking
    ) -> Booking | None:
        """The booking at the request's date and time whose note carries the key's marker."""
        restaurant, _ = await self._directory.entry(restaurant_id)
        params = bodies.same_slot_params(request, to_zone(request.start, restaurant.timezone))
        caller = await self._api.route(restaurant_id)
        items, included = await self._api.rows(caller, BOOKINGS, params)
        mark = marker_of(key)
        for res in items:
            if marked(res) == mark:
                return await self._booking_from(res, included, restaurant_id)
        return None

    async def reschedule_booking(self, booking_id: str, change: BookingChange) -> Booking:
        res, current = await self._raw_booking(booking_id)
        guards.check_movable(res, current, upstream=self.name)
        code = current.restaurant_id
        restaurant, _ = await self._directory.entry(code)
        start = to_zone(change.start or current.start, restaurant.timezone)
        body = bodies.reschedule(code, start, change.party_size or current.party_size)
        caller = await self._api.route(code)
        path = f"{BOOKINGS}/{booking_id}/reschedule"
        return await self._written(await self._api.send(caller, "PUT", path, json=body), code)

    async def cancel_booking(self, booking_id: str, reason: str | None) -> Booking:
        res, current = await self._raw_booking(booking_id)
        if current.status == BookingStatus.CANCELLED:
            return current
        guards.check_cancellable(res, current, self.runtime.now(), upstream=self.name)
        code = current.restaurant_id
        caller = await self._api.route(code)
        path, params = f"{BOOKINGS}/{booking_id}", {"restaurant-code": code}
        return await self._written(
            await self._api.send(caller, "DELETE", path, params=params), code
        )

    async def update_booking(self, booking_id: str, update: BookingUpdate) -> Booking:
        if update.status is not None or update.tables is not None:
            raise NotSupported(
                "Libro's API changes only note, tags and locale",
                upstream=self.name,
                field=("status",) if update.status is not None else ("tables",),
            )
        _, current = await self._raw_booking(booking_id)
        code = current.restaurant_id
        body = bodies.booking_update(code, update)
        if body is None:
            return current
        caller = await self._api.route(code)
        doc = await self._api.send(caller, "PATCH", f"{BOOKINGS}/{booking_id}", json=body)
        return await self._written(doc, code)

    # ---- guests and reviews ---------------------------------------------------------------

    async def _person(self, person_id: str) -> Guest:
        doc, _ = await self._directory.get_by_id("person", f"{PEOPLE}/{person_id}", person_id)
        res = self._api.one(doc)
        return self._read("a person", lambda: to_guest(self.name, res))

    async def get_guests(self, ids: Sequence[str]) -> Batch[Guest]:
        return await self._people.get(ids)

    async def list_guests(self, restaurant_id: str, search: str | None, limit: int) -> list[Guest]:
        params, name = bodies.people_search(restaurant_id, search)
        caller = await self._api.route(restaurant_id)
        # Without a local filter the first ``limit`` rows are the answer.
        rows, _ = await self._api.rows(
            caller, PEOPLE, params, max_rows=limit if name is None else None
        )
        out: list[Guest] = []
        for res in rows:
            guest = self._read("a person", partial(to_guest, self.name, res))
            self._directory.remember("person", guest.native_id, restaurant_id)
            full = f"{guest.first_name or ''} {guest.last_name or ''}".lower()
            if name is None or name in full:
                out.append(guest)
        return out[:limit]

    async def upsert_guest(self, request: GuestUpsert) -> Guest:
        code = request.restaurant_id
        caller = await self._api.route(code)
        guest = request.guest
        person_id = await self._api.find_person(caller, code, guest.email, guest.phone)
        if person_id is None:
            raise NotSupported(
                "Libro creates a guest only together with a booking", upstream=self.name
            )
        body = bodies.person_update(guest, request.notes)
        params = {"restaurant-code": code}
        doc = await self._api.send(
            caller, "PATCH", f"{PEOPLE}/{person_id}", params=params, json=body
        )
        res = self._api.one(doc)
        return self._read("a person", lambda: to_guest(self.name, res))

    async def list_reviews(self, restaurant_id: str) -> list[Review]:
        restaurant, _ = await self._directory.entry(restaurant_id)
        caller = await self._api.route(restaurant_id)
        params = {"restaurant-code": restaurant_id}
        items, _ = await self._api.rows(caller, REVIEWS, params)
        return [self._read("a review", partial(to_review, self.name, r, restaurant)) for r in items]

    # ---- webhooks -------------------------------------------------------------------------

    def verify_webhook(self, headers: dict[str, str], body: bytes) -> WebhookEvent:
        secret = self.config.credentials.get("webhook_secret")
        if secret is None:
            raise NotSupported(
                "no webhook secret is configured for this upstream", upstream=self.name
            )
        now = self.runtime.now()
        delivery = read_delivery(secret.reveal(), headers, body, now, upstream=self.name)
        return WebhookEvent(
            event_id=delivery.event_id,
            # Libro names restaurants by numeric id; the gateway addresses them by code.
            restaurant_ids=tuple(
                self._directory.home("restaurant", r) or r for r in delivery.restaurant_refs
            ),
            booking_ids=delivery.booking_ids,
            guest_ids=delivery.person_ids,
            kind=delivery.kind,
        )

    # ---- authorization-code flow (used by libro_oauth_routes) -----------------------------

    def authorization_url(self, redirect_uri: str, label: str | None = None) -> str:
        return self._conn.authorization_url(redirect_uri, label)

    async def complete_connection(self, state: str, code: str, *, replace: bool = True) -> Account:
        """Exchange a callback's code for tokens and remember the account durably."""

        async def list_codes(client: UpstreamClient) -> list[str]:
            rows, _ = await self._api.rows(self._api.caller(client), RESTAURANTS, {})
            return [str((r.get("attributes") or {}).get("code")) for r in rows]

        account = await self._conn.complete(state, code, list_codes, replace=replace)
        self._directory.invalidate()  # the new account's restaurants are exposed now
        return account


def libro_oauth_routes(provider: LibroProvider) -> list[Any]:
    from tablegraph.providers.libro.oauth import libro_oauth_routes as routes

    return routes(provider)
