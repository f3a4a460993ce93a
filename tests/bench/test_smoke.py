"""The benchmark's quick pass/fail version: each workload once through the gateway, counting
upstream requests against the theoretical minimum (``minimum.py``), and upstreams fetched at
once rather than one after another. No timing figures here: those are ``python -m tests.bench``.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from tablegraph.app import create_app
from tablegraph.gateway import Gateway
from tablegraph.settings import GatewaySettings
from tablegraph.simulators.common import serve
from tests.auth_support import AUTH_HEADERS, all_scopes_auth
from tests.bench import workloads
from tests.bench.env import Env, start_env
from tests.bench.minimum import MINIMUM

#: Where the gateway does not reach the minimum yet: (workload, kind) → why. Strict xfails, so a
#: fix shows up as a failure here to be removed. Empty: every workload is at the minimum.
SHORT_OF_MINIMUM: dict[tuple[str, str], str] = {}


pytestmark = pytest.mark.asyncio(loop_scope="module")
#: Enough to show one request per booking where a batch is missing; the figures use 50.
SMOKE_BOOKINGS = 5


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def env() -> AsyncIterator[Env]:
    started = await start_env(bookings=SMOKE_BOOKINGS)
    yield started
    await started.close()


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def counts(env: Env) -> dict[str, Counter[str]]:
    """Upstream requests of each workload run once, each on a fresh warm gateway."""
    found: dict[str, Counter[str]] = {}
    for name in MINIMUM:
        runner, http = await _gateway(env)
        try:
            await asyncio.wait_for(_run(env, http, name), 20)
            found[name] = env.counts()  # before the gateway's close (LibreBooking signs out)
        finally:
            await http.aclose()
            await runner.cleanup()
    return found


async def _gateway(env: Env) -> tuple[Any, httpx.AsyncClient]:
    """A fresh gateway over ``env``, warm (restaurant lists, tokens, sessions) but with no
    answer cached."""
    gateway = Gateway(GatewaySettings(upstreams=env.configs, auth=all_scopes_auth()))
    runner, url = await serve(create_app(gateway))
    http = httpx.AsyncClient(base_url=url, timeout=30, headers=AUTH_HEADERS)
    await _post(http, workloads.Request("{ restaurants(first: 100) { nodes { id } } }", {}))
    env.reset_counts()
    return runner, http


async def _post(http: httpx.AsyncClient, request: workloads.Request) -> dict[str, Any]:
    response = await http.post(
        "/graphql", content=request.body(), headers={"content-type": "application/json"}
    )
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body["errors"]
    return body["data"]


async def _run(env: Env, http: httpx.AsyncClient, name: str) -> None:
    if name == "book":
        created = await _post(http, workloads.book_create(env, 0))
        booking = created["createBooking"]["booking"]
        assert booking is not None, created
        cancelled = await _post(http, workloads.book_cancel(booking["id"], 0))
        assert cancelled["cancelBooking"]["booking"]["status"] == "CANCELLED"
        return
    request = getattr(workloads, name)(env)
    data = await _post(http, request)
    if name.startswith("dashboard"):
        assert all(len(day["nodes"]) >= SMOKE_BOOKINGS for day in data.values()), data


CASES = [
    pytest.param(
        name,
        kind,
        marks=[pytest.mark.xfail(reason=SHORT_OF_MINIMUM[(name, kind)], strict=True)]
        if (name, kind) in SHORT_OF_MINIMUM
        else [],
        id=f"{name}-{kind}",
    )
    for name, per_kind in MINIMUM.items()
    for kind in per_kind
]


@pytest.mark.parametrize(("name", "kind"), CASES)
async def test_upstream_requests_are_the_minimum(
    counts: dict[str, Counter[str]], name: str, kind: str
) -> None:
    assert counts[name][kind] == MINIMUM[name][kind], dict(counts[name])


BY_ID = """
query Four($a: ID!, $b: ID!, $c: ID!, $d: ID!) {
  a: booking(id: $a) { id } b: booking(id: $b) { id }
  c: booking(id: $c) { id } d: booking(id: $d) { id }
}
"""


async def test_different_upstreams_are_fetched_at_once(env: Env) -> None:
    """Four bookings from four upstreams in one loader batch, each upstream 200 ms away: the
    requests overlap at the simulators, and the query takes about 0.2 s, not 0.8 s."""
    runner, http = await _gateway(env)
    try:
        day = await _post(http, workloads.dashboard(env))
        booking_ids = [d["nodes"][0]["id"] for d in day.values()]
        env.set_latency(200)
        env.reset_counts()
        started = time.perf_counter()
        await _post(http, workloads.Request(BY_ID, dict(zip("abcd", booking_ids, strict=True))))
        took = time.perf_counter() - started
        intervals = env.intervals()
    finally:
        env.set_latency(0)
        await http.aclose()
        await runner.cleanup()
    assert {kind for _s, _e, kind in intervals} == set(env.upstreams)
    # Every request started before any of them ended: all four were in flight together.
    assert max(s for s, _e, _k in intervals) < min(e for _s, e, _k in intervals), intervals
    assert took < 0.6, f"{took:.2f}s for four upstreams at 200 ms"


NAMES_AND_EMAIL = """
query Day($r: ID!, $d: Date!) {
  bookings(restaurantId: $r, date: $d, first: 100) {
    nodes { guest { id firstName ...contact } }
  }
}
fragment contact on Guest { lastName email }
"""


async def test_a_guest_preview_answers_only_what_it_knows(env: Env) -> None:
    """LibreBooking's list rows name their owner: a query asking only names reads no user
    (the dashboard's minimum), one asking the e-mail too (here through a fragment) reads the
    users and answers with their real addresses."""
    rid, day = env.dashboard[list(env.upstreams).index("librebooking")]
    runner, http = await _gateway(env)
    try:
        data = await _post(
            http, workloads.Request(NAMES_AND_EMAIL, {"r": rid, "d": day.isoformat()})
        )
        paths = [p for _s, _e, p in env.upstreams["librebooking"].intervals]
    finally:
        await http.aclose()
        await runner.cleanup()
    guests = [n["guest"] for n in data["bookings"]["nodes"]]
    bench = [g for g in guests if g["firstName"].startswith("Bench")]  # env.start_env's
    assert len(bench) >= SMOKE_BOOKINGS
    assert all(g["email"] == f"{g['firstName'].lower()}@librebooking.example" for g in bench)
    assert all(g["lastName"] == "Librebooking" for g in bench)
    assert all(g["email"] for g in guests), guests
    assert any(p.endswith("/Users/") for p in paths), paths
