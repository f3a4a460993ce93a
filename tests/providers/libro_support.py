"""Shared set-up for the Libro adapter tests: simulator + adapter over loopback HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
from aiohttp import web

from tablegraph.providers.kit import Runtime
from tablegraph.providers.libro import LibroProvider, libro_oauth_routes
from tablegraph.settings import Secret
from tablegraph.simulators.common import REQUEST_COUNTS, Clock
from tablegraph.simulators.libro import LIBRO_STATE, LibroState, create_app, demo_upstreams
from tablegraph.stores import Store

StartServer = Callable[[web.Application], Awaitable[str]]
NOW = datetime(2026, 7, 1, 14, 0, tzinfo=UTC)
BISTRO, PLATEAU = "QC016214487921", "QC016214487922"


async def _no_sleep(_: float) -> None:
    return None


class FrozenClock(Clock):
    """A clock that moves only when told (rate windows must not roll over mid-test)."""

    def __init__(self, start: datetime) -> None:
        super().__init__(start)
        self._at = start

    def now(self) -> datetime:
        return self._at

    def advance(self, seconds: float) -> None:
        self._at += timedelta(seconds=seconds)

    def set(self, moment: datetime) -> None:
        self._at = moment


@dataclass
class Env:
    provider: LibroProvider
    app: web.Application
    url: str
    clock: Clock

    @property
    def state(self) -> LibroState:
        return self.app[LIBRO_STATE]

    def count(self, route: str) -> int:
        return int(self.app[REQUEST_COUNTS][route])

    def new_provider(
        self,
        *,
        now: Callable[[], datetime] | None = None,
        sleep: Callable[[float], Awaitable[None]] = _no_sleep,
        store: Store | None = None,
        **options: Any,
    ) -> LibroProvider:
        """A new adapter (its own runtime and caches) reading the simulator's clock;
        ``store``: the gateway's store it is given (a worker's handle on a shared one)."""
        config = demo_upstreams(self.url)[0]
        credentials = dict(config.credentials)
        for key in ("webhook_secret", "token_store_key"):
            if key in options:
                credentials[key] = Secret(options.pop(key))
        clock = self.clock
        runtime = Runtime(
            now=now or clock.now,
            # Gateway caches (the restaurant list) age by the same clock.
            monotonic=lambda: clock.now().timestamp(),
            sleep=sleep,
            store=store,
        )
        opts = {**config.options, **options}
        return LibroProvider(replace(config, options=opts, credentials=credentials), runtime)


@asynccontextmanager
async def libro_env(
    start_server: StartServer,
    *,
    now: datetime = NOW,
    sim: dict[str, Any] | None = None,
    clock: Clock | None = None,
    middlewares: tuple[Any, ...] = (),
    **options: Any,
) -> AsyncIterator[Env]:
    clock = clock or Clock(now)
    app = create_app(0, clock=clock, **{"rate_limit": None, **(sim or {})})
    app.middlewares.extend(middlewares)
    url = await start_server(app)
    env = Env(None, app, url, clock)  # type: ignore[arg-type]
    env.provider = env.new_provider(**options)
    try:
        yield env
    finally:
        await env.provider.close()


async def connect_account(
    env: Env, provider: LibroProvider, start_server: StartServer, login: str, label: str
) -> str:
    """Run the authorization-code flow through the gateway routes and the simulator's page."""
    gateway = web.Application()
    gateway.add_routes(libro_oauth_routes(provider))
    gw = await start_server(gateway)
    async with httpx.AsyncClient() as browser:
        start = await browser.get(f"{gw}/connect/{provider.name}", params={"account": label})
        assert start.status_code == 302
        authorize = start.headers["Location"]
        assert authorize.startswith(f"{env.url}/oauth/authorize?")
        page = await browser.get(authorize)
        assert page.status_code == 200 and "<form" in page.text
        form = dict(parse_qsl(urlsplit(authorize).query))
        approved = await browser.post(
            f"{env.url}/oauth/authorize", data={**form, "login": login, "decision": "approve"}
        )
        assert approved.status_code == 302
        done = await browser.get(approved.headers["Location"])
        assert done.status_code == 200, done.text
        return done.text
