"""Each simulator on loopback, with a raw HTTP client that speaks its auth.

The simulator is built from its module's public face (``create_app``, ``DEMO_OPTIONS``,
``demo_upstreams``, ``stored_bookings``); the only per-provider code here is how to log in and
which cheap authenticated read to send (``PROBES``).
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import httpx
import pytest
from aiohttp import web

from tablegraph.providers import provider_class
from tablegraph.providers.base import Provider
from tablegraph.settings import UpstreamConfig
from tablegraph.simulators import simulator_module
from tablegraph.simulators.common import StoredBooking
from tablegraph.simulators.faults import FAULTS, FaultInjector

KINDS = ["vardvik", "libro", "librebooking", "resos"]
#: Per-kind options on top of DEMO_OPTIONS: no built-in rate limits in the way of the faults.
OPTIONS: dict[str, dict[str, Any]] = {
    "vardvik": {"rate_limit_per_minute": 100_000},
    "libro": {"rate_limit": None},
    "resos": {"rate_limit": 100_000},
}
LB = "/Web/Services/index.php"


async def _vardvik_login(http: httpx.AsyncClient, config: UpstreamConfig) -> dict[str, str]:
    return {"Authorization": f"Bearer {config.credentials['api_key'].reveal()}"}


async def _libro_login(http: httpx.AsyncClient, config: UpstreamConfig) -> dict[str, str]:
    creds = config.credentials
    answer = await http.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": creds["client_id"].reveal(),
            "client_secret": creds["client_secret"].reveal(),
        },
    )
    answer.raise_for_status()
    return {
        "Authorization": f"Bearer {answer.json()['access_token']}",
        "Accept": "application/vnd.libro-restricted-v2+json",
    }


async def _librebooking_login(http: httpx.AsyncClient, config: UpstreamConfig) -> dict[str, str]:
    creds = config.credentials
    answer = await http.post(
        f"{LB}/Authentication/Authenticate",
        json={"username": creds["username"].reveal(), "password": creds["password"].reveal()},
    )
    body = answer.json()
    assert body["isAuthenticated"], body
    return {"X-Booked-SessionToken": body["sessionToken"], "X-Booked-UserId": str(body["userId"])}


async def _resos_login(http: httpx.AsyncClient, config: UpstreamConfig) -> dict[str, str]:
    key = config.credentials["key_copenhagen"].reveal()
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


Login = Callable[[httpx.AsyncClient, UpstreamConfig], Awaitable[dict[str, str]]]
#: kind -> (login, path of a cheap authenticated GET with a deterministic JSON answer)
PROBES: dict[str, tuple[Login, str]] = {
    "vardvik": (_vardvik_login, "/api/v1/restaurants/rst_1/config"),
    "libro": (_libro_login, "/restricted/restaurants"),
    "librebooking": (_librebooking_login, f"{LB}/Schedules/"),
    "resos": (_resos_login, "/v1/tables"),
}


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
    def probe_path(self) -> str:
        return PROBES[self.kind][1]

    async def login(self) -> None:
        self.auth = await PROBES[self.kind][0](self.http, self.config)

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
    merged = {**getattr(module, "DEMO_OPTIONS", {}), **OPTIONS.get(kind, {}), **options}
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
