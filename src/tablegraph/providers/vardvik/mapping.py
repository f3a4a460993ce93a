"""Vardvik JSON ↔ the unified model: ``to_<thing>()`` functions, pure and total.

Instants arrive in UTC (``…T17:00:00.000Z``) and leave in the restaurant's zone; opening
hours are location-local already. Unknown statuses read as ``UNKNOWN`` rather than failing.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time
from typing import Any

from tablegraph.errors import InvalidState
from tablegraph.model import (
    Booking,
    BookingChange,
    BookingPolicy,
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
from tablegraph.providers.kit import ids
from tablegraph.providers.vardvik.payloads import (
    CreateBody,
    GuestBody,
    PatchBody,
    RawConfig,
    RawGuest,
    RawLocation,
    RawOpeningHours,
    RawReservation,
    RawSlot,
    RawWaitlistEntry,
    WaitlistBody,
)
from tablegraph.timeutil import format_utc_millis, instant_in, parse_instant, zone

#: What every Vardvik restaurant can do.
BASE_CAPABILITIES: frozenset[Capability] = frozenset(
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
#: ``config.features`` flag → what it adds for that restaurant.
FEATURE_CAPABILITIES: Mapping[str, Capability] = {
    "reservationChanges": Capability.BOOKING_RESCHEDULE,
    "waitlist": Capability.WAITLIST,
    "webhooks": Capability.WEBHOOKS,
}

STATUSES: Mapping[str, BookingStatus] = {
    "pending": BookingStatus.PENDING,
    "confirmed": BookingStatus.CONFIRMED,
    "seated": BookingStatus.SEATED,
    "completed": BookingStatus.COMPLETED,
    "cancelled": BookingStatus.CANCELLED,
    "no_show": BookingStatus.NO_SHOW,
}
STATUS_OUT: Mapping[BookingStatus, str] = {v: k for k, v in STATUSES.items()}

# ---- provider → model ---------------------------------------------------------------------


def to_restaurants(cfg: RawConfig, upstream: str) -> list[Restaurant]:
    """One unified restaurant per location of a Vardvik restaurant."""
    return [to_restaurant(cfg, loc, upstream) for loc in cfg.get("locations", [])]


def to_restaurant(cfg: RawConfig, loc: RawLocation, upstream: str) -> Restaurant:
    rst, res, features = cfg["restaurant"], cfg.get("reservation", {}), cfg.get("features", {})
    caps = set(BASE_CAPABILITIES)
    caps.update(cap for flag, cap in FEATURE_CAPABILITIES.items() if features.get(flag))
    name = rst["name"] if not loc.get("name") else f"{rst['name']} — {loc.get('name')}"
    return Restaurant(
        upstream=upstream,
        native_id=ids.compose(rst["id"], loc["id"]),
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


def to_location_zone(cfg: RawConfig, location_id: str) -> str | None:
    """The IANA zone of one location of ``cfg`` (None: no such location); the same fallbacks
    as ``Restaurant.timezone``, so bookings and their restaurant agree."""
    for loc in cfg.get("locations", []):
        if loc["id"] == location_id:
            return loc.get("timezone") or cfg["restaurant"].get("timezone") or "UTC"
    return None


def to_opening_hours(raw: RawOpeningHours) -> OpeningHours:
    return OpeningHours(
        weekly=tuple(
            OpeningPeriod(
                day_of_week=int(p["dayOfWeek"]),
                opens=time.fromisoformat(p["opens"]),
                closes=time.fromisoformat(p["closes"]),
                service_name=p.get("serviceName"),
            )
            for p in raw.get("weekly", [])
        ),
        special_days=tuple(
            SpecialDay(
                day=date.fromisoformat(s["date"]),
                closed=bool(s.get("closed")),
                opens=_time(s.get("opens")),
                closes=_time(s.get("closes")),
                note=s.get("note"),
            )
            for s in raw.get("specialDays", [])
        ),
    )


def to_slots(raw: list[RawSlot], party_size: int, tz: str) -> list[Slot]:
    """The bookable slots (Vardvik also lists full ones, with ``available: false``)."""
    z = zone(tz)
    return [
        Slot(
            start=parse_instant(s["start"]).astimezone(z),
            end=parse_instant(s["end"]).astimezone(z),
            party_size=party_size,
            service_name=s.get("serviceName"),
        )
        for s in raw
        if s.get("available")
    ]


def to_booking(raw: RawReservation, tz: str, upstream: str) -> Booking:
    rid = raw.get("restaurantId", "")
    guest_raw = raw.get("guest") or {}
    guest = to_guest(guest_raw, rid, upstream) if guest_raw.get("id") else None
    provider_status = str(raw.get("status", ""))
    return Booking(
        upstream=upstream,
        native_id=raw["id"],
        reference=raw.get("publicReference"),
        restaurant_id=ids.compose(rid, raw.get("locationId", "")),
        status=STATUSES.get(provider_status, BookingStatus.UNKNOWN),
        provider_status=provider_status,
        start=instant_in(raw["startTime"], tz),
        end=instant_in(raw["endTime"], tz),
        party_size=int(raw["partySize"]),
        guest_id=guest.native_id if guest else None,
        guest=guest,
        tables=tuple(raw.get("tableIds") or ()),
        notes=raw.get("specialRequests"),
        source=raw.get("source"),
        created_at=_instant(raw.get("createdAt"), tz),
        updated_at=_instant(raw.get("updatedAt"), tz),
    )


def to_guest(raw: RawGuest, restaurant_id: str, upstream: str) -> Guest:
    """Guests are per Vardvik restaurant: native id ``"<restaurantId>/<guestId>"``."""
    return Guest(
        upstream=upstream,
        native_id=ids.compose(restaurant_id, raw["id"]),
        first_name=raw.get("firstName"),
        last_name=raw.get("lastName"),
        email=raw.get("email"),
        phone=raw.get("phone"),
        locale=raw.get("locale"),
        marketing_consent=raw.get("marketingConsent"),
        visit_count=raw.get("visitCount"),
    )


def to_waitlist_entry(
    raw: RawWaitlistEntry, request: WaitlistRequest, tz: str, upstream: str
) -> WaitlistEntry:
    rid, _loc = request.restaurant_id.split(ids.SEPARATOR, 1)
    guest = raw.get("guest")
    return WaitlistEntry(
        upstream=upstream,
        native_id=raw["id"],
        restaurant_id=request.restaurant_id,
        day=date.fromisoformat(raw.get("date", request.day.isoformat())),
        party_size=int(raw.get("partySize", request.party_size)),
        status=str(raw.get("status", "waiting")).upper(),
        preferred_time=_time(raw.get("preferredTime")),
        guest=to_guest(guest, rid, upstream) if guest and guest.get("id") else None,
        created_at=_instant(raw.get("createdAt"), tz),
    )


def to_webhook_event(
    event: Mapping[str, Any], data: Mapping[str, Any], config: RawConfig | None
) -> WebhookEvent:
    """A verified delivery (``RawWebhookEvent``, not yet trusted in shape) → what it touches.

    Events name the restaurant, not the location: every location of ``config`` is touched;
    without a config (none cached) no ids means "everything of this upstream".
    """
    restaurant = str(event.get("restaurantId"))
    locations = config.get("locations", []) if config else []
    booking = data.get("reservationId")
    return WebhookEvent(
        event_id=str(event["id"]) if event.get("id") is not None else None,
        restaurant_ids=tuple(ids.compose(restaurant, loc["id"]) for loc in locations),
        booking_ids=(str(booking),) if booking else (),
        kind=str(event["type"]) if event.get("type") is not None else None,
    )


# ---- model → provider ---------------------------------------------------------------------


def to_guest_body(guest: GuestData) -> GuestBody:
    body: GuestBody = {"firstName": guest.first_name, "lastName": guest.last_name}
    if guest.email:
        body["email"] = guest.email
    if guest.phone:
        body["phone"] = guest.phone
    return body


def to_create_body(request: NewBooking, location_id: str) -> CreateBody:
    body: CreateBody = {
        "locationId": location_id,
        "startTime": format_utc_millis(request.start),
        "partySize": request.party_size,
        "guest": to_guest_body(request.guest),
        "source": "api",
    }
    if request.notes:
        body["specialRequests"] = request.notes
    if request.duration_minutes:
        body["durationMinutes"] = request.duration_minutes
    return body


def to_reschedule_body(change: BookingChange) -> PatchBody:
    body: PatchBody = {}
    if change.start is not None:
        body["startTime"] = format_utc_millis(change.start)
    if change.party_size is not None:
        body["partySize"] = change.party_size
    return body


def to_update_body(update: BookingUpdate, upstream: str) -> PatchBody:
    """Status and tables (the caller refuses notes, tags and locale first)."""
    body: PatchBody = {}
    if update.status is not None:
        status = STATUS_OUT.get(update.status)
        if status is None:
            raise InvalidState(
                f"Vardvik has no status {update.status.value}",
                upstream=upstream,
                code="INVALID_TRANSITION",
                field=("status",),
            )
        body["status"] = status
    if update.tables is not None:
        body["tableIds"] = list(update.tables)
    return body


def to_upsert_body(request: GuestUpsert) -> GuestBody:
    body = to_guest_body(request.guest)
    if request.marketing_consent is not None:
        body["marketingConsent"] = request.marketing_consent
        body["consentSource"] = "online_booking"
    return body


def to_waitlist_body(request: WaitlistRequest, location_id: str) -> WaitlistBody:
    body: WaitlistBody = {
        "locationId": location_id,
        "date": request.day.isoformat(),
        "partySize": request.party_size,
        "guest": to_guest_body(request.guest),
    }
    if request.preferred_time is not None:
        body["preferredTime"] = request.preferred_time.strftime("%H:%M")
    if request.notes:
        body["notes"] = request.notes
    return body


def _time(value: str | None) -> time | None:
    return time.fromisoformat(value) if value else None


def _instant(value: str | None, tz: str) -> datetime | None:
    return instant_in(value, tz) if value else None
