"""LibreBooking simulator: the REST API (``/Web/Services/index.php/…``) as a real LibreBooking
2.9 server behaves, not as its API.md says (see ``shared/providers/librebooking.md``).

Seeded demo: a plain user (``user``/``password``), an admin (``admin``/``password``, zone
America/New_York), ten guest users, two schedules — "Hudson Street Kitchen"
(America/New_York, 11:30–22:00) and "Spreeufer Bistro" (Europe/Berlin, 12:00–23:00), 30-minute
slots — each with 8–15 tables of 2–8 seats (the largest requires approval), and two-hour
reservations on the fourteen days from the clock's today. Test control: ``POST
/_sim/expire-sessions``, ``/_sim/chaos`` (faults, ``simulators.faults``; ``expire_credentials``
ends the sessions), ``app[LIBREBOOKING_STATE]`` and ``stored_bookings(app)``.
"""

from __future__ import annotations

from aiohttp import web

from tablegraph.settings import Secret, UpstreamConfig
from tablegraph.simulators.common import StoredBooking
from tablegraph.simulators.librebooking.app import LIBREBOOKING_STATE, PREFIX, create_app
from tablegraph.simulators.librebooking.state import LibreBookingState

__all__ = [
    "LIBREBOOKING_STATE",
    "PREFIX",
    "LibreBookingState",
    "create_app",
    "demo_upstreams",
    "stored_bookings",
]


def demo_upstreams(base_url: str) -> list[UpstreamConfig]:
    """One upstream over both seeded schedules, logged in as the seeded admin."""
    return [
        UpstreamConfig(
            name="librebooking-nyc",
            kind="librebooking",
            base_url=base_url,
            credentials={"username": Secret("admin"), "password": Secret("password")},
            options={"schedule_ids": ["1", "2"], "duration_minutes": 120},
        )
    ]


def stored_bookings(app: web.Application) -> list[StoredBooking]:
    """Every reservation the simulator holds (deleted ones with status ``deleted``); the guest
    is the owner, the restaurant the schedule of its first table, and the party size that
    table's seats (LibreBooking stores no party size)."""
    state = app[LIBREBOOKING_STATE]
    out = []
    for r in state.reservations.values():
        owner = state.users.get(r.owner_id)
        resource = state.resources.get(r.resource_ids[0]) if r.resource_ids else None
        status = "deleted" if r.deleted else "pending" if r.pending else "created"
        out.append(
            StoredBooking(
                id=r.ref,
                restaurant_id=str(resource.schedule_id) if resource is not None else "",
                start=r.start,
                party_size=resource.seats or 0 if resource is not None else 0,
                guest_email=owner.email if owner is not None else None,
                status=status,
            )
        )
    return out
