"""LibreBooking simulator: the REST API (``/Web/Services/index.php/…``) as a real LibreBooking
2.9 server behaves, not as its API.md says (see ``shared/providers/librebooking.md``).

Seeded demo: a plain user (``user``/``password``), an admin (``admin``/``password``, zone
America/New_York), ten guest users, two schedules — "Hudson Street Kitchen"
(America/New_York, 11:30–22:00) and "Spreeufer Bistro" (Europe/Berlin, 12:00–23:00), 30-minute
slots — each with 8–15 tables of 2–8 seats (the largest requires approval), and two-hour
reservations on the fourteen days from the clock's today. Test control: ``POST
/_sim/expire-sessions`` and ``app[LIBREBOOKING_STATE]``.
"""

from __future__ import annotations

from tablegraph.settings import Secret, UpstreamConfig
from tablegraph.simulators.librebooking.app import LIBREBOOKING_STATE, PREFIX, create_app
from tablegraph.simulators.librebooking.state import LibreBookingState

__all__ = ["LIBREBOOKING_STATE", "PREFIX", "LibreBookingState", "create_app", "demo_upstreams"]


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
