"""A reschedule or cancel whose answer is lost, on every provider, through the gateway.

``drop_response``: the upstream applies the write, then cuts the connection. The client still
gets the applied outcome with no userErrors, exactly one upstream write was made, and a replay
with the same idempotency key answers the same without writing again. ``reset``: the
connection is cut before the upstream does anything; the client is told the cancel was not
applied, and a retry with the same key then succeeds.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from tablegraph import ids
from tablegraph.model import Capability, Restaurant
from tablegraph.simulators.common import REQUEST_COUNTS
from tablegraph.simulators.faults import FAULTS, Fault
from tablegraph.timeutil import zone

from .helpers import CANCEL, CREATE, RESCHEDULE
from .stacks import DEAD, Stack

#: The upstream write of each operation per kind: (method, regex over the request path).
#: The regex also matches the simulator's route template, which ``REQUEST_COUNTS`` keys on.
RESCHEDULE_WRITE = {
    "vardvik": ("PATCH", r"/reservations/[^/]+$"),
    "libro": ("PUT", r"/restricted/restaurant/bookings/[^/]+/reschedule$"),
    "librebooking": ("POST", r"/Reservations/[^/]+$"),
    "resos": ("PUT", r"^/v1/bookings/[^/]+$"),
}
CANCEL_WRITE = {
    "vardvik": ("DELETE", r"/reservations/[^/]+$"),
    "libro": ("DELETE", r"/restricted/restaurant/bookings/[^/]+$"),
    "librebooking": ("DELETE", r"/Reservations/[^/]+$"),
    "resos": ("PUT", r"^/v1/bookings/[^/]+$"),
}


def _writes(stack: Stack, write: tuple[str, str]) -> int:
    method, path = write
    pattern = re.compile(path)
    return sum(
        int(n)
        for key, n in stack.app[REQUEST_COUNTS].items()
        if key.startswith(method + " ") and pattern.search(key[len(method) + 1 :])
    )


def _drop(stack: Stack, fault: str, write: tuple[str, str]) -> None:
    method, path = write
    stack.app[FAULTS].add(Fault(fault, method=method, path=path, count=1))


async def _two_slots(stack: Stack, restaurant: Restaurant) -> tuple[datetime, datetime]:
    """The first and last bookable start of a day a few days ahead."""
    today = datetime.now(zone(restaurant.timezone)).date()
    for offset in range(3, 30):
        slots = await stack.provider.get_availability(
            restaurant.native_id, today + timedelta(days=offset), 2
        )
        if len(slots) >= 2 and slots[-1].start - slots[0].start >= timedelta(hours=3):
            return slots[0].start, slots[-1].start
    raise AssertionError(f"{stack.kind}: no day with two distant slots")


async def _book(stack: Stack, name: str) -> tuple[dict[str, Any], datetime, datetime]:
    """A booking through the gateway at a day's first slot; that start and the day's last."""
    restaurant = await _reschedulable(stack)
    first, last = await _two_slots(stack, restaurant)
    guest = {
        "firstName": "Lost",
        "lastName": name,
        "email": f"lost.{name}@example.com",
        "phone": "+4790000002",
    }
    variables = {
        "input": {
            "restaurantId": stack.restaurant_id(restaurant),
            "start": first.isoformat(),
            "partySize": 2,
            "guest": guest,
        }
    }
    created = (await stack.api.data(CREATE, variables))["createBooking"]
    assert created["userErrors"] == [] and created["booking"], created
    return created["booking"], first, last


async def _reschedulable(stack: Stack) -> Restaurant:
    for restaurant in await stack.provider.list_restaurants():
        if Capability.BOOKING_RESCHEDULE in restaurant.capabilities:
            return restaurant
    raise AssertionError(f"{stack.kind}: no restaurant takes reschedules")


def _stored(stack: Stack, booking: dict[str, Any]) -> Any:
    native = ids.decode(booking["id"]).native_id
    (found,) = [b for b in stack.stored() if native == b.id or native.endswith("/" + b.id)]
    return found


async def test_a_reschedule_applied_but_unanswered_is_reported_applied_once(
    stack: Stack,
) -> None:
    booking, _first, last = await _book(stack, f"move-{stack.kind}")
    write = RESCHEDULE_WRITE[stack.kind]
    writes = _writes(stack, write)
    _drop(stack, "drop_response", write)
    variables = {
        "input": {
            "bookingId": booking["id"],
            "start": last.isoformat(),
            "idempotencyKey": f"move-{stack.kind}",
        }
    }

    out = (await stack.api.data(RESCHEDULE, variables))["rescheduleBooking"]

    assert stack.app[FAULTS].hits["drop_response"] == 1  # the answer really was lost
    assert out["userErrors"] == []
    assert datetime.fromisoformat(out["booking"]["start"]) == last
    assert _writes(stack, write) == writes + 1
    assert _stored(stack, booking).start == last
    replay = (await stack.api.data(RESCHEDULE, variables))["rescheduleBooking"]
    assert replay == out
    assert _writes(stack, write) == writes + 1


async def test_a_cancel_applied_but_unanswered_is_reported_applied_once(stack: Stack) -> None:
    booking, _first, _last = await _book(stack, f"cancel-{stack.kind}")
    write = CANCEL_WRITE[stack.kind]
    writes = _writes(stack, write)
    _drop(stack, "drop_response", write)
    variables = {"input": {"bookingId": booking["id"], "idempotencyKey": f"cx-{stack.kind}"}}

    out = (await stack.api.data(CANCEL, variables))["cancelBooking"]

    assert stack.app[FAULTS].hits["drop_response"] == 1
    assert out["userErrors"] == []
    assert out["booking"]["id"] == booking["id"] and out["booking"]["status"] == "CANCELLED"
    assert _writes(stack, write) == writes + 1
    assert _stored(stack, booking).status in DEAD
    replay = (await stack.api.data(CANCEL, variables))["cancelBooking"]
    assert replay == out
    assert _writes(stack, write) == writes + 1


async def test_a_cancel_cut_before_it_was_applied_is_reported_not_applied(
    stack: Stack,
) -> None:
    booking, _first, _last = await _book(stack, f"reset-{stack.kind}")
    write = CANCEL_WRITE[stack.kind]
    _drop(stack, "reset", write)
    variables = {"input": {"bookingId": booking["id"], "idempotencyKey": f"rs-{stack.kind}"}}

    body = await stack.api.query(CANCEL, variables)

    assert stack.app[FAULTS].hits["reset"] == 1
    assert body.get("data") is None
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "UPSTREAM_UNAVAILABLE"
    assert error["extensions"]["upstream"] == stack.upstream
    assert error["extensions"]["applied"] is False
    assert error["extensions"]["idempotencyKey"] == f"rs-{stack.kind}"
    assert _stored(stack, booking).status not in DEAD
    retry = (await stack.api.data(CANCEL, variables))["cancelBooking"]
    assert retry["userErrors"] == [] and retry["booking"]["status"] == "CANCELLED"
    assert _stored(stack, booking).status in DEAD
