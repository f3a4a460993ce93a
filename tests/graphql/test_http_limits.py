"""Per-client limits (request rate, cost hook, concurrency), the header-read timeout and the
cached /readyz: one client at its limit, or a slow one, costs the others nothing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
from aiohttp import web

from tablegraph.app import RATE_LIMITER, create_app
from tablegraph.auth.scopes import ALL_SCOPES
from tablegraph.gateway import Gateway
from tablegraph.http.clients import client_key
from tablegraph.http.ratelimit import RateLimited, RateLimiter
from tablegraph.http.readiness import ReadinessProbes
from tablegraph.http.server import serve_app
from tablegraph.settings import GatewaySettings, HttpSettings, Limits
from tablegraph.simulators.vardvik import demo_upstreams

from ..auth_support import clients_auth, headers_of
from ..test_core_units import FakeTimer
from .conftest import Api, Sim, start_gateway, start_vardvik
from .raw import RawConnection, request_head

QUERY = {"query": "{ upstreams { name } }"}


def _client(name: str, key: int = 1) -> dict[str, str]:
    """Credentials of client ``name`` (configured by ``clients_auth``), with its ``key``-th key."""
    return headers_of(name, key)


# ---- request rate ------------------------------------------------------------------------


def test_buckets_refill_and_charge_takes_cost() -> None:
    clock = FakeTimer()
    limiter = RateLimiter(requests_per_minute=3, cost_per_minute=600, timer=clock)
    for _ in range(3):
        limiter.admit("a")
    with pytest.raises(RateLimited) as refused:
        limiter.admit("a")
    assert refused.value.status == 429
    assert refused.value.headers["Retry-After"] == "20"  # one request per 20 s
    limiter.admit("b")  # another client's bucket is its own
    clock.now += 20
    limiter.admit("a")
    limiter.charge("a", 500)
    with pytest.raises(RateLimited) as costly:
        limiter.charge("a", 200)  # 100 left: refused, and nothing taken
    assert costly.value.retry_after == 10  # 100 more at 10 per second
    limiter.charge("a", 100)
    unlimited = RateLimiter(0, 0, timer=clock)
    for _ in range(1000):
        unlimited.admit("a")


@pytest.fixture
async def limited(sim: Sim) -> AsyncIterator[Api]:
    runner, api = await start_gateway(
        demo_upstreams(sim.url),
        limits=Limits(requests_per_minute=5),
        auth=clients_auth("A", "B", "C", keys=2, anonymous_scopes=ALL_SCOPES),
    )
    yield api
    await api.http.aclose()
    await runner.cleanup()


async def test_a_client_at_its_limit_gets_429_while_another_is_unaffected(limited: Api) -> None:
    api = limited
    for _ in range(5):
        assert (
            await api.http.post("/graphql", json=QUERY, headers=_client("A"))
        ).status_code == 200

    async def ask(client: str) -> httpx.Response:
        return await api.http.post("/graphql", json=QUERY, headers=_client(client))

    # A keeps hammering while B asks: every one of A's is refused, every one of B's answered.
    results = await asyncio.gather(*(ask("A") for _ in range(20)), *(ask("B") for _ in range(5)))
    for response in results[:20]:
        assert response.status_code == 429
        assert int(response.headers["Retry-After"]) >= 1
        assert response.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    for response in results[20:]:
        assert response.status_code == 200, response.text
        assert "Retry-After" not in response.headers
    # Health and metrics are not rate-limited.
    assert (await api.http.get("/healthz", headers=_client("A"))).status_code == 200


async def test_limits_are_per_authenticated_client_not_per_key_or_address(limited: Api) -> None:
    # Every request here comes from 127.0.0.1: the address does not decide the budget.
    api = limited
    for key in (1, 2, 1, 2, 1):  # A's two keys draw on one budget: A's
        assert (
            await api.http.post("/graphql", json=QUERY, headers=_client("A", key))
        ).status_code == 200
    for key in (1, 2):
        refused = await api.http.post("/graphql", json=QUERY, headers=_client("A", key))
        assert refused.status_code == 429, key
    # Another client's key from the same address has a budget of its own, and so has an
    # anonymous caller there.
    for _ in range(5):
        assert (
            await api.http.post("/graphql", json=QUERY, headers=_client("B", 2))
        ).status_code == 200
    assert (await api.http.post("/graphql", json=QUERY, headers=_client("B"))).status_code == 429
    async with httpx.AsyncClient(base_url=api.http.base_url, timeout=30) as nobody:
        anonymous = await nobody.post("/graphql", json=QUERY)
    assert anonymous.status_code == 200, anonymous.text


async def test_anonymous_callers_are_limited_per_remote_address(limited: Api) -> None:
    url = str(limited.http.base_url)
    # Anonymous callers share one identity; their budgets are their addresses'.
    here = httpx.AsyncClient(base_url=url, timeout=30)
    there = httpx.AsyncClient(
        base_url=url, timeout=30, transport=httpx.AsyncHTTPTransport(local_address="127.0.0.2")
    )
    try:
        for _ in range(5):
            assert (await here.post("/graphql", json=QUERY)).status_code == 200
        assert (await here.post("/graphql", json=QUERY)).status_code == 429
        for _ in range(5):  # another address: a budget of its own
            assert (await there.post("/graphql", json=QUERY)).status_code == 200
        assert (await there.post("/graphql", json=QUERY)).status_code == 429
        # A client's key from the spent address is that client's budget, not the address's.
        assert (await here.post("/graphql", json=QUERY, headers=_client("C"))).status_code == 200
    finally:
        await here.aclose()
        await there.aclose()


async def test_a_cost_charge_in_the_handler_answers_429(sim: Sim) -> None:
    gateway = Gateway(
        GatewaySettings(
            upstreams=tuple(demo_upstreams(sim.url)),
            limits=Limits(cost_per_minute=10),
            auth=clients_auth("A", "B"),
        )
    )
    app = create_app(gateway)

    @web.middleware
    async def costly(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        # Innermost, so after authentication: the cost model's hook charges the client.
        request.app[RATE_LIMITER].charge(client_key(request), 6)
        return await handler(request)

    app.middlewares.append(costly)
    runner, url = await serve_app(app, gateway.settings.http)
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        assert (await http.post("/graphql", json=QUERY, headers=_client("A"))).status_code == 200
        refused = await http.post("/graphql", json=QUERY, headers=_client("A"))
        assert refused.status_code == 429
        assert refused.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
        assert refused.headers["Retry-After"] in ("11", "12")  # 2 more at 10 a minute
        assert (await http.post("/graphql", json=QUERY, headers=_client("B"))).status_code == 200
    await runner.cleanup()


# ---- concurrency per client and slow clients ---------------------------------------------


class Entered:
    """A middleware innermost in the app: counts requests past the per-client cap."""

    def __init__(self) -> None:
        self.count = 0
        self.changed = asyncio.Condition()

    __middleware_version__ = 1  # what @web.middleware marks; this is a callable object

    async def __call__(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        async with self.changed:
            self.count += 1
            self.changed.notify_all()
        return await handler(request)

    async def reach(self, count: int) -> None:
        async with asyncio.timeout(30), self.changed:
            await self.changed.wait_for(lambda: self.count >= count)


async def _serve(sim: Sim, entered: Entered, **settings: object) -> tuple[web.AppRunner, str]:
    settings.setdefault("auth", clients_auth("A", "B"))
    gateway = Gateway(GatewaySettings(upstreams=tuple(demo_upstreams(sim.url)), **settings))  # type: ignore[arg-type]
    app = create_app(gateway)
    app.middlewares.append(entered)
    return await serve_app(app, gateway.settings.http)


async def test_a_client_holding_its_concurrent_requests_gets_429_others_do_not(sim: Sim) -> None:
    entered = Entered()
    runner, url = await _serve(sim, entered, limits=Limits(max_concurrent_per_client=3))
    body = b'{"query": "{ upstreams { name } }"}'
    head = request_head(
        "POST",
        "/graphql",
        {"Content-Type": "application/json", **_client("A")},
        content_length=len(body),
    )
    held = []
    for _ in range(3):  # A's requests that send headers and wait with their bodies
        conn = await RawConnection.open(url)
        await conn.send(head + body[:5])
        held.append(conn)
    await entered.reach(3)
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        refused = await http.post("/graphql", json=QUERY, headers=_client("A"))
        assert refused.status_code == 429
        assert refused.json()["errors"][0]["extensions"]["code"] == "TOO_MANY_CONCURRENT_REQUESTS"
        others = await asyncio.gather(
            *(http.post("/graphql", json=QUERY, headers=_client("B")) for _ in range(3))
        )
        assert [r.status_code for r in others] == [200, 200, 200]
        for conn in held:  # A's held requests finish and free their slots
            await conn.send(body[5:])
            assert (await conn.response()).status == 200
            await conn.close()
        assert (await http.post("/graphql", json=QUERY, headers=_client("A"))).status_code == 200
    await runner.cleanup()


async def test_a_connection_that_never_finishes_its_headers_is_closed(sim: Sim) -> None:
    entered = Entered()
    runner, url = await _serve(sim, entered, http=HttpSettings(header_timeout_seconds=0.5))
    slow = await RawConnection.open(url)
    await slow.send(b"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Ty")
    silent = await RawConnection.open(url)  # connects and sends nothing at all
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        # others are served meanwhile
        ok = await http.post("/graphql", json=QUERY, headers=_client("A"))
        assert ok.status_code == 200
    assert await slow.closed_by_server(timeout=20)
    assert await silent.closed_by_server(timeout=20)
    assert entered.count == 1  # neither reached the application
    await slow.close()
    await silent.close()
    await runner.cleanup()


async def test_a_body_that_does_not_arrive_in_time_is_408(sim: Sim) -> None:
    entered = Entered()
    runner, url = await _serve(sim, entered, http=HttpSettings(body_timeout_seconds=0.3))
    conn = await RawConnection.open(url)
    head = {"Content-Type": "application/json", **_client("A")}
    await conn.send(request_head("POST", "/graphql", head, content_length=100) + b'{"query"')
    response = await conn.response()
    assert response.status == 408
    assert response.json()["errors"][0]["extensions"]["code"] == "REQUEST_TIMEOUT"
    await conn.close()
    await runner.cleanup()


# ---- /readyz -----------------------------------------------------------------------------


async def test_20_concurrent_readyz_make_one_probe_per_upstream(sims: list[Sim]) -> None:
    berlin = await start_vardvik(sims)
    runner, api = await start_gateway(demo_upstreams(berlin.url))
    before = berlin.count()
    answers = await asyncio.gather(*(api.http.get("/readyz") for _ in range(20)))
    assert {a.status_code for a in answers} == {200}
    assert {a.json()["status"] for a in answers} == {"ready"}
    probes = berlin.count() - before
    # One probe per upstream: each demo upstream (Berlin, Oslo) is probed once.
    one_probe = await _requests_of_one_probe(sims)
    assert probes == one_probe
    for _ in range(5):  # within the interval, later callers get the same result
        assert (await api.http.get("/readyz")).status_code == 200
    assert berlin.count() - before == one_probe
    await api.http.aclose()
    await runner.cleanup()


async def _requests_of_one_probe(sims: list[Sim]) -> int:
    """What one /readyz costs at the simulator, measured on a separate gateway."""
    other = await start_vardvik(sims)
    runner, api = await start_gateway(demo_upstreams(other.url))
    before = other.count()
    await api.http.get("/readyz")
    await api.http.aclose()
    await runner.cleanup()
    return other.count() - before


async def test_readiness_probes_again_after_the_interval(sim: Sim) -> None:
    clock = FakeTimer()
    gateway = Gateway(GatewaySettings(upstreams=tuple(demo_upstreams(sim.url))))
    probes = ReadinessProbes(gateway, 5.0, timer=clock)
    calls: list[str] = []

    async def check(name: str, timeout: float = 3.0) -> tuple[bool, str | None, float]:
        calls.append(name)
        return True, None, 1.0

    gateway.check = check  # type: ignore[method-assign]
    await asyncio.gather(*(probes.checks() for _ in range(10)))
    assert sorted(calls) == sorted(gateway.providers)
    clock.now += 4.9
    await probes.checks()
    assert len(calls) == len(gateway.providers)
    clock.now += 0.2
    await probes.checks()
    assert len(calls) == 2 * len(gateway.providers)
