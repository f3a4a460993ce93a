"""Libro's documented example objects through the adapter's mappers."""

from __future__ import annotations

from datetime import time, timedelta

from tablegraph.model import BookingStatus, Capability, OpeningPeriod
from tablegraph.providers.libro import LibroProvider
from tablegraph.providers.libro.jsonapi import Included
from tablegraph.providers.libro.mapping import (
    to_booking,
    to_guest,
    to_opening_hours,
    to_restaurant,
)

# Source: seeds/libro-api.txt "The Restaurant Object".
DOC_RESTAURANT = {
    "type": "restaurant",
    "id": "0000000000",
    "attributes": {
        "name": "Example Restaurant",
        "active": True,
        "code": "ZZ000000000000",
        "latitude": 45.5001,
        "longitude": -73.5665,
        "tz": "America/Montreal",
        "created-at": "2024-01-01T12:00:00.0-04:00",
        "online-booking-lead-months": 6,
        "cancelation-delay": 86400,
        "service-scopes": [
            {"name": "Diner", "startTime": "10:00", "endTime": "15:00"},
            {"name": "Souper", "startTime": "15:00", "endTime": "03:00"},
        ],
    },
}

# Source: seeds/libro-api.txt "Get Booking" response.
DOC_BOOKING = {
    "data": {
        "id": "63873433",
        "type": "booking",
        "attributes": {
            "size": 2,
            "status": "seated",
            "time": "2025-04-30T10:45:00.000-04:00",
            "table-number": None,
            "note": "Birthday party",
            "private-note": "",
            "expected-leave-at": "2025-04-30T12:15:00.000-04:00",
            "source": "dashboard",
            "read-token": "17cb72002",
            "edit-token": "17cb72018",
            "booking-type": "reservation",
            "locale": None,
            "created-at": "2025-04-30T10:51:01.730-04:00",
            "arrived-at": "2025-04-30T10:51:01.729-04:00",
            "confirmed-at": None,
            "seated-at": None,
            "completed-at": None,
            "canceled-at": "2025-05-06T17:32:19.190-04:00",
        },
        "relationships": {
            "person": {"data": {"id": "XXXXXXXXX", "type": "person"}},
            "restaurant": {"data": {"id": "XXXX", "type": "restaurant"}},
            "recommendation": {"data": {"id": "XXXXXXXXX", "type": "recommendation"}},
            "experience": {"data": {"id": "XXXXXXXXX", "type": "experience"}},
        },
    },
    "included": [],
}

# Source: seeds/libro-api.txt "The Person Object".
DOC_PERSON = {
    "id": "18476003",
    "type": "person",
    "attributes": {
        "first-name": "Johnny",
        "last-name": "Doe",
        "email": "john@gmail.com",
        "phone": "225-951-4433",
        "note": "Lorem Ipsum",
        "tags": ["vvip", "vegan"],
    },
}


def test_restaurant_object() -> None:
    caps = LibroProvider.capabilities
    r = to_restaurant("libro-x", DOC_RESTAURANT, caps)  # type: ignore[arg-type]
    assert (r.native_id, r.reference, r.name) == (
        "ZZ000000000000",
        "0000000000",
        "Example Restaurant",
    )
    assert r.timezone == "America/Montreal" and (r.latitude, r.longitude) == (45.5001, -73.5665)
    assert r.policy.cancellation_cutoff_minutes == 24 * 60
    assert r.policy.max_advance_days == 183  # six months
    assert Capability.REVIEWS in r.capabilities
    inactive = {**DOC_RESTAURANT, "attributes": {**DOC_RESTAURANT["attributes"], "active": False}}
    assert to_restaurant("libro-x", inactive, caps).capabilities == frozenset()  # type: ignore[arg-type]


def test_service_scopes_become_opening_hours() -> None:
    hours = to_opening_hours(DOC_RESTAURANT)  # type: ignore[arg-type]
    monday = [p for p in hours.weekly if p.day_of_week == 1]
    assert monday == [
        OpeningPeriod(1, time(10), time(15), "Diner"),
        OpeningPeriod(1, time(15), time(3), "Souper"),
    ]  # runs past midnight
    assert len(hours.weekly) == 14


def test_booking_object() -> None:
    restaurant = to_restaurant(
        "libro-x",
        {**DOC_RESTAURANT, "id": "XXXX"},  # type: ignore[arg-type]
        frozenset(),
    )
    b = to_booking(
        "libro-x",
        DOC_BOOKING["data"],
        restaurant,  # type: ignore[arg-type]
        Included([DOC_BOOKING]),
    )  # type: ignore[list-item]
    assert b.native_id == b.reference == "63873433"
    assert b.status is BookingStatus.SEATED and b.provider_status == "seated"
    assert b.start.isoformat() == "2025-04-30T10:45:00-04:00"
    assert b.end - b.start == timedelta(minutes=90)
    assert b.party_size == 2 and b.notes == "Birthday party" and b.source == "dashboard"
    assert b.guest_id == "XXXXXXXXX" and b.guest is None  # person not side-loaded
    assert b.restaurant_id == "ZZ000000000000" and b.tables == ()
    assert b.area is None  # experience named but not included
    unknown = {
        **DOC_BOOKING["data"],
        "attributes": {**DOC_BOOKING["data"]["attributes"], "status": "waitlisted-new"},
    }
    odd = to_booking("libro-x", unknown, restaurant, Included())  # type: ignore[arg-type]
    assert odd.status is BookingStatus.UNKNOWN and odd.provider_status == "waitlisted-new"


def test_person_object() -> None:
    g = to_guest("libro-x", DOC_PERSON)  # type: ignore[arg-type]
    assert (g.native_id, g.first_name, g.last_name) == ("18476003", "Johnny", "Doe")
    assert (g.email, g.phone, g.notes, g.tags) == (
        "john@gmail.com",
        "225-951-4433",
        "Lorem Ipsum",
        ("vvip", "vegan"),
    )
