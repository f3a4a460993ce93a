"""Deadlines, provenance and stale reference data, end to end over loopback HTTP."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import httpx
import pytest
from aiohttp import web

from tablegraph.app import create_app
from tablegraph.gateway import Gateway
from tablegraph.settings import GatewaySettings, HttpSettings, UpstreamConfig
from tablegraph.simulators.common import serve
from tablegraph.simulators.vardvik import create_app as create_vardvik
from tablegraph.simulators.vardvik import demo_upstreams

from ..auth_support import AUTH_HEADERS, all_scopes_auth
from ..test_core_units import FakeTimer
from .conftest import Api, Sim, start_vardvik
from .helpers import AVAILABILITY, CREATE, OSLO, quiet_weekday

#: Timed tests: no full collection of the long test process's heap inside a measurement.
pytestmark = pytest.mark.usefixtures("steady_gc")

RESTAURANTS = "{ restaurants { nodes { name upstream } } }"


class Hanging:
    """An upstream that accepts requests and never answers until released."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.requests = 0

    async def handle(self, request: web.Request) -> web.Response:
        self.requests += 1
        await self.release.wait()
        return web.json_response({}, status=503)


async def gateway_for(
    upstreams: list, timer: FakeTimer | None = None, **settings: Any
) -> tuple[web.AppRunner, Api]:
    kw = {"timer": timer} if timer is not None else {}
    settings.setdefault("auth", all_scopes_auth())
    gateway = Gateway(GatewaySettings(upstreams=tuple(upstreams), **settings), **kw)
    app = create_app(gateway)
    runner, url = await serve(app)
    http = httpx.AsyncClient(base_url=url, timeout=30, headers=AUTH_HEADERS)
    return runner, Api(http, gateway, app)


@pytest.fixture
async def with_hanging_oslo(sims: list[Sim]) -> AsyncIterator[tuple[Api, Hanging]]:
    berlin = await start_vardvik(sims)
    hanging = Hanging()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", hanging.handle)
    hang_runner, hang_url = await serve(app)
    runner, api = await gateway_for([demo_upstreams(berlin.url)[0], demo_upstreams(hang_url)[1]])
    yield api, hanging
    hanging.release.set()
    await api.http.aclose()
    await runner.cleanup()
    await hang_runner.cleanup()


async def test_a_hanging_upstream_is_cut_off_at_the_clients_deadline(with_hanging_oslo) -> None:
    api, hanging = with_hanging_oslo
    started = time.monotonic()
    response = await api.post(RESTAURANTS, headers={"X-Request-Timeout-Ms": "600"})
    elapsed = time.monotonic() - started
    assert elapsed < 2.0, f"answered at the 0.6 s deadline, not the 10 s timeout ({elapsed:.2f}s)"
    assert response.status_code == 200
    body = response.json()
    assert {n["upstream"] for n in body["data"]["restaurants"]["nodes"]} == {"vardvik-berlin"}
    assert len(body["data"]["restaurants"]["nodes"]) == 2, "the healthy upstream is complete"
    [error] = body["errors"]
    assert error["extensions"]["code"] == "UPSTREAM_TIMEOUT"
    assert error["extensions"]["upstream"] == "vardvik-oslo"
    traces = body["extensions"]["upstreams"]
    assert traces["vardvik-berlin"]["status"] == "OK"
    assert traces["vardvik-oslo"]["status"] == "ERROR"
    assert traces["vardvik-oslo"]["errorCode"] == "UPSTREAM_TIMEOUT"
    assert hanging.requests == 1, "no retry after the deadline"


async def test_the_default_deadline_comes_from_the_limits(sims: list[Sim]) -> None:
    berlin = await start_vardvik(sims)
    hanging = Hanging()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", hanging.handle)
    hang_runner, hang_url = await serve(app)
    from tablegraph.settings import Limits

    gateway = Gateway(
        GatewaySettings(
            upstreams=(demo_upstreams(berlin.url)[0], demo_upstreams(hang_url)[1]),
            limits=Limits(request_timeout_ms=500),
            auth=all_scopes_auth(),
        )
    )
    runner, url = await serve(create_app(gateway))
    try:
        async with httpx.AsyncClient(base_url=url, timeout=30, headers=AUTH_HEADERS) as http:
            started = time.monotonic()
            # A client cannot ask for more than the gateway allows.
            response = await http.post(
                "/graphql", json={"query": RESTAURANTS}, headers={"X-Request-Timeout-Ms": "60000"}
            )
            assert time.monotonic() - started < 2.0
        assert response.json()["errors"][0]["extensions"]["code"] == "UPSTREAM_TIMEOUT"
    finally:  # a failure here must not leave sockets open for the next test to trip over
        hanging.release.set()
        await runner.cleanup()
        await hang_runner.cleanup()


