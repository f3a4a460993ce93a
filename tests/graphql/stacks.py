"""One provider's simulator behind the gateway, both on loopback: the per-provider harness of
the concurrency and lost-answer tests.

A stack is built from the simulator module's public face (``create_app``, ``DEMO_OPTIONS``,
``demo_upstreams``, ``stored_bookings``) and its harness (``simulators.harness``: rate limits
lifted, so no test waits for a rate window; a restaurant given a known number of tables).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from tablegraph import ids
from tablegraph.model import Restaurant, Slot
from tablegraph.providers import KINDS
from tablegraph.providers.base import Provider
from tablegraph.simulators import simulator_module
from tablegraph.simulators.common import REQUEST_COUNTS, StoredBooking
from tablegraph.simulators.harness import harness_of
from tablegraph.timeutil import zone

from .conftest import Api, start_gateway

__all__ = ["DEAD", "KINDS", "Stack", "start_stack"]

#: Provider status words of bookings that no longer hold a table.
DEAD = frozenset({"cancelled", "canceled", "deleted", "no_show", "declined"})


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
        harness_of(self.kind).leave_tables(self.app, restaurant.native_id, tables)

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


async def start_stack(
    kind: str,
    start_server: Callable[..., Any],
    *,
    middlewares: tuple[Any, ...] = (),
    **settings: Any,
) -> tuple[Stack, Any]:
    """The simulator and a gateway over its first upstream; returns the stack and a closer.

    ``middlewares`` go in front of the simulator's own; ``settings`` to the gateway's
    ``GatewaySettings`` (a ``store``, say)."""
    module = simulator_module(kind)
    harness = harness_of(kind)
    options = {**getattr(module, "DEMO_OPTIONS", {}), **harness.unlimited}
    app = module.create_app(7, **options)
    app.middlewares[:0] = middlewares
    url = await start_server(app)
    config = module.demo_upstreams(url)[0]
    config = replace(config, options={**config.options, **harness.unlimited_upstream})
    runner, api = await start_gateway([config], **settings)

    async def close() -> None:
        await api.http.aclose()
        await runner.cleanup()

    return Stack(kind, app, api, config.name), close
