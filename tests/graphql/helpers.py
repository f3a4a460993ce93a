"""Small helpers for end-to-end tests."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from tablegraph import ids
from tablegraph.timeutil import zone

BERLIN_MITTE = ids.encode("Restaurant", "vardvik-berlin", "rst_1/loc_1")
OSLO = ids.encode("Restaurant", "vardvik-oslo", "rst_2/loc_3")


def quiet_weekday(tz: str = "Europe/Berlin") -> date:
    """A Wednesday–Friday 8–12 days ahead: past the seeded bookings, before special days."""
    today = datetime.now(UTC).astimezone(zone(tz)).date()
    for offset in range(8, 13):
        day = today + timedelta(days=offset)
        if day.isoweekday() in (3, 4, 5):
            return day
    raise AssertionError("unreachable: five consecutive days hold a Wednesday-Friday")


AVAILABILITY = """
query($ids: [ID!]!, $date: Date!, $party: Int!) {
  availability(restaurantIds: $ids, date: $date, partySize: $party) {
    restaurantId
    restaurant { name timezone }
    slots { start end serviceName }
    notice { code message }
  }
}"""

CREATE = """
mutation($input: CreateBookingInput!) {
  createBooking(input: $input) {
    booking { id reference status providerStatus start end partySize tables
              guest { firstName lastName email } restaurant { name } }
    userErrors { code message field }
    idempotencyKey
  }
}"""

CANCEL = """
mutation($input: CancelBookingInput!) {
  cancelBooking(input: $input) {
    booking { id status providerStatus start }
    userErrors { code message }
    idempotencyKey
  }
}"""

RESCHEDULE = """
mutation($input: RescheduleBookingInput!) {
  rescheduleBooking(input: $input) {
    booking { id status start partySize }
    userErrors { code message field }
    idempotencyKey
  }
}"""

BOOKINGS = """
query($rid: ID!, $date: Date!, $first: Int) {
  bookings(restaurantId: $rid, date: $date, first: $first) {
    totalCount
    nodes { id reference status start partySize guest { id firstName lastName email } }
  }
}"""


def guest(n: int = 0) -> dict[str, str]:
    return {"firstName": "Ada", "lastName": f"Lovelace{n}", "email": f"ada{n}@example.com"}
