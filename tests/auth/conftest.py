"""A Vardvik simulator and a gateway with several client identities, on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from aiohttp import web

from tablegraph.app import create_app
from tablegraph.auth.config import AuthSettings, ClientConfig
from tablegraph.auth.identity import Tenancy
from tablegraph.auth.keys import hash_key
from tablegraph.auth.manage import ManageTokens
from tablegraph.auth.scopes import ALL_SCOPES, Scope
from tablegraph.gateway import Gateway
from tablegraph.settings import GatewaySettings, Security, UpstreamConfig
from tablegraph.simulators.common import serve
from tablegraph.simulators.vardvik import VARDVIK_STATE, VardvikState, demo_upstreams
from tablegraph.simulators.vardvik import create_app as create_vardvik


def key_of(client: str) -> str:
    return f"tgk_{client}-0123456789abcdef"


def client(
    name: str, scopes: frozenset[Scope] = ALL_SCOPES, restaurants: list[str] | None = None
) -> ClientConfig:
    tenancy = Tenancy.everything() if restaurants is None else Tenancy.parse(restaurants)
    return ClientConfig(name, frozenset(scopes), (hash_key(key_of(name)),), tenancy)


@dataclass
class Gw:
    url: str
    gateway: Gateway
    sim: web.Application
    sim_url: str
    clients: dict[str, httpx.AsyncClient]

    @property
    def state(self) -> VardvikState:
        return self.sim[VARDVIK_STATE]

    def http(self, client_name: str | None = None) -> httpx.AsyncClient:
        """An HTTP client sending ``client_name``'s key (None: no credentials)."""
        name = client_name or ""
        if name not in self.clients:
            headers = {"Authorization": f"Bearer {key_of(name)}"} if name else {}
            self.clients[name] = httpx.AsyncClient(base_url=self.url, timeout=30, headers=headers)
        return self.clients[name]

    async def post(
        self, client_name: str | None, query: str, variables: dict[str, Any] | None = None
    ) -> httpx.Response:
        return await self.http(client_name).post(
            "/graphql", json={"query": query, "variables": variables or {}}
        )

    async def body(
        self, client_name: str | None, query: str, variables: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        response = await self.post(client_name, query, variables)
        assert response.status_code in (200, 400), response.text
        out: dict[str, Any] = response.json()
        return out


StartGw = Callable[..., Awaitable[Gw]]


@pytest.fixture
async def start_gw() -> AsyncIterator[StartGw]:
    """``await start_gw(auth, upstreams=...)``: a Vardvik simulator and a gateway."""
    runners: list[web.AppRunner] = []
    made: list[Gw] = []

    async def _start(
        auth: AuthSettings,
        *,
        manage_tokens: ManageTokens | None = None,
        upstreams: Callable[[str], list[UpstreamConfig]] = demo_upstreams,
        same_sim_as: Gw | None = None,
    ) -> Gw:
        if same_sim_as is None:
            sim = create_vardvik(1, rate_limit_per_minute=100_000)
            sim_runner, sim_url = await serve(sim)
            runners.append(sim_runner)
        else:
            sim, sim_url = same_sim_as.sim, same_sim_as.sim_url
        # Like the demo: GraphiQL on, production mode off (tests/graphql/test_production.py).
        settings = GatewaySettings(
            upstreams=tuple(upstreams(sim_url)), auth=auth, security=Security(production=False)
        )
        gateway = Gateway(settings)
        runner, url = await serve(create_app(gateway, manage_tokens=manage_tokens))
        runners.append(runner)
        gw = Gw(url, gateway, sim, sim_url, {})
        made.append(gw)
        return gw

    yield _start
    for gw in made:
        for http in gw.clients.values():
            await http.aclose()
    for runner in reversed(runners):
        await runner.cleanup()
