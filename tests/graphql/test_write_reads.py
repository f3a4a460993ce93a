"""A booking write reads its booking once before it writes (the booking service's read is
handed to the adapter's, ``tablegraph.prefetch``) and reads it back at most once (only where
the provider's write answer does not carry the booking); and ``extensions.upstreams`` says
``cached: false`` for a write, which did call its upstream. Proved with the simulators'
request counts."""

from __future__ import annotations

from typing import Any

import pytest

from tablegraph.simulators.common import REQUEST_COUNTS

from .helpers import RESCHEDULE
from .stacks import KINDS, start_stack
from .test_same_meaning import CANCEL, UPDATE, _book

#: The simulator route of one booking, per kind (the request counted).
BOOKING_ROUTE = {
    "vardvik": "GET /api/v1/reservations/{idOrPublicReference}",
    "libro": "GET /restricted/restaurant/bookings/{id}",
    "librebooking": "GET /Web/Services/index.php/Reservations/{referenceNumber}",
    "resos": "GET /v1/bookings/{id}",
}
#: Reads of the booking per write: one before it; resOS answers a write with nothing but
#: the id, so it reads the booking back once after; LibreBooking answers an update with an
#: empty body, likewise — but not a cancel, which deletes the reservation (nothing to read).
READS = {"vardvik": 1, "libro": 1, "librebooking": 2, "resos": 2}
#: Writes that read nothing: Vardvik answers a cancel with the whole booking
#: (``Provider.cancel_answers_booking``), and this client may touch every restaurant.
READS_PER_WRITE = {("librebooking", "cancel"): 1, ("vardvik", "cancel"): 0}

WRITES = ("update", "reschedule", "cancel")


def _cases() -> list[Any]:
    out = []
    for kind in KINDS:
        for write in WRITES:
            out.append(pytest.param(kind, write, id=f"{kind}-{write}"))
    return out


def _input(kind: str, write: str, booking_id: str) -> tuple[str, dict[str, Any]]:
    if write == "reschedule":
        return RESCHEDULE, {"bookingId": booking_id, "partySize": 3}
    if write == "cancel":
        return CANCEL, {"bookingId": booking_id}
    # Vardvik changes only status and tables; the others take notes.
    change = {"status": "CONFIRMED"} if kind == "vardvik" else {"notes": "window seat"}
    return UPDATE, {"bookingId": booking_id, **change}


@pytest.mark.parametrize(("kind", "write"), _cases())
async def test_a_write_reads_its_booking_once(kind: str, write: str, start_server: Any) -> None:
    stack, close = await start_stack(kind, start_server)
    try:
        booking_id, _ = await _book(stack, 5)
        query, variables = _input(kind, write, booking_id)
        counts = stack.app[REQUEST_COUNTS]
        before = int(counts[BOOKING_ROUTE[kind]])
        body = await stack.api.query(query, {"input": variables})
        reads = int(counts[BOOKING_ROUTE[kind]]) - before
    finally:
        await close()
    assert "errors" not in body, body["errors"]
    (payload,) = body["data"].values()
    assert payload["userErrors"] == [], payload
    assert reads == READS_PER_WRITE.get((kind, write), READS[kind])
    trace = body["extensions"]["upstreams"][stack.upstream]
    assert trace["requests"] >= 1 and trace["cached"] is False and trace["ageSeconds"] is None
