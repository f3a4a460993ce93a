"""The unified model: what every provider adapter returns and the GraphQL layer shows.

Plain frozen dataclasses, provider-neutral. Every ``datetime`` here is timezone-aware and
expressed in the restaurant's zone (adapters convert); every ``native_id`` is the provider's
own identifier, unique within one upstream. Strawberry types are thin views over these.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal


class BookingStatus(enum.Enum):
    PENDING = "PENDING"
    CONFIRMED = "CONFIRMED"
    ARRIVED = "ARRIVED"
    SEATED = "SEATED"
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"
    NO_SHOW = "NO_SHOW"
    DECLINED = "DECLINED"
    WAITLISTED = "WAITLISTED"
    UNKNOWN = "UNKNOWN"


class Capability(enum.Enum):
    """What a provider (and each of its restaurants) can do beyond listing restaurants."""

    AVAILABILITY = "AVAILABILITY"
    BOOKINGS_READ = "BOOKINGS_READ"
    BOOKING_CREATE = "BOOKING_CREATE"
    BOOKING_RESCHEDULE = "BOOKING_RESCHEDULE"
    BOOKING_CANCEL = "BOOKING_CANCEL"
    BOOKING_UPDATE = "BOOKING_UPDATE"
    STATUS_CHANGE = "STATUS_CHANGE"
    WAITLIST = "WAITLIST"
    GUESTS_READ = "GUESTS_READ"
    GUEST_UPSERT = "GUEST_UPSERT"
    REVIEWS = "REVIEWS"
    OPENING_HOURS = "OPENING_HOURS"
    WEBHOOKS = "WEBHOOKS"
    IDEMPOTENT_CREATE = "IDEMPOTENT_CREATE"
    #: The restaurant's tables can be listed (name, seats, area).
    TABLES = "TABLES"


@dataclass(frozen=True)
class BookingPolicy:
    min_party_size: int = 1
    max_party_size: int = 20
    min_lead_minutes: int = 0
    max_advance_days: int = 90
    slot_interval_minutes: int = 15
    default_duration_minutes: int = 90
    #: Minutes before start after which the guest may no longer cancel (None: no rule known).
    cancellation_cutoff_minutes: int | None = None


@dataclass(frozen=True)
class OpeningPeriod:
    day_of_week: int  # ISO: Monday = 1 … Sunday = 7
    opens: time
    closes: time  # a value <= opens means the period runs past midnight
    service_name: str | None = None


@dataclass(frozen=True)
class SpecialDay:
    day: date
    closed: bool
    opens: time | None = None
    closes: time | None = None
    note: str | None = None


@dataclass(frozen=True)
class OpeningHours:
    weekly: tuple[OpeningPeriod, ...] = ()
    special_days: tuple[SpecialDay, ...] = ()


@dataclass(frozen=True)
class Restaurant:
    upstream: str
    native_id: str
    name: str
    timezone: str  # IANA zone name
    reference: str | None = None
    city: str | None = None
    address: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    phone: str | None = None
    policy: BookingPolicy = field(default_factory=BookingPolicy)
    capabilities: frozenset[Capability] = frozenset()


@dataclass(frozen=True)
class Area:
    native_id: str
    name: str
    #: Localized names keyed by locale ("en", "fr"), where the provider gives them.
    localized_names: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Table:
    """A table (or other bookable resource that seats guests) of a restaurant.

    ``native_id`` is what ``Booking.tables`` and ``BookingUpdate.tables`` name for the same
    provider's tables where the provider reads them back by id."""

    upstream: str
    native_id: str
    name: str
    #: Most guests it seats; None when the provider does not say.
    seats: int | None = None
    #: Fewest guests it is given to, where the provider has such a rule.
    min_seats: int | None = None
    #: The room or area it stands in, by name.
    area: str | None = None


@dataclass(frozen=True)
class SlotPayment:
    kind: str  # "NO_SHOW_FEE" | "TICKET" | "DEPOSIT" | "PREPAYMENT"
    amount: Decimal | None = None
    currency: str | None = None


@dataclass(frozen=True)
class Slot:
    start: datetime
    end: datetime
    party_size: int
    areas: tuple[Area, ...] = ()
    waitlist_only: bool = False
    service_name: str | None = None
    payment: SlotPayment | None = None


