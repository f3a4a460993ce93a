"""LibreBooking's web services as an OpenAPI document (``GET /openapi.json``; see
``simulators.openapi``). Kept out of ``app.py``, which registers it in one line."""

from __future__ import annotations

from tablegraph.simulators.openapi import Op, document

_P = "/Web/Services/index.php"
_RES = f"{_P}/Reservations/{{referenceNumber}}"

DOCUMENT = document(
    title="LibreBooking (simulated)",
    description="LibreBooking's web services: tables are resources, a restaurant is a "
    "schedule. Authenticate, then send X-Booked-SessionToken and X-Booked-UserId.",
    security={
        "session": {
            "type": "apiKey",
            "in": "header",
            "name": "X-Booked-SessionToken",
            "description": "from Authentication/Authenticate, with X-Booked-UserId beside it",
        }
    },
    ops=[
        Op(
            "POST",
            f"{_P}/Authentication/Authenticate",
            "Start a session.",
            body="{username, password}",
            public=True,
        ),
        Op(
            "POST",
            f"{_P}/Authentication/SignOut",
            "End a session.",
            body="{userId, sessionToken}",
            public=True,
        ),
        Op("GET", f"{_P}/Schedules/", "Every schedule."),
        Op("GET", f"{_P}/Schedules/{{scheduleId}}", "One schedule, periods and layout."),
        Op(
            "GET",
            f"{_P}/Schedules/{{scheduleId}}/Slots",
            "The slot grid per resource.",
            query=("resourceId", "startDateTime", "endDateTime"),
        ),
        Op("GET", f"{_P}/Resources/", "Every resource (table)."),
        Op(
            "GET",
            f"{_P}/Resources/Availability",
            "When each resource is next free.",
            query=("dateTime",),
        ),
        Op(
            "GET",
            f"{_P}/Resources/{{resourceId}}/Availability",
            "When one resource is free.",
            query=("dateTime",),
        ),
        Op("GET", f"{_P}/Resources/{{resourceId}}", "One resource."),
        Op(
            "GET",
            f"{_P}/Reservations/",
            "Reservations in a range (owner names included).",
            query=("userId", "resourceId", "scheduleId", "startDateTime", "endDateTime"),
        ),
        Op(
            "POST",
            f"{_P}/Reservations/",
            "Create a reservation.",
            body="the reservation",
            status=201,
        ),
        Op("GET", _RES, "One reservation."),
        Op("POST", _RES, "Update a reservation.", body="the reservation", query=("updateScope",)),
        Op("DELETE", _RES, "Delete a reservation.", query=("updateScope",)),
        Op("POST", f"{_RES}/Approval", "Approve a pending reservation."),
        Op("POST", f"{_RES}/CheckIn", "Check a reservation in."),
        Op("POST", f"{_RES}/CheckOut", "Check a reservation out."),
        Op("GET", f"{_P}/Users/", "Users (guests), by e-mail.", query=("email",)),
        Op("POST", f"{_P}/Users/", "Create a user (admin).", body="the user"),
        Op("GET", f"{_P}/Users/{{userId}}", "One user."),
    ],
)
