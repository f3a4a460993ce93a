"""Vardvik's API as an OpenAPI document (``GET /openapi.json``; see ``simulators.openapi``)."""

from __future__ import annotations

from typing import Any

from tablegraph.simulators.openapi import Op, document

_R = "/api/v1/restaurants/{restaurantId}"
_RES = "/api/v1/reservations/{idOrPublicReference}"


def _object(required: tuple[str, ...], **properties: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "object", "properties": properties}
    if required:  # OpenAPI 3.0 refuses an empty list
        out["required"] = list(required)
    return out


_STR = {"type": "string"}
_OPT_STR = {"type": "string", "nullable": True}
_INT = {"type": "integer"}
_GUEST = _object(
    ("id", "firstName", "lastName"),
    id=_STR,
    firstName=_STR,
    lastName=_STR,
    email=_OPT_STR,
    phone=_OPT_STR,
)
#: A reservation as every reservation answer carries it (``state.reservation_json``).
_RESERVATION = _object(
    ("id", "publicReference", "status", "startTime", "endTime", "partySize", "guest"),
    id=_STR,
    publicReference=_STR,
    restaurantId=_STR,
    locationId=_STR,
    status={
        "type": "string",
        "enum": ["pending", "confirmed", "seated", "completed", "cancelled", "no_show"],
    },
    startTime={"type": "string", "format": "date-time"},
    endTime={"type": "string", "format": "date-time"},
    partySize=_INT,
    tableIds={"type": "array", "items": _STR},
    guest=_GUEST,
    specialRequests=_OPT_STR,
    source=_STR,
    createdAt=_OPT_STR,
    updatedAt=_OPT_STR,
)
_ONE = _object(("reservation",), reservation=_RESERVATION)
_LIST = _object(("reservations",), reservations={"type": "array", "items": _RESERVATION})
_LOCATION = _object(("id", "name", "timezone"), id=_STR, name=_STR, city=_STR, timezone=_STR)
_CONFIG = _object(
    ("restaurant", "locations"),
    restaurant=_object(("id", "name", "timezone"), id=_STR, name=_STR, timezone=_STR),
    locations={"type": "array", "items": _LOCATION},
    reservation=_object(
        (),
        minPartySize=_INT,
        maxPartySize=_INT,
        defaultDurationMinutes=_INT,
        minLeadTimeMinutes=_INT,
        maxAdvanceBookingDays=_INT,
        slotIntervalMinutes=_INT,
    ),
    features=_object(
        (),
        waitlist={"type": "boolean"},
        webhooks={"type": "boolean"},
        reservationChanges={"type": "boolean"},
    ),
)

DOCUMENT = document(
    title="Vardvik (simulated)",
    description="Vardvik's restaurant API: configuration, availability, reservations, guests. "
    "Errors come in Vardvik's envelope; a fixed-window rate limit answers 429.",
    security={"apiKey": {"type": "http", "scheme": "bearer", "description": "an API key"}},
    ops=[
        Op(
            "GET",
            f"{_R}/config",
            "The restaurant's configuration: locations, policies.",
            query=("locationId",),
            schema=_CONFIG,
        ),
        Op(
            "GET",
            f"{_R}/opening-hours",
            "Weekly opening hours and special days.",
            query=("locationId",),
        ),
        Op(
            "GET",
            f"{_R}/availability",
            "Bookable slots on a date for a party size.",
            required_query=("date", "partySize"),
            query=("locationId",),
        ),
        Op(
            "POST",
            f"{_R}/availability/search",
            "Slots on several dates (a search body).",
            body="{dates, partySize, locationId?}",
        ),
        Op(
            "POST",
            f"{_R}/reservations",
            "Create a reservation (Idempotency-Key header honoured).",
            body="{start, partySize, guest, locationId?, notes?}",
            status=201,
            answer="{reservation}",
            schema=_ONE,
        ),
        Op(
            "GET",
            f"{_R}/reservations",
            "Reservations on a date, guests embedded (at most 200).",
            query=("date", "status", "locationId"),
            answer="{reservations: [reservation]}",
            schema=_LIST,
        ),
        Op(
            "GET",
            _RES,
            "One reservation by id or public reference.",
            answer="{reservation}",
            schema=_ONE,
        ),
        Op(
            "PATCH",
            _RES,
            "Change a reservation (time, party size, notes).",
            body="the fields to change",
            answer="{reservation}",
            schema=_ONE,
        ),
        Op(
            "DELETE",
            _RES,
            "Cancel a reservation.",
            query=("reason",),
            answer="{reservation}, cancelled",
            schema=_ONE,
        ),
        Op(
            "POST",
            f"{_R}/waitlist",
            "Join the waitlist.",
            body="{date, partySize, guest}",
            status=201,
        ),
        Op("GET", f"{_R}/guests", "Guests, by e-mail.", query=("email", "limit")),
        Op("POST", f"{_R}/guests", "Create or update a guest.", body="the guest"),
        Op("POST", f"{_R}/webhooks/test", "Send a test webhook.", body="{url}"),
    ],
)
