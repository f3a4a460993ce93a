"""Availability computed from Schedules/{id}/Slots: around bookings, buffers, closing time,
minimum notice, every party size, and the DST change in New York (2026-11-01)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from tablegraph.model import GuestData, NewBooking
from tablegraph.simulators.librebooking import LibreBookingState
from tablegraph.timeutil import zone
from tests.providers.librebooking_support import MakeRig, Rig

NY = zone("America/New_York")
DAY = date(2026, 11, 23)


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=NY)


def _evening(state: LibreBookingState) -> None:
    """Schedule 3 (New York, 17:00–22:00, 30-minute slots): T2, T4 (30-minute buffer), T6."""
    s = state.add_schedule("Evening Test", "America/New_York", time(17), time(22))
    assert s.id == 3
    t2 = state.add_resource(3, "T2", 2, location="Bar")
    t4 = state.add_resource(3, "T4", 4, location="Main room", buffer_minutes=30)
    t6 = state.add_resource(3, "T6", 6, location="Main room")
    state.add_reservation(t2.id, _at(DAY, 19), _at(DAY, 21), title="Bar for 2")
    state.add_reservation(t4.id, _at(DAY, 19), _at(DAY, 20), title="Short for 3")
    state.add_reservation(t6.id, _at(DAY, 17), _at(DAY, 19), title="Early for 6")


def _starts(slots: list[Any]) -> list[str]:
    return [s.start.strftime("%H:%M") for s in slots]


EXPECTED = {
    # T2 free 17:00–19:00 and after 21:00 (too late for two hours); T4 blocked by its buffer;
    # T6 free from 19:00, last start 20:00 because the restaurant closes at 22:00.
    1: ["17:00", "19:00", "19:30", "20:00"],
    2: ["17:00", "19:00", "19:30", "20:00"],
    3: ["19:00", "19:30", "20:00"],
    4: ["19:00", "19:30", "20:00"],
    5: ["19:00", "19:30", "20:00"],
    6: ["19:00", "19:30", "20:00"],
    7: [],
}


def _tables_changed(rig: Rig) -> None:
    """Availability reads the tables from a cache (``catalog.TABLES_TTL``): a change shows
    once it expires, or at once when the gateway's cache is dropped, as here."""
    caches = rig.provider.runtime.caches
    assert caches is not None
    assert caches.invalidate(f"{rig.provider.name}.tables") == 1


async def test_availability_for_every_party_size(make_rig: MakeRig) -> None:
    rig = await make_rig(setup=_evening, schedule_ids=["3"])
    for party, expected in EXPECTED.items():
        slots = await rig.provider.get_availability("3", DAY, party)
        assert _starts(slots) == expected, party
        assert all(s.party_size == party for s in slots)
        assert all(s.end - s.start == timedelta(hours=2) for s in slots)
        assert all(s.start.utcoffset() == timedelta(hours=-5) for s in slots)


async def test_areas_are_the_locations_of_free_tables(make_rig: MakeRig) -> None:
    rig = await make_rig(setup=_evening, schedule_ids=["3"])
    slots = {s.start.strftime("%H:%M"): s for s in await rig.provider.get_availability("3", DAY, 2)}
    assert [a.name for a in slots["17:00"].areas] == ["Bar"]
    assert [a.name for a in slots["19:00"].areas] == ["Main room"]


async def test_buffer_time_blocks_adjacent_starts(make_rig: MakeRig) -> None:
    rig = await make_rig(setup=_evening, schedule_ids=["3"])
    # T4's booking 19:00–20:00 with a 30-minute buffer: 17:00–19:00 would touch it.
    assert "17:00" not in _starts(await rig.provider.get_availability("3", DAY, 3))
    t4 = next(r for r in rig.state.resources.values() if r.name == "T4")
    t4.buffer_minutes = 0
    _tables_changed(rig)
    assert _starts(await rig.provider.get_availability("3", DAY, 3)) == [
        "17:00",
        "19:00",
        "19:30",
        "20:00",
    ]


async def test_closing_time_bounds_the_last_start(make_rig: MakeRig) -> None:
    rig = await make_rig(setup=_evening, schedule_ids=["3"], duration_minutes=90)
    slots = await rig.provider.get_availability("3", DAY, 5)
    assert _starts(slots) == ["19:00", "19:30", "20:00", "20:30"]
    assert slots[-1].end == _at(DAY, 22)


async def test_minimum_notice_and_now(make_rig: MakeRig) -> None:
    def setup(state: LibreBookingState) -> None:
        state.add_schedule("Evening Test", "America/New_York", time(17), time(22))
        state.add_resource(3, "T4", 4, min_notice_minutes=60)

    rig = await make_rig(now=_at(DAY, 17, 10), setup=setup, schedule_ids=["3"])
    assert _starts(await rig.provider.get_availability("3", DAY, 2)) == [
        "18:30",
        "19:00",
        "19:30",
        "20:00",
    ]
    next(r for r in rig.state.resources.values() if r.name == "T4").min_notice_minutes = 0
    _tables_changed(rig)
    assert _starts(await rig.provider.get_availability("3", DAY, 2)) == [
        "17:30",
        "18:00",
        "18:30",
        "19:00",
        "19:30",
        "20:00",
    ]


