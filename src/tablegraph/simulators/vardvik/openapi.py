"""Vardvik's API as an OpenAPI document (``GET /openapi.json``; see ``simulators.openapi``)."""

from __future__ import annotations

from tablegraph.simulators.openapi import Op, document

_R = "/api/v1/restaurants/{restaurantId}"
_RES = "/api/v1/reservations/{idOrPublicReference}"

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
            answer="the reservation",
        ),
        Op(
            "GET",
            f"{_R}/reservations",
            "Reservations on a date, guests embedded.",
            query=("date", "status", "locationId"),
            answer="{data: [reservation]}",
        ),
        Op("GET", _RES, "One reservation by id or public reference.", answer="the reservation"),
        Op(
            "PATCH",
            _RES,
            "Change a reservation (time, party size, notes).",
            body="the fields to change",
            answer="the reservation",
        ),
        Op(
            "DELETE",
            _RES,
            "Cancel a reservation.",
            query=("reason",),
            answer="the cancelled reservation",
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
