"""Libro's API as an OpenAPI document (``GET /openapi.json``; see ``simulators.openapi``)."""

from __future__ import annotations

from tablegraph.simulators.openapi import Op, document

_B = "/restricted/restaurant/bookings"
_CODE = ("restaurant-code",)

DOCUMENT = document(
    title="Libro (simulated)",
    description="Libro's restricted API (JSON:API documents; bookings side-load their "
    "experiences in `included`) behind OAuth 2 (client credentials or authorization code). "
    "Every call asks for `application/vnd.libro-restricted-v2+json` (v3 too); any other "
    "`Accept` is answered 406.",
    media="application/vnd.libro-restricted-v2+json",
    security={
        "oauth": {
            "type": "oauth2",
            "flows": {
                "clientCredentials": {"tokenUrl": "/oauth/token", "scopes": {}},
                "authorizationCode": {
                    "authorizationUrl": "/oauth/authorize",
                    "tokenUrl": "/oauth/token",
                    "scopes": {},
                },
            },
        }
    },
    ops=[
        Op(
            "GET",
            "/restricted/restaurants",
            "The restaurants the token may see.",
            query=("limit", "offset"),
        ),
        Op(
            "GET",
            "/restricted/restaurant/seatings",
            "Bookable seatings on a date.",
            required_query=(*_CODE, "date", "size"),
            query=("time",),
        ),
        Op(
            "GET",
            _B,
            "Bookings on a date (their experiences in `included`; the people are read with "
            "`/restricted/people`).",
            required_query=_CODE,
            query=("date", "status", "guest-id", "limit", "offset"),
        ),
        Op(
            "POST",
            _B,
            "Create a booking.",
            required_query=_CODE,
            body="a JSON:API booking",
            status=201,
        ),
        Op("GET", f"{_B}/{{id}}", "One booking.", query=_CODE),
        Op("PATCH", f"{_B}/{{id}}", "Change a booking.", query=_CODE, body="the attributes"),
        Op("DELETE", f"{_B}/{{id}}", "Cancel a booking.", query=_CODE),
        Op("PUT", f"{_B}/{{id}}/reschedule", "Move a booking.", query=_CODE, body="{time, size}"),
        Op(
            "GET",
            "/restricted/people",
            "A restaurant's people, by e-mail or phone.",
            required_query=_CODE,
            query=("guest-email", "guest-phone", "query", "limit", "offset"),
        ),
        Op("GET", "/restricted/people/{id}", "One person."),
        Op("PATCH", "/restricted/people/{id}", "Change a person.", body="the attributes"),
        Op(
            "GET",
            "/restricted/restaurant/reviews",
            "A restaurant's reviews.",
            required_query=_CODE,
            query=("limit", "offset"),
        ),
        Op(
            "POST",
            "/oauth/token",
            "Exchange credentials or a code for tokens.",
            form=True,
            body="grant_type, client_id, client_secret, code?, refresh_token?",
            public=True,
        ),
        Op(
            "GET",
            "/oauth/authorize",
            "The consent page.",
            html=True,
            public=True,
            query=("client_id", "redirect_uri", "state", "response_type"),
        ),
        Op(
            "POST",
            "/oauth/authorize",
            "Grant consent; redirects with a code.",
            form=True,
            body="the consent form",
            status=302,
            html=True,
            public=True,
        ),
    ],
)
