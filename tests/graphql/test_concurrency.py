"""Concurrent booking writes through the gateway over HTTP, on every provider.

50 identical creates with one idempotency key make one upstream booking and 50 identical
answers; 50 creates by different guests for a slot with room for N make exactly N bookings,
and every other caller is told ``SLOT_UNAVAILABLE``.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from typing import Any

from tablegraph import ids

from .helpers import CREATE
from .stacks import Stack

CALLERS = 50
ROOM = 2  # tables left in the restaurant; a party of two takes one


def _guest(n: int) -> dict[str, str]:
    # Libro creates a guest only with both e-mail and phone.
    return {
        "firstName": "Race",
        "lastName": f"Guest{n}",
        "email": f"race{n}@example.com",
        "phone": f"+1514555{n:04d}",
    }


async def _create_all(stack: Stack, inputs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    responses = await asyncio.gather(*(stack.api.post(CREATE, {"input": i}) for i in inputs))
    assert {r.status_code for r in responses} == {200}
    return [r.json() for r in responses]


async def test_one_idempotency_key_fifty_times_at_once_books_once(stack: Stack) -> None:
    restaurant = await stack.restaurant()
    slot = await stack.open_slot(restaurant)
    request = {
        "restaurantId": stack.restaurant_id(restaurant),
        "start": slot.start.isoformat(),
        "partySize": 2,
        "guest": _guest(0),
        "idempotencyKey": f"race-{stack.kind}",
    }

    bodies = await _create_all(stack, [request] * CALLERS)

    assert all("errors" not in b for b in bodies), bodies[0]
    payloads = {json.dumps(b["data"]) for b in bodies}
    assert len(payloads) == 1, payloads  # byte-identical answers
    answer = bodies[0]["data"]["createBooking"]
    assert answer["userErrors"] == [] and answer["booking"]["id"]
    (stored,) = stack.stored_for("race0@", slot.start)
    assert ids.decode(answer["booking"]["id"]).native_id.endswith(stored.id)


async def test_fifty_guests_racing_for_the_last_tables_get_exactly_the_room(
    stack: Stack,
) -> None:
    restaurant = await stack.restaurant()
    stack.leave_tables(restaurant, ROOM)
    slot = await stack.open_slot(restaurant)
    inputs = [
        {
            "restaurantId": stack.restaurant_id(restaurant),
            "start": slot.start.isoformat(),
            "partySize": 2,
            "guest": _guest(n),
        }
        for n in range(CALLERS)
    ]

    bodies = await _create_all(stack, inputs)

    assert [b for b in bodies if "errors" in b] == []
    results = [b["data"]["createBooking"] for b in bodies]
    booked = [r["booking"]["id"] for r in results if r["booking"] is not None]
    codes = Counter(e["code"] for r in results for e in r["userErrors"])
    assert len(set(booked)) == len(booked) == ROOM
    assert codes == Counter({"SLOT_UNAVAILABLE": CALLERS - ROOM}), codes
    stored = stack.stored_for("race", slot.start)
    assert len(stored) == ROOM
    assert {ids.decode(b).native_id.split("/")[-1] for b in booked} == {b.id for b in stored}
