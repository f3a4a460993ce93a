"""Each simulator on loopback, with a raw HTTP client that speaks its auth.

The simulator is built from its module's public face (``create_app``, ``DEMO_OPTIONS``,
``demo_upstreams``, ``stored_bookings``) and its harness (``simulators.harness``: how to log
in, which cheap authenticated read to send); nothing here is per provider.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import httpx
import pytest
from aiohttp import web

from tablegraph.providers import KINDS, provider_class
from tablegraph.providers.base import Provider
from tablegraph.settings import UpstreamConfig
from tablegraph.simulators import simulator_module
from tablegraph.simulators.common import StoredBooking
from tablegraph.simulators.faults import FAULTS, FaultInjector
from tablegraph.simulators.harness import Harness, harness_of


@dataclass
class Sim:
    kind: str
    module: ModuleType
    app: web.Application
    url: str
    config: UpstreamConfig
    http: httpx.AsyncClient
    auth: dict[str, str] = field(default_factory=dict)

    @property
    def faults(self) -> FaultInjector:
        return self.app[FAULTS]

    @property
    def harness(self) -> Harness:
        return harness_of(self.kind)

    @property
    def probe_path(self) -> str:
        return self.harness.probe_path

    async def login(self) -> None:
        self.auth = await self.harness.login(self.http, self.config)

    async def probe(self, **kw: Any) -> httpx.Response:
        """The kind's cheap authenticated read."""
        return await self.http.get(self.probe_path, headers=self.auth, **kw)

    def stored(self) -> list[StoredBooking]:
        bookings: list[StoredBooking] = self.module.stored_bookings(self.app)
        return bookings

    def provider(self) -> Provider:
        return provider_class(self.kind)(self.config)


def build_app(kind: str, **options: Any) -> web.Application:
    module = simulator_module(kind)
    merged = {**getattr(module, "DEMO_OPTIONS", {}), **harness_of(kind).unlimited, **options}
    app: web.Application = module.create_app(7, **merged)
    return app


@pytest.fixture
async def start_sim(start_server) -> AsyncIterator[Callable[..., Awaitable[Sim]]]:
    clients: list[httpx.AsyncClient] = []

    async def _start(kind: str, **options: Any) -> Sim:
        module = simulator_module(kind)
        app = build_app(kind, **options)
        url = await start_server(app)
        http = httpx.AsyncClient(base_url=url, timeout=10)
        clients.append(http)
        sim = Sim(kind, module, app, url, module.demo_upstreams(url)[0], http)
        await sim.login()
        return sim

    yield _start
    for http in clients:
        await http.aclose()


@pytest.fixture(params=KINDS)
async def sim(request: pytest.FixtureRequest, start_sim) -> Sim:
    started: Sim = await start_sim(request.param)
    return started
