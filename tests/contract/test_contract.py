"""Behaviours every provider adapter must show, run through each provider's simulator."""

from __future__ import annotations

import uuid
from datetime import UTC, timedelta

import pytest

from tablegraph.errors import NotSupported, UpstreamAuthError
from tablegraph.model import (
    Booking,
    BookingQuery,
    BookingStatus,
    Capability,
    GuestData,
    NewBooking,
)
from tablegraph.timeutil import local_day_bounds, zone

from .conftest import Subject


def _new_booking(restaurant_id: str, slot_start, key: str | None = None) -> NewBooking:
    return NewBooking(
        restaurant_id=restaurant_id,
        start=slot_start,
        party_size=2,
        guest=GuestData(
            first_name="Contract",
            last_name="Tester",
            email=f"contract+{uuid.uuid4().hex[:8]}@example.com",
            phone="+4915112345678",
        ),
        idempotency_key=key or f"contract-{uuid.uuid4()}",
    )


async def test_restaurants_have_zones_and_policies(subject: Subject) -> None:
    restaurants = await subject.provider.list_restaurants()
    assert restaurants, "a seeded simulator exposes restaurants"
    for r in restaurants:
        assert r.upstream == subject.config.name
        zone(r.timezone)  # a real IANA zone
        assert 1 <= r.policy.min_party_size <= r.policy.max_party_size
        assert r.capabilities <= type(subject.provider).capabilities


async def test_batch_restaurant_reads_keep_key_order_and_mark_unknowns(subject: Subject) -> None:
    restaurants = await subject.provider.list_restaurants()
    ids = [r.native_id for r in reversed(restaurants)] + ["no-such-restaurant"]
    got = await subject.provider.get_restaurants(ids)
    assert [g.native_id if g else None for g in got] == [*ids[:-1], None]


async def test_slots_are_aware_in_the_restaurant_zone_and_on_the_local_day(
    subject: Subject,
) -> None:
    restaurant, day, _ = await subject.open_slot()
    slots = await subject.provider.get_availability(restaurant.native_id, day, 2)
    start, _end = local_day_bounds(day, restaurant.timezone)
    for slot in slots:
        assert (
            slot.start.utcoffset() == slot.start.astimezone(zone(restaurant.timezone)).utcoffset()
        )
        assert slot.end > slot.start
        # the slot starts on the requested local date (services may run past midnight)
        assert slot.start.astimezone(zone(restaurant.timezone)).date() >= day
        assert slot.start >= start - timedelta(hours=0)
        assert slot.party_size == 2


async def test_create_is_visible_then_cancel_is_stable(subject: Subject) -> None:
    if not subject.has(Capability.BOOKING_CREATE):
        pytest.skip("provider cannot create bookings")
    restaurant, day, slot = await subject.open_slot()
    created = await subject.provider.create_booking(_new_booking(restaurant.native_id, slot.start))
    assert isinstance(created, Booking)
    assert created.start == slot.start and created.party_size == 2
    assert created.start.utcoffset() is not None
    assert created.status in {BookingStatus.CONFIRMED, BookingStatus.PENDING}

    start, end = local_day_bounds(day, restaurant.timezone)
    listed = await subject.provider.list_bookings(
        BookingQuery(restaurant_id=restaurant.native_id, start=start, end=end)
    )
    assert created.native_id in {b.native_id for b in listed}
    [fetched] = await subject.provider.get_bookings([created.native_id])
    assert isinstance(fetched, Booking) and fetched.native_id == created.native_id

    if not subject.has(Capability.BOOKING_CANCEL):
        return
    first = await subject.provider.cancel_booking(created.native_id, "contract test")
    second = await subject.provider.cancel_booking(created.native_id, "contract test")
    assert first.status == second.status == BookingStatus.CANCELLED
    assert first.native_id == second.native_id == created.native_id


async def test_unknown_booking_reads_as_none(subject: Subject) -> None:
    if not subject.has(Capability.BOOKINGS_READ):
        pytest.skip("provider cannot read bookings")
    got = await subject.provider.get_bookings(["zz-does-not-exist-0"])
    assert got == [None]


async def test_idempotent_create_makes_one_booking(subject: Subject) -> None:
    if not subject.has(Capability.IDEMPOTENT_CREATE):
        pytest.skip("provider has no idempotent create")
    restaurant, _day, slot = await subject.open_slot()
    request = _new_booking(restaurant.native_id, slot.start, key=f"same-{uuid.uuid4()}")
    a = await subject.provider.create_booking(request)
    b = await subject.provider.create_booking(request)
    assert a.native_id == b.native_id


async def test_bad_credentials_are_an_auth_error_naming_the_upstream(subject: Subject) -> None:
    bad = subject.with_bad_credentials()
    try:
        with pytest.raises(UpstreamAuthError) as caught:
            await bad.list_restaurants()
        assert caught.value.upstream == subject.config.name
        assert "wrong-" not in caught.value.message
    finally:
        await bad.close()


async def test_unsupported_operations_raise_not_supported(subject: Subject) -> None:
    declared = type(subject.provider).capabilities
    restaurant = (await subject.provider.list_restaurants())[0]
    if Capability.REVIEWS not in declared:
        with pytest.raises(NotSupported):
            await subject.provider.list_reviews(restaurant.native_id)
    if Capability.WAITLIST not in declared:
        from tablegraph.model import WaitlistRequest

        with pytest.raises(NotSupported):
            await subject.provider.join_waitlist(
                WaitlistRequest(
                    restaurant_id=restaurant.native_id,
                    day=restaurant_day(restaurant),
                    party_size=2,
                    guest=GuestData(first_name="A", last_name="B"),
                )
            )
    if Capability.REVIEWS in declared and Capability.WAITLIST in declared:
        pytest.skip("provider supports every optional capability")


def restaurant_day(restaurant):
    from datetime import datetime

    return datetime.now(UTC).astimezone(zone(restaurant.timezone)).date()


async def test_tables_are_listed_and_bookings_name_them(subject: Subject) -> None:
    """``Restaurant.tables``: every provider that can list tables gives ids, names and seats,
    and a booking's tables are ids from that list (what ``updateBooking(tables:)`` takes);
    the others refuse with ``NotSupported``, never an empty list that looks real."""
    restaurant, _day, slot = await subject.open_slot()
    if not subject.has(Capability.TABLES):
        with pytest.raises(NotSupported):
            await subject.provider.list_tables(restaurant.native_id)
        return
    tables = await subject.provider.list_tables(restaurant.native_id)
    assert tables, "a seeded restaurant has tables"
    assert len({t.native_id for t in tables}) == len(tables)
    assert all(t.upstream == subject.config.name and t.name for t in tables)
    assert all(t.seats is None or t.seats >= 1 for t in tables)
    assert [t.seats or 0 for t in tables] == sorted(t.seats or 0 for t in tables)
    if not subject.has(Capability.BOOKING_CREATE):
        return
    created = await subject.provider.create_booking(_new_booking(restaurant.native_id, slot.start))
    try:
        assert set(created.tables) <= {t.native_id for t in tables}, created.tables
    finally:
        await subject.provider.cancel_booking(created.native_id, None)
