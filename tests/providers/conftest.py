"""Fixtures the per-provider test modules share, found by pytest here rather than imported
into each module: ``sim`` (a seeded Vardvik simulator and a client for it) and ``make_rig``
(a LibreBooking simulator with an adapter over it)."""

from tests.providers.librebooking_support import make_rig_fixture
from tests.providers.vardvik_sim import sim_fixture

__all__ = ["make_rig_fixture", "sim_fixture"]
