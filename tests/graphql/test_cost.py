"""The cost model: computed before anything runs, over the limit refused before any upstream
call; within a request the same upstream list is fetched once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from graphql import parse

from tablegraph.graphql.cost import operation_cost
from tablegraph.graphql.schema import build_schema
from tablegraph.settings import Limits
from tablegraph.simulators.vardvik import demo_upstreams

from .conftest import Api, Sim, start_gateway
from .helpers import BERLIN_MITTE

SCHEMA = build_schema()._schema
LIST_ROUTE = "GET /api/v1/restaurants/{restaurantId}/reservations"


def cost(query: str, variables: dict | None = None, operation: str | None = None) -> int:
    return operation_cost(SCHEMA, parse(query), operation, variables, max_list=100)


def window(days: int = 31) -> tuple[str, str]:
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    return start.isoformat(), (start + timedelta(days=days)).isoformat()


def depth_seven(inner_days: int = 31) -> str:
    """The issue's query: a month of bookings, and under every booking its restaurant's month."""
    (start, end), (_, inner_end) = window(), window(inner_days)
    return (
        f'{{ restaurant(id: "{BERLIN_MITTE}") {{ bookings(from: "{start}", to: "{end}", '
        f"first: 100) {{ nodes {{ restaurant {{ "
        f'bookings(from: "{start}", to: "{inner_end}", first: 100) {{ totalCount }} }} }} }} }} }}'
    )


def test_reads_that_touch_no_upstream_cost_nothing() -> None:
    assert cost("{ __typename upstreams { name details } }") == 0


def test_lists_multiply_what_they_select() -> None:
    assert cost("{ restaurants(first: 5) { nodes { id name } } }") == 1
    q = (
        "{ restaurants(first: 5) { nodes { "
        'availability(date: "2026-12-02", partySize: 2) { start } } } }'
    )
    assert cost(q) == 1 + 5
    # No first: the default page of 50.
    q = "{ restaurants { nodes { openingHours { weekly { opens } } } } }"
    assert cost(q) == 1 + 50


def test_booking_windows_cost_per_day_and_first_comes_from_variables() -> None:
    start, end = window(31)
    q = (
        "query($r: ID!, $n: Int, $from: DateTime, $to: DateTime) { bookings(restaurantId: $r, "
        "from: $from, to: $to, first: $n) { nodes { guest { email } } } }"
    )
    assert cost(q, {"r": "x", "n": 10, "from": start, "to": end}) == 31 + 1
    assert cost(q, {"r": "x", "n": 10, "from": start}) == 1 + 1
    # A value the cost cannot read counts at its worst (coercion refuses it later).
    assert cost(q, {"r": "x", "n": "ten", "from": "yesterday", "to": end}) == 31 + 1


def test_availability_costs_one_per_restaurant() -> None:
    q = (
        'query($ids: [ID!]!) { a: availability(restaurantIds: $ids, date: "2026-12-02", '
        "partySize: 2) { restaurant { name } slots { start } } }"
    )
    assert cost(q, {"ids": ["x"] * 7}) == 7 + 1  # seven reads, one batched restaurant load
    assert cost(q, {}) == 20 + 1  # missing: the most it may be


def test_batched_items_cost_once_per_level() -> None:
    nested = '{ booking(id: "x") { guest { email } restaurant { name } } }'
    assert cost(nested) == 3
    assert cost(depth_seven()) == 1 + 31 + 100 * 31 + 1


def test_fragments_are_costed_once_and_counted_where_spread() -> None:
    q = (
        "query { ...R ...R } fragment R on Query { restaurants(first: 2) "
        '{ nodes { availability(date: "2026-12-02", partySize: 2) { start } } } }'
    )
    assert cost(q) == 2 * (1 + 2)
    bomb = "query { ...F0 } " + " ".join(
        f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(60)
    )
    assert cost(bomb + " fragment F60 on Query { restaurants { totalCount } }") == 2**60


def test_the_named_operation_is_costed() -> None:
    q = "query A { upstreams { name } } query B { restaurants { totalCount } }"
    assert (cost(q, operation="A"), cost(q, operation="B")) == (0, 1)


async def test_over_the_limit_is_refused_before_any_upstream_call(api: Api, sim: Sim) -> None:
    before = sim.count()
    response = await api.post(depth_seven())
    body = response.json()
    assert response.status_code == 200
    assert "data" not in body
    (error,) = body["errors"]
    assert error["extensions"] == {"code": "QUERY_TOO_COSTLY", "cost": 3133, "maxCost": 1000}
    assert sim.count() == before  # nothing was sent upstream, not even the restaurant


async def test_the_cost_is_reported_with_the_answer(api: Api) -> None:
    body = (await api.post("{ restaurants(first: 3) { totalCount } }")).json()
    assert body["extensions"]["cost"] == 1


@pytest.fixture
async def generous(sim: Sim) -> AsyncIterator[Api]:
    runner, api = await start_gateway(demo_upstreams(sim.url), limits=Limits(max_cost=10_000))
    yield api
    await api.http.aclose()
    await runner.cleanup()


async def test_the_same_list_is_fetched_once_per_request(generous: Api, sim: Sim) -> None:
    def single(days: int) -> str:
        start, end = window(days)
        return (
            f'{{ restaurant(id: "{BERLIN_MITTE}") {{ bookings(from: "{start}", to: "{end}", '
            "first: 100) { totalCount } } }"
        )

    async def list_calls(query: str) -> tuple[int, dict]:
        before = sim.count(LIST_ROUTE)
        data = await generous.data(query)
        return sim.count(LIST_ROUTE) - before, data

    await generous.data(single(1))  # the restaurant list is cached from here on
    month, _ = await list_calls(single(31))
    assert 31 <= month <= 32  # Vardvik lists a local day per call
    two_days, _ = await list_calls(single(2))

    calls, data = await list_calls(depth_seven())
    nodes = data["restaurant"]["bookings"]["nodes"]
    assert len(nodes) > 1, "the seeded month must hold bookings for the nesting to run"
    assert calls == month  # one list for the outer field and every nested one (1953 before)

    # A different window is a different list: fetched once more, once.
    calls, _ = await list_calls(depth_seven(inner_days=2))
    assert calls == month + two_days


async def test_the_cost_is_charged_to_the_client_before_anything_runs(sim: Sim) -> None:
    runner, api = await start_gateway(demo_upstreams(sim.url), limits=Limits(cost_per_minute=5))
    try:
        query = "{ restaurants(first: 2) { nodes { openingHours { weekly { opens } } } } }"
        assert cost(query) == 3
        first = await api.post(query)
        assert first.status_code == 200 and first.json()["extensions"]["cost"] == 3
        before = sim.count()
        refused = await api.post(query)  # 3 more: over the 5 a minute
        assert refused.status_code == 429
        assert refused.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
        assert int(refused.headers["Retry-After"]) >= 1
        assert sim.count() == before  # refused before any upstream call
        free = await api.post("{ __typename }")  # costs nothing: still answered
        assert free.status_code == 200
    finally:
        await api.http.aclose()
        await runner.cleanup()
