"""Unchanged queries against the real LibreBooking server: its day list answers the same
bytes while nothing changes (so a polled day is answered again without executing), and a
booking made in between is listed at once."""

from __future__ import annotations

from datetime import date

from tablegraph.app import REVALIDATED
from tablegraph.graphql.revalidated import RevalidatedQueries

from ..graphql.conftest import Api
from .test_issue14_real import RESTAURANT, _at, _create, _email

DAY = """query($r: ID!, $d: Date!) { bookings(restaurantId: $r, date: $d) {
  nodes { id status start guest { firstName lastName } restaurant { name } } } }"""


async def test_a_polled_day_is_answered_again_until_a_booking_is_made(api: Api, day: date) -> None:
    first = await _create(api, _at(day, "18:00"), {"firstName": "Re", "lastName": "Val"})
    assert first["userErrors"] == [], first
    again: RevalidatedQueries = api.app[REVALIDATED]
    variables = {"r": RESTAURANT, "d": day.isoformat()}
    polls = [await api.data(DAY, variables) for _ in range(4)]
    assert all(p == polls[0] for p in polls)
    assert len(polls[0]["bookings"]["nodes"]) == 1
    assert again.hits >= 1  # the real server answers an unchanged day with the same bytes
    hits = again.hits
    made = await _create(
        api, _at(day, "20:00"), {"firstName": "Two", "lastName": "Val", "email": _email()}
    )
    assert made["userErrors"] == [], made
    changed = await api.data(DAY, variables)
    assert len(changed["bookings"]["nodes"]) == 2
    assert again.hits == hits  # executed, not answered again