async def test_dst_end_in_new_york(make_rig: MakeRig) -> None:
    """2026-11-01: clocks go back at 02:00; the local day has 25 hours."""
    before, dst_day = date(2026, 10, 31), date(2026, 11, 1)

    def setup(state: LibreBookingState) -> None:
        state.add_schedule("Evening Test", "America/New_York", time(17), time(22))
        t = state.add_resource(3, "T4", 4)
        state.add_reservation(t.id, _at(dst_day, 18), _at(dst_day, 20), title="DST for 2")

    rig = await make_rig(now=datetime(2026, 10, 20, 12, tzinfo=NY), setup=setup, schedule_ids=["3"])
    saturday = await rig.provider.get_availability("3", before, 2)
    sunday = await rig.provider.get_availability("3", dst_day, 2)
    assert _starts(saturday) == ["17:00", "17:30", "18:00", "18:30", "19:00", "19:30", "20:00"]
    assert _starts(sunday) == ["20:00"]
    assert saturday[0].start.utcoffset() == timedelta(hours=-4)
    assert sunday[0].start.utcoffset() == timedelta(hours=-5)
    assert sunday[0].start.astimezone(zone("UTC")).hour == 1  # 20:00 EST = 01:00Z next day
    table = next(r for r in rig.state.resources.values() if r.name == "T4")
    booking_utc = rig.state.on_resource(table.id)[0].start
    assert booking_utc == datetime(2026, 11, 1, 23, tzinfo=zone("UTC"))
    made = await rig.provider.create_booking(
        NewBooking("3", sunday[0].start, 2, GuestData("Ada", "Lovelace"), "dst")
    )
    assert made.start == datetime(2026, 11, 1, 20, tzinfo=NY)
    assert made.start.utcoffset() == timedelta(hours=-5)
    assert rig.state.reservations[made.native_id].start == datetime(
        2026, 11, 2, 1, tzinfo=zone("UTC")
    )
    assert await rig.provider.get_availability("3", dst_day, 2) == []


async def test_party_larger_than_every_table_and_unknown_restaurant(make_rig: MakeRig) -> None:
    from tablegraph.errors import NotFound

    rig = await make_rig(bookings=True)
    assert await rig.provider.get_availability("1", DAY, 9) == []
    try:
        await rig.provider.get_availability("42", DAY, 2)
    except NotFound as exc:
        assert exc.upstream == "librebooking-nyc"
    else:
        raise AssertionError("expected NotFound")


async def test_dst_end_in_berlin_with_an_admin_in_new_york(make_rig: MakeRig) -> None:
    """2026-10-25: Berlin leaves summer time while the session user (New York) does not yet:
    slots come in the user's zone and are read back in the restaurant's."""
    berlin = zone("Europe/Berlin")
    rig = await make_rig(now=datetime(2026, 10, 20, 12, tzinfo=berlin))
    saturday = await rig.provider.get_availability("2", date(2026, 10, 24), 2)
    sunday = await rig.provider.get_availability("2", date(2026, 10, 25), 2)
    for slots, day, offset in ((saturday, 24, 2), (sunday, 25, 1)):
        assert slots[0].start == datetime(2026, 10, day, 12, tzinfo=berlin)
        assert slots[-1].start == datetime(2026, 10, day, 21, tzinfo=berlin)  # closes at 23:00
        assert len(slots) == 19
        assert all(s.start.utcoffset() == timedelta(hours=offset) for s in slots)
        assert all(str(s.start.tzinfo) == "Europe/Berlin" for s in slots)


RESOURCES = "GET /Web/Services/index.php/Resources/"


async def test_availability_reads_the_tables_once_a_write_reads_them_afresh(
    make_rig: MakeRig,
) -> None:
    """Tables are reference data for offering: a search over the same restaurant lists
    ``Resources/`` once; a booking reads them afresh (a table removed meanwhile is never
    booked) and renews what availability uses."""
    rig = await make_rig(setup=_evening, schedule_ids=["3"])
    for party in (2, 3, 4):
        await rig.provider.get_availability("3", DAY, party)
    assert rig.counts[RESOURCES] == 1
    t4 = next(r for r in rig.state.resources.values() if r.name == "T4")
    t4.buffer_minutes = 0  # 17:00 for three opens, once the tables are read again
    assert "17:00" not in _starts(await rig.provider.get_availability("3", DAY, 3))
    guest = GuestData("Ada", "Lovelace", "ada@example.com")
    await rig.provider.create_booking(NewBooking("3", _at(DAY, 20), 2, guest, "k-tables"))
    assert rig.counts[RESOURCES] == 2
    assert "17:00" in _starts(await rig.provider.get_availability("3", DAY, 3))
    assert rig.counts[RESOURCES] == 2
