"""One meaning per situation: the same business situation gives the same ``userErrors`` code
(and names the same input field) on every provider, through the whole gateway.

The table is the README's "Same situation, same code" table; each row runs on all four
providers through their simulators (``stacks.start_stack``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tablegraph import ids
from tablegraph.model import Capability
from tablegraph.timeutil import zone

from .helpers import CREATE, RESCHEDULE
from .stacks import KINDS, Stack, start_stack

CANCEL = """
mutation($input: CancelBookingInput!) {
  cancelBooking(input: $input) { booking { id status } userErrors { code message field } }
}"""
UPDATE = """
mutation($input: UpdateBookingInput!) {
  updateBooking(input: $input) { booking { id } userErrors { code message field } }
}"""
WAITLIST = """
mutation($input: JoinWaitlistInput!) {
  joinWaitlist(input: $input) { entry { id } userErrors { code message field } }
}"""


def _guest(n: int) -> dict[str, str]:
    return {
        "firstName": "Same",
        "lastName": f"Meaning{n}",
        "email": f"same{n}@example.com",
        "phone": f"+1514555{n:04d}",
    }


async def _payload(stack: Stack, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    data = await stack.api.data(query, {"input": variables})
    (payload,) = data.values()
    assert isinstance(payload, dict)
    return payload


async def _book(stack: Stack, n: int) -> tuple[str, datetime]:
    restaurant = await stack.restaurant()
    slot = await stack.open_slot(restaurant)
    created = await _payload(
        stack,
        CREATE,
        {
            "restaurantId": stack.restaurant_id(restaurant),
            "start": slot.start.isoformat(),
            "partySize": 2,
            "guest": _guest(n),
        },
    )
    assert created["userErrors"] == [], created
    return created["booking"]["id"], slot.start


async def _cancelled(stack: Stack) -> str:
    booking_id, _ = await _book(stack, 1)
    cancelled = await _payload(stack, CANCEL, {"bookingId": booking_id})
    assert cancelled["userErrors"] == [], cancelled
    return booking_id


async def _reschedule_cancelled(stack: Stack) -> dict[str, Any]:
    booking_id = await _cancelled(stack)
    return await _payload(stack, RESCHEDULE, {"bookingId": booking_id, "partySize": 3})


async def _update_cancelled(stack: Stack) -> dict[str, Any]:
    booking_id = await _cancelled(stack)
    return await _payload(stack, UPDATE, {"bookingId": booking_id, "notes": "window seat"})


def _unknown_booking(stack: Stack) -> str:
    return ids.encode("Booking", stack.upstream, "999999")


async def _reschedule_unknown(stack: Stack) -> dict[str, Any]:
    return await _payload(stack, RESCHEDULE, {"bookingId": _unknown_booking(stack), "partySize": 3})


async def _cancel_unknown(stack: Stack) -> dict[str, Any]:
    return await _payload(stack, CANCEL, {"bookingId": _unknown_booking(stack)})


async def _create_at(stack: Stack, start: datetime, party: int = 2, n: int = 2) -> dict[str, Any]:
    restaurant = await stack.restaurant()
    return await _payload(
        stack,
        CREATE,
        {
            "restaurantId": stack.restaurant_id(restaurant),
            "start": start.isoformat(),
            "partySize": party,
            "guest": _guest(n),
        },
    )


async def _past_start(stack: Stack) -> dict[str, Any]:
    restaurant = await stack.restaurant()
    yesterday = datetime.now(zone(restaurant.timezone)) - timedelta(days=1)
    return await _create_at(stack, yesterday.replace(hour=19, minute=0, second=0, microsecond=0))


async def _party_too_large(stack: Stack) -> dict[str, Any]:
    restaurant = await stack.restaurant()
    slot = await stack.open_slot(restaurant)
    return await _create_at(stack, slot.start, party=restaurant.policy.max_party_size + 1)


async def _closed_hours(stack: Stack) -> dict[str, Any]:
    restaurant = await stack.restaurant()
    slot = await stack.open_slot(restaurant)
    return await _create_at(stack, slot.start.replace(hour=4, minute=0))


async def _rescheduled_to_closed_hours(stack: Stack) -> dict[str, Any]:
    booking_id, start = await _book(stack, 6)
    closed = start.replace(hour=4, minute=0)
    return await _payload(stack, RESCHEDULE, {"bookingId": booking_id, "start": closed.isoformat()})


async def _slot_taken(stack: Stack) -> dict[str, Any]:
    restaurant = await stack.restaurant()
    stack.leave_tables(restaurant, 1)
    slot = await stack.open_slot(restaurant)
    first = await _create_at(stack, slot.start, n=3)
    assert first["userErrors"] == [], first
    return await _create_at(stack, slot.start, n=4)


@dataclass(frozen=True)
class Situation:
    name: str
    act: Callable[[Stack], Awaitable[dict[str, Any]]]
    code: str
    field: list[str] | None
    #: Kinds whose adapter does not hold this row yet (strict xfail: a fix must remove it).
    pending: dict[str, str] | None = None


#: Kept equal to the README table "Same situation, same code" by ``test_readme_table``.
SITUATIONS = [
    Situation("cancelled booking rescheduled", _reschedule_cancelled, "INVALID_TRANSITION", None),
    Situation("cancelled booking updated", _update_cancelled, "INVALID_TRANSITION", None),
    Situation(
        "unknown booking rescheduled", _reschedule_unknown, "NOT_FOUND", ["input", "bookingId"]
    ),
    Situation("unknown booking cancelled", _cancel_unknown, "NOT_FOUND", ["input", "bookingId"]),
    Situation("start in the past", _past_start, "OUTSIDE_POLICY", ["input", "start"]),
    Situation("party too large", _party_too_large, "OUTSIDE_POLICY", ["input", "partySize"]),
    Situation("start outside opening hours", _closed_hours, "OUTSIDE_POLICY", ["input", "start"]),
    Situation(
        "rescheduled outside opening hours",
        _rescheduled_to_closed_hours,
        "OUTSIDE_POLICY",
        ["input", "start"],
    ),
    Situation("slot already taken", _slot_taken, "SLOT_UNAVAILABLE", ["input", "start"]),
]


def _cases() -> list[Any]:
    cases = []
    for situation in SITUATIONS:
        for kind in KINDS:
            reason = (situation.pending or {}).get(kind)
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            cases.append(pytest.param(situation, kind, marks=marks, id=f"{situation.name}-{kind}"))
    return cases


@pytest.mark.parametrize(("situation", "kind"), _cases())
async def test_same_situation_same_code(situation: Situation, kind: str, start_server: Any) -> None:
    stack, close = await start_stack(kind, start_server)
    try:
        payload = await situation.act(stack)
    finally:
        await close()
    errors = payload["userErrors"]
    assert [(e["code"], e["field"]) for e in errors] == [(situation.code, situation.field)], errors


async def test_waitlist_without_contact_names_the_field(stack: Stack) -> None:
    restaurant = await stack.restaurant()
    if Capability.WAITLIST not in restaurant.capabilities:
        pytest.skip(f"{stack.kind} declares no waitlist")
    day = datetime.now(zone(restaurant.timezone)).date() + timedelta(days=5)
    payload = await _payload(
        stack,
        WAITLIST,
        {
            "restaurantId": stack.restaurant_id(restaurant),
            "date": day.isoformat(),
            "partySize": 2,
            "guest": {"firstName": "No", "lastName": "Contact"},
        },
    )
    errors = payload["userErrors"]
    assert [(e["code"], e["field"]) for e in errors] == [
        ("INVALID_INPUT", ["input", "guest", "email"])
    ], errors


def same_meaning_table() -> str:
    """The README's table, from ``SITUATIONS``."""
    rows = ["| situation | `userErrors.code` | `field` |", "|---|---|---|"]
    for situation in SITUATIONS:
        shown = f"`{situation.field}`".replace("'", '"') if situation.field else "—"
        rows.append(f"| {situation.name} | `{situation.code}` | {shown} |")
    waitlist = '`["input", "guest", "email"]`'
    rows.append(f"| waitlist entry without e-mail or phone | `INVALID_INPUT` | {waitlist} |")
    return "\n".join(rows)


def test_readme_table() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    block = readme.split("<!-- same-meaning -->")[1].split("<!-- /same-meaning -->")[0]
    assert block.strip() == same_meaning_table()
