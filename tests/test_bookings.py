"""The booking service without GraphQL: a simulator and a gateway on loopback, the service
called with model requests. What it guarantees is in ``tablegraph.bookings``."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest

import tablegraph
from tablegraph.bookings import BookingRef, BookingService, WriteKey, days_touched
from tablegraph.errors import IdempotencyConflict, InvalidInput, OutcomeUnknown, PolicyViolation
from tablegraph.idempotency import fingerprint
from tablegraph.model import (
    Booking,
    BookingChange,
    BookingStatus,
    GuestData,
    NewBooking,
    Restaurant,
)
from tablegraph.simulators.common import REQUEST_COUNTS
from tablegraph.simulators.faults import FAULTS, Fault
from tablegraph.timeutil import zone
from tests.conftest import StartServer
from tests.graphql.stacks import KINDS, Stack, start_stack
from tests.simulators.test_ambiguous_create import CREATE_PATHS

CLIENT = "client-a"
BERLIN = zone("Europe/Berlin")


@asynccontextmanager
async def _stack(kind: str, start_server: StartServer) -> AsyncIterator[Stack]:
    stack, close = await start_stack(kind, start_server)
    try:
        yield stack
    finally:
        stack.app[FAULTS].clear()  # releases anything still hanging before the servers stop
        await close()


def _service(stack: Stack) -> BookingService:
    return stack.api.gateway.bookings


def _creates(stack: Stack) -> int:
    """Create requests the simulator has received (by route template)."""
    pattern = re.compile(CREATE_PATHS[stack.kind].replace("[^/]+", r"\{restaurantId\}"))
    return sum(
        int(n)
        for key, n in stack.app[REQUEST_COUNTS].items()
        if key.startswith("POST ") and pattern.search(key[5:])
    )


async def _slots(stack: Stack, restaurant: Restaurant, n: int) -> list[datetime]:
    """``n`` bookable starts on one day two days ahead or later."""
    today = datetime.now(zone(restaurant.timezone)).date()
    for offset in range(3, 30):
        slots = await stack.provider.get_availability(
            restaurant.native_id, today + timedelta(days=offset), 2
        )
        if len(slots) >= n:
            step = max(1, len(slots) // n)
            return [s.start for s in slots[::step][:n]]
    raise AssertionError(f"{stack.kind}: no day with {n} bookable slots in four weeks")


def _request(restaurant: Restaurant, start: datetime, who: str, party: int = 2) -> NewBooking:
    return NewBooking(
        restaurant_id=restaurant.native_id,
        start=start,
        party_size=party,
        guest=GuestData("Grace", "Hopper", f"{who}@example.com", "+4790000003"),
        idempotency_key="set-by-the-service",
    )


async def _book(stack: Stack, who: str) -> tuple[Restaurant, Booking, list[datetime]]:
    restaurant = await stack.restaurant()
    starts = await _slots(stack, restaurant, 3)
    booking = await _service(stack).create(
        restaurant, _request(restaurant, starts[0], who), client=CLIENT, key=WriteKey.of(None)
    )
    return restaurant, booking, starts


def _ref(booking: Booking) -> BookingRef:
    return BookingRef(booking.upstream, booking.native_id)


# ---- idempotency ---------------------------------------------------------------------------


async def test_a_replay_gets_the_first_booking_and_writes_nothing(
    start_server: StartServer,
) -> None:
    async with _stack("vardvik", start_server) as stack:
        restaurant = await stack.restaurant()
        (start,) = await _slots(stack, restaurant, 1)
        key = WriteKey.of("create-once")
        request = _request(restaurant, start, "once")
        service = _service(stack)

        first = await service.create(restaurant, request, client=CLIENT, key=key)
        creates = _creates(stack)
        # The same request, its start written in another offset: the same instant.
        again = replace(request, start=start.astimezone(timezone(timedelta(hours=-5))))
        replay = await service.create(restaurant, again, client=CLIENT, key=key)

        assert replay == first
        assert _creates(stack) == creates == 1
        assert len(stack.stored_for("once@", first.start)) == 1


async def test_a_reused_key_with_another_request_is_refused(start_server: StartServer) -> None:
    async with _stack("vardvik", start_server) as stack:
        restaurant = await stack.restaurant()
        (start,) = await _slots(stack, restaurant, 1)
        key = WriteKey.of("create-reused")
        service = _service(stack)
        await service.create(
            restaurant, _request(restaurant, start, "reuse"), client=CLIENT, key=key
        )

        with pytest.raises(IdempotencyConflict) as caught:
            await service.create(
                restaurant, _request(restaurant, start, "reuse", party=3), client=CLIENT, key=key
            )

        assert caught.value.code == "IDEMPOTENCY_KEY_REUSED"
        assert _creates(stack) == 1


async def test_a_reschedule_replays_across_offsets_and_refuses_another_instant(
    start_server: StartServer,
) -> None:
    async with _stack("vardvik", start_server) as stack:
        _, booking, starts = await _book(stack, "move")
        target = starts[1]
        key = WriteKey.of("move-1")
        service = _service(stack)
        patches = stack.writes("PATCH")
        kolkata = timezone(timedelta(hours=5, minutes=30))

        moved = await service.reschedule(
            _ref(booking), BookingChange(start=target.astimezone(kolkata)), client=CLIENT, key=key
        )
        replay = await service.reschedule(
            _ref(booking), BookingChange(start=target.astimezone(UTC)), client=CLIENT, key=key
        )

        assert moved.start == target and replay == moved
        assert stack.writes("PATCH") == patches + 1
        with pytest.raises(IdempotencyConflict):
            await service.reschedule(
                _ref(booking), BookingChange(start=starts[2]), client=CLIENT, key=key
            )
        assert stack.writes("PATCH") == patches + 1


async def test_a_rejection_is_final_and_replayed(start_server: StartServer) -> None:
    async with _stack("vardvik", start_server) as stack:
        _, booking, starts = await _book(stack, "late")
        service = _service(stack)
        past = BookingChange(start=datetime.now(UTC) - timedelta(hours=1))
        key = WriteKey.of("move-into-the-past")

        for _ in range(2):
            with pytest.raises(PolicyViolation) as caught:
                await service.reschedule(_ref(booking), past, client=CLIENT, key=key)
            assert caught.value.field == ("start",)
        with pytest.raises(IdempotencyConflict):  # the key holds the rejection, not nothing
            await service.reschedule(
                _ref(booking), BookingChange(start=starts[1]), client=CLIENT, key=key
            )


# ---- invalidation --------------------------------------------------------------------------


async def test_a_move_drops_the_availability_of_the_days_it_touched(
    start_server: StartServer,
) -> None:
    async with _stack("vardvik", start_server) as stack:
        gateway = stack.api.gateway
        restaurant, booking, _ = await _book(stack, "days")
        old_day = booking.start.date()
        open_days = [
            day
            for day in (old_day + timedelta(days=n) for n in range(1, 14))
            if await gateway.slots(restaurant, day, 2)
        ]
        new_day, untouched = open_days[:2]
        target = (await gateway.slots(restaurant, new_day, 2))[0].start
        await gateway.slots(restaurant, old_day, 2)

        def reads_upstream(day: date) -> bool:
            cached = gateway.availability.get((stack.upstream, restaurant.native_id, day, 2))
            return cached is None

        assert not any(reads_upstream(d) for d in (old_day, new_day, untouched))
        await _service(stack).reschedule(
            _ref(booking), BookingChange(start=target), client=CLIENT, key=WriteKey.of(None)
        )

        assert reads_upstream(old_day) and reads_upstream(new_day)
        assert not reads_upstream(untouched)
        before = stack.requests()
        await gateway.slots(restaurant, untouched, 2)
        assert stack.requests() == before  # still served from the cache
        await gateway.slots(restaurant, new_day, 2)
        assert stack.requests() > before  # read again: the move took a table there


async def test_create_and_cancel_drop_their_day(start_server: StartServer) -> None:
    async with _stack("vardvik", start_server) as stack:
        gateway = stack.api.gateway
        restaurant = await stack.restaurant()
        (start,) = await _slots(stack, restaurant, 1)
        day = start.date()
        key = (stack.upstream, restaurant.native_id, day, 2)
        await gateway.slots(restaurant, day, 2)

        booking = await _service(stack).create(
            restaurant, _request(restaurant, start, "cx"), client=CLIENT, key=WriteKey.of(None)
        )
        assert gateway.availability.get(key) is None
        await gateway.slots(restaurant, day, 2)
        cancelled = await _service(stack).cancel(
            _ref(booking), None, client=CLIENT, key=WriteKey.of(None)
        )
        assert cancelled.status is BookingStatus.CANCELLED
        assert gateway.availability.get(key) is None


def test_days_touched_are_the_restaurants_dates() -> None:
    start = datetime(2030, 3, 6, 19, 0, tzinfo=BERLIN)
    booking = Booking("up", "b1", "r1", BookingStatus.CONFIRMED, "ok", start, start, 2)
    # 23:30 in New York on the 7th is the 8th in Berlin, the day whose slots change.
    new_york = datetime(2030, 3, 7, 23, 30, tzinfo=timezone(timedelta(hours=-5)))
    assert days_touched(booking, new_york) == {start.date(), new_york.astimezone(BERLIN).date()}
    assert new_york.astimezone(BERLIN).date().day == 8


# ---- reconciliation ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
async def test_a_create_whose_answer_was_lost_is_found_not_booked_twice(
    start_server: StartServer, kind: str
) -> None:
    async with _stack(kind, start_server) as stack:
        restaurant = await stack.restaurant()
        (start,) = await _slots(stack, restaurant, 1)
        before = {b.id for b in stack.stored()}
        stack.app[FAULTS].add(
            Fault("drop_response", method="POST", path=CREATE_PATHS[kind], count=1)
        )

        booking = await _service(stack).create(
            restaurant,
            _request(restaurant, start, f"lost.{kind}"),
            client=CLIENT,
            key=WriteKey.of(f"lost-{kind}"),
        )

        new = [b for b in stack.stored() if b.id not in before]
        assert len(new) == 1 and booking.native_id.endswith(new[0].id)
        assert booking.start == start


async def test_an_unknown_create_is_looked_up_again_by_the_retry(
    start_server: StartServer,
) -> None:
    """LibreBooking keeps no idempotency key: the gateway's lookup is all there is. The create's
    answer is lost and so is the lookup's (the list of reservations fails): OUTCOME_UNKNOWN;
    the retry with the key looks first and finds the booking."""
    async with _stack("librebooking", start_server) as stack:
        restaurant = await stack.restaurant()
        (start,) = await _slots(stack, restaurant, 1)
        before = {b.id for b in stack.stored()}
        faults = stack.app[FAULTS]
        faults.add(
            Fault("drop_response", method="POST", path=CREATE_PATHS["librebooking"], count=1)
        )
        faults.add(Fault("error", method="GET", path=r"/Reservations/$", status=503))
        key = WriteKey.of("unknown-then-retry")
        request = _request(restaurant, start, "unknown")
        service = _service(stack)

        with pytest.raises(OutcomeUnknown) as caught:
            await service.create(restaurant, request, client=CLIENT, key=key)
        assert caught.value.details["idempotencyKey"] == "unknown-then-retry"
        faults.clear()
        booking = await service.create(restaurant, request, client=CLIENT, key=key)

        new = [b for b in stack.stored() if b.id not in before]
        assert len(new) == 1 and booking.native_id.endswith(new[0].id)
        assert _creates(stack) == 1  # the retry found it instead of booking again


# ---- pure parts ----------------------------------------------------------------------------


def test_fingerprints_compare_instants_in_utc() -> None:
    at = datetime(2030, 3, 6, 19, 0, tzinfo=BERLIN)
    same = at.astimezone(timezone(timedelta(hours=-3)))
    assert fingerprint("reschedule", {"start": at}) == fingerprint("reschedule", {"start": same})
    later = at + timedelta(minutes=15)
    assert fingerprint("reschedule", {"start": at}) != fingerprint("reschedule", {"start": later})
    assert fingerprint("create", {"start": at}) != fingerprint("reschedule", {"start": at})


@pytest.mark.parametrize("bad", ["", "k" * 256, "tab\there"])
def test_a_key_the_client_chose_is_checked(bad: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        WriteKey.of(bad)
    assert caught.value.field == ("idempotency_key",)


def test_a_generated_key_is_fresh_and_not_chosen() -> None:
    first, second = WriteKey.of(None), WriteKey.of(None)
    assert not first.chosen and first.value != second.value
    assert WriteKey.of("mine") == WriteKey("mine", chosen=True)


def test_the_service_knows_no_graphql() -> None:
    """Any transport can reuse it: importing it (and the gateway) loads no GraphQL at all."""
    probe = (
        "import sys, tablegraph.bookings, tablegraph.gateway; "
        "print(sorted(m for m in sys.modules "
        "if m.split('.')[0] in ('strawberry', 'graphql') or m.startswith('tablegraph.graphql')))"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(tablegraph.__file__).parent.parent)}
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, env=env
    )
    assert out.stdout.strip() == "[]"
