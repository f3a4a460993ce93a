"""Production mode ([security] production, the default for `serve`): no introspection, no
suggestions, no GraphiQL unless enabled, unexpected errors masked; the demo keeps GraphiQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tablegraph.cli import start_demo
from tablegraph.settings import Security, parse_settings
from tablegraph.simulators.vardvik import demo_upstreams

from .conftest import Api, Sim, start_gateway
from .helpers import BERLIN_MITTE


@pytest.fixture
async def production(sim: Sim) -> AsyncIterator[Api]:
    runner, api = await start_gateway(demo_upstreams(sim.url), security=Security())
    yield api
    await api.http.aclose()
    await runner.cleanup()


def test_a_config_file_means_production_mode(tmp_path: Path) -> None:
    upstream = {
        "name": "v",
        "kind": "vardvik",
        "base_url": "http://127.0.0.1:9/api/v1",
        "credentials": {"api_key": "K"},
        "options": {"restaurant_ids": ["rst_1"]},
    }
    settings = parse_settings({"upstreams": [upstream]}, {"K": "x"})
    assert settings.security.production and not settings.security.graphiql_enabled
    relaxed = parse_settings({"upstreams": [upstream], "security": {"graphiql": True}}, {"K": "x"})
    assert relaxed.security.production and relaxed.security.graphiql_enabled


async def test_no_introspection(production: Api) -> None:
    body = (await production.post("{ __schema { types { name } } }")).json()
    assert "data" not in body
    assert "introspection" in body["errors"][0]["message"]
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    # __typename is not introspection of the schema: clients need it for unions.
    assert await production.data("{ __typename }") == {"__typename": "Query"}


async def test_no_suggestions(production: Api, api: Api) -> None:
    typo = "{ restaurantz { totalCount } }"
    enum = (
        "query($s: [BookingStatus!], $r: ID!) { bookings(restaurantId: $r, "
        'date: "2026-12-02", status: $s) { totalCount } }'
    )
    variables = {"s": ["CONFIRMD"], "r": BERLIN_MITTE}
    for query, values in ((typo, None), (enum, variables)):
        hidden = (await production.post(query, values)).json()["errors"][0]["message"]
        shown = (await api.post(query, values)).json()["errors"][0]["message"]
        assert "Did you mean" in shown, shown
        assert "Did you mean" not in hidden and "CONFIRMED" not in hidden, hidden


async def test_no_graphiql_unless_enabled(production: Api, sim: Sim) -> None:
    page = await production.http.get("/graphql", headers={"Accept": "text/html"})
    assert "graphiql" not in page.text.lower()
    assert page.status_code == 400
    runner, enabled = await start_gateway(demo_upstreams(sim.url), security=Security(graphiql=True))
    try:
        page = await enabled.http.get("/graphql", headers={"Accept": "text/html"})
        assert page.status_code == 200 and "graphiql.min.js" in page.text
    finally:
        await enabled.http.aclose()
        await runner.cleanup()


async def test_unexpected_errors_are_masked_and_gateway_codes_pass(production: Api) -> None:
    class Boom(RuntimeError):
        pass

    async def broken() -> list:
        raise Boom("secret internals at 10.0.0.7")

    provider = production.gateway.providers["vardvik-berlin"]
    provider.list_restaurants = broken  # type: ignore[method-assign]
    body = (await production.post("{ restaurants { totalCount } }")).json()
    (error,) = body["errors"]
    assert error == {
        "message": "Internal error.",
        "locations": [{"line": 1, "column": 3}],
        "path": ["restaurants"],
        "extensions": {"code": "INTERNAL_SERVER_ERROR"},
    }
    assert "secret" not in str(body)
    missing = (await production.post('{ booking(id: "nope") { id } }')).json()
    assert missing["errors"][0]["extensions"]["code"] == "INVALID_INPUT"


async def test_the_demo_opens_graphiql() -> None:
    import httpx

    from tablegraph.auth.keys import new_key

    key = new_key()
    runners, url = await start_demo("127.0.0.1", 0, seed=1, key=key)
    try:
        gateway = runners[-1]
        port = gateway.addresses[0][1]
        async with httpx.AsyncClient(headers={"Authorization": f"Bearer {key}"}) as http:
            page = await http.get(
                f"http://127.0.0.1:{port}/graphql", headers={"Accept": "text/html"}
            )
            assert page.status_code == 200 and "graphiql.min.js" in page.text
            schema = await http.post(
                f"http://127.0.0.1:{port}/graphql",
                json={"query": "{ __schema { queryType { name } } }"},
            )
            assert schema.json()["data"]["__schema"]["queryType"]["name"] == "Query"
    finally:
        for runner in reversed(runners):
            await runner.cleanup()
        assert url.endswith("/graphql")
