"""resOS JSON as it arrives (providers/resos.md, "Booking object" and "Endpoints").

Only what the adapter reads is declared; every key is optional (``total=False``) because
resOS leaves out what is not set. Time: a booking carries its restaurant-local ``date`` +
``time`` and the UTC ``dateTime``; opening hours are HHMM integers with ISO weekdays
(1 = Monday); ``/bookingFlow/times`` lists ``"HH:MM"`` strings of the restaurant's local day.
Error bodies are a bare JSON string (see ``errors``); ``POST /bookings`` answers the new
``_id`` as a bare string and ``PUT /bookings/{id}`` answers ``true``.
"""

from __future__ import annotations

from typing import Any, TypedDict

#: ``languageCode`` values resOS writes its guest messages in.
LANGUAGES = frozenset({"en", "es", "de", "da", "sv"})


class RawGuest(TypedDict, total=False):
    name: str
    email: str
    phone: str
    notificationSms: bool
    notificationEmail: bool


class RawArea(TypedDict, total=False):
    _id: str
    name: str


class RawTable(TypedDict, total=False):
    _id: str
    name: str
    area: RawArea
    #: ``GET /tables`` only (seats the table is given to); bookings embed the short form.
    seatsMin: int
    seatsMax: int


class RawNote(TypedDict, total=False):
    _id: str
    restaurantNote: str
    createdAt: str


class RawBooking(TypedDict, total=False):
    _id: str
    restaurantId: str
    date: str
    time: str
    dateTime: str
    people: int
    duration: int
    status: str
    source: str
    languageCode: str
    guest: RawGuest
    tables: list[RawTable]
    comment: str
    note: str
    restaurantNotes: list[RawNote]
    openingHourId: str
    openingHourName: str
    metadata: dict[str, Any]
    createdAt: str
    activityAt: str


class RawSeating(TypedDict, total=False):
    active: bool
    interval: int
    duration: int


class RawOpeningHour(TypedDict, total=False):
    _id: str
    name: str
    day: int
    open: int
    close: int
    special: bool
    date: str
    isOpen: bool
    seating: RawSeating
    deleted: bool
    deletedAt: str


class RawPayment(TypedDict, total=False):
    active: bool


class RawTimesPeriod(TypedDict, total=False):
    _id: str
    name: str
    note: str
    payment: RawPayment
    availableTimes: list[str]
    unavailableTimes: list[str]
    waitlistTimes: list[str]
    useWaitlist: bool
