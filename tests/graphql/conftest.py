"""End-to-end harness: Vardvik simulators and the gateway, all on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import pytest_asyncio
from aiohttp import web

from tablegraph.app import create_app
from tablegraph.gateway import Gateway
from tablegraph.http.server import serve_app
from tablegraph.providers import KINDS
from tablegraph.settings import GatewaySettings, Security, UpstreamConfig
from tablegraph.simulators.common import REQUEST_COUNTS, serve
from tablegraph.simulators.vardvik import VARDVIK_STATE, VardvikState, demo_upstreams
from tablegraph.simulators.vardvik import create_app as create_vardvik

if TYPE_CHECKING:
    from .stacks import Stack

from tests.auth_support import AUTH_HEADERS, all_scopes_auth
from tests.bench.env import Env, start_env


@dataclass
class Sim:
    app: web.Application
    url: str
    runner: web.AppRunner

    @property
    def state(self) -> VardvikState:
        return self.app[VARDVIK_STATE]

    def count(self, route: str = "*") -> int:
        return int(self.app[REQUEST_COUNTS][route])

    async def stop(self) -> None:
        await self.runner.cleanup()


@dataclass
class Api:
    http: httpx.AsyncClient
    gateway: Gateway
    app: web.Application

    def url(self, path: str) -> str:
        return str(self.http.base_url).rstrip("/") + path

    async def post(self, query: str, variables: dict[str, Any] | None = None, **kw: Any) -> Any:
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, **kw
        )
        return response

    async def query(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = await self.post(query, variables)
        body: dict[str, Any] = response.json()
        return body

    async def data(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        body = await self.query(query, variables)
        assert "errors" not in body, body.get("errors")
        data: dict[str, Any] = body["data"]
        return data


@pytest.fixture
async def sims() -> AsyncIterator[list[Sim]]:
    """Started simulators, stopped after the test (a test may stop one earlier)."""
    started: list[Sim] = []
    yield started
    for sim in started:
        await sim.stop()


async def start_vardvik(sims: list[Sim], seed: int = 1, **options: Any) -> Sim:
    options.setdefault("rate_limit_per_minute", 100_000)
    app = create_vardvik(seed, **options)
    runner, url = await serve(app)
    sim = Sim(app, url, runner)
    sims.append(sim)
    return sim


async def start_gateway(
    upstreams: list[UpstreamConfig], **settings: Any
) -> tuple[web.AppRunner, Api]:
    settings.setdefault("auth", all_scopes_auth())
    # Like the demo: production mode (no introspection, no GraphiQL) only where a test asks.
    settings.setdefault("security", Security(production=False))
    gateway = Gateway(GatewaySettings(upstreams=tuple(upstreams), **settings))
    app = create_app(gateway)
    runner, url = await serve_app(app, gateway.settings.http)
    http = httpx.AsyncClient(base_url=url, timeout=30, headers=AUTH_HEADERS)
    return runner, Api(http, gateway, app)


@pytest.fixture
async def sim(sims: list[Sim]) -> Sim:
    return await start_vardvik(sims)


@pytest.fixture
async def api(sim: Sim) -> AsyncIterator[Api]:
    runner, client = await start_gateway(demo_upstreams(sim.url))
    yield client
    await client.http.aclose()
    await runner.cleanup()


@pytest.fixture(params=KINDS)
async def stack(request: pytest.FixtureRequest, start_server: Any) -> AsyncIterator[Stack]:
    """One provider's simulator behind a gateway (``stacks.py``), for each provider kind."""
    from .stacks import start_stack  # late: stacks.py imports this module

    built, close = await start_stack(request.param, start_server)
    yield built
    await close()


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def env() -> AsyncIterator[Env]:
    """The benchmark's simulators, two bookings on the dashboard day (``bench_served``)."""
    started = await start_env(bookings=2)
    yield started
    await started.close()