@pytest.mark.parametrize("value", ["0", "-5", "soon", "1.5e3x"])
async def test_a_bad_timeout_header_is_a_400(api: Api, value: str) -> None:
    response = await api.post(RESTAURANTS, headers={"X-Request-Timeout-Ms": value})
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


def uncached(config: UpstreamConfig) -> UpstreamConfig:
    """Vardvik's restaurant-config cache off, so only the gateway's restaurant cache counts."""
    return replace(config, options={**config.options, "config_ttl_seconds": 0})


@pytest.fixture
async def two_sims(sims: list[Sim]) -> AsyncIterator[tuple[Api, Sim, Sim, FakeTimer]]:
    berlin, oslo = await start_vardvik(sims), await start_vardvik(sims)
    timer = FakeTimer()
    runner, api = await gateway_for(
        [uncached(demo_upstreams(berlin.url)[0]), uncached(demo_upstreams(oslo.url)[1])], timer
    )
    yield api, berlin, oslo, timer
    await api.http.aclose()
    await runner.cleanup()


async def test_every_response_says_where_its_data_came_from(two_sims) -> None:
    api, berlin, _oslo, timer = two_sims
    first = (await api.post(RESTAURANTS)).json()["extensions"]["upstreams"]
    assert set(first) == {"vardvik-berlin", "vardvik-oslo"}
    for trace in first.values():
        assert trace["status"] == "OK" and trace["cached"] is False
        assert trace["requests"] >= 1 and trace["latencyMs"] is not None
        assert trace["ageSeconds"] is None
    sent = berlin.count()
    timer.now += 42
    second = (await api.post(RESTAURANTS)).json()["extensions"]["upstreams"]
    assert berlin.count() == sent, "served from the cache"
    for trace in second.values():
        assert trace == {
            "status": "OK",
            "requests": 0,
            "latencyMs": None,
            "cached": True,
            "ageSeconds": 42.0,
        }
    untouched = (await api.post("{ upstreams { name } }")).json()["extensions"]
    assert untouched["upstreams"] == {}


async def test_reference_data_is_served_stale_while_its_upstream_is_down(two_sims) -> None:
    api, _berlin, oslo, timer = two_sims
    day = quiet_weekday("Europe/Oslo").isoformat()
    variables = {"ids": [OSLO], "date": day, "party": 2}
    warm = await api.query(AVAILABILITY, variables)
    assert warm["data"]["availability"][0]["slots"], "Oslo had slots while it was up"
    await api.data(RESTAURANTS)
    await oslo.stop()
    timer.now += 301  # past the reference TTL (300 s) and the availability TTL (15 s)

    body = (await api.post(RESTAURANTS)).json()
    assert "errors" not in body
    assert {n["upstream"] for n in body["data"]["restaurants"]["nodes"]} == {
        "vardvik-berlin",
        "vardvik-oslo",
    }
    oslo_trace = body["extensions"]["upstreams"]["vardvik-oslo"]
    assert oslo_trace["status"] == "STALE" and oslo_trace["cached"] is True
    assert oslo_trace["ageSeconds"] == 301.0
    assert oslo_trace["errorCode"] == "UPSTREAM_UNAVAILABLE"
    assert body["extensions"]["upstreams"]["vardvik-berlin"]["status"] == "OK"

    # Availability is never stale: the profile still comes back, the slots do not.
    body = await api.query(AVAILABILITY, variables)
    [row] = body["data"]["availability"]
    assert row["restaurant"]["name"] and row["slots"] is None
    down = {"UPSTREAM_UNAVAILABLE", "UPSTREAM_CIRCUIT_OPEN"}  # the breaker opens on the way
    assert body["errors"][0]["extensions"]["code"] in down
    assert body["extensions"]["upstreams"]["vardvik-oslo"]["status"] == "STALE"

    # And a booking is always checked with the upstream itself.
    body = await api.query(
        CREATE,
        {
            "input": {
                "restaurantId": OSLO,
                "start": f"{day}T19:00:00+01:00",
                "partySize": 2,
                "guest": {"firstName": "Ada", "lastName": "Stale", "email": "ada@example.com"},
            }
        },
    )
    assert body["data"] is None, "no booking without the upstream"
    assert body["errors"][0]["extensions"]["code"] in down
    assert body["errors"][0]["extensions"]["upstream"] == "vardvik-oslo"


