"""Libro bookings and guests through the adapter, against the simulator over loopback."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta

import pytest
from aiohttp import web

from tablegraph.errors import InvalidState, NotSupported, SlotUnavailable
from tablegraph.model import (
    BookingChange,
    BookingQuery,
    BookingStatus,
    BookingUpdate,
    GuestData,
    GuestUpsert,
    NewBooking,
)
from tablegraph.timeutil import local_day_bounds, localize
from tests.providers.libro_support import BISTRO, PLATEAU, libro_env

TZ = "America/Montreal"
DAY = date(2026, 7, 4)


def _seed_day(env, count: int, day: date = DAY) -> list[int]:  # type: ignore[no-untyped-def]
    """``count`` bookings on ``day`` at the bistro, written straight into the state."""
    state = env.state
    state.bookings.clear()
    rest = state.restaurants["4521"]
    people = list(state.people.values())
    ids = []
    for i in range(count):
        start = localize(day, time(11, 0) if i % 2 else time(17, 0), TZ) + timedelta(
            minutes=15 * (i // 2)
        )
        b = state.new_booking(rest, people[i % 4], 2, start, str(1 + i % 8))
        ids.append(b.id)
    return ids


async def test_bookings_of_a_day_spanning_three_pages_come_back_complete(start_server) -> None:
    async with libro_env(start_server, page_size=5) as env:
        ids = _seed_day(env, 12)
        start, end = local_day_bounds(DAY, TZ)
        bookings = await env.provider.list_bookings(BookingQuery(BISTRO, start, end))
        assert sorted(int(b.native_id) for b in bookings) == sorted(ids)
        assert env.count("GET /restricted/restaurant/bookings") == 3  # 5 + 5 + 2
        first = bookings[0]
        assert first.start == datetime(2026, 7, 4, 11, 0, tzinfo=first.start.tzinfo)
        assert first.start.utcoffset() == timedelta(hours=-4)
        assert first.status is BookingStatus.CONFIRMED and first.provider_status == "approved"
        assert first.restaurant_id == BISTRO and first.end - first.start == timedelta(minutes=90)


async def test_a_polled_day_is_read_each_time_and_its_pages_mapped_again_only_when_changed(
    start_server,
) -> None:
    async with libro_env(start_server, page_size=5) as env:
        _seed_day(env, 12)
        start, end = local_day_bounds(DAY, TZ)
        query = BookingQuery(BISTRO, start, end)
        first = await env.provider.list_bookings(query)
        again = await env.provider.list_bookings(query)
        assert env.count("GET /restricted/restaurant/bookings") == 6  # every poll goes upstream
        assert [b.native_id for b in first] == [b.native_id for b in again]
        assert all(x is y for x, y in zip(first, again, strict=True))  # the same pages: reused
        answers = env.provider.runtime.answers(f"{env.provider.name}.booking-pages")
        assert (answers.hits, answers.misses) == (3, 3)

        rest, person = env.state.restaurants["4521"], next(iter(env.state.people.values()))
        added = env.state.new_booking(rest, person, 4, localize(DAY, time(23, 0), TZ), "9")
        changed = await env.provider.list_bookings(query)
        assert [b.native_id for b in changed] == [*(b.native_id for b in first), str(added.id)]
        assert changed[-1].party_size == 4  # a changed page is mapped again, never stale
        assert answers.misses == 3 + 1  # the last page only: the first two are unchanged
        kept = {id(b) for b in first}
        assert sum(id(b) in kept for b in changed) == 10  # the two unchanged pages' rows


async def test_a_listed_row_of_another_restaurant_is_left_to_that_restaurants_list(
    start_server,
) -> None:
    """A row whose relationship names another exposed restaurant is not shown in this one's
    list (a client may reach one restaurant and not the other); the rest of the page is."""

    @web.middleware
    async def misfile(request: web.Request, handler):  # type: ignore[no-untyped-def]
        response = await handler(request)
        if request.method == "GET" and request.path == "/restricted/restaurant/bookings":
            doc = json.loads(response.body)
            doc["data"][0]["relationships"]["restaurant"]["data"]["id"] = "4522"  # the plateau
            return web.json_response(doc)
        return response

    async with libro_env(start_server, middlewares=(misfile,)) as env:
        ids = _seed_day(env, 3)
        start, end = local_day_bounds(DAY, TZ)
        listed = await env.provider.list_bookings(BookingQuery(BISTRO, start, end))
        assert len(listed) == 2 and {b.restaurant_id for b in listed} == {BISTRO}
        assert {int(b.native_id) for b in listed} < set(ids)


async def test_status_filter_maps_the_nine_statuses(start_server) -> None:
    async with libro_env(start_server) as env:
        ids = _seed_day(env, 9)
        raw = [
            "approved",
            "canceled",
            "confirmed",
            "noshow",
            "pending",
            "seated",
            "partial",
            "arrived",
            "completed",
        ]
        for booking_id, status in zip(ids, raw, strict=True):
            env.state.bookings[booking_id].status = status
        start, end = local_day_bounds(DAY, TZ)
        got = {
            b.provider_status: b.status
            for b in await env.provider.list_bookings(BookingQuery(BISTRO, start, end))
        }
        assert got == {
            "approved": BookingStatus.CONFIRMED,
            "canceled": BookingStatus.CANCELLED,
            "confirmed": BookingStatus.CONFIRMED,
            "noshow": BookingStatus.NO_SHOW,
            "pending": BookingStatus.PENDING,
            "seated": BookingStatus.SEATED,
            "partial": BookingStatus.SEATED,
            "arrived": BookingStatus.ARRIVED,
            "completed": BookingStatus.COMPLETED,
        }
        confirmed = await env.provider.list_bookings(
            BookingQuery(BISTRO, start, end, statuses=frozenset({BookingStatus.CONFIRMED}))
        )
        assert sorted(b.provider_status for b in confirmed) == ["approved", "confirmed"]


async def test_get_guests_reads_one_people_page_for_many_guests_of_a_restaurant(
    start_server,
) -> None:
    async with libro_env(start_server) as env:
        _seed_day(env, 12)  # 12 bookings, 4 distinct guests
        start, end = local_day_bounds(DAY, TZ)
        bookings = await env.provider.list_bookings(BookingQuery(BISTRO, start, end))
        guest_ids = [b.guest_id for b in bookings]
        guests = await env.provider.get_guests([*guest_ids, "99999999"])
        # The 4 known guests live at the bistro (their bookings say so): one page of its
        # people; the unknown one is asked of each of the 2 exposed restaurants.
        assert env.count("GET /restricted/people") == 1
        assert env.count("GET /restricted/people/{id}") == 2
        assert [g.native_id for g in guests[:-1]] == guest_ids
        assert guests[-1] is None
        assert guests[0].email and guests[0].email.endswith("@example.ca")
        assert guests[0] == await env.provider._person(guest_ids[0])


async def test_a_people_page_is_read_each_time_and_mapped_again_only_when_changed(
    start_server,
) -> None:
    async with libro_env(start_server) as env:
        _seed_day(env, 12)
        start, end = local_day_bounds(DAY, TZ)
        bookings = await env.provider.list_bookings(BookingQuery(BISTRO, start, end))
        guest_ids = [b.guest_id for b in bookings]
        first = await env.provider.get_guests(guest_ids)
        again = await env.provider.get_guests(guest_ids)
        assert env.count("GET /restricted/people") == 2  # every batch reads the page
        assert all(x is y for x, y in zip(first, again, strict=True))  # same bytes: reused
        answers = env.provider.runtime.answers(f"{env.provider.name}.people-pages")
        assert (answers.hits, answers.misses) == (1, 1)

        assert first[0] is not None
        env.state.people[int(first[0].native_id)].first_name = "Renamed"
        changed = await env.provider.get_guests(guest_ids)
        assert changed[0] is not None and changed[0].first_name == "Renamed"  # never stale
        assert answers.misses == 2


async def test_get_guests_reads_one_by_one_what_the_first_pages_lack(start_server) -> None:
    """Pages of 5, newest first (18476012…): two pages reach 18476003; the two oldest
    guests are read by id. Fewer than four guests are read by id straight away."""
    async with libro_env(start_server, page_size=5) as env:
        _seed_day(env, 4)  # guests 18476001..18476004
        start, end = local_day_bounds(DAY, TZ)
        bookings = await env.provider.list_bookings(BookingQuery(BISTRO, start, end))
        guest_ids = [b.guest_id for b in bookings]
        guests = await env.provider.get_guests(guest_ids)
        assert [g.native_id for g in guests] == guest_ids
        assert sorted(guest_ids) == [str(18476001 + i) for i in range(4)]
        assert env.count("GET /restricted/people") == 2
        assert env.count("GET /restricted/people/{id}") == 2
        few = await env.provider.get_guests(guest_ids[:3])
        assert [g.native_id for g in few] == guest_ids[:3]
        assert env.count("GET /restricted/people") == 2
        assert env.count("GET /restricted/people/{id}") == 2 + 3


async def test_get_bookings_in_key_order_with_none_for_unknown(start_server) -> None:
    async with libro_env(start_server) as env:
        ids = _seed_day(env, 3)
        got = await env.provider.get_bookings([str(ids[2]), "1", str(ids[0])])
        assert got[0].native_id == str(ids[2]) and got[2].native_id == str(ids[0])
        assert got[1] is None
        assert got[0].restaurant_id == BISTRO


async def test_create_embeds_a_new_person_and_reuses_a_known_one(start_server) -> None:
    spy: list[dict] = []

    @web.middleware
    async def capture(request: web.Request, handler):  # type: ignore[no-untyped-def]
        if request.method == "POST" and request.path.endswith("/bookings"):
            spy.append(await request.json())
        return await handler(request)

    async with libro_env(start_server, middlewares=(capture,)) as env:
        env.state.bookings.clear()
        provider = env.provider
        start = localize(DAY, time(12, 0), TZ)
        new = NewBooking(
            BISTRO,
            start,
            2,
            GuestData("John", "Doe", "john@doe.com", "5141111111", "en"),
            "k1",
            "Birthday",
        )
        made = await provider.create_booking(new)
        assert made.start == start and made.party_size == 2
        assert made.status is BookingStatus.CONFIRMED and made.notes == "Birthday"
        person = spy[0]["data"]["relationships"]["person"]["data"]
        assert person["attributes"]["first-name"] == "John"  # kebab-case, per the table
        assert spy[0]["data"]["attributes"]["time"] == "12:00:00"
        assert spy[0]["restaurant-code"] == BISTRO
        again = await provider.create_booking(
            NewBooking(
                BISTRO,
                start + timedelta(hours=1),
                2,
                GuestData("John", "Doe", "john@doe.com"),
                "k2",
            )
        )
        assert spy[1]["data"]["relationships"]["person"]["data"] == {
            "type": "people",
            "id": int(made.guest_id or 0),
        }
        assert again.guest_id == made.guest_id
        found = await provider.find_booking_by_idempotency_key(BISTRO, "k1", new)
        assert found is not None and found.native_id == made.native_id


async def test_every_call_sends_accept_and_restaurant_code(start_server) -> None:
    seen: list[tuple[str, str, str | None, bool]] = []

    @web.middleware
    async def capture(request: web.Request, handler):  # type: ignore[no-untyped-def]
        code = request.query.get("restaurant-code") is not None
        if request.body_exists and request.path.startswith("/restricted/"):
            code = code or "restaurant-code" in await request.json()
        seen.append((request.method, request.path, request.headers.get("Accept"), code))
        return await handler(request)

    async with libro_env(start_server, middlewares=(capture,)) as env:
        p = env.provider
        booking_id = str(_seed_day(env, 2)[0])
        start, end = local_day_bounds(DAY, TZ)
        fresh = env.new_provider()
        try:
            await fresh.get_bookings([booking_id])  # restaurant not known yet
        finally:
            await fresh.close()
        listed = await p.list_bookings(BookingQuery(BISTRO, start, end))
        await p.get_guests([b.guest_id for b in listed])
        await p.get_availability(BISTRO, DAY, 2)
        made = await p.create_booking(
            NewBooking(
                BISTRO,
                localize(DAY, time(13, 0), TZ),
                2,
                GuestData("Zoé", "Roy", "zoe@roy.ca", "5145550199"),
                "k",
            )
        )
        await p.update_booking(made.native_id, BookingUpdate(notes="n"))
        await p.reschedule_booking(made.native_id, BookingChange(party_size=3))
        await p.cancel_booking(made.native_id, None)
        await p.list_guests(BISTRO, "zoe@roy.ca", 5)
        await p.list_reviews(BISTRO)
        restricted = [s for s in seen if s[1].startswith("/restricted/")]
        assert {s[2] for s in restricted} == {"application/vnd.libro-restricted-v2+json"}
        scoped = [
            s
            for s in restricted
            if s[1].startswith(("/restricted/restaurant/", "/restricted/people"))
        ]
        assert len(scoped) >= 12
        assert [s for s in scoped if not s[3]] == []


async def test_reconcile_an_ambiguous_create_by_guest_time_and_size(start_server) -> None:
    async with libro_env(start_server) as env:
        env.state.bookings.clear()
        start = localize(DAY, time(12, 0), TZ)
        new = NewBooking(
            BISTRO, start, 3, GuestData("Ann", "Roy", "ann@roy.ca", "5145550000"), "lost-key"
        )
        made = await env.provider.create_booking(new)
        fresh = env.new_provider()  # knows nothing of the key
        try:
            found = await fresh.find_booking_by_idempotency_key(BISTRO, "lost-key", new)
            assert found is not None and found.native_id == made.native_id
            other = NewBooking(BISTRO, start, 2, new.guest, "other")
            assert await fresh.find_booking_by_idempotency_key(BISTRO, "other", other) is None
        finally:
            await fresh.close()


async def test_create_consumes_availability(start_server) -> None:
    async with libro_env(start_server) as env:
        env.state.bookings.clear()
        start = localize(DAY, time(12, 0), TZ)
        guest = GuestData("Big", "Party", "big@party.ca", "5145550001")
        await env.provider.create_booking(NewBooking(BISTRO, start, 8, guest, "a"))
        slots = await env.provider.get_availability(BISTRO, DAY, 8)
        assert start not in {s.start for s in slots}
        with pytest.raises(SlotUnavailable) as err:
            await env.provider.create_booking(NewBooking(BISTRO, start, 8, guest, "b"))
        assert err.value.code == "SLOT_UNAVAILABLE" and err.value.upstream == "libro-montreal"
        assert err.value.details["providerCode"] == "2004"


async def test_update_reschedule_cancel(start_server) -> None:
    async with libro_env(start_server) as env:
        booking_id = str(_seed_day(env, 1)[0])
        updated = await env.provider.update_booking(
            booking_id, BookingUpdate(notes="Window please", tags=("birthday",), locale="fr")
        )
        assert updated.notes == "Window please" and updated.tags == ("birthday",)
        with pytest.raises(NotSupported):
            await env.provider.update_booking(
                booking_id, BookingUpdate(status=BookingStatus.SEATED)
            )
        new_start = localize(DAY, time(19, 30), TZ)
        moved = await env.provider.reschedule_booking(
            booking_id, BookingChange(start=new_start, party_size=4)
        )
        assert moved.start == new_start and moved.party_size == 4
        assert env.count("PUT /restricted/restaurant/bookings/{id}/reschedule") == 1
        cancelled = await env.provider.cancel_booking(booking_id, "ill")
        assert cancelled.status is BookingStatus.CANCELLED
        assert cancelled.provider_status == "canceled"
        assert env.state.bookings[int(booking_id)].status == "canceled"


async def test_cancel_after_the_deadline_is_refused_before_calling(start_server) -> None:
    async with libro_env(start_server) as env:
        booking_id = str(_seed_day(env, 1)[0])  # DAY 17:00; cancelation-delay is 24 h
        env.clock.set(localize(DAY - timedelta(days=1), time(17, 30), TZ))
        with pytest.raises(InvalidState) as err:
            await env.provider.cancel_booking(booking_id, None)
        assert err.value.code == "NOT_CANCELLABLE"
        assert env.count("DELETE /restricted/restaurant/bookings/{id}") == 0


async def test_modification_restricted_is_refused_before_calling(start_server) -> None:
    async with libro_env(start_server) as env:
        booking_id = int(_seed_day(env, 1)[0])
        env.state.bookings[booking_id].size = 14  # above the online maximum of 12
        with pytest.raises(InvalidState) as err:
            await env.provider.reschedule_booking(str(booking_id), BookingChange(party_size=2))
        assert err.value.code == "MODIFICATION_RESTRICTED"
        assert err.value.details["reason"] == "validation.service.party-size-exceeds-maximum"
        with pytest.raises(InvalidState) as err2:
            await env.provider.cancel_booking(str(booking_id), None)
        assert err2.value.code == "MODIFICATION_RESTRICTED"
        assert env.count("PUT /restricted/restaurant/bookings/{id}/reschedule") == 0
        assert env.count("DELETE /restricted/restaurant/bookings/{id}") == 0


async def test_guests_search_and_update(start_server) -> None:
    async with libro_env(start_server) as env:
        person = next(iter(env.state.people.values()))
        by_mail = await env.provider.list_guests(PLATEAU, person.email, 10)
        assert [g.native_id for g in by_mail] == [str(person.id)]
        by_phone = await env.provider.list_guests(PLATEAU, person.phone, 10)
        assert [g.native_id for g in by_phone] == [str(person.id)]
        by_name = await env.provider.list_guests(PLATEAU, person.first_name, 10)
        assert str(person.id) in [g.native_id for g in by_name]
        updated = await env.provider.upsert_guest(
            GuestUpsert(PLATEAU, GuestData(person.first_name, "Nouveau", person.email), notes="VIP")
        )
        assert updated.last_name == "Nouveau" and updated.notes == "VIP"
        assert env.state.people[person.id].last_name == "Nouveau"
        with pytest.raises(NotSupported):
            await env.provider.upsert_guest(
                GuestUpsert(PLATEAU, GuestData("No", "Body", "nobody@example.ca"))
            )


async def test_a_new_guest_needs_email_and_phone(start_server) -> None:
    from tablegraph.errors import InvalidInput

    async with libro_env(start_server) as env:
        with pytest.raises(InvalidInput) as err:
            await env.provider.create_booking(
                NewBooking(
                    BISTRO,
                    localize(DAY, time(12, 0), TZ),
                    2,
                    GuestData("No", "Phone", "no@phone.ca"),
                    "k",
                )
            )
        assert err.value.field == ("guest",)
        assert env.count("POST /restricted/restaurant/bookings") == 0


async def test_a_range_over_two_days_uses_started_after_and_before(start_server) -> None:
    seen: list[dict[str, str]] = []

    @web.middleware
    async def capture(request: web.Request, handler):  # type: ignore[no-untyped-def]
        if request.path == "/restricted/restaurant/bookings":
            seen.append(dict(request.query))
        return await handler(request)

    async with libro_env(start_server, middlewares=(capture,)) as env:
        first = _seed_day(env, 2)
        rest, person = env.state.restaurants["4521"], next(iter(env.state.people.values()))
        next_day = env.state.new_booking(
            rest, person, 2, localize(DAY + timedelta(days=1), time(12), TZ), "1"
        )
        start, _ = local_day_bounds(DAY, TZ)
        _, end = local_day_bounds(DAY + timedelta(days=1), TZ)
        got = await env.provider.list_bookings(BookingQuery(BISTRO, start, end))
        assert sorted(int(b.native_id) for b in got) == sorted([*first, next_day.id])
        assert "date" not in seen[0]
        assert seen[0]["started-after"] == "2026-07-04T00:00:00-04:00"
        assert seen[0]["started-before"] == "2026-07-06T00:00:00-04:00"


async def test_a_lost_create_is_found_by_its_marker_not_by_guest_and_time(start_server) -> None:
    """Libro dedupes people by e-mail or phone, so two creates for one guest at one time are
    indistinguishable but for the marker the adapter leaves in the note (a hash of the key)."""
    notes: list[str] = []

    @web.middleware
    async def capture(request: web.Request, handler):  # type: ignore[no-untyped-def]
        if request.method == "POST" and request.path.endswith("/bookings"):
            notes.append((await request.json())["data"]["attributes"]["note"])
        return await handler(request)

    async with libro_env(start_server, middlewares=(capture,)) as env:
        env.state.bookings.clear()
        start = localize(DAY, time(12, 0), TZ)
        guest = GuestData("Ann", "Roy", "ann@roy.ca", "5145550000")
        first = await env.provider.create_booking(NewBooking(BISTRO, start, 2, guest, "first"))
        other_email = GuestData("Ann", "Roy", "ann.roy@work.ca", "5145550000")
        second_request = NewBooking(BISTRO, start, 2, other_email, "second", "Window")
        second = await env.provider.create_booking(second_request)
        assert second.guest_id == first.guest_id  # the same Libro person (same phone)
        assert second.notes == "Window" and first.notes is None
        assert all("[tablegraph:" in n and "second" not in n for n in notes)
        fresh = env.new_provider()
        try:
            found = await fresh.find_booking_by_idempotency_key(BISTRO, "second", second_request)
            assert found is not None and found.native_id == second.native_id
            third = NewBooking(BISTRO, start, 2, guest, "third")
            assert await fresh.find_booking_by_idempotency_key(BISTRO, "third", third) is None
        finally:
            await fresh.close()
