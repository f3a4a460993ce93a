"""Breaker attribution under load (issue 12): a caller's short deadline and the gateway's own
queue are not the upstream failing. Short client deadlines (1–50 ms) in a loop, and 200
concurrent clients whose requests wait in the gateway's connection pool, leave every circuit
closed; an upstream that really fails still opens its circuit."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import replace
from datetime import timedelta
from typing import Any

import httpx
import pytest
from aiohttp import web

from tablegraph.settings import Limits, UpstreamConfig
from tablegraph.simulators.common import serve
from tablegraph.simulators.faults import FAULTS, Fault
from tablegraph.simulators.vardvik import demo_upstreams
from tests.auth_support import clients_auth, headers_of

from .conftest import Api, Sim, start_gateway, start_vardvik
from .helpers import AVAILABILITY, BERLIN_MITTE, OSLO, quiet_weekday
from .test_resilience import Hanging

#: Timed tests: no full collection of the long test process's heap inside a measurement.
pytestmark = pytest.mark.usefixtures("steady_gc")

CIRCUITS = "{ upstreams { name circuit } }"
#: Availability with the least to serialise: the burst's cost is the gateway's queue.
SLOTS = """query($ids: [ID!]!, $date: Date!, $party: Int!) {
  availability(restaurantIds: $ids, date: $date, partySize: $party) { notice { code } }
}"""
#: Two consecutive failures would open a circuit: any misattributed timeout shows at once.
STRICT = {"breaker_failures": 2, "breaker_reset_seconds": 60.0}


def _strict(configs: list[UpstreamConfig], **changes: Any) -> list[UpstreamConfig]:
    return [replace(c, **STRICT, **changes) for c in configs]


async def _circuits(api: Api) -> dict[str, str]:
    rows = (await api.data(CIRCUITS))["upstreams"]
    return {row["name"]: row["circuit"] for row in rows}


def _opened(api: Api) -> dict[str, int]:
    return {
        name: provider.breaker.opened_count
        for name, provider in api.gateway.providers.items()
        if provider.breaker is not None
    }


def _codes(body: dict[str, Any]) -> list[str]:
    return [e["extensions"]["code"] for e in body.get("errors", [])]


async def test_short_client_deadlines_in_a_loop_never_open_a_breaker(sims: list[Sim]) -> None:
    sim = await start_vardvik(sims)
    sim.app[FAULTS].add(Fault("latency", latency_ms=20, jitter_ms=20))  # healthy, not instant
    runner, api = await start_gateway(
        _strict(demo_upstreams(sim.url)),
        limits=Limits(min_request_timeout_ms=1),  # the 1–50 ms deadlines really apply
        availability_ttl_seconds=0,
    )
    try:
        day = quiet_weekday()
        seen: Counter[str] = Counter()
        for ms in range(1, 51):
            variables = {
                "ids": [BERLIN_MITTE, OSLO],
                "date": (day + timedelta(days=ms % 3)).isoformat(),
                "party": 1 + ms % 6,
            }
            response = await api.post(
                AVAILABILITY, variables, headers={"X-Request-Timeout-Ms": str(ms)}
            )
            assert response.status_code == 200, response.text
            codes = _codes(response.json())
            seen.update(codes or ["ok"])
        assert seen["UPSTREAM_TIMEOUT"] >= 10, seen  # the deadlines cut calls short
        assert set(seen) <= {"ok", "UPSTREAM_TIMEOUT"}, seen
        assert _opened(api) == {"vardvik-berlin": 0, "vardvik-oslo": 0}
        assert await _circuits(api) == {"vardvik-berlin": "CLOSED", "vardvik-oslo": "CLOSED"}
        # With time to answer, the same upstreams serve the next request.
        response = await api.post(
            AVAILABILITY, {"ids": [BERLIN_MITTE, OSLO], "date": day.isoformat(), "party": 2}
        )
        assert _codes(response.json()) == []
    finally:
        await api.http.aclose()
        await runner.cleanup()


async def test_200_concurrent_clients_never_open_a_breaker_but_a_failing_upstream_does(
    sims: list[Sim],
) -> None:
    sim = await start_vardvik(sims)
    sim.app[FAULTS].add(Fault("latency", latency_ms=100))
    clients = [f"load-{i:03d}" for i in range(200)]
    # Two connections to the upstream: most of the burst waits in the gateway's own pool.
    runner, api = await start_gateway(
        _strict(demo_upstreams(sim.url)[:1], max_connections=2),
        auth=clients_auth(*clients),
        availability_ttl_seconds=0,
    )
    api.http.headers.update(headers_of(clients[0]))
    try:
        day = quiet_weekday()
        async with httpx.AsyncClient(
            base_url=str(api.http.base_url),
            timeout=30,
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=200),
        ) as http:

            async def one(i: int) -> Any:
                variables = {
                    "ids": [BERLIN_MITTE],
                    "date": (day + timedelta(days=i // 8)).isoformat(),
                    "party": 1 + i % 8,  # each its own (day, party): no shared load
                }
                response = await http.post(
                    "/graphql",
                    json={"query": SLOTS, "variables": variables},
                    headers={**headers_of(clients[i]), "X-Request-Timeout-Ms": "3000"},
                )
                assert response.status_code == 200, response.text
                return response.json()

            answers = await asyncio.gather(*(one(i) for i in range(200)))
        seen = Counter(code for body in answers for code in (_codes(body) or ["ok"]))
        # Many gave up in the gateway's queue; none of that counted against the upstream.
        assert seen["UPSTREAM_TIMEOUT"] > 0 and set(seen) <= {"ok", "UPSTREAM_TIMEOUT"}, seen
        assert _opened(api) == {"vardvik-berlin": 0}
        assert await _circuits(api) == {"vardvik-berlin": "CLOSED"}
        variables = {"ids": [BERLIN_MITTE], "date": day.isoformat(), "party": 2}
        answer = await api.post(SLOTS, variables, headers={"X-Request-Timeout-Ms": "3000"})
        assert _codes(answer.json()) == []  # and it still answers: no connection was lost

        # The upstream itself fails now: its circuit opens, and then calls fail fast.
        sim.app[FAULTS].clear()
        sim.app[FAULTS].add(Fault("error", status=503))
        for _ in range(10):  # two failed calls open it; bounded in case retries are cut short
            if _opened(api)["vardvik-berlin"]:
                break
            await api.post(SLOTS, {**variables, "party": 3})
        assert _opened(api) == {"vardvik-berlin": 1}
        assert await _circuits(api) == {"vardvik-berlin": "OPEN"}
        body = (await api.post(SLOTS, {**variables, "party": 4})).json()
        assert _codes(body) == ["UPSTREAM_CIRCUIT_OPEN"]
    finally:
        await api.http.aclose()
        await runner.cleanup()


async def test_a_probe_of_a_hanging_upstream_gives_up_at_its_timeout_without_failing_it(
    sims: list[Sim],
) -> None:
    hanging = Hanging()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", hanging.handle)
    hang_runner, hang_url = await serve(app)
    runner, api = await start_gateway(_strict(demo_upstreams(hang_url)[1:]))
    try:
        started = time.monotonic()
        ok, code, _ = await api.gateway.check("vardvik-oslo", timeout=0.3)
        assert (ok, code) == (False, "UPSTREAM_TIMEOUT")
        assert time.monotonic() - started < 2.0  # its 0.3 s, not the upstream's 10 s timeout
        assert hanging.requests == 1
        # The probe's own timeout is not the upstream's: nothing counted against it.
        assert _opened(api) == {"vardvik-oslo": 0}
        breaker = api.gateway.providers["vardvik-oslo"].breaker
        assert breaker is not None and breaker.snapshot()["consecutiveFailures"] == 0
    finally:
        hanging.release.set()
        await api.http.aclose()
        await runner.cleanup()
        await hang_runner.cleanup()
