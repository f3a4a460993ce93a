"""``availabilityChanged``: fresh slots when a booking of the day changes, read from the
upstream once per change however many subscribers watch the same restaurant, day and party."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from tablegraph.events.availability import touches
from tablegraph.events.model import EventSource, diff
from tablegraph.model import Booking, BookingStatus
from tablegraph.simulators.vardvik import demo_upstreams

from ..graphql.conftest import Api, Sim
from ..graphql.helpers import BERLIN_MITTE, quiet_weekday
from .live import WsSubscriber, bearer, start_live, until
from .test_live import _create

CHANGED = """
subscription($id: ID!, $date: Date!, $party: Int!) {
  availabilityChanged(restaurantId: $id, date: $date, partySize: $party) {
    restaurantId restaurant { name } slots { start } notice { code }
  }
}"""
AVAILABILITY_ROUTES = (
    "GET /api/v1/restaurants/{restaurantId}/availability",
    "POST /api/v1/restaurants/{restaurantId}/availability/search",
)
AT = datetime(2026, 6, 10, 17, 0, tzinfo=UTC)  # 19:00 in Berlin


def _booking(start: datetime) -> Booking:
    return Booking(
        upstream="up",
        native_id="b1",
        restaurant_id="r1",
        status=BookingStatus.CONFIRMED,
        provider_status="confirmed",
        start=start,
        end=start + timedelta(hours=2),
        party_size=2,
    )


def test_a_change_touches_the_local_day_it_starts_on_and_the_day_it_left() -> None:
    day = date(2026, 6, 10)
    made = diff(None, _booking(AT), EventSource.GATEWAY, AT)
    assert made is not None and touches(made, day, "Europe/Berlin")
    # 23:30 UTC on the 10th is already the 11th in Berlin.
    late = diff(None, _booking(AT.replace(hour=23, minute=30)), EventSource.GATEWAY, AT)
    assert late is not None and not touches(late, day, "Europe/Berlin")
    assert touches(late, day, "UTC")
    moved = diff(_booking(AT), _booking(AT + timedelta(days=2)), EventSource.POLL, AT)
    assert moved is not None
    assert touches(moved, day, "Europe/Berlin")  # it freed a table that day
    assert not touches(moved, day + timedelta(days=1), "Europe/Berlin")


@pytest.fixture
async def live(sim: Sim) -> AsyncIterator[Api]:
    runner, api = await start_live(demo_upstreams(sim.url))
    yield api
    await api.http.aclose()
    await runner.cleanup()


async def _watch(api: Api, day: date, op: str = "1") -> WsSubscriber:
    sub = await WsSubscriber.connect(api, bearer("all"))
    await sub.acked()
    variables = {"id": BERLIN_MITTE, "date": day.isoformat(), "party": 2}
    await sub.ws.send_json(
        {"id": op, "type": "subscribe", "payload": {"query": CHANGED, "variables": variables}}
    )
    return sub


async def _slots(sub: WsSubscriber) -> dict[str, Any]:
    message = await sub.message()
    assert message["type"] == "next" and "errors" not in message["payload"], message
    found: dict[str, Any] = message["payload"]["data"]["availabilityChanged"]
    return found


def _reads(sim: Sim) -> int:
    return sum(sim.count(route) for route in AVAILABILITY_ROUTES)


async def test_subscribers_get_fresh_slots_once_per_change_of_their_day(
    live: Api, sim: Sim
) -> None:
    api = live
    day = quiet_weekday()
    other_day = day + timedelta(days=7)
    key = ("vardvik-berlin", "rst_1/loc_1", day, 2)
    watches = api.gateway.availability_watches
    subs = [await _watch(api, day) for _ in range(3)]
    try:
        first = [await _slots(sub) for sub in subs]  # the slots as they are now
        assert all(f["restaurantId"] == BERLIN_MITTE and f["slots"] for f in first)
        assert first[0]["restaurant"]["name"].startswith("Atelier Lindenhof")
        await until(lambda: watches.watching(key) == 3)
        taken = first[0]["slots"][0]["start"]
        # Another day's booking first: it must not wake anyone (checked by the count below,
        # since a watch handles its restaurant's events in order).
        elsewhere = await api.data(
            """query($ids: [ID!]!, $date: Date!) {
              availability(restaurantIds: $ids, date: $date, partySize: 2) { slots { start } }
            }""",
            {"ids": [BERLIN_MITTE], "date": other_day.isoformat()},
        )
        await _create(api, elsewhere["availability"][0]["slots"][0]["start"], n=1)
        await _create(api, taken, n=2)
        reads_after_writes = _reads(sim)
        fresh = [await _slots(sub) for sub in subs]
        assert watches.refreshes == {key: 1}  # one read for the change, none for the other day
        assert _reads(sim) - reads_after_writes <= 1  # three subscribers, at most one read
        assert fresh[0] == fresh[1] == fresh[2]
    finally:
        for sub in subs:
            await sub.close()
    await until(lambda: watches.watching(key) == 0)


async def test_a_restaurant_outside_the_clients_list_is_not_found(live: Api) -> None:
    sub = await WsSubscriber.connect(live, bearer("oslo-only"))
    try:
        await sub.acked()
        variables = {"id": BERLIN_MITTE, "date": quiet_weekday().isoformat(), "party": 2}
        await sub.ws.send_json(
            {"id": "1", "type": "subscribe", "payload": {"query": CHANGED, "variables": variables}}
        )
        message = await sub.message()
        errors = message["payload"]["errors"] if message["type"] == "next" else message["payload"]
        assert errors[0]["extensions"]["code"] == "NOT_FOUND"
    finally:
        await sub.close()


def test_the_watched_fields_are_what_the_model_diffs() -> None:
    """A party-size change on the day is a change of that day, too."""
    day = date(2026, 6, 10)
    bigger = diff(_booking(AT), replace(_booking(AT), party_size=6), EventSource.POLL, AT)
    assert bigger is not None and touches(bigger, day, "Europe/Berlin")
