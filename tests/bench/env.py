"""The benchmark's upstreams: every simulator on loopback, seeded, with the data the workloads
need, request intervals recorded, and latency switched on after the setup.

Every system measured (tablegraph, the naive tablegraph, the peer gateway) runs over these same
upstreams, the same seed and the same queries (``workloads``).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

from aiohttp import web

from tablegraph import ids
from tablegraph.gateway import Gateway
from tablegraph.model import GuestData, NewBooking, Restaurant
from tablegraph.providers import KINDS
from tablegraph.settings import GatewaySettings, UpstreamConfig
from tablegraph.simulators import simulator_module
from tablegraph.simulators.common import REQUEST_COUNTS, serve
from tablegraph.simulators.faults import FAULTS, upstream_latency
from tablegraph.simulators.harness import harness_of
from tablegraph.timeutil import zone

SEED = 7
#: Bookings put on each dashboard restaurant's day (the issue: at least 50).
DASHBOARD_BOOKINGS = 50

_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
INTERVALS = web.AppKey("bench_intervals", list)
#: Shared by every simulator: while ``on``, each API request as it came (method, URL,
#: headers) — the reads one query of a gateway makes, for the bench to send them itself.
CAPTURE = web.AppKey("bench_capture", dict)
#: Headers of a captured request that belong to its connection, not to the request.
_CONNECTION_HEADERS = frozenset({"host", "content-length", "connection", "accept-encoding"})


@web.middleware
async def _record(request: web.Request, handler: _Handler) -> web.StreamResponse:
    """Record (start, end, "METHOD path") of every API request, latency included."""
    if request.path.startswith("/_sim/") or request.path == "/openapi.json":
        return await handler(request)
    capture = request.app[CAPTURE]
    if capture["on"]:
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _CONNECTION_HEADERS}
        capture["requests"].append(
            {"method": request.method, "url": str(request.url), "headers": headers}
        )
    started = time.perf_counter()
    try:
        return await handler(request)
    finally:
        request.app[INTERVALS].append(
            (started, time.perf_counter(), f"{request.method} {request.path}")
        )


@dataclass
class Upstream:
    kind: str
    app: web.Application
    url: str
    configs: list[UpstreamConfig]

    @property
    def intervals(self) -> list[tuple[float, float, str]]:
        found: list[tuple[float, float, str]] = self.app[INTERVALS]
        return found

    def requests(self) -> int:
        """API requests received (not ``/_sim`` control or ``/openapi.json``)."""
        return len(self.intervals)


@dataclass
class Env:
    upstreams: dict[str, Upstream]
    runners: list[web.AppRunner]
    #: (restaurant global id, local date) with DASHBOARD_BOOKINGS bookings: one per provider.
    dashboard: list[tuple[str, date]] = field(default_factory=list)
    #: Each dashboard restaurant's time zone (a peer's query sends its own day windows).
    dashboard_zones: list[str] = field(default_factory=list)
    #: Every restaurant's global id (search, reference).
    restaurants: list[str] = field(default_factory=list)
    #: A restaurant, date and start with free tables (book).
    book_target: tuple[str, datetime] | None = None
    #: Requests captured while ``on`` (``CAPTURE``, shared by every simulator).
    capture: dict[str, Any] = field(default_factory=lambda: {"on": False, "requests": []})

    @property
    def configs(self) -> tuple[UpstreamConfig, ...]:
        return tuple(c for u in self.upstreams.values() for c in u.configs)

    def set_latency(self, fixed_ms: float, jitter_ms: float = 0.0) -> None:
        for u in self.upstreams.values():
            u.app[FAULTS].clear()
            if fixed_ms or jitter_ms:
                u.app[FAULTS].add(upstream_latency(fixed_ms, jitter_ms))

    def reset_counts(self) -> None:
        for u in self.upstreams.values():
            u.intervals.clear()
            u.app[REQUEST_COUNTS].clear()

    def counts(self) -> Counter[str]:
        return Counter({k: u.requests() for k, u in self.upstreams.items()})

    def intervals(self) -> list[tuple[float, float, str]]:
        """Every recorded interval, tagged with its kind in place of the path."""
        return sorted((s, e, k) for k, u in self.upstreams.items() for s, e, _ in u.intervals)

    async def close(self) -> None:
        for runner in reversed(self.runners):
            await runner.cleanup()


async def start_env(
    seed: int = SEED,
    *,
    bookings: int = DASHBOARD_BOOKINGS,
    port: Callable[[str], int] = lambda _: 0,
) -> Env:
    """Start every simulator (rate limits lifted) and put the workloads' data in: ``bookings``
    on each dashboard day (setting them up is slow at LibreBooking: its slot grid is per table)."""
    upstreams: dict[str, Upstream] = {}
    runners: list[web.AppRunner] = []
    capture: dict[str, Any] = {"on": False, "requests": []}
    for kind in KINDS:
        module = simulator_module(kind)
        harness = harness_of(kind)
        options = {**getattr(module, "DEMO_OPTIONS", {}), **harness.unlimited}
        app = module.create_app(seed, **options)
        app[INTERVALS] = []
        app[CAPTURE] = capture
        app.middlewares.insert(0, _record)
        runner, url = await serve(app, port=port(kind))
        runners.append(runner)
        configs = [
            replace(c, options={**c.options, **harness.unlimited_upstream})
            for c in module.demo_upstreams(url)
        ]
        upstreams[kind] = Upstream(kind, app, url, configs)
    env = Env(upstreams, runners, capture=capture)
    await _prepare(env, bookings)
    env.reset_counts()
    return env


async def _prepare(env: Env, bookings: int) -> None:
    """Fill one restaurant per provider with ``bookings`` bookings on one day."""
    gateway = Gateway(GatewaySettings(upstreams=env.configs))
    await gateway.start()
    try:
        for kind, upstream in env.upstreams.items():
            name = upstream.configs[0].name
            provider = gateway.provider(name)
            restaurants: list[Restaurant] = []
            for config in upstream.configs:
                restaurants.extend(await gateway.provider(config.name).list_restaurants())
                env.restaurants.extend(
                    ids.encode("Restaurant", config.name, r.native_id)
                    for r in restaurants
                    if r.upstream == config.name
                )
            first = next(r for r in restaurants if r.upstream == name)
            harness_of(kind).leave_tables(upstream.app, first.native_id, bookings + 10)
            day, starts = await _open_day(provider, first)
            for i in range(bookings):
                await provider.create_booking(
                    NewBooking(
                        restaurant_id=first.native_id,
                        start=starts[i % len(starts)],
                        party_size=2,
                        guest=GuestData(
                            first_name=f"Bench{i}",
                            last_name=kind.title(),
                            email=f"bench{i}@{kind}.example",
                            phone=f"+4790000{i:03d}",
                        ),
                        idempotency_key=f"bench-{kind}-{i}",
                    )
                )
            gid = ids.encode("Restaurant", name, first.native_id)
            env.dashboard.append((gid, day))
            env.dashboard_zones.append(first.timezone)
            if env.book_target is None:
                _day, later = await _open_day(provider, first, after=day)
                env.book_target = (gid, later[0])
    finally:
        await gateway.close()


async def _open_day(
    provider: Any, restaurant: Restaurant, after: date | None = None
) -> tuple[date, list[datetime]]:
    """A day from three days ahead (or after ``after``) with slots for a party of two."""
    first = after or datetime.now(zone(restaurant.timezone)).date() + timedelta(days=2)
    for offset in range(1, 30):
        day = first + timedelta(days=offset)
        slots = await provider.get_availability(restaurant.native_id, day, 2)
        if len(slots) >= 1:
            return day, [s.start for s in slots]
    raise AssertionError(f"{restaurant.upstream}: no bookable day in four weeks")