@dataclass(frozen=True)
class Guest:
    upstream: str
    native_id: str
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None
    locale: str | None = None
    marketing_consent: bool | None = None
    notes: str | None = None
    tags: tuple[str, ...] = ()
    visit_count: int | None = None


@dataclass(frozen=True)
class GuestPreview:
    """Part of a guest, as a booking list shows it: ``fields`` names the ``Guest`` fields it
    knows (the others are unknown, not empty). It answers a query that asks no more of the
    guest without reading the guest; it never stands in for a guest read."""

    guest: Guest
    fields: frozenset[str]


@dataclass(frozen=True)
class Booking:
    upstream: str
    native_id: str
    restaurant_id: str  # native id of the restaurant in the same upstream
    status: BookingStatus
    provider_status: str
    start: datetime
    end: datetime
    party_size: int
    reference: str | None = None
    guest_id: str | None = None  # native id of the guest, when the provider has one
    #: The guest as embedded in the provider's booking payload; the GraphQL layer primes its
    #: guest loader with it so no second call is made.
    guest: Guest | None = None
    #: Part of the guest (``guest_id``'s), where the list carries only that much.
    guest_preview: GuestPreview | None = None
    tables: tuple[str, ...] = ()
    notes: str | None = None
    tags: tuple[str, ...] = ()
    source: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    area: Area | None = None


@dataclass(frozen=True)
class Review:
    upstream: str
    native_id: str
    restaurant_id: str
    rating: float
    created_at: datetime | None = None
    text: str | None = None
    reply: str | None = None
    source: str | None = None
    author_name: str | None = None
    #: Sub-ratings by name ("food", "service", "ambiance", "value", "noise").
    sub_ratings: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class WaitlistEntry:
    upstream: str
    native_id: str
    restaurant_id: str
    day: date
    party_size: int
    status: str
    preferred_time: time | None = None
    guest: Guest | None = None
    created_at: datetime | None = None


# ---- inputs handed to providers -----------------------------------------------------------


@dataclass(frozen=True)
class GuestData:
    first_name: str
    last_name: str
    email: str | None = None
    phone: str | None = None
    locale: str | None = None


@dataclass(frozen=True)
class NewBooking:
    restaurant_id: str
    start: datetime  # aware
    party_size: int
    guest: GuestData
    idempotency_key: str
    notes: str | None = None
    area_id: str | None = None
    duration_minutes: int | None = None


@dataclass(frozen=True)
class BookingChange:
    """A reschedule: a new start and/or party size."""

    start: datetime | None = None
    party_size: int | None = None
    idempotency_key: str | None = None


@dataclass(frozen=True)
class BookingUpdate:
    notes: str | None = None
    tags: tuple[str, ...] | None = None
    status: BookingStatus | None = None
    tables: tuple[str, ...] | None = None
    locale: str | None = None


@dataclass(frozen=True)
class BookingQuery:
    """Bookings of one restaurant whose start lies in [start, end)."""

    restaurant_id: str
    start: datetime
    end: datetime
    statuses: frozenset[BookingStatus] | None = None
    guest_id: str | None = None


@dataclass(frozen=True)
class WaitlistRequest:
    restaurant_id: str
    day: date
    party_size: int
    guest: GuestData
    preferred_time: time | None = None
    notes: str | None = None


@dataclass(frozen=True)
class GuestUpsert:
    restaurant_id: str
    guest: GuestData
    marketing_consent: bool | None = None
    notes: str | None = None


@dataclass(frozen=True)
class WebhookEvent:
    """A verified provider webhook delivery, reduced to what the gateway acts on."""

    #: The provider's id for the delivery (de-duplication); ``None`` when it sends none.
    event_id: str | None
    #: Native restaurant ids it touches; empty means "any restaurant of the upstream".
    restaurant_ids: tuple[str, ...] = ()
    #: Native booking ids it names, where the provider says.
    booking_ids: tuple[str, ...] = ()
    #: Native guest ids it names, where the provider says.
    guest_ids: tuple[str, ...] = ()
    #: The provider's event type (``reservation.created``…), for logs and subscriptions.
    kind: str | None = None
    occurred_at: datetime | None = None
