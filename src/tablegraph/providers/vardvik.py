"""Vardvik Bookings ("REST API v1") adapter.

Reference: shared/seeds/rest-api-v1.txt and shared/providers/rest-v1.md (including the rows
we chose where the public document is silent).

Auth: ``Authorization: Bearer <API key>``; keys carry scopes, and a missing scope answers 403
``insufficient_scope`` — reported as an auth error naming the scope.

Model mapping: a unified restaurant is one Vardvik *location* of a configured restaurant,
native id ``"<restaurantId>/<locationId>"`` (availability, opening hours and lists are all per
location). Bookings are reservations (native id = Vardvik ``id``; ``publicReference`` is the
``reference``). Guests are per restaurant: native id ``"<restaurantId>/<guestId>"``.

Quirks: instants are UTC with milliseconds and ``Z``; list endpoints return at most 200 rows
without paging (a full page is narrowed by status); reschedule is a PATCH allowed only when
``features.reservationChanges`` is on; cancel of a cancelled booking returns it unchanged and of
a completed one 409. Create sends ``Idempotency-Key``, so creates are safe to retry.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import Any, NotRequired, TypedDict

import httpx

from tablegraph.cache import AsyncTTLCache
from tablegraph.errors import (
    GatewayError,
    IdempotencyConflict,
    InvalidInput,
    InvalidState,
    NotFound,
    NotSupported,
    PolicyViolation,
    SlotUnavailable,
    UpstreamAuthError,
    UpstreamBadResponse,
    UpstreamUnavailable,
)
from tablegraph.model import (
    Booking,
    BookingChange,
    BookingPolicy,
    BookingQuery,
    BookingStatus,
    BookingUpdate,
    Capability,
    Guest,
    GuestData,
    GuestUpsert,
    NewBooking,
    OpeningHours,
    OpeningPeriod,
    Restaurant,
    Slot,
    SpecialDay,
    WaitlistEntry,
    WaitlistRequest,
    WebhookEvent,
)
from tablegraph.providers import register
from tablegraph.providers.base import BatchResult, Provider
from tablegraph.providers.kit import Runtime, webhooks
from tablegraph.timeutil import UTC, format_utc_millis, parse_instant, zone
from tablegraph.upstream import UpstreamClient, json_body

LIST_CAP = 200


class _RawGuest(TypedDict, total=False):
    id: str
    firstName: str
    lastName: str
    email: str
    phone: str | None
    marketingConsent: bool
    consentSource: str
    anonymized: bool
    visitCount: int
    locale: str


class _RawReservation(TypedDict):
    id: str
    publicReference: str
    status: str
    startTime: str
    endTime: str
    partySize: int
    tableIds: list[str]
    guest: _RawGuest
    restaurantId: NotRequired[str]
    locationId: NotRequired[str]
    specialRequests: NotRequired[str | None]
    source: NotRequired[str]
    createdAt: NotRequired[str]
    updatedAt: NotRequired[str]


class _BearerAuth:
    refresh_statuses: frozenset[int] = frozenset()  # a static key: a 401 is final

    def __init__(self, key: str) -> None:
        self._headers = {"Authorization": f"Bearer {key}"}

    async def headers(self, client: UpstreamClient) -> dict[str, str]:
        return self._headers

    async def refresh(self, client: UpstreamClient, stale: Any) -> bool:
        return False  # a static key: a 401 is final


_STATUSES: dict[str, BookingStatus] = {
    "pending": BookingStatus.PENDING,
    "confirmed": BookingStatus.CONFIRMED,
    "seated": BookingStatus.SEATED,
    "completed": BookingStatus.COMPLETED,
    "cancelled": BookingStatus.CANCELLED,
    "no_show": BookingStatus.NO_SHOW,
}
_STATUS_OUT = {v: k for k, v in _STATUSES.items()}

#: (HTTP status, Vardvik error code) → (error class, stable code); ``None`` code = any.
_ERRORS: dict[tuple[int, str | None], tuple[type[GatewayError], str | None]] = {
    (400, None): (InvalidInput, None),
    (401, None): (UpstreamAuthError, None),
    (403, None): (UpstreamAuthError, None),
    (404, None): (NotFound, None),
    (409, "slot_unavailable"): (SlotUnavailable, None),
    (409, "invalid_state"): (InvalidState, "NOT_CANCELLABLE"),
    (409, "invalid_transition"): (InvalidState, "INVALID_TRANSITION"),
    (409, "idempotency_key_reused"): (IdempotencyConflict, None),
    (409, "waitlist_disabled"): (NotSupported, None),
    (422, "outside_policy"): (PolicyViolation, None),
    (422, "feature_disabled"): (NotSupported, None),
}

_BASE_CAPABILITIES = frozenset(
    {
        Capability.AVAILABILITY,
        Capability.BOOKINGS_READ,
        Capability.BOOKING_CREATE,
        Capability.BOOKING_CANCEL,
        Capability.BOOKING_UPDATE,
        Capability.STATUS_CHANGE,
        Capability.GUESTS_READ,
        Capability.GUEST_UPSERT,
        Capability.OPENING_HOURS,
        Capability.IDEMPOTENT_CREATE,
    }
)


@register
class VardvikProvider(Provider):
    kind = "vardvik"
    display_name = "Vardvik Bookings (REST API v1)"
    capabilities = _BASE_CAPABILITIES | {
        Capability.BOOKING_RESCHEDULE,
        Capability.WAITLIST,
        Capability.WEBHOOKS,
    }
    credential_names = ("api_key", "webhook_secret")
    option_names = ("restaurant_ids", "config_ttl_seconds", "availability_via_post")

    def __init__(self, config: Any, runtime: Runtime | None = None) -> None:
        super().__init__(config, runtime)
        ids = config.options.get("restaurant_ids")
        if not ids or not all(isinstance(i, str) for i in ids):
            from tablegraph.settings import ConfigError

            raise ConfigError(f"upstream {self.name!r}: options.restaurant_ids is required")
        self.restaurant_ids: tuple[str, ...] = tuple(ids)
        self.http = self._client(auth=_BearerAuth(self._credential("api_key")))
        self._configs: AsyncTTLCache[dict[str, Any]] = AsyncTTLCache(
            float(config.options.get("config_ttl_seconds", 300))
        )

    @property
    def clients(self) -> Sequence[UpstreamClient]:
        return (self.http,)

    # ---- plumbing -----------------------------------------------------------------------

    async def _call(self, method: str, path: str, **kw: Any) -> Any:
        response = await self.http.request(method, path, **kw)
        if response.status_code >= 400:
            raise self._error(response)
        return json_body(response, self.name)

    def _error(self, response: httpx.Response) -> GatewayError:
        status = response.status_code
        try:
            err = response.json().get("error", {})
            code, details = str(err.get("code", "")), err.get("details") or {}
        except (ValueError, AttributeError):
            code, details = "", {}
        cls, stable = (
            _ERRORS.get((status, code))
            or _ERRORS.get((status, None))
            or (
                UpstreamUnavailable if status >= 500 else UpstreamBadResponse,
                None,
            )
        )
        message = _MESSAGES.get(code) or f"{self.display_name} refused the request ({status})"
        extra: dict[str, Any] = {}
        if code == "insufficient_scope":
            scope = details.get("requiredScope") or details.get("scope")
            message = f"the API key of {self.name} lacks the scope {scope}"
            extra["requiredScope"] = scope
        if cls is InvalidInput and isinstance(details, dict) and details.get("field"):
            extra["field"] = str(details["field"])
        return cls(message, upstream=self.name, code=stable, details=extra)

    async def _config(self, restaurant_id: str) -> dict[str, Any]:
        async def load() -> dict[str, Any]:
            data: dict[str, Any] = await self._call("GET", f"/restaurants/{restaurant_id}/config")
            return data

        return await self._configs.get_or_load(restaurant_id, load)

    def _split(self, native_id: str) -> tuple[str, str]:
        rid, sep, loc = native_id.partition("/")
        if not sep or rid not in self.restaurant_ids or not loc:
            raise NotFound(f"no restaurant {native_id!r} in {self.name}", upstream=self.name)
        return rid, loc

    async def _zone_of(self, native_id: str) -> str:
        rid, loc = self._split(native_id)
        for location in (await self._config(rid)).get("locations", []):
            if location.get("id") == loc:
                return str(location.get("timezone") or "UTC")
        raise NotFound(f"no restaurant {native_id!r} in {self.name}", upstream=self.name)

    # ---- restaurants ----------------------------------------------------------------------

    async def list_restaurants(self) -> list[Restaurant]:
        configs = await asyncio.gather(*(self._config(r) for r in self.restaurant_ids))
        return [
            self._to_restaurant(cfg, loc) for cfg in configs for loc in cfg.get("locations", [])
        ]

    async def check_health(self) -> None:
        await self._call("GET", f"/restaurants/{self.restaurant_ids[0]}/config")

    def _to_restaurant(self, cfg: dict[str, Any], loc: dict[str, Any]) -> Restaurant:
        rst, res, features = cfg["restaurant"], cfg.get("reservation", {}), cfg.get("features", {})
        caps = set(_BASE_CAPABILITIES)
        if features.get("reservationChanges"):
            caps.add(Capability.BOOKING_RESCHEDULE)
        if features.get("waitlist"):
            caps.add(Capability.WAITLIST)
        if features.get("webhooks"):
            caps.add(Capability.WEBHOOKS)
        name = rst["name"] if not loc.get("name") else f"{rst['name']} — {loc['name']}"
        return Restaurant(
            upstream=self.name,
            native_id=f"{rst['id']}/{loc['id']}",
            reference=loc["id"],
            name=name,
            timezone=loc.get("timezone") or rst.get("timezone") or "UTC",
            city=loc.get("city"),
            policy=BookingPolicy(
                min_party_size=int(res.get("minPartySize", 1)),
                max_party_size=int(res.get("maxPartySize", 20)),
                min_lead_minutes=int(res.get("minLeadTimeMinutes", 0)),
                max_advance_days=int(res.get("maxAdvanceBookingDays", 90)),
                slot_interval_minutes=int(res.get("slotIntervalMinutes", 15)),
                default_duration_minutes=int(res.get("defaultDurationMinutes", 90)),
            ),
            capabilities=frozenset(caps),
        )

    async def get_opening_hours(self, restaurant_id: str) -> OpeningHours:
        rid, loc = self._split(restaurant_id)
        data = await self._call(
            "GET", f"/restaurants/{rid}/opening-hours", params={"locationId": loc}
        )
        return OpeningHours(
            weekly=tuple(
                OpeningPeriod(
                    day_of_week=int(p["dayOfWeek"]),
                    opens=time.fromisoformat(p["opens"]),
                    closes=time.fromisoformat(p["closes"]),
                    service_name=p.get("serviceName"),
                )
                for p in data.get("weekly", [])
            ),
            special_days=tuple(
                SpecialDay(
                    day=date.fromisoformat(s["date"]),
                    closed=bool(s.get("closed")),
                    opens=time.fromisoformat(s["opens"]) if s.get("opens") else None,
                    closes=time.fromisoformat(s["closes"]) if s.get("closes") else None,
                    note=s.get("note"),
                )
                for s in data.get("specialDays", [])
            ),
        )

    async def get_availability(self, restaurant_id: str, day: date, party_size: int) -> list[Slot]:
        rid, loc = self._split(restaurant_id)
        tz = await self._zone_of(restaurant_id)
        query = {"locationId": loc, "date": day.isoformat(), "partySize": party_size}
        if self.config.options.get("availability_via_post"):
            # The search form takes the same fields as a JSON body (for proxies that strip
            # query strings); it is a read, so it may be retried.
            data = await self._call(
                "POST", f"/restaurants/{rid}/availability/search", json=query, idempotent=True
            )
        else:
            data = await self._call("GET", f"/restaurants/{rid}/availability", params=query)
        z = zone(tz)
        return [
            Slot(
                start=parse_instant(s["start"]).astimezone(z),
                end=parse_instant(s["end"]).astimezone(z),
                party_size=party_size,
                service_name=s.get("serviceName"),
            )
            for s in data.get("slots", [])
            if s.get("available")
        ]

    # ---- bookings -------------------------------------------------------------------------

    async def list_bookings(self, query: BookingQuery) -> list[Booking]:
        rid, loc = self._split(query.restaurant_id)
        tz = await self._zone_of(query.restaurant_id)
        days = _local_days(query.start, query.end, tz)
        pages = await asyncio.gather(*(self._list_day(rid, loc, d) for d in days))
        seen: dict[str, Booking] = {}
        for raw in (r for page in pages for r in page):
            booking = self._to_booking(raw, tz)
            if (
                query.start.astimezone(UTC)
                <= booking.start.astimezone(UTC)
                < query.end.astimezone(UTC)
            ):
                seen[booking.native_id] = booking
        out = [
            b
            for b in seen.values()
            if (query.statuses is None or b.status in query.statuses)
            and (query.guest_id is None or b.guest_id == query.guest_id)
        ]
        return sorted(out, key=lambda b: (b.start.astimezone(UTC), b.native_id))

    async def _list_day(self, rid: str, loc: str, day: date) -> list[_RawReservation]:
        params = {"locationId": loc, "date": day.isoformat()}
        rows: list[_RawReservation] = (
            await self._call("GET", f"/restaurants/{rid}/reservations", params=params)
        ).get("reservations", [])
        if len(rows) < LIST_CAP:
            return rows
        # The list is capped without paging: narrow by status, one call each.
        narrowed = await asyncio.gather(
            *(
                self._call(
                    "GET", f"/restaurants/{rid}/reservations", params={**params, "status": s}
                )
                for s in _STATUSES
            )
        )
        return [r for page in narrowed for r in page.get("reservations", [])]

    async def get_bookings(self, ids: Sequence[str]) -> BatchResult:
        async def one(native_id: str) -> Booking | Exception | None:
            try:
                return await self._get_booking(native_id)
            except NotFound:
                return None
            except GatewayError as exc:
                return exc

        return list(await asyncio.gather(*(one(i) for i in ids)))

    async def _get_booking(self, native_id: str) -> Booking:
        data = await self._call("GET", f"/reservations/{native_id}")
        return await self._booking_from(data["reservation"])

    async def _booking_from(self, raw: _RawReservation) -> Booking:
        restaurant_id = f"{raw.get('restaurantId', '')}/{raw.get('locationId', '')}"
        try:
            tz = await self._zone_of(restaurant_id)
        except NotFound:
            tz = "UTC"  # a booking of a restaurant this upstream does not expose
        return self._to_booking(raw, tz)

    async def create_booking(self, request: NewBooking) -> Booking:
        rid, loc = self._split(request.restaurant_id)
        body: dict[str, Any] = {
            "locationId": loc,
            "startTime": format_utc_millis(request.start),
            "partySize": request.party_size,
            "guest": _guest_body(request.guest),
            "source": "api",
        }
        if request.notes:
            body["specialRequests"] = request.notes
        if request.duration_minutes:
            body["durationMinutes"] = request.duration_minutes
        # Vardvik makes creates idempotent by key, so the client may retry them safely.
        data = await self._call(
            "POST",
            f"/restaurants/{rid}/reservations",
            json=body,
            headers={"Idempotency-Key": request.idempotency_key},
            idempotent=True,
        )
        return await self._booking_from(data["reservation"])

    async def reschedule_booking(self, booking_id: str, change: BookingChange) -> Booking:
        current = await self._get_booking(booking_id)
        cfg = await self._config(current.restaurant_id.partition("/")[0])
        if not cfg.get("features", {}).get("reservationChanges"):
            raise NotSupported(
                "this restaurant does not accept reservation changes through the API",
                upstream=self.name,
                details={"capability": Capability.BOOKING_RESCHEDULE.value},
            )
        body: dict[str, Any] = {}
        if change.start is not None:
            body["startTime"] = format_utc_millis(change.start)
        if change.party_size is not None:
            body["partySize"] = change.party_size
        data = await self._call("PATCH", f"/reservations/{booking_id}", json=body)
        return await self._booking_from(data["reservation"])

    async def cancel_booking(self, booking_id: str, reason: str | None) -> Booking:
        # Not retried by the client: a lost answer is reconciled by reading the booking
        # (``tablegraph.reconcile``), so one cancel is one DELETE.
        data = await self._call("DELETE", f"/reservations/{booking_id}", params={"reason": reason})
        return await self._booking_from(data["reservation"])

    async def update_booking(self, booking_id: str, update: BookingUpdate) -> Booking:
        if update.notes is not None or update.tags is not None or update.locale is not None:
            raise NotSupported(
                "Vardvik bookings accept only status and table changes", upstream=self.name
            )
        body: dict[str, Any] = {}
        if update.status is not None:
            if update.status not in _STATUS_OUT:
                raise InvalidState(
                    f"Vardvik has no status {update.status.value}",
                    upstream=self.name,
                    code="INVALID_TRANSITION",
                )
            body["status"] = _STATUS_OUT[update.status]
        if update.tables is not None:
            body["tableIds"] = list(update.tables)
        if not body:
            return await self._get_booking(booking_id)
        data = await self._call("PATCH", f"/reservations/{booking_id}", json=body)
        return await self._booking_from(data["reservation"])

    async def join_waitlist(self, request: WaitlistRequest) -> WaitlistEntry:
        rid, loc = self._split(request.restaurant_id)
        tz = await self._zone_of(request.restaurant_id)
        body: dict[str, Any] = {
            "locationId": loc,
            "date": request.day.isoformat(),
            "partySize": request.party_size,
            "guest": _guest_body(request.guest),
        }
        if request.preferred_time is not None:
            body["preferredTime"] = request.preferred_time.strftime("%H:%M")
        if request.notes:
            body["notes"] = request.notes
        raw = (await self._call("POST", f"/restaurants/{rid}/waitlist", json=body))["waitlistEntry"]
        return WaitlistEntry(
            upstream=self.name,
            native_id=raw["id"],
            restaurant_id=request.restaurant_id,
            day=date.fromisoformat(raw.get("date", request.day.isoformat())),
            party_size=int(raw.get("partySize", request.party_size)),
            status=str(raw.get("status", "waiting")).upper(),
            preferred_time=time.fromisoformat(raw["preferredTime"])
            if raw.get("preferredTime")
            else None,
            guest=self._to_guest(raw["guest"], rid) if raw.get("guest", {}).get("id") else None,
            created_at=parse_instant(raw["createdAt"]).astimezone(zone(tz))
            if raw.get("createdAt")
            else None,
        )

    # ---- guests ---------------------------------------------------------------------------

    async def get_guests(self, ids: Sequence[str]) -> BatchResult:
        by_restaurant: dict[str, list[str]] = {}
        for native in ids:
            rid, _, _gid = native.partition("/")
            by_restaurant.setdefault(rid, []).append(native)
        found: dict[str, Guest | Exception] = {}

        async def load(rid: str) -> None:
            if rid not in self.restaurant_ids:
                return
            try:
                data = await self._call(
                    "GET", f"/restaurants/{rid}/guests", params={"limit": LIST_CAP}
                )
            except GatewayError as exc:
                for native in by_restaurant[rid]:
                    found[native] = exc
                return
            for raw in data.get("guests", []):
                guest = self._to_guest(raw, rid)
                found[guest.native_id] = guest

        await asyncio.gather(*(load(r) for r in by_restaurant))
        return [found.get(i) for i in ids]

    async def list_guests(self, restaurant_id: str, search: str | None, limit: int) -> list[Guest]:
        rid, _loc = self._split(restaurant_id)
        params: dict[str, Any] = {"limit": min(limit, LIST_CAP)}
        if search and "@" in search:
            params["email"] = search.strip().lower()
        data = await self._call("GET", f"/restaurants/{rid}/guests", params=params)
        guests = [self._to_guest(raw, rid) for raw in data.get("guests", [])]
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
                field=("input", "guest", "email"),
            )
        body: dict[str, Any] = _guest_body(request.guest)
        if request.marketing_consent is not None:
            body["marketingConsent"] = request.marketing_consent
            body["consentSource"] = "online_booking"
        data = await self._call("POST", f"/restaurants/{rid}/guests", json=body, idempotent=True)
        return self._to_guest(data["guest"], rid)

    # ---- webhooks -------------------------------------------------------------------------

    def verify_webhook(self, headers: dict[str, str], body: bytes) -> WebhookEvent:
        secret = self.config.credentials.get("webhook_secret")
        if secret is None:
            raise NotSupported("no webhook secret configured", upstream=self.name)
        signature = webhooks.header(headers, "X-Webhook-Signature")
        webhooks.verify_timestamped_hmac(
            secret.reveal(), signature, body, self.runtime.now(), upstream=self.name
        )
        event = webhooks.json_object(body, upstream=self.name)
        data = webhooks.object_field(event, "data", upstream=self.name)
        # Events name the restaurant, not the location: touch every location we know of
        # (no ids means "everything of this upstream").
        config = self._configs.get(str(event.get("restaurantId")))
        locations = config.get("locations", []) if config else []
        booking = data.get("reservationId")
        return WebhookEvent(
            event_id=str(event["id"]) if event.get("id") is not None else None,
            restaurant_ids=tuple(f"{event.get('restaurantId')}/{loc['id']}" for loc in locations),
            booking_ids=(str(booking),) if booking else (),
            kind=str(event["type"]) if event.get("type") is not None else None,
        )

    async def send_test_webhook(self, restaurant_id: str, event_type: str) -> list[dict[str, Any]]:
        """Ask Vardvik to send a signed test event to every subscribed webhook."""
        rid, _loc = self._split(restaurant_id)
        data = await self._call(
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

    # ---- mappers --------------------------------------------------------------------------

    def _to_booking(self, raw: _RawReservation, tz: str) -> Booking:
        z = zone(tz)
        rid = raw.get("restaurantId", "")
        guest_raw = raw.get("guest") or {}
        guest = self._to_guest(guest_raw, rid) if guest_raw.get("id") else None
        provider_status = str(raw.get("status", ""))
        return Booking(
            upstream=self.name,
            native_id=raw["id"],
            reference=raw.get("publicReference"),
            restaurant_id=f"{rid}/{raw.get('locationId', '')}",
            status=_STATUSES.get(provider_status, BookingStatus.UNKNOWN),
            provider_status=provider_status,
            start=parse_instant(raw["startTime"]).astimezone(z),
            end=parse_instant(raw["endTime"]).astimezone(z),
            party_size=int(raw["partySize"]),
            guest_id=guest.native_id if guest else None,
            guest=guest,
            tables=tuple(raw.get("tableIds") or ()),
            notes=raw.get("specialRequests"),
            source=raw.get("source"),
            created_at=parse_instant(raw["createdAt"]).astimezone(z)
            if raw.get("createdAt")
            else None,
            updated_at=parse_instant(raw["updatedAt"]).astimezone(z)
            if raw.get("updatedAt")
            else None,
        )

    def _to_guest(self, raw: _RawGuest, restaurant_id: str) -> Guest:
        return Guest(
            upstream=self.name,
            native_id=f"{restaurant_id}/{raw['id']}",
            first_name=raw.get("firstName"),
            last_name=raw.get("lastName"),
            email=raw.get("email"),
            phone=raw.get("phone"),
            locale=raw.get("locale"),
            marketing_consent=raw.get("marketingConsent"),
            visit_count=raw.get("visitCount"),
        )


_MESSAGES = {
    "slot_unavailable": "that time is no longer available",
    "invalid_state": "the booking can no longer be changed",
    "invalid_transition": "that status change is not allowed",
    "idempotency_key_reused": "the idempotency key was already used for a different request",
    "outside_policy": "the request is outside the restaurant's booking policy",
    "feature_disabled": "the restaurant does not allow this change through the API",
    "waitlist_disabled": "the restaurant has no waitlist",
    "not_found": "not found",
    "validation_error": "the provider refused the input as invalid",
    "unauthorized": "the provider refused the gateway's credentials",
}


def _guest_body(guest: GuestData) -> dict[str, Any]:
    body: dict[str, Any] = {"firstName": guest.first_name, "lastName": guest.last_name}
    if guest.email:
        body["email"] = guest.email
    if guest.phone:
        body["phone"] = guest.phone
    return body


def _local_days(start: datetime, end: datetime, tz: str) -> list[date]:
    """Local service dates whose day overlaps [start, end)."""
    z = zone(tz)
    day = start.astimezone(z).date()
    last = (end - timedelta(microseconds=1)).astimezone(z).date()
    days = []
    while day <= last:
        days.append(day)
        day += timedelta(days=1)
    return days[:62]
