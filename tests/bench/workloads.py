"""The four workloads of issue #16, as GraphQL requests over an ``env.Env``.

Each workload is one or more requests (``book`` is two: create, then cancel), the same for every
system measured.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from tests.bench.env import Env

DASHBOARD = """
query Dashboard($r0: ID!, $d0: Date!, $r1: ID!, $d1: Date!, $r2: ID!, $d2: Date!,
                $r3: ID!, $d3: Date!) {
  a: bookings(restaurantId: $r0, date: $d0, first: 100) { ...day }
  b: bookings(restaurantId: $r1, date: $d1, first: 100) { ...day }
  c: bookings(restaurantId: $r2, date: $d2, first: 100) { ...day }
  d: bookings(restaurantId: $r3, date: $d3, first: 100) { ...day }
}
fragment day on BookingConnection {
  nodes { id start partySize status guest { id firstName lastName } restaurant { id name } }
}
"""

#: One restaurant's day (Vardvik's, where the peer gateway is composed too): the dashboard of
#: ``DASHBOARD`` for one restaurant.
DASHBOARD_ONE = """
query DashboardOne($r: ID!, $d: Date!) {
  bookings(restaurantId: $r, date: $d, first: 100) {
    nodes { id start partySize status guest { id firstName lastName } restaurant { id name } }
  }
}
"""

SEARCH = """
query Search($ids: [ID!]!, $date: Date!) {
  availability(restaurantIds: $ids, date: $date, partySize: 4) {
    restaurantId slots { start }
  }
}
"""

BOOK_CREATE = """
mutation Book($input: CreateBookingInput!) {
  createBooking(input: $input) { booking { id status } userErrors { code message } }
}
"""

BOOK_CANCEL = """
mutation Cancel($input: CancelBookingInput!) {
  cancelBooking(input: $input) { booking { id status } userErrors { code message } }
}
"""

REFERENCE = """
query Reference {
  restaurants(first: 100) {
    nodes {
      id name timezone provider
      policy { minPartySize maxPartySize minLeadMinutes maxAdvanceDays slotIntervalMinutes }
      openingHours { weekly { dayOfWeek opens closes } }
    }
  }
}
"""

NAMES = ("dashboard", "dashboard_one", "search", "book", "reference")


@dataclass(frozen=True)
class Request:
    query: str
    variables: dict[str, Any]

    def body(self) -> bytes:
        return json.dumps({"query": self.query, "variables": self.variables}).encode()


def dashboard(env: Env) -> Request:
    variables: dict[str, Any] = {}
    for i, (rid, day) in enumerate(env.dashboard):
        variables[f"r{i}"] = rid
        variables[f"d{i}"] = day.isoformat()
    return Request(DASHBOARD, variables)


def dashboard_one(env: Env) -> Request:
    rid, day = env.dashboard[list(env.upstreams).index("vardvik")]
    return Request(DASHBOARD_ONE, {"r": rid, "d": day.isoformat()})


def search(env: Env) -> Request:
    _rid, day = env.dashboard[0]
    return Request(SEARCH, {"ids": env.restaurants[:20], "date": day.isoformat()})


def reference(env: Env) -> Request:
    return Request(REFERENCE, {})


def book_create(env: Env, n: int) -> Request:
    assert env.book_target is not None
    rid, start = env.book_target
    return Request(
        BOOK_CREATE,
        {
            "input": {
                "restaurantId": rid,
                "start": start.isoformat(),
                "partySize": 2,
                "guest": {"firstName": "Bench", "lastName": f"Book{n}", "email": f"b{n}@x.test"},
                "idempotencyKey": f"bench-book-{n}",
            }
        },
    )


def book_cancel(booking_id: str, n: int) -> Request:
    return Request(
        BOOK_CANCEL, {"input": {"bookingId": booking_id, "idempotencyKey": f"bench-cancel-{n}"}}
    )
