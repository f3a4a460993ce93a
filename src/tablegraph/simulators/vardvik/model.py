"""The simulator's own records (not the gateway model) and their JSON renderings."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from tablegraph.timeutil import format_utc_millis

ALL_SCOPES: frozenset[str] = frozenset(
    {
        "config:read",
        "availability:read",
        "reservations:read",
        "reservations:write",
        "reservations:cancel",
        "waitlist:write",
        "customers:read",
        "customers:write",
        "webhooks:test",
    }
)
STATUSES = ("pending", "confirmed", "seated", "completed", "cancelled", "no_show")
#: Statuses that hold a table (and so consume availability).
ACTIVE = frozenset({"pending", "confirmed", "seated"})
#: rest-v1.md "Status enum": the only PATCH moves allowed.
TRANSITIONS: dict[str, frozenset[str]] = {
    "pending": frozenset({"confirmed", "cancelled"}),
    "confirmed": frozenset({"seated", "no_show", "cancelled"}),
    "seated": frozenset({"completed"}),
}
CONSENT_SOURCES = frozenset({"online_booking", "staff_phone", "staff_in_person", "import"})
EVENT_TYPES = frozenset(
    {
        "reservation.created",
        "reservation.updated",
        "reservation.cancelled",
        "waitlist.created",
        "waitlist.updated",
    }
)


def iso(moment: datetime | None) -> str | None:
    return None if moment is None else format_utc_millis(moment)


@dataclass
class Table:
    id: str
    seats: int
    area: str


@dataclass
class Period:
    """A weekly service period; ``day_of_week`` is ISO (Mon=1)."""

    day_of_week: int
    opens: time
    closes: time
    service_name: str


@dataclass
class SpecialDay:
    date: date
    closed: bool
    opens: time | None = None
    closes: time | None = None
    note: str | None = None


@dataclass
class Rule:
    id: str
    name: str
    valid_from: date
    valid_to: date | None
    max_covers_per_slot: int | None = None


@dataclass
class Location:
    id: str
    name: str
    city: str
    timezone: str
    tables: list[Table]
    weekly: list[Period]
    special_days: dict[date, SpecialDay] = field(default_factory=dict)
    rules: list[Rule] = field(default_factory=list)
    #: Minutes a table stays blocked after each booking (cleaning, resetting).
    buffer_minutes: int = 15


@dataclass
class Policy:
    min_party_size: int = 1
    max_party_size: int = 12
    default_duration_minutes: int = 120
    min_lead_time_minutes: int = 30
    max_advance_booking_days: int = 90
    slot_interval_minutes: int = 30

    def to_json(self) -> dict[str, int]:
        return {
            "minPartySize": self.min_party_size,
            "maxPartySize": self.max_party_size,
            "defaultDurationMinutes": self.default_duration_minutes,
            "minLeadTimeMinutes": self.min_lead_time_minutes,
            "maxAdvanceBookingDays": self.max_advance_booking_days,
            "slotIntervalMinutes": self.slot_interval_minutes,
        }


@dataclass
class Guest:
    id: str
    restaurant_id: str
    first_name: str
    last_name: str
    email: str | None
    phone: str | None = None
    marketing_consent: bool = False
    consent_source: str | None = None
    consented_at: datetime | None = None
    anonymized: bool = False
    created_at: datetime | None = None

    def short_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "firstName": self.first_name,
            "lastName": self.last_name,
            "email": self.email,
            "phone": self.phone,
        }

    def to_json(self, visit_count: int) -> dict[str, Any]:
        return {
            **self.short_json(),
            "marketingConsent": self.marketing_consent,
            "consentSource": self.consent_source,
            "consentedAt": iso(self.consented_at),
            "anonymized": self.anonymized,
            "visitCount": visit_count,
        }


@dataclass
class Reservation:
    id: str
    public_reference: str
    restaurant_id: str
    location_id: str
    status: str
    start: datetime
    end: datetime
    party_size: int
    table_ids: list[str]
    guest_id: str
    service_date: date
    special_requests: str | None = None
    source: str = "api"
    created_at: datetime | None = None
    updated_at: datetime | None = None
    cancel_reason: str | None = None

    def to_json(self, guest: Guest) -> dict[str, Any]:
        return {
            "id": self.id,
            "publicReference": self.public_reference,
            "restaurantId": self.restaurant_id,
            "locationId": self.location_id,
            "status": self.status,
            "startTime": iso(self.start),
            "endTime": iso(self.end),
            "partySize": self.party_size,
            "tableIds": list(self.table_ids),
            "guest": guest.short_json(),
            "specialRequests": self.special_requests,
            "source": self.source,
            "createdAt": iso(self.created_at),
            "updatedAt": iso(self.updated_at),
        }


@dataclass
class WaitlistEntry:
    id: str
    restaurant_id: str
    location_id: str
    date: date
    party_size: int
    preferred_time: str | None
    guest_id: str
    notes: str | None
    created_at: datetime
    status: str = "waiting"

    def to_json(self, guest: Guest) -> dict[str, Any]:
        return {
            "id": self.id,
            "restaurantId": self.restaurant_id,
            "locationId": self.location_id,
            "date": self.date.isoformat(),
            "partySize": self.party_size,
            "preferredTime": self.preferred_time,
            "status": self.status,
            "guest": guest.short_json(),
            "notes": self.notes,
            "createdAt": iso(self.created_at),
        }


@dataclass
class Webhook:
    id: str
    restaurant_id: str
    url: str
    secret: str
    events: frozenset[str]

    def wants(self, event_type: str) -> bool:
        return event_type in self.events or "*" in self.events


@dataclass
class Restaurant:
    id: str
    name: str
    timezone: str
    locations: dict[str, Location]
    policy: Policy = field(default_factory=Policy)
    features: dict[str, bool] = field(
        default_factory=lambda: {"waitlist": True, "webhooks": True, "reservationChanges": True}
    )

    def config_json(self) -> dict[str, Any]:
        return {
            "restaurant": {"id": self.id, "name": self.name, "timezone": self.timezone},
            "locations": [
                {"id": loc.id, "name": loc.name, "city": loc.city, "timezone": loc.timezone}
                for loc in self.locations.values()
            ],
            "reservation": self.policy.to_json(),
            "features": dict(self.features),
        }


@dataclass(frozen=True)
class ApiKey:
    """A console-issued key: its scopes, the restaurants it reaches, an optional location."""

    key: str
    scopes: frozenset[str] = ALL_SCOPES
    restaurant_ids: frozenset[str] = frozenset()
    location_id: str | None = None


class ApiError(Exception):
    """An error answer in the documented envelope ``{"error": {code, message, details?}}``."""

    def __init__(
        self, status: int, code: str, message: str, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details is not None:
            error["details"] = self.details
        return {"error": error}


def invalid(field_name: str, message: str) -> ApiError:
    return ApiError(400, "validation_error", message, {"field": field_name})


def not_found(what: str) -> ApiError:
    return ApiError(404, "not_found", f"{what} not found")
