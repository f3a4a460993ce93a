"""A create whose answer is lost after the upstream stored it, on every provider.

Through the adapter: ``drop_response`` stores exactly one booking (a retry under Vardvik's
Idempotency-Key replays it; resOS's adapter finds it by its metadata marker), ``reset``
stores none and the adapter reports no success. Through the gateway: the client still
learns the booking's id, and a replay of the mutation creates nothing more.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from aiohttp import web

from tablegraph import ids
from tablegraph.app import create_app
from tablegraph.errors import GatewayError
from tablegraph.gateway import Gateway
from tablegraph.model import GuestData, NewBooking
from tablegraph.providers import KINDS
from tablegraph.settings import GatewaySettings
from tablegraph.simulators.common import REQUEST_COUNTS, serve
from tablegraph.simulators.faults import Fault
from tablegraph.simulators.harness import harness_of
from tablegraph.timeutil import zone

from ..auth_support import AUTH_HEADERS, all_scopes_auth
from ..graphql.helpers import AVAILABILITY, CREATE
from .conftest import Sim

#: The create request's path, per kind (a regex for ``Fault.path``), from each harness.
CREATE_PATHS = {kind: harness_of(kind).create_path for kind in KINDS}
RESTAURANTS = "{ restaurants(first: 50) { nodes { id upstream timezone } } }"


def _creates(sim: Sim) -> int:
    """Create requests the simulator has received (by route template)."""
    pattern = re.compile(CREATE_PATHS[sim.kind].replace("[^/]+", r"\{restaurantId\}"))
    return sum(
        int(n)
        for key, n in sim.app[REQUEST_COUNTS].items()
        if key.startswith("POST ") and pattern.search(key[5:])
    )


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("fault", "stored"), [("drop_response", 1), ("reset", 0)])
async def test_adapter_create_under_a_cut_connection(
    start_sim: Callable[..., Any], kind: str, fault: str, stored: int
) -> None:
    sim: Sim = await start_sim(kind)
    provider = sim.provider()
    await provider.start()
    try:
        restaurant, when = await _open_slot_via(provider)
        before = {b.id for b in sim.stored()}
        sim.faults.add(Fault(fault, method="POST", path=CREATE_PATHS[kind]))
        request = NewBooking(
            restaurant_id=restaurant,
            start=when,
            party_size=2,
            guest=GuestData("Grace", "Hopper", f"grace.{fault}@example.com", "+4790000000"),
            idempotency_key=f"adapter-{fault}-{kind}",
        )
        try:
            booking = await provider.create_booking(request)
        except GatewayError:
            booking = None  # an OutcomeUnknown or unavailable upstream: never a false success
        assert sim.faults.hits[fault] >= 1
        new = [b for b in sim.stored() if b.id not in before]
        assert len(new) == stored
        if booking is not None:  # the adapter reconciled on its own (resOS): the stored one
            assert stored == 1 and booking.native_id.endswith("/" + new[0].id)
    finally:
        await provider.close()


async def _open_slot_via(provider: Any) -> tuple[str, datetime]:
    for restaurant in await provider.list_restaurants():
        today = datetime.now(zone(restaurant.timezone)).date()
        for offset in range(2, 21):
            slots = await provider.get_availability(
                restaurant.native_id, today + timedelta(days=offset), 2
            )
            if slots:
                return restaurant.native_id, slots[len(slots) // 2].start
    raise AssertionError("no bookable slot")


# ---- through the gateway -----------------------------------------------------------------------


@pytest.fixture
async def gateway_for() -> AsyncIterator[Callable[[Sim], Any]]:
    started: list[tuple[web.AppRunner, httpx.AsyncClient]] = []

    async def _start(sim: Sim) -> httpx.AsyncClient:
        gateway = Gateway(
            GatewaySettings(
                upstreams=tuple(sim.module.demo_upstreams(sim.url)), auth=all_scopes_auth()
            )
        )
        runner, url = await serve(create_app(gateway))
        client = httpx.AsyncClient(base_url=url, timeout=30, headers=AUTH_HEADERS)
        started.append((runner, client))
        return client

    yield _start
    for runner, client in started:
        await client.aclose()
        await runner.cleanup()


async def _data(api: httpx.AsyncClient, query: str, variables: dict[str, Any]) -> Any:
    body = (await api.post("/graphql", json={"query": query, "variables": variables})).json()
    assert "errors" not in body, body["errors"]
    return body["data"]


async def _free_slot(api: httpx.AsyncClient) -> tuple[str, str]:
    restaurants = (await _data(api, RESTAURANTS, {}))["restaurants"]["nodes"]
    for restaurant in restaurants:
        today = datetime.now(zone(restaurant["timezone"])).date()
        for offset in range(2, 21):
            day = (today + timedelta(days=offset)).isoformat()
            found = await _data(
                api, AVAILABILITY, {"ids": [restaurant["id"]], "date": day, "party": 2}
            )
            slots = found["availability"][0]["slots"]
            if slots:
                return restaurant["id"], slots[len(slots) // 2]["start"]
    raise AssertionError("no bookable slot through the gateway")


@pytest.mark.parametrize("kind", KINDS)
async def test_a_dropped_create_answer_still_gives_the_client_its_one_booking(
    start_sim: Callable[..., Any], gateway_for: Callable[[Sim], Any], kind: str
) -> None:
    sim: Sim = await start_sim(kind)
    api = await gateway_for(sim)
    restaurant_id, start = await _free_slot(api)
    before = {b.id for b in sim.stored()}
    sim.faults.add(Fault("drop_response", method="POST", path=CREATE_PATHS[kind], count=1))
    guest = {
        "firstName": "Ada",
        "lastName": "Lovelace",
        "email": f"ada.{kind}@example.com",
        "phone": "+4790000001",
    }
    variables = {
        "input": {
            "restaurantId": restaurant_id,
            "start": start,
            "partySize": 2,
            "guest": guest,
            "idempotencyKey": f"dropped-{kind}",
        }
    }

    first = (await _data(api, CREATE, variables))["createBooking"]

    assert first["userErrors"] == []
    assert sim.faults.hits["drop_response"] == 1  # the answer really was lost
    booking = first["booking"]
    assert booking is not None and booking["id"]
    new = [b for b in sim.stored() if b.id not in before]
    assert len(new) == 1, new  # exactly one booking upstream
    native = ids.decode(booking["id"], "Booking").native_id
    assert native == new[0].id or native.endswith("/" + new[0].id)
    assert booking["start"] == start

    creates = _creates(sim)
    replay = (await _data(api, CREATE, variables))["createBooking"]
    assert replay["booking"]["id"] == booking["id"]
    assert _creates(sim) == creates  # the replay was answered without another upstream create
    assert [b for b in sim.stored() if b.id not in before] == new