async def test_nothing_is_served_stale_once_it_is_too_old(sims: list[Sim]) -> None:
    oslo = await start_vardvik(sims)
    timer = FakeTimer()
    gateway = Gateway(
        GatewaySettings(
            upstreams=(uncached(demo_upstreams(oslo.url)[1]),),
            reference_stale_seconds=60,
            auth=all_scopes_auth(),
        ),
        timer=timer,
    )
    runner, url = await serve(create_app(gateway))
    async with httpx.AsyncClient(base_url=url, timeout=30, headers=AUTH_HEADERS) as http:
        assert (await http.post("/graphql", json={"query": RESTAURANTS})).json()["data"]
        await oslo.stop()
        timer.now += 300 + 61
        body = (await http.post("/graphql", json={"query": RESTAURANTS})).json()
    assert body["data"]["restaurants"]["nodes"] == []
    assert body["errors"][0]["extensions"]["code"] == "UPSTREAM_UNAVAILABLE"
    await runner.cleanup()


async def test_the_breaker_opens_fails_fast_and_recovers_with_readyz(sims: list[Sim]) -> None:
    berlin, oslo = await start_vardvik(sims), await start_vardvik(sims)
    oslo_config = replace(
        uncached(demo_upstreams(oslo.url)[1]), breaker_failures=3, breaker_reset_seconds=30
    )
    # /readyz probes afresh on every call here (it answers from a cache otherwise).
    runner, api = await gateway_for(
        [uncached(demo_upstreams(berlin.url)[0]), oslo_config],
        http=HttpSettings(readyz_cache_seconds=0),
    )
    provider = api.gateway.providers["vardvik-oslo"]
    clock = FakeTimer()
    provider.breaker.timer = clock
    port = int(oslo.url.rsplit(":", 1)[1])
    await oslo.stop()

    body = (await api.post(RESTAURANTS)).json()  # three refused connects: the circuit opens
    assert body["errors"][0]["extensions"]["code"] == "UPSTREAM_UNAVAILABLE"
    circuit = await api.data("{ upstreams { name status circuit circuitRetryInSeconds } }")
    oslo_row = next(u for u in circuit["upstreams"] if u["name"] == "vardvik-oslo")
    assert oslo_row == {
        "name": "vardvik-oslo",
        "status": "FAILING",
        "circuit": "OPEN",
        "circuitRetryInSeconds": 30.0,
    }

    attempts = sum(provider.clients[0].counts.values())
    body = (await api.post(RESTAURANTS)).json()
    [error] = body["errors"]
    assert error["extensions"]["code"] == "UPSTREAM_CIRCUIT_OPEN"
    assert error["extensions"]["upstream"] == "vardvik-oslo"
    assert len(body["data"]["restaurants"]["nodes"]) == 2, "Berlin is unaffected"
    assert sum(provider.clients[0].counts.values()) == attempts, "failed fast: nothing sent"

    ready = (await api.http.get("/readyz")).json()
    assert ready["status"] == "degraded"
    assert ready["upstreams"]["vardvik-oslo"]["circuit"] == "OPEN"
    assert ready["upstreams"]["vardvik-oslo"]["error"] == "UPSTREAM_CIRCUIT_OPEN"
    assert ready["upstreams"]["vardvik-berlin"]["circuit"] == "CLOSED"
    metrics = (await api.http.get("/metrics")).text
    assert 'tablegraph_circuit_open{upstream="vardvik-oslo"} 1.0' in metrics
    assert 'tablegraph_circuit_open{upstream="vardvik-berlin"} 0.0' in metrics

    # The upstream comes back; once the open period is over, one probe closes the circuit.
    revived = create_vardvik(1, rate_limit_per_minute=100_000)
    revived_runner, _ = await serve(revived, port=port)
    clock.now += 30
    ready = (await api.http.get("/readyz")).json()
    assert ready["status"] == "ready"
    assert ready["upstreams"]["vardvik-oslo"]["circuit"] == "CLOSED"
    body = (await api.post(RESTAURANTS)).json()
    assert "errors" not in body and len(body["data"]["restaurants"]["nodes"]) == 3
    await api.http.aclose()
    await runner.cleanup()
    await revived_runner.cleanup()
