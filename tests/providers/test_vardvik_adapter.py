"""Vardvik adapter quirks, against the simulator over loopback (payload shapes: rest-v1.md)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from tablegraph.errors import BookingRejected, UpstreamAuthError
from tablegraph.model import BookingQuery, GuestData, NewBooking
from tablegraph.providers.vardvik import VardvikProvider
from tablegraph.settings import Secret
from tablegraph.simulators.common import REQUEST_COUNTS
from tablegraph.simulators.vardvik import VARDVIK_STATE, create_app, demo_upstreams


def _next_wednesday() -> date:
    day = datetime.now(UTC).date() + timedelta(days=8)
    while day.isoweekday() != 3:
        day += timedelta(days=1)
    return day


@pytest.fixture
async def berlin(start_server):
    app = create_app(3, rate_limit_per_minute=10_000)
    url = await start_server(app)
    config = demo_upstreams(url)[0]
    providers: list[VardvikProvider] = []

    def make(**changes) -> VardvikProvider:
        provider = VardvikProvider(replace(config, **changes))
        providers.append(provider)
        return provider

    yield app, config, make
    for p in providers:
        await p.close()


async def test_a_missing_scope_is_an_auth_error_naming_the_scope(berlin) -> None:
    app, _config, make = berlin
    readonly = make(credentials={"api_key": Secret("readonly-key")})
    restaurant = (await readonly.list_restaurants())[0]
    day = _next_wednesday()
    slot = (await readonly.get_availability(restaurant.native_id, day, 2))[0]
    before = app[VARDVIK_STATE].reservation_count()
    with pytest.raises(UpstreamAuthError) as caught:
        await readonly.create_booking(
            NewBooking(restaurant.native_id, slot.start, 2, GuestData("A", "B", "a@b.c"), "k-1")
        )
    assert caught.value.details["requiredScope"] == "reservations:write"
    assert "reservations:write" in caught.value.message
    assert "readonly-key" not in caught.value.message
    assert app[VARDVIK_STATE].reservation_count() == before


async def test_an_unknown_4xx_refusal_is_rejected_with_vardviks_reason(berlin) -> None:
    """Issue #14 item 2 for Vardvik: a 4xx in Vardvik's envelope is a definite "not applied"."""
    app, _config, make = berlin
    provider = make()
    restaurant = (await provider.list_restaurants())[0]
    slot = (await provider.get_availability(restaurant.native_id, _next_wednesday(), 2))[0]
    state = app[VARDVIK_STATE]
    before = state.reservation_count()
    state.inject_fault(409, "deposit_required", match="POST /api/v1/restaurants/rst_1/reservations")
    with pytest.raises(BookingRejected) as caught:
        await provider.create_booking(
            NewBooking(restaurant.native_id, slot.start, 2, GuestData("A", "B", "a@b.c"), "k-2")
        )
    assert caught.value.code == "REJECTED"
    assert caught.value.message == "simulated failure"  # the simulator's reason, passed on
    assert caught.value.details["providerCode"] == "deposit_required"
    assert state.reservation_count() == before


async def test_availability_through_the_search_form_matches_the_get_form(berlin) -> None:
    app, config, make = berlin
    via_get = make()
    via_post = make(options={**config.options, "availability_via_post": True})
    restaurant = (await via_get.list_restaurants())[0]
    day = _next_wednesday()
    counts = app[REQUEST_COUNTS]
    got = await via_get.get_availability(restaurant.native_id, day, 4)
    posted = await via_post.get_availability(restaurant.native_id, day, 4)
    assert got == posted and got
    assert counts["POST /api/v1/restaurants/{restaurantId}/availability/search"] == 1
    assert counts["GET /api/v1/restaurants/{restaurantId}/availability"] == 1


async def test_webhook_test_event_reaches_subscribers(berlin, start_server) -> None:
    from aiohttp import web

    app, _config, make = berlin
    received: list[str] = []

    async def receive(request: web.Request) -> web.Response:
        received.append(request.headers["x-webhook-event"])
        return web.Response(status=204)

    receiver = web.Application()
    receiver.router.add_post("/hook", receive)
    hook_url = await start_server(receiver)
    app[VARDVIK_STATE].add_webhook("rst_1", hook_url + "/hook", "whsec")
    provider = make()
    restaurant = (await provider.list_restaurants())[0]
    deliveries = await provider.send_test_webhook(restaurant.native_id, "reservation.created")
    await app[VARDVIK_STATE].drain_webhooks()
    assert received == ["reservation.created"]
    assert len(deliveries) == 1


async def test_a_webhook_with_a_malformed_url_is_logged_as_failed(berlin) -> None:
    app, _config, make = berlin
    state = app[VARDVIK_STATE]
    state.add_webhook("rst_1", "http://127.0.0.1:notaport/hook", "whsec")
    provider = make()
    restaurant = (await provider.list_restaurants())[0]
    await provider.send_test_webhook(restaurant.native_id, "reservation.created")
    await state.drain_webhooks()
    assert [d["status"] for d in state.deliveries] == ["failed"]


async def test_a_polled_day_is_read_each_time_and_mapped_again_only_when_changed(berlin) -> None:
    app, _config, make = berlin
    provider = make()
    restaurant = (await provider.list_restaurants())[0]
    day = _next_wednesday()
    slots = await provider.get_availability(restaurant.native_id, day, 2)
    start = slots[0].start.replace(hour=0, minute=0)
    query = BookingQuery(restaurant.native_id, start, start + timedelta(days=1))
    await provider.create_booking(
        NewBooking(restaurant.native_id, slots[0].start, 2, GuestData("A", "B", "a@b.c"), "k-p1")
    )
    counts = app[REQUEST_COUNTS]
    lists = "GET /api/v1/restaurants/{restaurantId}/reservations"
    first = await provider.list_bookings(query)
    again = await provider.list_bookings(query)
    assert counts[lists] == 2  # every poll goes upstream
    assert [b.native_id for b in first] == [b.native_id for b in again] != []
    assert all(x is y for x, y in zip(first, again, strict=True))  # the same answer: reused
    answers = provider.runtime.answers(f"{provider.name}.reservation-lists")
    assert (answers.hits, answers.misses) == (1, 1)

    await provider.create_booking(
        NewBooking(restaurant.native_id, slots[-1].start, 2, GuestData("C", "D", "c@d.e"), "k-p2")
    )
    changed = await provider.list_bookings(query)
    assert len(changed) == len(first) + 1  # a changed answer is mapped again, never stale
    assert answers.misses == 2
