"""One provider's simulator behind the gateway, both on loopback: the per-provider harness of
the concurrency and lost-answer tests.

A stack is built from the simulator module's public face (``create_app``, ``DEMO_OPTIONS``,
``demo_upstreams``) with its rate limits lifted, so no test waits for a rate window. What the
public face cannot do — give a restaurant a known number of tables, count the bookings the
upstream holds — is done on each simulator's state, one small function per kind below; bookings are
counted through each simulator's ``stored_bookings``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from tablegraph import ids
from tablegraph.model import Restaurant, Slot
from tablegraph.providers.base import Provider
from tablegraph.simulators import simulator_module
from tablegraph.simulators.common import REQUEST_COUNTS, StoredBooking
from tablegraph.simulators.librebooking import LIBREBOOKING_STATE
from tablegraph.simulators.libro import LIBRO_STATE
from tablegraph.simulators.libro.state import Table as LibroTable
from tablegraph.simulators.resos import RESOS_STATE
from tablegraph.simulators.resos import Table as ResosTable
from tablegraph.simulators.vardvik import VARDVIK_STATE
from tablegraph.timeutil import zone

from .conftest import Api, start_gateway

KINDS = ["vardvik", "libro", "librebooking", "resos"]
#: Provider status words of bookings that no longer hold a table.
DEAD = frozenset({"cancelled", "canceled", "deleted", "no_show", "declined"})

#: ``create_app`` options that lift each simulator's rate limit.
UNLIMITED_SIMULATOR: dict[str, dict[str, Any]] = {
    "vardvik": {"rate_limit_per_minute": 1_000_000},
    "libro": {"rate_limit": None},
    "librebooking": {},
    "resos": {"rate_limit": 1_000_000},
}
#: Upstream options that lift the adapter's own rate governor.
UNLIMITED_UPSTREAM: dict[str, dict[str, Any]] = {"resos": {"rate_limit_per_minute": 1_000_000}}


@dataclass
class Stack:
    kind: str
    app: web.Application
    api: Api
    upstream: str

    @property
    def provider(self) -> Provider:
        return self.api.gateway.provider(self.upstream)

    def requests(self, route: str = "*") -> int:
        """Requests the simulator received on ``route`` (``"METHOD /template"``)."""
        return int(self.app[REQUEST_COUNTS][route])

    def writes(self, method: str) -> int:
        """Requests with ``method`` the simulator received, on any route."""
        counts = self.app[REQUEST_COUNTS]
        return sum(int(n) for k, n in counts.items() if k.startswith(f"{method} "))

    async def restaurant(self) -> Restaurant:
        return (await self.provider.list_restaurants())[0]

    def restaurant_id(self, restaurant: Restaurant) -> str:
        return ids.encode("Restaurant", self.upstream, restaurant.native_id)

    def leave_tables(self, restaurant: Restaurant, tables: int) -> None:
        """Give the restaurant exactly ``tables`` fresh four-seat tables (no bookings on them)."""
        _ROOM[self.kind](self.app, restaurant.native_id, tables)

    def stored(self) -> list[StoredBooking]:
        """Every booking the upstream holds, in neutral terms."""
        found: list[StoredBooking] = simulator_module(self.kind).stored_bookings(self.app)
        return found

    def stored_for(self, email_prefix: str, start: datetime) -> list[StoredBooking]:
        """Live bookings at ``start`` of guests whose e-mail starts with ``email_prefix``."""
        return [
            b
            for b in self.stored()
            if b.start == start
            and (b.guest_email or "").startswith(email_prefix)
            and b.status not in DEAD
        ]

    async def open_slot(self, restaurant: Restaurant, party: int = 2) -> Slot:
        """A bookable slot two days ahead or later (past the seeded days' rush)."""
        today = datetime.now(zone(restaurant.timezone)).date()
        for offset in range(3, 30):
            slots = await self.provider.get_availability(
                restaurant.native_id, today + timedelta(days=offset), party
            )
            if slots:
                return slots[len(slots) // 2]
        raise AssertionError(f"{self.kind}: no bookable slot in four weeks")


async def start_stack(kind: str, start_server: Callable[..., Any]) -> tuple[Stack, Any]:
    """The simulator and a gateway over its first upstream; returns the stack and a closer."""
    module = simulator_module(kind)
    options = {**getattr(module, "DEMO_OPTIONS", {}), **UNLIMITED_SIMULATOR[kind]}
    app = module.create_app(7, **options)
    url = await start_server(app)
    config = module.demo_upstreams(url)[0]
    config = replace(config, options={**config.options, **UNLIMITED_UPSTREAM.get(kind, {})})
    runner, api = await start_gateway([config])

    async def close() -> None:
        await api.http.aclose()
        await runner.cleanup()

    return Stack(kind, app, api, config.name), close


# ---- per-simulator state: tables ------------------------------------------------------------


def _vardvik_room(app: web.Application, restaurant_id: str, n: int) -> None:
    _rid, loc = restaurant_id.split("/")
    # One area per table: no two tables can be joined for a party.
    app[VARDVIK_STATE].set_tables(loc, [(f"race-{i}", 4, f"race-area-{i}") for i in range(n)])


def _libro_room(app: web.Application, code: str, n: int) -> None:
    rest = app[LIBRO_STATE].by_code(code)
    assert rest is not None
    rest.tables = [LibroTable(f"race-{i}", 4, "main") for i in range(n)]


def _librebooking_room(app: web.Application, schedule_id: str, n: int) -> None:
    state = app[LIBREBOOKING_STATE]
    for resource in state.schedule_resources(int(schedule_id)):
        resource.status_id = 2  # unavailable: neither offered nor bookable through the gateway
    for i in range(n):
        state.add_resource(int(schedule_id), f"Race table {i}", 4)


def _resos_restaurant(app: web.Application, restaurant_id: str) -> Any:
    return next(r for r in app[RESOS_STATE].restaurants.values() if r.id == restaurant_id)


def _resos_room(app: web.Application, restaurant_id: str, n: int) -> None:
    restaurant = _resos_restaurant(app, restaurant_id)
    restaurant.tables = [
        ResosTable(f"raceTable{i:02d}", f"R{i}", "raceArea", "Race", 1, 4) for i in range(n)
    ]


_ROOM: dict[str, Callable[[web.Application, str, int], None]] = {
    "vardvik": _vardvik_room,
    "libro": _libro_room,
    "librebooking": _librebooking_room,
    "resos": _resos_room,
}
