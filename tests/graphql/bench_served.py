"""A gateway over the benchmark's simulators (``tests.bench.env``) for the tests of what is
shared or kept between queries (``test_shared_queries``, ``test_revalidated``): clients
``a`` and ``b`` with every scope, warmed with one *dashboard_one*."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import httpx
from aiohttp import web

from tablegraph.app import GATEWAY, create_app
from tablegraph.gateway import Gateway
from tablegraph.settings import GatewaySettings, Limits
from tablegraph.simulators.common import serve
from tests.auth_support import clients_auth, headers_of
from tests.bench import workloads
from tests.bench.env import Env


@dataclass
class Served:
    runner: web.AppRunner
    http: httpx.AsyncClient

    @property
    def app(self) -> web.Application:
        return self.runner.app

    @property
    def gateway(self) -> Gateway:
        return self.runner.app[GATEWAY]

    async def post(self, request: workloads.Request, client: str = "a") -> httpx.Response:
        return await self.http.post(
            "/graphql",
            content=request.body(),
            headers={"content-type": "application/json", **headers_of(client)},
        )

    async def answer(self, request: workloads.Request, client: str = "a") -> dict[str, Any]:
        """The response body, decoded."""
        body: dict[str, Any] = (await self.post(request, client)).json()
        return body

    async def close(self) -> None:
        await self.http.aclose()
        await self.runner.cleanup()


async def serve_over(env: Env, *, cost_per_minute: int = 50_000, **settings: Any) -> Served:
    """The gateway with ``settings`` (``GatewaySettings`` fields), warm: restaurants cached,
    the document known; the simulators' counts reset after the warm-up."""
    base = GatewaySettings(
        upstreams=env.configs,
        auth=clients_auth("a", "b"),
        limits=Limits(cost_per_minute=cost_per_minute),
    )
    runner, url = await serve(create_app(Gateway(replace(base, **settings))))
    served = Served(runner, httpx.AsyncClient(base_url=url, timeout=30))
    warm = await served.answer(workloads.dashboard_one(env))
    assert "errors" not in warm, warm
    env.reset_counts()
    return served
