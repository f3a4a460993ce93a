"""Bookings through the LibreBooking adapter against the simulator: create → visible in the
server's slots, server-side bookings → unavailable, reschedule, cancel (unknown, twice),
status moves, list by day in the restaurant's zone, guests."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import httpx
import pytest

from tablegraph.errors import (
    InvalidState,
    NotFound,
    NotSupported,
    PolicyViolation,
    SlotUnavailable,
)
from tablegraph.model import (
    BookingChange,
    BookingQuery,
    BookingStatus,
    BookingUpdate,
    GuestData,
    GuestUpsert,
    NewBooking,
)
from tablegraph.simulators.librebooking import PREFIX, LibreBookingState
from tablegraph.timeutil import UTC, local_day_bounds, zone
from tests.providers.librebooking_support import MakeRig, Rig

NY = zone("America/New_York")
BERLIN = zone("Europe/Berlin")
DAY = date(2026, 11, 23)
ADA = GuestData("Ada", "Lovelace", "ada@example.org")


def _at(hour: int, minute: int = 0, tz: object = NY) -> datetime:
    return datetime(2026, 11, 23, hour, minute, tzinfo=tz)  # type: ignore[arg-type]


def _evening(state: LibreBookingState) -> None:
    """Schedule 3 (New York, 17:00–22:00): T2, T4, T6 (needs approval for plain users)."""
    state.add_schedule("Evening Test", "America/New_York", time(17), time(22))
    state.add_resource(3, "T2", 2, location="Bar")
    state.add_resource(3, "T4", 4, location="Main room")
    state.add_resource(3, "T6", 6, location="Main room", requires_approval=True)


def _table(rig: Rig, name: str, schedule: int = 3) -> int:
    return next(
        r.id for r in rig.state.resources.values() if r.name == name and r.schedule_id == schedule
    )


async def _server_slots(rig: Rig, schedule: int, resource: int) -> list[dict[str, object]]:
    session = rig.state.authenticate("admin", "password")
    assert session is not None
    headers = {"X-Booked-SessionToken": session.token, "X-Booked-UserId": str(session.user_id)}
    async with httpx.AsyncClient(base_url=rig.url) as client:
        r = await client.get(
            f"{PREFIX}/Schedules/{schedule}/Slots",
            params={
                "startDateTime": "2026-11-23T00:00:00-0500",
                "endDateTime": "2026-11-23T23:59:00-0500",
                "resourceId": str(resource),
            },
            headers=headers,
        )
    slots: list[dict[str, object]] = r.json()["dates"][0]["resources"][0]["slots"]
    return slots


def _request(start: datetime, party: int, key: str = "k-1", **kw: object) -> NewBooking:
    return NewBooking("3", start, party, ADA, key, **kw)  # type: ignore[arg-type]


async def test_created_booking_takes_smallest_table_and_shows_in_server_slots(
    make_rig: MakeRig,
) -> None:
    rig = await make_rig(setup=_evening, schedule_ids=["3"])
    booking = await rig.provider.create_booking(_request(_at(18), 3, notes="window, please"))
    t4 = _table(rig, "T4")
    assert booking.tables == (str(t4),)
    assert booking.status is BookingStatus.CONFIRMED
    assert booking.party_size == 3
    assert booking.notes == "window, please"
    assert booking.start == _at(18) and booking.end == _at(20)
    # The guest is a LibreBooking user, by id: the loader reads it whole (with the phone).
    assert booking.guest is None and booking.guest_id is not None
    [guest] = await rig.provider.get_guests([booking.guest_id])
    assert guest is not None and guest.email == "ada@example.org"
    assert booking.area is not None and booking.area.name == "Main room"
    stored = rig.state.reservations[booking.native_id]
    assert stored.start == datetime(2026, 11, 23, 23, tzinfo=UTC)
    assert stored.title == "Ada Lovelace for 3"
    reserved = [s for s in await _server_slots(rig, 3, t4) if s["isReserved"]]
    assert len(reserved) == 1
    assert reserved[0]["slotSpan"] == 4  # one merged slot for 18:00–20:00
    assert reserved[0]["startDateTime"] == "2026-11-23T18:00:00-0500"
    assert reserved[0]["reservation"]["referenceNumber"] == booking.native_id  # type: ignore[index]

    async def starts_for_three() -> list[str]:
        return [s.start.strftime("%H:%M") for s in await rig.provider.get_availability("3", DAY, 3)]

    assert "18:00" in await starts_for_three()  # T6 still seats three
    second = await rig.provider.create_booking(_request(_at(18), 3, key="k-2"))
    assert second.tables == (str(_table(rig, "T6")),)
    assert "18:00" not in await starts_for_three()


async def test_server_side_booking_makes_the_time_unavailable(make_rig: MakeRig) -> None:
    def setup(state: LibreBookingState) -> None:
        state.add_schedule("One table", "America/New_York", time(17), time(22))
        state.add_resource(3, "Only", 4)

    rig = await make_rig(setup=setup, schedule_ids=["3"])
    before = [s.start.strftime("%H:%M") for s in await rig.provider.get_availability("3", DAY, 2)]
    assert before == ["17:00", "17:30", "18:00", "18:30", "19:00", "19:30", "20:00"]
    rig.state.add_reservation(_table(rig, "Only"), _at(18), _at(19), title="Walk-in for 2")
    after = [s.start.strftime("%H:%M") for s in await rig.provider.get_availability("3", DAY, 2)]
    assert after == ["19:00", "19:30", "20:00"]
    with pytest.raises(SlotUnavailable):
        await rig.provider.create_booking(_request(_at(17, 30), 2))


async def test_create_outside_policy(make_rig: MakeRig) -> None:
    rig = await make_rig(setup=_evening, schedule_ids=["3"])
    with pytest.raises(PolicyViolation):
        await rig.provider.create_booking(_request(_at(18), 7))
    with pytest.raises(PolicyViolation):
        await rig.provider.create_booking(
            NewBooking("3", datetime(2026, 11, 20, 18, tzinfo=NY), 2, ADA, "past")
        )
    # Closed is not full (issue 14, item 4): off the grid, past closing, before opening.
    for start in (_at(18, 10), _at(21), _at(16)):
        with pytest.raises(PolicyViolation, match="start date and time requested is not valid"):
            await rig.provider.create_booking(_request(start, 2))


async def test_reschedule_moves_table_when_the_party_grows(make_rig: MakeRig) -> None:
    rig = await make_rig(setup=_evening, schedule_ids=["3"])
    booking = await rig.provider.create_booking(_request(_at(18), 2))
    assert booking.tables == (str(_table(rig, "T2")),)
    later = await rig.provider.reschedule_booking(
        booking.native_id, BookingChange(start=_at(18, 30))
    )
    assert later.start == _at(18, 30) and later.tables == booking.tables  # overlaps its own slot
    bigger = await rig.provider.reschedule_booking(booking.native_id, BookingChange(party_size=4))
    assert bigger.tables == (str(_table(rig, "T4")),)
    assert bigger.party_size == 4 and bigger.start == _at(18, 30)
    assert rig.state.reservations[booking.native_id].title == "Ada Lovelace for 4"


async def test_cancel_unknown_reference_is_not_found(make_rig: MakeRig) -> None:
    rig = await make_rig()
    with pytest.raises(NotFound) as info:
        await rig.provider.cancel_booking("doesnotexist123", None)
    assert info.value.upstream == "librebooking-nyc"
    assert rig.state.logins == 1


async def test_cancel_twice_gives_the_same_cancelled_booking(make_rig: MakeRig) -> None:
    rig = await make_rig(setup=_evening, schedule_ids=["3"])
    booking = await rig.provider.create_booking(_request(_at(19), 2))
    first = await rig.provider.cancel_booking(booking.native_id, "changed plans")
    second = await rig.provider.cancel_booking(booking.native_id, None)
    assert first.status is BookingStatus.CANCELLED and first.provider_status == "deleted"
    assert second == first
    assert rig.state.reservations[booking.native_id].deleted  # soft delete on the server
    assert await rig.provider.get_bookings([booking.native_id, "nope"]) == [first, None]
    start, end = local_day_bounds(DAY, "America/New_York")
    assert await rig.provider.list_bookings(BookingQuery("3", start, end)) == []
    cancelled = await rig.provider.list_bookings(
        BookingQuery("3", start, end, statuses=frozenset({BookingStatus.CANCELLED}))
    )
    assert cancelled == [first]
    slots = await rig.provider.get_availability("3", DAY, 2)
    assert "19:00" in [s.start.strftime("%H:%M") for s in slots]


async def test_status_moves_approve_check_in_check_out(make_rig: MakeRig) -> None:
    rig = await make_rig(setup=_evening, schedule_ids=["3"])
    t6 = _table(rig, "T6")
    # A plain user's booking on a table that requires approval is pending.
    pending = rig.state.add_reservation(
        t6, _at(17), _at(19), owner_id=1, title="User for 5", pending=True
    )
    [booking] = await rig.provider.get_bookings([pending.ref])
    assert booking.status is BookingStatus.PENDING
    approved = await rig.provider.update_booking(
        pending.ref, BookingUpdate(status=BookingStatus.CONFIRMED)
    )
    assert approved.status is BookingStatus.CONFIRMED
    # A real 2.9 server on PHP 8.2 answers check-in/out with a 500 and changes nothing
    # (docs/librebooking-real-server.md): NOT_SUPPORTED, not an unknown outcome.
    with pytest.raises(NotSupported, match="CheckIn"):
        await rig.provider.update_booking(pending.ref, BookingUpdate(status=BookingStatus.ARRIVED))
    [unchanged] = await rig.provider.get_bookings([pending.ref])
    assert unchanged is not None and unchanged.status is BookingStatus.CONFIRMED
    # Checked in and out elsewhere (a server without the bug): the statuses read back.
    stored = rig.state.reservations[pending.ref]
    stored.check_in = stored.check_out = rig.clock.now()
    [done] = await rig.provider.get_bookings([pending.ref])
    assert done is not None and done.status is BookingStatus.COMPLETED
    with pytest.raises(InvalidState) as info:
        await rig.provider.cancel_booking(pending.ref, None)
    assert info.value.code == "NOT_CANCELLABLE"
    with pytest.raises(InvalidState):
        await rig.provider.update_booking(pending.ref, BookingUpdate(status=BookingStatus.PENDING))


async def test_notes_update_keeps_everything_else(make_rig: MakeRig) -> None:
    rig = await make_rig(setup=_evening, schedule_ids=["3"])
    booking = await rig.provider.create_booking(_request(_at(17), 4, key="notes-key"))
    updated = await rig.provider.update_booking(booking.native_id, BookingUpdate(notes="allergies"))
    assert updated.notes == "allergies"
    assert (updated.start, updated.tables, updated.party_size) == (
        booking.start,
        booking.tables,
        booking.party_size,
    )
    again = await rig.provider.find_booking_by_idempotency_key(
        "3", "notes-key", _request(_at(17), 4)
    )
    assert again is not None and again.native_id == booking.native_id


async def test_list_by_day_is_converted_to_the_restaurant_zone(make_rig: MakeRig) -> None:
    rig = await make_rig()
    table = _table(rig, "Table 1", schedule=2)  # Spreeufer Bistro, Europe/Berlin
    r = rig.state.add_reservation(
        table, _at(19, tz=BERLIN), _at(21, tz=BERLIN), owner_id=3, title="Guest for 2"
    )
    start, end = local_day_bounds(DAY, "Europe/Berlin")
    [listed] = await rig.provider.list_bookings(BookingQuery("2", start, end))
    assert listed.start == _at(19, tz=BERLIN) and listed.start.utcoffset() == timedelta(hours=1)
    assert str(listed.start.tzinfo) == "Europe/Berlin"
    assert listed.guest_id == "3" and listed.party_size == 2
    # The single reservation comes in the admin's zone (New York) and is converted too.
    [single] = await rig.provider.get_bookings([r.ref])
    assert single.start == listed.start and str(single.start.tzinfo) == "Europe/Berlin"
    guests = await rig.provider.list_bookings(BookingQuery("2", start, end, guest_id="4"))
    assert guests == []


async def test_guests_are_librebooking_users(make_rig: MakeRig) -> None:
    rig = await make_rig(setup=_evening, schedule_ids=["3"])
    created = await rig.provider.upsert_guest(GuestUpsert("3", ADA))
    again = await rig.provider.upsert_guest(GuestUpsert("3", ADA))
    assert created == again and created.email == "ada@example.org"
    assert [
        g.native_id for g in await rig.provider.get_guests([created.native_id, "999"]) if g
    ] == [created.native_id]
    found = await rig.provider.list_guests("3", "lovelace", 10)
    assert [g.email for g in found] == ["ada@example.org"]
    booking = await rig.provider.create_booking(_request(_at(17), 2))
    assert booking.guest_id == created.native_id
    start, end = local_day_bounds(DAY, "America/New_York")
    theirs = await rig.provider.list_bookings(
        BookingQuery("3", start, end, guest_id=created.native_id)
    )
    assert [b.native_id for b in theirs] == [booking.native_id]


async def test_move_to_another_table_and_out_of_scope_bookings(make_rig: MakeRig) -> None:
    from tablegraph.errors import InvalidInput

    rig = await make_rig(setup=_evening, schedule_ids=["3"])
    booking = await rig.provider.create_booking(_request(_at(20), 2))
    t6 = str(_table(rig, "T6"))
    moved = await rig.provider.update_booking(booking.native_id, BookingUpdate(tables=(t6,)))
    assert moved.tables == (t6,) and moved.start == booking.start
    with pytest.raises(InvalidInput):
        await rig.provider.update_booking(booking.native_id, BookingUpdate(tables=("1",)))
    # A reservation on schedule 1, which this upstream does not expose, reads as not found.
    other = rig.state.add_reservation(1, _at(12), _at(13), title="Elsewhere for 2")
    assert await rig.provider.get_bookings([other.ref]) == [None]


async def test_a_polled_day_is_read_each_time_and_mapped_again_only_when_changed(
    make_rig: MakeRig,
) -> None:
    rig = await make_rig(setup=_evening, schedule_ids=["3"])
    await rig.provider.create_booking(_request(_at(19), 2))
    start, end = local_day_bounds(DAY, "America/New_York")
    query = BookingQuery("3", start, end)
    route = f"GET {PREFIX}/Reservations/"
    before = rig.counts[route]
    first = await rig.provider.list_bookings(query)
    again = await rig.provider.list_bookings(query)
    assert rig.counts[route] == before + 2  # every poll goes upstream
    assert [b.native_id for b in first] == [b.native_id for b in again] != []
    assert all(x is y for x, y in zip(first, again, strict=True))  # the same answer: reused
    answers = rig.provider.runtime.answers(f"{rig.provider.name}.reservation-lists")
    assert answers.hits >= 1

    misses = answers.misses
    await rig.provider.create_booking(_request(_at(20), 4, key="k-2"))
    changed = await rig.provider.list_bookings(query)
    assert len(changed) == len(first) + 1  # a changed answer is mapped again, never stale
    assert answers.misses == misses + 1
