"""Vardvik's JSON, as it arrives (shapes: shared/providers/rest-v1.md). Never leaves the package.

Documented fields are required; the rows the public document is silent about (and that the
adapter must therefore tolerate missing) are ``NotRequired``.
"""

from __future__ import annotations

from typing import NotRequired, TypedDict


class RawRestaurantInfo(TypedDict):
    id: str
    name: str
    timezone: NotRequired[str]


class RawLocation(TypedDict):
    id: str
    name: NotRequired[str | None]
    city: NotRequired[str | None]
    timezone: NotRequired[str | None]


class RawReservationPolicy(TypedDict, total=False):
    minPartySize: int
    maxPartySize: int
    defaultDurationMinutes: int
    minLeadTimeMinutes: int
    maxAdvanceBookingDays: int
    slotIntervalMinutes: int


class RawFeatures(TypedDict, total=False):
    waitlist: bool
    webhooks: bool
    reservationChanges: bool


class RawConfig(TypedDict):
    """``GET /restaurants/{restaurantId}/config``."""

    restaurant: RawRestaurantInfo
    locations: NotRequired[list[RawLocation]]
    reservation: NotRequired[RawReservationPolicy]
    features: NotRequired[RawFeatures]


class RawWeeklyPeriod(TypedDict):
    dayOfWeek: int  # ISO, Monday = 1
    opens: str  # "HH:MM", location-local
    closes: str
    serviceName: NotRequired[str | None]


class RawSpecialDay(TypedDict):
    date: str
    closed: NotRequired[bool]
    opens: NotRequired[str | None]
    closes: NotRequired[str | None]
    note: NotRequired[str | None]


class RawOpeningHours(TypedDict, total=False):
    """``GET /restaurants/{restaurantId}/opening-hours?locationId=``."""

    locationId: str
    timezone: str
    weekly: list[RawWeeklyPeriod]
    specialDays: list[RawSpecialDay]


class RawSlot(TypedDict):
    start: str  # UTC instant, "…T17:00:00.000Z"
    end: str
    available: NotRequired[bool]
    capacity: NotRequired[int]
    tableIds: NotRequired[list[str]]
    serviceName: NotRequired[str | None]


class RawAvailability(TypedDict, total=False):
    slots: list[RawSlot]


class RawGuest(TypedDict, total=False):
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


class RawReservation(TypedDict):
    id: str
    publicReference: str
    status: str
    startTime: str
    endTime: str
    partySize: int
    tableIds: list[str]
    guest: RawGuest
    restaurantId: NotRequired[str]
    locationId: NotRequired[str]
    specialRequests: NotRequired[str | None]
    source: NotRequired[str]
    createdAt: NotRequired[str]
    updatedAt: NotRequired[str]


class RawReservationEnvelope(TypedDict):
    reservation: RawReservation


class RawReservationList(TypedDict, total=False):
    reservations: list[RawReservation]


class RawGuestEnvelope(TypedDict):
    guest: RawGuest


class RawGuestList(TypedDict, total=False):
    guests: list[RawGuest]


class RawWaitlistEntry(TypedDict):
    id: str
    status: NotRequired[str]
    date: NotRequired[str]
    partySize: NotRequired[int]
    preferredTime: NotRequired[str | None]
    guest: NotRequired[RawGuest]
    createdAt: NotRequired[str]


class RawWaitlistEnvelope(TypedDict):
    waitlistEntry: RawWaitlistEntry


class RawDelivery(TypedDict, total=False):
    webhookId: str
    status: str
    responseCode: int | None


class RawDeliveries(TypedDict, total=False):
    deliveries: list[RawDelivery]


class RawErrorDetail(TypedDict, total=False):
    code: str
    message: str
    details: dict[str, object]


class RawError(TypedDict):
    """Every refusal: ``{"error": {"code", "message", "details"?}}``."""

    error: RawErrorDetail


# ---- what the adapter sends ---------------------------------------------------------------


class GuestBody(TypedDict):
    firstName: str
    lastName: str
    email: NotRequired[str]
    phone: NotRequired[str]
    marketingConsent: NotRequired[bool]
    consentSource: NotRequired[str]


class CreateBody(TypedDict):
    """``POST /restaurants/{restaurantId}/reservations`` (header ``Idempotency-Key``)."""

    locationId: str
    startTime: str
    partySize: int
    guest: GuestBody
    source: str
    specialRequests: NotRequired[str]
    durationMinutes: NotRequired[int]


class PatchBody(TypedDict, total=False):
    """``PATCH /reservations/{id}``: status and tables; start and party size only when the
    restaurant's ``features.reservationChanges`` is on."""

    status: str
    tableIds: list[str]
    startTime: str
    partySize: int


class WaitlistBody(TypedDict):
    locationId: str
    date: str
    partySize: int
    guest: GuestBody
    preferredTime: NotRequired[str]
    notes: NotRequired[str]


class RawWebhookData(TypedDict, total=False):
    reservationId: str
    publicReference: str
    status: str


class RawWebhookEvent(TypedDict, total=False):
    """A delivery's body (WH): ``{id: "evt_…", type, restaurantId, createdAt, data}``."""

    id: str
    type: str
    restaurantId: str
    createdAt: str
    data: RawWebhookData
