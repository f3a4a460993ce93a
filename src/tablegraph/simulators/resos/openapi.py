"""resOS' API as an OpenAPI document (``GET /openapi.json``; see ``simulators.openapi``)."""

from __future__ import annotations

from tablegraph.simulators.openapi import Op, document

_B = "/v1/bookings/{id}"

DOCUMENT = document(
    title="resOS (simulated)",
    description="resOS' v1 API: one restaurant per API key. Errors are a bare JSON string; a 429 "
    "carries Retry-After in milliseconds.",
    security={
        "apiKey": {
            "type": "http",
            "scheme": "basic",
            "description": "the API key as the user name, an empty password",
        }
    },
    ops=[
        Op("GET", "/v1/healthcheck", "Is the API up."),
        Op(
            "GET",
            "/v1/openingHours",
            "Opening hours, special days included.",
            query=("onlySpecial", "openingHourId"),
            array=True,
        ),
        Op(
            "GET",
            "/v1/bookingFlow/times",
            "Bookable times on a date for a party size.",
            required_query=("date", "people"),
            array=True,
        ),
        Op(
            "GET",
            "/v1/bookingFlow/dates",
            "Dates with bookable times.",
            query=("fromDate", "toDate", "people"),
            array=True,
        ),
        Op("GET", "/v1/tables", "The restaurant's tables.", array=True),
        Op(
            "GET",
            "/v1/bookings",
            "Bookings in a time range.",
            query=(
                "fromDateTime",
                "toDateTime",
                "status",
                "customQuery",
                "limit",
                "skip",
                "sort",
                "showDeleted",
            ),
            array=True,
        ),
        Op("POST", "/v1/bookings", "Create a booking.", body="the booking", answer="its id"),
        Op("GET", _B, "One booking."),
        Op("PUT", _B, "Replace a booking's changeable fields.", body="the booking"),
        Op("PATCH", _B, "Change a booking (status, time, people).", body="the fields to change"),
        Op("DELETE", _B, "Delete a booking."),
        Op("POST", f"{_B}/restaurantNote", "Add a restaurant note.", body="{text}"),
    ],
)
