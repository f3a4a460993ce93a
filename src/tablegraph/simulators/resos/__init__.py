"""Simulator of the resOS API v1.2 (``https://api.resos.com/v1``).

Serves ``/v1/...`` as documented (seeds/resos-api.txt) and as observed on the real service
(providers/resos.md): Basic auth with the API key as user name, a fixed calendar-minute limit
per key with ``Retry-After`` in milliseconds, bare arrays paged by ``skip``/``limit``,
``customQuery``/``sort``, string errors, ``POST /bookings`` → id string, ``PUT`` → ``true``,
PATCH 405, DELETE 400, unknown keys 422. Availability comes from opening hours, tables and
bookings. Options of ``create_app``: ``rate_limit`` (requests per key per minute, default
100), ``strict`` (refuse a full slot with 422), ``empty`` (no seeded restaurants).

Test controls: ``app[RESOS_STATE]`` (``ResosState``), ``stored_bookings(app)``,
``/_sim/chaos`` (faults: ``simulators.faults``), ``/_sim/strict``, ``/_sim/state``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from aiohttp import web

from tablegraph.simulators.common import CLOCK, Clock, StoredBooking, new_app
from tablegraph.simulators.faults import Fault
from tablegraph.simulators.openapi import add_openapi
from tablegraph.simulators.resos import openapi
from tablegraph.simulators.resos.app import FAULT_PROFILE, RESOS_STATE, add_routes, guard
from tablegraph.simulators.resos.seed import (
    COPENHAGEN_ID,
    COPENHAGEN_KEY,
    OSLO_ID,
    OSLO_KEY,
    demo_upstreams,
    seed_state,
)
from tablegraph.simulators.resos.state import (
    OpeningPeriod,
    ResosState,
    Restaurant,
    Table,
    parse_iso,
)

__all__ = [
    "COPENHAGEN_ID",
    "COPENHAGEN_KEY",
    "OSLO_ID",
    "OSLO_KEY",
    "RESOS_STATE",
    "OpeningPeriod",
    "ResosState",
    "Restaurant",
    "Table",
    "create_app",
    "demo_upstreams",
    "stored_bookings",
]


def create_app(
    seed: int = 0, *, clock: Clock | None = None, faults: Iterable[Fault] = (), **options: Any
) -> web.Application:
    """``faults`` are injected from the start (see ``simulators.faults``)."""
    app = new_app(clock, guard, profile=FAULT_PROFILE, faults=faults)

    state = ResosState(
        app[CLOCK],
        rate_limit=int(options.get("rate_limit", 100)),
        strict=bool(options.get("strict", False)),
        seed=seed,
    )
    if not options.get("empty", False):
        seed_state(state, seed)
    app[RESOS_STATE] = state
    add_routes(app)
    add_openapi(app, openapi.DOCUMENT)
    return app


def stored_bookings(app: web.Application) -> list[StoredBooking]:
    """Every booking the simulator holds, in neutral terms."""
    return [
        StoredBooking(
            id=b["_id"],
            restaurant_id=r.id,
            start=parse_iso(b["dateTime"]),
            party_size=int(b["people"]),
            guest_email=(b.get("guest") or {}).get("email") or None,
            status=b["status"],
        )
        for r in app[RESOS_STATE].restaurants.values()
        for b in r.bookings.values()
    ]
