"""Libro's people page read beside the booking list when the query asks the guests
(``tablegraph.wanted``): the guests cost no round trip of their own, and no read is added;
a query that asks no guest reads no people."""

from __future__ import annotations

import asyncio
from datetime import datetime, time, timedelta
from typing import Any

from aiohttp import web

from tablegraph.simulators.libro import LIBRO_STATE
from tablegraph.timeutil import localize, zone

from .stacks import start_stack

PEOPLE = "GET /restricted/people"
LIST = "GET /restricted/restaurant/bookings"
DAY = """
query($r: ID!, $d: Date!) {
  restaurant(id: $r) { bookings(date: $d, first: 100) { nodes { id guest { %s } } } }
}
"""


NO_GUESTS = """
query($r: ID!, $d: Date!) { restaurant(id: $r) { bookings(date: $d) { nodes { id } } } }
"""


class HoldTheList:
    """Once armed, the simulator answers the booking list only after the people page has
    been asked (or five seconds): ``overlapped`` says which."""

    def __init__(self) -> None:
        self.armed = False
        self.overlapped: bool | None = None
        self._people = asyncio.Event()

        @web.middleware
        async def middleware(request: web.Request, handler: Any) -> web.StreamResponse:
            if request.path.endswith("/restricted/people"):
                self._people.set()
            elif self.armed and request.path.endswith("/restricted/restaurant/bookings"):
                try:
                    await asyncio.wait_for(self._people.wait(), 5)
                    self.overlapped = True
                except TimeoutError:
                    self.overlapped = False
            return await handler(request)

        self.middleware = middleware

    def arm(self) -> None:
        self.armed, self.overlapped = True, None
        self._people.clear()


async def test_the_people_page_is_read_beside_the_list_and_only_when_guests_are_asked(
    start_server: Any,
) -> None:
    hold = HoldTheList()
    stack, close = await start_stack("libro", start_server, middlewares=(hold.middleware,))
    try:
        restaurant = await stack.restaurant()
        # Six bookings of six guests on one day: a batch of their guests reads a people page.
        state = stack.app[LIBRO_STATE]
        rest = next(r for r in state.restaurants.values() if r.code == restaurant.native_id)
        day = datetime.now(zone(restaurant.timezone)).date() + timedelta(days=40)
        people = list(state.people.values())[:6]
        for i, person in enumerate(people):
            start = localize(day, time(18 + i // 3, 15 * (i % 3)), restaurant.timezone)
            state.new_booking(rest, person, 2, start, str(1 + i))
        variables = {"r": stack.restaurant_id(restaurant), "d": day.isoformat()}

        async def ask(fields: str) -> Any:
            got = await stack.api.http.post(
                "/graphql", json={"query": DAY % fields, "variables": variables}
            )
            body = got.json()
            assert "errors" not in body, body
            return body["data"]["restaurant"]["bookings"]["nodes"]

        first = await ask("id firstName lastName")  # cold: nothing known to read ahead for
        assert len({n["guest"]["id"] for n in first}) == 6
        people, lists = stack.requests(PEOPLE), stack.requests(LIST)
        assert people == 1

        hold.arm()
        again = await ask("id firstName lastName")
        assert hold.overlapped is True  # asked while the list was still unanswered
        assert again == first
        assert stack.requests(PEOPLE) == people + 1  # taken by the batch: no read added
        assert stack.requests(LIST) == lists + 1

        hold.arm()
        ids_only = await ask("id")  # Booking.guest reads the guest whatever it is asked
        assert [n["guest"]["id"] for n in ids_only] == [n["guest"]["id"] for n in first]
        assert hold.overlapped is True and stack.requests(PEOPLE) == people + 2

        got = await stack.api.http.post(
            "/graphql", json={"query": NO_GUESTS, "variables": variables}
        )
        assert len(got.json()["data"]["restaurant"]["bookings"]["nodes"]) == 6
        assert stack.requests(PEOPLE) == people + 2  # no guest asked: nothing read ahead
    finally:
        await close()
