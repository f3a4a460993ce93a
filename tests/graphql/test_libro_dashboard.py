"""Issue 3: the dashboard query over Libro costs one people call per distinct guest at most."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tablegraph import ids
from tablegraph.simulators import simulator_module
from tablegraph.simulators.common import REQUEST_COUNTS, serve
from tablegraph.simulators.libro import LIBRO_STATE
from tablegraph.timeutil import zone

from .conftest import Sim, start_gateway

DASHBOARD = """query($rid: ID!, $date: Date!, $one: ID!) {
  restaurant(id: $rid) { name bookings(date: $date, first: 100) {
    nodes { id start guest { id firstName email } restaurant { name } } } }
  again: booking(id: $one) { guest { id email } }
}"""


async def test_dashboard_costs_one_people_call_per_distinct_guest(sims: list[Sim]) -> None:
    libro = simulator_module("libro")
    app = libro.create_app(1)
    runner, url = await serve(app)
    gw_runner, api = await start_gateway(libro.demo_upstreams(url))
    try:
        state = app[LIBRO_STATE]
        rest = next(iter(state.restaurants.values()))
        day = datetime.now(UTC).astimezone(zone(rest.tz)).date() + timedelta(days=20)
        people = [
            state.find_or_create_person(
                {"first-name": f"Regular{n}", "last-name": "Guest", "email": f"r{n}@example.com"},
                rest,
            )
            for n in range(2)
        ]
        for n in range(6):  # two guests, three bookings each
            start = datetime(day.year, day.month, day.day, 18, 0, tzinfo=zone(rest.tz))
            state.new_booking(rest, people[n % 2], 2, start + timedelta(minutes=15 * n), None)
        rid = ids.encode("Restaurant", "libro-montreal", rest.code)
        listing = await api.data(
            "query($rid: ID!, $date: Date!) { restaurant(id: $rid) { bookings(date: $date) "
            "{ nodes { id } } } }",
            {"rid": rid, "date": day.isoformat()},
        )
        one = listing["restaurant"]["bookings"]["nodes"][0]["id"]
        counts = app[REQUEST_COUNTS]
        people_calls = lambda: sum(v for k, v in counts.items() if "/restricted/people" in k)  # noqa: E731
        before = people_calls()
        data = await api.data(DASHBOARD, {"rid": rid, "date": day.isoformat(), "one": one})
        nodes = data["restaurant"]["bookings"]["nodes"]
        guests = {n["guest"]["id"] for n in nodes}
        assert len(nodes) >= 6 and len(guests) <= len(nodes) - 4
        assert {n["guest"]["email"] for n in nodes} >= {"r0@example.com", "r1@example.com"}
        # One call per distinct guest at most; the repeated guest under `again` costs nothing.
        assert people_calls() - before <= len(guests)
        assert data["again"]["guest"]["id"] in guests
    finally:
        await api.http.aclose()
        await gw_runner.cleanup()
        await runner.cleanup()
