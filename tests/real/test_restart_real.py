"""Issue 14 item 7 against the real server: what the gateway must remember outlives it. A
gateway on a SQLite data directory is stopped and another started on the same directory:

- a booking cancelled through the first (LibreBooking deletes it: the server then answers 404)
  still reads ``CANCELLED``, with its reason, and a second cancel returns it, not NOT_FOUND;
- a create replayed with its idempotency key returns the same booking, and the server holds
  one reservation, not two.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from tablegraph import ids
from tablegraph.settings import StoreConfig
from tablegraph.timeutil import zone

from ..graphql.conftest import Api, start_gateway
from ..graphql.helpers import CREATE
from .conftest import ZONE, upstream_config
from .server import Server

RESTAURANT = ids.encode("Restaurant", "librebooking-real", "1")
READ = """query($id: ID!) { booking(id: $id) { id status notes start } }"""
CANCEL = """mutation($input: CancelBookingInput!) {
  cancelBooking(input: $input) { booking { id status notes } userErrors { code message } } }"""


class Restarts:
    """One gateway at a time over the real server, on one data directory."""

    def __init__(self, server: Server, account: str, data: Path) -> None:
        self.config = upstream_config(server, account)
        self.store = StoreConfig("sqlite", str(data))
        self.running: tuple[Any, Api] | None = None

    async def start(self) -> Api:
        await self.stop()
        self.running = await start_gateway([self.config], store=self.store)
        return self.running[1]

    async def stop(self) -> None:
        if self.running is not None:
            runner, api = self.running
            self.running = None
            await api.http.aclose()
            await runner.cleanup()


def _input(day: date, hhmm: str, key: str | None = None) -> dict[str, Any]:
    start = datetime.fromisoformat(f"{day}T{hhmm}:00").replace(tzinfo=zone(ZONE))
    guest = {"firstName": "Re", "lastName": "Start", "email": f"rs+{uuid.uuid4().hex[:8]}@x.org"}
    payload = {"restaurantId": RESTAURANT, "start": start.isoformat(), "partySize": 2}
    return {"input": {**payload, "guest": guest, **({"idempotencyKey": key} if key else {})}}


def _reservations_on(server: Server, day: date) -> list[str]:
    local = datetime.fromisoformat(f"{day}T00:00:00").replace(tzinfo=zone(ZONE))
    window = {
        "startDateTime": local.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "endDateTime": (local + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    listed = server.call("GET", "Reservations/", params={"scheduleId": 1, **window}).json()
    return sorted({str(r["referenceNumber"]) for r in listed.get("reservations") or []})


async def test_a_cancel_reads_cancelled_after_a_restart(
    real_server: Server, account: str, day: date, tmp_path: Path
) -> None:
    gateways = Restarts(real_server, account, tmp_path / "data")
    try:
        api = await gateways.start()
        created = (await api.data(CREATE, _input(day, "18:00")))["createBooking"]
        assert created["userErrors"] == [], created
        booking_id = created["booking"]["id"]
        cancel = {"input": {"bookingId": booking_id, "reason": "the oven broke"}}
        first = (await api.data(CANCEL, cancel))["cancelBooking"]
        assert first["userErrors"] == [] and first["booking"]["status"] == "CANCELLED", first
        reference = ids.decode(booking_id, "Booking").native_id
        gone = real_server.call("GET", f"Reservations/{reference}")
        assert gone.status_code == 404  # the server forgot it: only the gateway remembers

        api = await gateways.start()
        read = (await api.data(READ, {"id": booking_id}))["booking"]
        again = (await api.data(CANCEL, cancel))["cancelBooking"]
    finally:
        await gateways.stop()
    assert read["status"] == "CANCELLED" and read["notes"] == "Cancelled: the oven broke"
    assert again == first


async def test_a_create_replayed_after_a_restart_books_once(
    real_server: Server, account: str, day: date, tmp_path: Path
) -> None:
    gateways = Restarts(real_server, account, tmp_path / "data")
    variables = _input(day, "19:00", key=f"restart-{uuid.uuid4()}")
    try:
        api = await gateways.start()
        first = (await api.data(CREATE, variables))["createBooking"]
        assert first["userErrors"] == [], first
        held = _reservations_on(real_server, day)

        api = await gateways.start()
        replay = (await api.data(CREATE, variables))["createBooking"]
    finally:
        await gateways.stop()
    assert replay == first
    assert held == [ids.decode(first["booking"]["id"], "Booking").native_id]
    assert _reservations_on(real_server, day) == held
