"""Vardvik Bookings ("REST API v1") adapter.

Reference: shared/seeds/rest-api-v1.txt and shared/providers/rest-v1.md (including the rows
we chose where the public document is silent). Raw shapes: ``payloads``; mappers:
``mapping``; refusals: ``errors``.

Auth: ``Authorization: Bearer <API key>`` (``auth``); keys carry scopes, and a missing scope
answers 403 ``insufficient_scope`` — reported as an auth error naming the scope. Keys never
expire, so nothing is refreshed.

Model mapping: a unified restaurant is one Vardvik *location* of a configured restaurant,
native id ``"<restaurantId>/<locationId>"`` (availability, opening hours and lists are all per
location). Bookings are reservations (native id = Vardvik ``id``; ``publicReference`` is the
``reference``). Guests are per restaurant: native id ``"<restaurantId>/<guestId>"``.

Quirks: instants are UTC with milliseconds and ``Z``; list endpoints return at most 200 rows
without paging (a full page is narrowed by status, and guests beyond the first 200 of a
restaurant cannot be read by id); there is no single-guest endpoint; reschedule is a PATCH
allowed only when ``features.reservationChanges`` is on; cancel of a cancelled booking returns
it unchanged and of a completed one 409; webhook events name the restaurant, not the location.
Create sends ``Idempotency-Key`` and Vardvik replays the first answer for it for 24 h, so a
create is retried by the client and reconciled by Vardvik itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import quote

from pydantic import Field

from tablegraph import prefetch
from tablegraph.cache import AsyncTTLCache
from tablegraph.errors import GatewayError, InvalidInput, NotFound, NotSupported
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
    Slot,
    WaitlistEntry,
    WaitlistRequest,
    WebhookEvent,
)
from tablegraph.providers import register
from tablegraph.providers.base import Provider
from tablegraph.providers.kit import (
    Batch,
    Caller,
    ProviderOptions,
    Runtime,
    batch_by_key,
    in_key_order,
    webhooks,
)
from tablegraph.providers.kit import ids as composite
from tablegraph.providers.kit.answers import MappedAnswers
from tablegraph.providers.vardvik import mapping
from tablegraph.providers.vardvik.auth import api_key_auth
from tablegraph.providers.vardvik.errors import ERRORS
from tablegraph.providers.vardvik.payloads import (
    PatchBody,
    RawAvailability,
    RawConfig,
    RawDeliveries,
    RawGuestEnvelope,
    RawGuestList,
    RawOpeningHours,
    RawReservation,
    RawReservationEnvelope,
    RawReservationList,
    RawWaitlistEnvelope,
)
from tablegraph.settings import UpstreamConfig
from tablegraph.timeutil import zone
from tablegraph.upstream import UpstreamClient

T = TypeVar("T")

#: Rows a reservation or guest list returns at most (no paging).
LIST_CAP = 200
#: Local days one ``list_bookings`` reads at most (one list call each).
MAX_LIST_DAYS = 62
SIGNATURE_HEADER = "X-Webhook-Signature"


@register
class VardvikProvider(Provider):
    kind = "vardvik"
    display_name = "Vardvik Bookings (REST API v1)"
    #: "the guest profile is created or updated by email" (create and waitlist).
    create_updates_guest = True
    capabilities = mapping.BASE_CAPABILITIES | frozenset(mapping.FEATURE_CAPABILITIES.values())
    credential_names = ("api_key", "webhook_secret")
    required_credentials = ("api_key",)
    base_path = "/api/v1"
    example_base_url = "https://bookings.example.com/api/v1"
    #: DELETE answers with the reservation, unchanged when it was already cancelled; 404 when
    #: unknown (providers/rest-v1.md "Cancel response").
    cancel_answers_booking = True

    class Options(ProviderOptions):
        """The ``options`` table of a Vardvik upstream."""

        #: Vardvik restaurant ids this upstream exposes; each location becomes a restaurant.
        restaurant_ids: tuple[str, ...] = Field(min_length=1)
        #: How long the gateway caches a restaurant's config (locations, zones, policy,
        #: features).
        config_ttl_seconds: float = Field(default=300.0, ge=0)
        #: Ask for availability with the POST search form (proxies that strip query strings).
        availability_via_post: bool = False

    def __init__(self, config: UpstreamConfig, runtime: Runtime | None = None) -> None:
        super().__init__(config, runtime)
        self.options = self.Options.parse(config.options, self.name)
        self.restaurant_ids = self.options.restaurant_ids
        self.http = self._client(auth=api_key_auth(self._credential("api_key")))
        self.api = Caller(self.http, ERRORS)
        self._configs: AsyncTTLCache[RawConfig] = self._cache(
            "config", self.options.config_ttl_seconds
        )

    @property
    def clients(self) -> Sequence[UpstreamClient]:
        return (self.http,)

    async def check_health(self) -> None:
        await self.api.json("GET", f"/restaurants/{self.restaurant_ids[0]}/config")

    # ---- restaurants ----------------------------------------------------------------------

    async def list_restaurants(self) -> list[Restaurant]:
        batch = await batch_by_key(self.restaurant_ids, self._config)
        configs = _whole(batch, "a configured restaurant", self.name)
        return [r for cfg in configs for r in mapping.to_restaurants(cfg, self.name)]

    async def get_opening_hours(self, restaurant_id: str) -> OpeningHours:
        rid, loc = self._split(restaurant_id)
        raw: RawOpeningHours = await self.api.json(
            "GET", f"/restaurants/{rid}/opening-hours", params={"locationId": loc}
        )
        return mapping.to_opening_hours(raw)

    async def get_availability(self, restaurant_id: str, day: date, party_size: int) -> list[Slot]:
        rid, loc = self._split(restaurant_id)
        tz = await self._zone_of(restaurant_id)
        query = {"locationId": loc, "date": day.isoformat(), "partySize": party_size}
        raw: RawAvailability
        if self.options.availability_via_post:
            # The search form takes the same fields as a JSON body; it is a read, so it may
            # be retried.
            raw = await self.api.json(
                "POST", f"/restaurants/{rid}/availability/search", json=query, idempotent=True
            )
        else:
            raw = await self.api.json("GET", f"/restaurants/{rid}/availability", params=query)
        return mapping.to_slots(raw.get("slots", []), party_size, tz)

    # ---- bookings -------------------------------------------------------------------------

    async def list_bookings(self, query: BookingQuery) -> list[Booking]:
        rid, loc = self._split(query.restaurant_id)
        tz = await self._zone_of(query.restaurant_id)
        days = _local_days(query.start, query.end, tz)

        async def day_rows(day: date) -> tuple[Booking, ...]:
            return await self._list_day(rid, loc, day, tz)

        pages = _whole(
            await batch_by_key(days, day_rows), "the reservation list of a day", self.name
        )
        start, end = query.start.astimezone(UTC), query.end.astimezone(UTC)
        seen: dict[str, Booking] = {}
        for booking in (b for page in pages for b in page):
            if start <= booking.start.astimezone(UTC) < end:
                seen[booking.native_id] = booking
        out = [
            b
            for b in seen.values()
            if (query.statuses is None or b.status in query.statuses)
            and (query.guest_id is None or b.guest_id == query.guest_id)
        ]
        return sorted(out, key=lambda b: (b.start.astimezone(UTC), b.native_id))

    async def _list_day(self, rid: str, loc: str, day: date, tz: str) -> tuple[Booking, ...]:
        """A day's reservations, mapped; the mapping of an unchanged answer is reused
        (``kit.answers``: a polled day is usually answered with the same bytes)."""
        path = f"/restaurants/{rid}/reservations"
        params = {"locationId": loc, "date": day.isoformat()}
        answers: MappedAnswers[tuple[Booking, ...]] = self.runtime.answers(
            f"{self.name}.reservation-lists"
        )

        def rows(page: RawReservationList) -> tuple[Booking, ...]:
            return tuple(mapping.to_booking(r, tz, self.name) for r in page.get("reservations", []))

        listed = await self.api.mapped(path, params=params, answers=answers, key=tz, build=rows)
        if len(listed) < LIST_CAP:
            return listed

        # The list is capped without paging: narrow by status, one call each.
        async def with_status(status: str) -> tuple[Booking, ...]:
            narrowed = {**params, "status": status}
            return await self.api.mapped(path, params=narrowed, answers=answers, key=tz, build=rows)

        batch = await batch_by_key(list(mapping.STATUSES), with_status)
        pages = _whole(batch, "the reservation list of a day", self.name)
        return tuple(b for p in pages for b in p)

    async def get_bookings(self, ids: Sequence[str]) -> Batch[Booking]:
        return await batch_by_key(ids, self._get_booking)

    async def create_booking(self, request: NewBooking) -> Booking:
        rid, loc = self._split(request.restaurant_id)
        # Vardvik makes creates idempotent by key, so the client may retry them safely.
        data: RawReservationEnvelope = await self.api.json(
            "POST",
            f"/restaurants/{rid}/reservations",
            json=mapping.to_create_body(request, loc),
            headers={"Idempotency-Key": request.idempotency_key},
            idempotent=True,
        )
        return await self._booking_from(data["reservation"])

    async def find_booking_by_idempotency_key(
        self, restaurant_id: str, key: str, request: NewBooking
    ) -> Booking | None:
        """Nothing to look up on our side: Vardvik keeps the key itself. It has no read by
        key, and the only way to ask is to send the create again — a write, not a lookup —
        which is exactly what the client's retry with the same key does (Vardvik replays the
        first answer, or creates it once if the first never landed)."""
        return None

    async def reschedule_booking(self, booking_id: str, change: BookingChange) -> Booking:
        current = await self._get_booking(booking_id)
        cfg = await self._config(current.restaurant_id.partition(composite.SEPARATOR)[0])
        if not cfg.get("features", {}).get("reservationChanges"):
            raise NotSupported(
                "this restaurant does not accept reservation changes through the API",
                upstream=self.name,
                details={"capability": Capability.BOOKING_RESCHEDULE.value},
            )
        return await self._patch(booking_id, mapping.to_reschedule_body(change))

    async def cancel_booking(self, booking_id: str, reason: str | None) -> Booking:
        # Not retried by the client: a lost answer is reconciled by reading the booking
        # (``tablegraph.reconcile``), so one cancel is one DELETE.
        data: RawReservationEnvelope = await self.api.json(
            "DELETE", _reservation_path(booking_id), params={"reason": reason}
        )
        return await self._booking_from(data["reservation"])

    async def update_booking(self, booking_id: str, update: BookingUpdate) -> Booking:
        unsupported = [
            name for name in ("notes", "tags", "locale") if getattr(update, name) is not None
        ]
        if unsupported:
            raise NotSupported(
                "Vardvik bookings accept only status and table changes",
                upstream=self.name,
                field=(unsupported[0],),
            )
        body = mapping.to_update_body(update, self.name)
        if not body:
            return await self._get_booking(booking_id)
        return await self._patch(booking_id, body)

    async def join_waitlist(self, request: WaitlistRequest) -> WaitlistEntry:
        rid, loc = self._split(request.restaurant_id)
        tz = await self._zone_of(request.restaurant_id)
        data: RawWaitlistEnvelope = await self.api.json(
            "POST",
            f"/restaurants/{rid}/waitlist",
            json=mapping.to_waitlist_body(request, loc),
        )
        return mapping.to_waitlist_entry(data["waitlistEntry"], request, tz, self.name)

    async def _get_booking(self, native_id: str) -> Booking:
        # The booking service's read before a write is handed to the write's own read.
        data: RawReservationEnvelope = await prefetch.reuse(
            (self.name, "booking", native_id),
            lambda: self.api.json("GET", _reservation_path(native_id)),
        )
        return await self._booking_from(data["reservation"])

    async def _patch(self, booking_id: str, body: PatchBody) -> Booking:
        data: RawReservationEnvelope = await self.api.json(
            "PATCH", _reservation_path(booking_id), json=body
        )
        return await self._booking_from(data["reservation"])

    async def _booking_from(self, raw: RawReservation) -> Booking:
        restaurant_id = composite.compose(raw.get("restaurantId", ""), raw.get("locationId", ""))
        try:
            tz = await self._zone_of(restaurant_id)
        except NotFound:
            tz = "UTC"  # a booking of a restaurant this upstream does not expose
        return mapping.to_booking(raw, tz, self.name)

    # ---- guests ---------------------------------------------------------------------------

    async def get_guests(self, ids: Sequence[str]) -> Batch[Guest]:
        # No read by id: one guest list per restaurant, looked up by native id.
        wanted = {native: self._restaurant_of_guest(native) for native in ids}
        rids = sorted({rid for rid in wanted.values() if rid is not None})
        lists = await batch_by_key(rids, self._guests_of)
        found: dict[str, Guest | GatewayError] = {}
        for rid, entry in zip(rids, lists, strict=True):
            if isinstance(entry, GatewayError):
                found.update({native: entry for native, r in wanted.items() if r == rid})
            elif entry is not None:
                found.update({guest.native_id: guest for guest in entry})
        return in_key_order(ids, found)

    async def list_guests(self, restaurant_id: str, search: str | None, limit: int) -> list[Guest]:
        rid, _loc = self._split(restaurant_id)
        params: dict[str, Any] = {"limit": min(limit, LIST_CAP)}
        if search and "@" in search:
            params["email"] = search.strip().lower()
        guests = await self._guests_of(rid, params)
        if search and "@" not in search:
            needle = search.casefold()
            guests = [
                g
                for g in guests
                if needle in f"{g.first_name or ''} {g.last_name or ''} {g.phone or ''}".casefold()
            ]
        return guests[:limit]

    async def upsert_guest(self, request: GuestUpsert) -> Guest:
        rid, _loc = self._split(request.restaurant_id)
        if not request.guest.email:
            raise InvalidInput(
                "Vardvik keys guests by e-mail: email is required",
                upstream=self.name,
                field=("guest", "email"),
            )
        # Keyed by e-mail, so sending it twice updates the same profile: safe to retry.
        data: RawGuestEnvelope = await self.api.json(
            "POST",
            f"/restaurants/{rid}/guests",
            json=mapping.to_upsert_body(request),
            idempotent=True,
        )
        return mapping.to_guest(data["guest"], rid, self.name)

    async def _guests_of(self, rid: str, params: dict[str, Any] | None = None) -> list[Guest]:
        data: RawGuestList = await self.api.json(
            "GET", f"/restaurants/{rid}/guests", params=params or {"limit": LIST_CAP}
        )
        return [mapping.to_guest(raw, rid, self.name) for raw in data.get("guests", [])]

    def _restaurant_of_guest(self, native_id: str) -> str | None:
        rid, sep, gid = native_id.partition(composite.SEPARATOR)
        return rid if sep and gid and rid in self.restaurant_ids else None

    # ---- webhooks -------------------------------------------------------------------------

    def verify_webhook(self, headers: dict[str, str], body: bytes) -> WebhookEvent:
        secret = self.config.credentials.get("webhook_secret")
        if secret is None:
            raise NotSupported("no webhook secret configured", upstream=self.name)
        webhooks.verify_timestamped_hmac(
            secret.reveal(),
            webhooks.header(headers, SIGNATURE_HEADER),
            body,
            self.runtime.now(),
            upstream=self.name,
        )
        event = webhooks.json_object(body, upstream=self.name)
        data = webhooks.object_field(event, "data", upstream=self.name)
        # Only a cached config is used: verifying a delivery never calls Vardvik.
        config = self._configs.get(str(event.get("restaurantId")))
        return mapping.to_webhook_event(event, data, config)

    async def send_test_webhook(self, restaurant_id: str, event_type: str) -> list[dict[str, Any]]:
        """Ask Vardvik to send a signed test event to every subscribed webhook."""
        rid, _loc = self._split(restaurant_id)
        data: RawDeliveries = await self.api.json(
            "POST", f"/restaurants/{rid}/webhooks/test", json={"eventType": event_type}
        )
        return [
            {
                "webhookId": d.get("webhookId"),
                "status": d.get("status"),
                "responseCode": d.get("responseCode"),
            }
            for d in data.get("deliveries", [])
        ]

    # ---- restaurant configs ---------------------------------------------------------------

    async def _config(self, restaurant_id: str) -> RawConfig:
        async def load() -> RawConfig:
            cfg: RawConfig = await self.api.json("GET", f"/restaurants/{restaurant_id}/config")
            return cfg

        return await self._configs.get_or_load(restaurant_id, load)

    def _split(self, native_id: str) -> tuple[str, str]:
        rid, loc = composite.split(native_id, 2, upstream=self.name, what="restaurant")
        if rid not in self.restaurant_ids:
            raise NotFound(f"no restaurant {native_id!r} in {self.name}", upstream=self.name)
        return rid, loc

    async def _zone_of(self, native_id: str) -> str:
        rid, loc = self._split(native_id)
        tz = mapping.to_location_zone(await self._config(rid), loc)
        if tz is None:
            raise NotFound(f"no restaurant {native_id!r} in {self.name}", upstream=self.name)
        return tz


def _reservation_path(native_id: str) -> str:
    # An id is one path segment, whatever a client put in it.
    return f"/reservations/{quote(native_id, safe='')}"


def _whole(batch: Batch[T], what: str, upstream: str) -> list[T]:
    """A batch that only makes sense complete: the first failed key fails it."""
    out: list[T] = []
    for entry in batch:
        if isinstance(entry, GatewayError):
            raise entry
        if entry is None:
            raise NotFound(f"{what} is missing in {upstream}", upstream=upstream)
        out.append(entry)
    return out


def _local_days(start: datetime, end: datetime, tz: str) -> list[date]:
    """Local service dates whose day overlaps [start, end)."""
    z = zone(tz)
    day = start.astimezone(z).date()
    last = (end - timedelta(microseconds=1)).astimezone(z).date()
    days: list[date] = []
    while day <= last and len(days) < MAX_LIST_DAYS:
        days.append(day)
        day += timedelta(days=1)
    return days
