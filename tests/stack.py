"""Every simulator plus one gateway in front of all of them, on loopback: the whole product.

Used by the chaos tests and the soak run. Faults are switched per simulator through its
``FAULTS`` injector.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from types import ModuleType
from typing import Any

import httpx
from aiohttp import web

from tablegraph.app import create_app
from tablegraph.gateway import Gateway
from tablegraph.providers import KINDS
from tablegraph.settings import GatewaySettings, UpstreamConfig
from tablegraph.simulators import simulator_module
from tablegraph.simulators.common import REQUEST_COUNTS, StoredBooking, serve
from tablegraph.simulators.faults import FAULTS, FaultInjector
from tablegraph.simulators.harness import harness_of
from tests.auth_support import AUTH_HEADERS, all_scopes_auth
from tests.simulators.test_ambiguous_create import CREATE_PATHS

__all__ = ["CREATE_PATHS", "KINDS", "Stack", "start_stack", "stop_stack"]


@dataclass
class Upstreams:
    kind: str
    module: ModuleType
    app: web.Application
    configs: list[UpstreamConfig]

    @property
    def names(self) -> set[str]:
        return {c.name for c in self.configs}

    @property
    def faults(self) -> FaultInjector:
        return self.app[FAULTS]

    def count(self, route: str = "*") -> int:
        return int(self.app[REQUEST_COUNTS][route])

    def creates(self) -> int:
        """Create requests this simulator has received."""
        pattern = re.compile(CREATE_PATHS[self.kind].replace("[^/]+", r"\{restaurantId\}"))
        return sum(
            int(n)
            for key, n in self.app[REQUEST_COUNTS].items()
            if key.startswith("POST ") and pattern.search(key[5:])
        )

    def stored(self) -> list[StoredBooking]:
        found: list[StoredBooking] = self.module.stored_bookings(self.app)
        return found


@dataclass
class Stack:
    kinds: dict[str, Upstreams]
    gateway: Gateway
    http: httpx.AsyncClient

    async def post(
        self, query: str, variables: dict[str, Any] | None = None, **kw: Any
    ) -> httpx.Response:
        return await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, **kw
        )

    def kind_of(self, upstream: str) -> str:
        return next(k for k, u in self.kinds.items() if upstream in u.names)


async def start_stack(
    seed: int = 7,
    *,
    upstream: Callable[[UpstreamConfig], UpstreamConfig] = lambda c: c,
    **settings: Any,
) -> tuple[Stack, list[web.AppRunner]]:
    """Start every simulator and the gateway; ``upstream`` may adjust each upstream's config."""
    runners: list[web.AppRunner] = []
    kinds: dict[str, Upstreams] = {}
    for kind in KINDS:
        module = simulator_module(kind)
        # The simulators' own rate limits out of the faults' way.
        options = {**getattr(module, "DEMO_OPTIONS", {}), **harness_of(kind).unlimited}
        app = module.create_app(seed, **options)
        runner, url = await serve(app)
        runners.append(runner)
        # And the gateway's own budgets (resOS' 100 a minute): a chaos module sends more than
        # a minute's worth, which a fault-injected 429 once hid by resetting the count.
        lifted = harness_of(kind).unlimited_upstream
        configs = [
            upstream(replace(c, options={**c.options, **lifted}))
            for c in module.demo_upstreams(url)
        ]
        kinds[kind] = Upstreams(kind, module, app, configs)
    upstreams = tuple(c for u in kinds.values() for c in u.configs)
    settings.setdefault("auth", all_scopes_auth())
    gateway = Gateway(GatewaySettings(upstreams=upstreams, **settings))
    runner, url = await serve(create_app(gateway))
    runners.append(runner)
    http = httpx.AsyncClient(base_url=url, timeout=30, headers=AUTH_HEADERS)
    return Stack(kinds, gateway, http), runners


async def stop_stack(stack: Stack, runners: list[web.AppRunner]) -> None:
    for upstreams in stack.kinds.values():
        upstreams.faults.clear()  # releases hanging requests before the servers stop
    await stack.http.aclose()
    for runner in reversed(runners):
        await runner.cleanup()


def breaker_reset_after(seconds: float) -> Callable[[UpstreamConfig], UpstreamConfig]:
    return lambda c: replace(c, breaker_reset_seconds=seconds)
