"""The resOS adapter against the resOS simulator over loopback HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from aiohttp import web

from tablegraph.errors import (
    BookingRejected,
    GatewayError,
    IdempotencyConflict,
    InvalidInput,
    InvalidState,
    NotFound,
    NotSupported,
    OutcomeUnknown,
    SlotUnavailable,
    UpstreamAuthError,
)
from tablegraph.model import (
    BookingChange,
    BookingQuery,
    BookingStatus,
    BookingUpdate,
    Capability,
    GuestData,
    NewBooking,
    WaitlistRequest,
)
from tablegraph.providers.resos import ResosProvider
from tablegraph.providers.resos.errors import ERRORS
from tablegraph.simulators.common import REQUEST_COUNTS
from tablegraph.simulators.faults import FAULTS, Fault
from tablegraph.simulators.resos import (
    COPENHAGEN_ID,
    OSLO_ID,
    RESOS_STATE,
    ResosState,
    create_app,
)
from tablegraph.timeutil import local_day_bounds

from .resos_support import FakeTime, GatewayCreates, make_provider

CPH = ZoneInfo("Europe/Copenhagen")
DAY = date(2026, 6, 12)  # a Friday, open for lunch and dinner in Copenhagen


def new_booking(
    start: datetime, key: str = "idem-1", people: int = 2, phone: str | None = "+45 20 30 40 50"
) -> NewBooking:
    return NewBooking(
        restaurant_id=COPENHAGEN_ID,
        start=start,
        party_size=people,
        idempotency_key=key,
        guest=GuestData("Karen", "Blixen", email="karen@example.dk", phone=phone),
        notes="Window table",
    )


@pytest.fixture
def fake() -> FakeTime:
    return FakeTime()


Served = tuple[web.Application, ResosState, ResosProvider]


@pytest.fixture
async def serve(start_server, fake: FakeTime) -> AsyncIterator[Callable[..., Awaitable[Served]]]:
    """``app, state, provider = await serve()``; providers are closed after the test."""
    providers: list[ResosProvider] = []

    async def _serve(**options: object) -> Served:
        app = create_app(0, clock=fake.clock, **options)
        url = await start_server(app)
        provider = make_provider(url, fake)
        providers.append(provider)
        return app, app[RESOS_STATE], provider

    yield _serve
    for provider in providers:
        await provider.close()


async def test_restaurants_come_from_configuration_with_policy(serve, fake) -> None:
    _, _, provider = await serve()
    restaurants = {r.native_id: r for r in await provider.list_restaurants()}
    cph = restaurants[COPENHAGEN_ID]
    assert (cph.name, cph.timezone, cph.city) == (
        "Havnekøkkenet",
        "Europe/Copenhagen",
        "Copenhagen",
    )
    assert cph.policy.slot_interval_minutes == 15
    assert restaurants[OSLO_ID].policy.slot_interval_minutes == 30
    assert restaurants[OSLO_ID].policy.default_duration_minutes == 90
    assert Capability.REVIEWS not in cph.capabilities
    with pytest.raises(NotSupported):
        await provider.list_reviews(COPENHAGEN_ID)


async def test_opening_hours_weekly_and_special(serve, fake) -> None:
    _, _, provider = await serve()
    hours = await provider.get_opening_hours(COPENHAGEN_ID)
    assert {p.day_of_week for p in hours.weekly} == {2, 3, 4, 5, 6, 7}  # closed Mondays
    closed = START_DAY + timedelta(days=10)
    assert [(s.day, s.closed) for s in hours.special_days] == [(closed, True)]


START_DAY = date(2026, 6, 10)


async def test_availability_in_local_zone_and_closed_day_empty(serve, fake) -> None:
    _, _, provider = await serve()
    slots = await provider.get_availability(COPENHAGEN_ID, DAY, 2)
    lunch = [s for s in slots if s.service_name == "Lunch"]
    assert lunch[0].start == datetime(2026, 6, 12, 12, 0, tzinfo=CPH)
    assert lunch[0].end - lunch[0].start == timedelta(minutes=90)  # the period's duration
    assert {s.service_name for s in slots} == {"Lunch", "Dinner"}
    assert await provider.get_availability(COPENHAGEN_ID, date(2026, 6, 15), 2) == []  # Mon
    assert (
        await provider.get_availability(COPENHAGEN_ID, START_DAY + timedelta(days=10), 2) == []
    )  # special closing


async def test_full_times_become_waitlist_slots(serve, fake) -> None:
    _app, state, provider = await serve()
    oslo = state.restaurant(OSLO_ID)
    for table in oslo.tables:  # fill every table at 19:00
        state.add_booking(
            oslo,
            {
                "date": "2026-06-12",
                "time": "19:00",
                "people": 2,
                "status": "approved",
                "tables": [table.id],
                "guest": {"name": "X"},
            },
        )
    slots = await provider.get_availability(OSLO_ID, DAY, 2)
    at_seven = [s for s in slots if s.start.hour == 19 and s.start.minute == 0]
    assert len(at_seven) == 1 and at_seven[0].waitlist_only is True


async def test_250_bookings_in_a_day_come_back_complete(serve, fake) -> None:
    app, state, provider = await serve()
    cph = state.restaurant(COPENHAGEN_ID)
    cph.bookings.clear()
    for i in range(250):
        hhmm = f"{12 + (i % 10) // 4:02d}:{(i % 4) * 15:02d}"
        state.add_booking(
            cph,
            {
                "date": "2026-06-12",
                "time": hhmm,
                "people": 2,
                "status": "approved",
                "guest": {"name": f"G {i}"},
            },
        )
    start, end = local_day_bounds(DAY, "Europe/Copenhagen")
    bookings = await provider.list_bookings(BookingQuery(COPENHAGEN_ID, start, end))
    assert len(bookings) == 250
    assert len({b.native_id for b in bookings}) == 250
    assert app[REQUEST_COUNTS]["GET /v1/bookings"] == 3  # 100 + 100 + 50


async def test_long_range_is_split_into_windows_and_filtered_locally(serve, fake) -> None:
    app, state, provider = await serve()
    start, _ = local_day_bounds(START_DAY, "Europe/Copenhagen")
    end = start + timedelta(days=14)
    every = [b for b in state.restaurant(COPENHAGEN_ID).bookings.values()]
    got = await provider.list_bookings(BookingQuery(COPENHAGEN_ID, start, end))
    assert len(got) == len(every) > 20
    assert app[REQUEST_COUNTS]["GET /v1/bookings"] == 2  # two 7-day windows
    confirmed = await provider.list_bookings(
        BookingQuery(COPENHAGEN_ID, start, end, statuses=frozenset({BookingStatus.CONFIRMED}))
    )
    assert confirmed and all(b.provider_status == "approved" for b in confirmed)
    assert len(confirmed) == sum(1 for b in every if b["status"] == "approved")


async def test_create_rechecks_slot_posts_and_reads_back(serve, fake) -> None:
    app, state, provider = await serve()
    start = datetime(2026, 6, 12, 19, 0, tzinfo=CPH)
    booking = await provider.create_booking(new_booking(start))
    assert booking.start == start and booking.party_size == 2
    assert booking.status is BookingStatus.PENDING and booking.provider_status == "request"
    assert booking.notes == "Window table"
    raw = state.restaurant(COPENHAGEN_ID).bookings[booking.reference or ""]
    assert raw["metadata"] == {"tablegraphIdempotencyKey": "idem-1"}
    assert raw["guest"]["phone"] == "+4520304050" and raw["source"] == "website"
    counts = app[REQUEST_COUNTS]
    assert counts["GET /v1/bookingFlow/times"] == 1 and counts["POST /v1/bookings"] == 1
    assert counts["GET /v1/bookings/{id}"] == 1
    (again,) = await provider.get_bookings([booking.native_id])
    assert again == booking


async def test_create_on_unavailable_time_is_refused_before_posting(serve, fake) -> None:
    app, _, provider = await serve()
    with pytest.raises(SlotUnavailable) as info:
        await provider.create_booking(new_booking(datetime(2026, 6, 12, 16, 0, tzinfo=CPH)))
    assert info.value.code == "SLOT_UNAVAILABLE"
    assert app[REQUEST_COUNTS]["POST /v1/bookings"] == 0


async def test_lost_create_response_is_reconciled_and_never_doubles(serve, fake) -> None:
    app, state, provider = await serve()
    app[FAULTS].add(Fault("drop_response", method="POST", path="^/v1/bookings$", count=1))
    start = datetime(2026, 6, 12, 20, 0, tzinfo=CPH)
    # The gateway finds the lost create by the key's marker (find_booking_by_idempotency_key)
    # and replays the key; the adapter keeps no memory of keys.
    gateway = GatewayCreates()
    first = await gateway.create(provider, new_booking(start, key="lost-1"))
    second = await gateway.create(provider, new_booking(start, key="lost-1"))  # a retry
    assert first.native_id == second.native_id
    stored = [
        b
        for b in state.restaurant(COPENHAGEN_ID).bookings.values()
        if b["metadata"].get("tablegraphIdempotencyKey") == "lost-1"
    ]
    assert len(stored) == 1
    assert app[REQUEST_COUNTS]["POST /v1/bookings"] == 1
    found = await provider.find_booking_by_idempotency_key(
        COPENHAGEN_ID, "lost-1", new_booking(start, key="lost-1")
    )
    assert found is not None and found.native_id == first.native_id
    with pytest.raises(IdempotencyConflict) as info:  # the same key for another request
        await gateway.create(provider, new_booking(start, key="lost-1", people=3))
    assert info.value.code == "IDEMPOTENCY_KEY_REUSED"


async def test_retry_after_a_lost_answer_by_a_fresh_instance_finds_the_booking(serve, fake) -> None:
    _app, _state, provider = await serve()
    start = datetime(2026, 6, 12, 20, 15, tzinfo=CPH)
    made = await provider.create_booking(new_booking(start, key="k-2"))
    other = make_provider(str(provider.config.base_url).removesuffix("/v1"), fake)
    found = await other.find_booking_by_idempotency_key(
        COPENHAGEN_ID, "k-2", new_booking(start, key="k-2")
    )
    assert found is not None and found.native_id == made.native_id
    assert (
        await other.find_booking_by_idempotency_key(
            COPENHAGEN_ID, "k-3", new_booking(start, key="k-3")
        )
        is None
    )
    await other.close()


async def test_cancel_twice_returns_the_same_cancelled_booking(serve, fake) -> None:
    app, _, provider = await serve()
    made = await provider.create_booking(new_booking(datetime(2026, 6, 12, 18, 0, tzinfo=CPH)))
    once = await provider.cancel_booking(made.native_id, None)
    twice = await provider.cancel_booking(made.native_id, None)
    assert once.status is BookingStatus.CANCELLED and once.provider_status == "canceled"
    assert twice == once
    assert app[REQUEST_COUNTS]["PUT /v1/bookings/{id}"] == 1
    assert app[REQUEST_COUNTS]["PATCH /v1/bookings/{id}"] == 0
    assert app[REQUEST_COUNTS]["DELETE /v1/bookings/{id}"] == 0


@pytest.mark.parametrize("status", ["left", "no_show", "declined"])
async def test_final_statuses_are_not_cancellable(serve, fake, status: str) -> None:
    _, state, provider = await serve()
    cph = state.restaurant(COPENHAGEN_ID)
    raw = state.add_booking(
        cph,
        {
            "date": "2026-06-12",
            "time": "12:00",
            "people": 2,
            "status": status,
            "guest": {"name": "A B"},
        },
    )
    with pytest.raises(InvalidState) as info:
        await provider.cancel_booking(f"{COPENHAGEN_ID}/{raw['_id']}", "changed plans")
    assert info.value.code == "NOT_CANCELLABLE"
    assert cph.bookings[raw["_id"]]["status"] == status


async def test_reschedule_rechecks_then_puts(serve, fake) -> None:
    _app, state, provider = await serve()
    made = await provider.create_booking(new_booking(datetime(2026, 6, 12, 12, 0, tzinfo=CPH)))
    later = datetime(2026, 6, 13, 19, 30, tzinfo=CPH)
    moved = await provider.reschedule_booking(
        made.native_id, BookingChange(start=later, party_size=4)
    )
    assert moved.start == later and moved.party_size == 4
    assert moved.end - moved.start == timedelta(minutes=120)  # dinner duration
    raw = state.restaurant(COPENHAGEN_ID).bookings[made.reference or ""]
    assert raw["openingHourName"] == "Dinner"
    with pytest.raises(SlotUnavailable):
        await provider.reschedule_booking(
            made.native_id, BookingChange(start=datetime(2026, 6, 15, 19, 0, tzinfo=CPH))
        )  # a Monday: closed


async def test_update_adds_internal_note_and_changes_status(serve, fake) -> None:
    app, state, provider = await serve()
    made = await provider.create_booking(new_booking(datetime(2026, 6, 12, 13, 0, tzinfo=CPH)))
    updated = await provider.update_booking(
        made.native_id, BookingUpdate(notes="Allergic to nuts", status=BookingStatus.CONFIRMED)
    )
    assert updated.notes == "Allergic to nuts"
    assert updated.status is BookingStatus.CONFIRMED
    raw = state.restaurant(COPENHAGEN_ID).bookings[made.reference or ""]
    assert [n["restaurantNote"] for n in raw["restaurantNotes"]] == ["Allergic to nuts"]
    assert app[REQUEST_COUNTS]["POST /v1/bookings/{id}/restaurantNote"] == 1
    with pytest.raises(NotSupported):
        await provider.update_booking(made.native_id, BookingUpdate(tags=("vip",)))


async def test_same_guest_across_bookings_is_one_guest(serve, fake) -> None:
    _, state, provider = await serve()
    cph = state.restaurant(COPENHAGEN_ID)
    for day, phone in (
        ("2026-06-11", "+4561616161"),
        ("2026-06-12", "+45 61 61 61 61"),
        ("2026-06-13", "004561616161"),
    ):
        state.add_booking(
            cph,
            {
                "date": day,
                "time": "19:00",
                "people": 2,
                "status": "approved",
                "guest": {"name": "Niels Bohr", "phone": phone},
            },
        )
    start, _ = local_day_bounds(date(2026, 6, 11), "Europe/Copenhagen")
    _, end = local_day_bounds(date(2026, 6, 13), "Europe/Copenhagen")
    bookings = [
        b
        for b in await provider.list_bookings(BookingQuery(COPENHAGEN_ID, start, end))
        if b.guest and b.guest.last_name == "Bohr"
    ]
    assert len(bookings) == 3
    assert {b.guest_id for b in bookings} == {f"{COPENHAGEN_ID}/phone:+4561616161"}
    (guest, missing, foreign) = await provider.get_guests(
        [f"{COPENHAGEN_ID}/phone:+4561616161", f"{COPENHAGEN_ID}/phone:+4500000000", "x"]
    )
    assert guest is not None and guest.visit_count == 3
    assert (guest.first_name, guest.last_name, guest.phone) == ("Niels", "Bohr", "+4561616161")
    assert missing is None and foreign is None
    by_guest = await provider.list_bookings(
        BookingQuery(COPENHAGEN_ID, start, end, guest_id=guest.native_id)
    )
    assert [b.start.day for b in by_guest] == [11, 12, 13]
    found = await provider.list_guests(COPENHAGEN_ID, "bohr", 10)
    assert [g.native_id for g in found] == [guest.native_id]
    assert found[0].visit_count == 3
    by_phone = await provider.list_guests(COPENHAGEN_ID, "61 61 61 61", 10)
    assert [g.native_id for g in by_phone] == [guest.native_id]
    three = await provider.list_guests(COPENHAGEN_ID, None, 3)
    assert len(three) == 3
    assert [g.last_name for g in three] == sorted(g.last_name or "" for g in three)


async def test_wrong_key_is_an_auth_error(serve, fake) -> None:
    _app, state, provider = await serve()
    state.restaurants.clear()  # every key is now unknown upstream
    with pytest.raises(UpstreamAuthError):
        await provider.get_availability(COPENHAGEN_ID, DAY, 2)


async def test_unknown_booking_ids_resolve_to_none(serve, fake) -> None:
    _, _, provider = await serve()
    result = await provider.get_bookings(
        [f"{COPENHAGEN_ID}/nopeNopeNope12345", "garbage", "unknownRestaurant/abc"]
    )
    assert result == [None, None, None]


class LosePosts(httpx.AsyncBaseTransport):
    """Cuts the next ``count`` POSTs before they reach resOS (so nothing is stored)."""

    def __init__(self, count: int) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.count = count

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and self.count > 0:
            self.count -= 1
            raise httpx.ReadError("connection reset by peer", request=request)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_lost_post_that_stored_nothing_is_looked_up_then_sent_once_more(
    start_server, fake
) -> None:
    app = create_app(0, clock=fake.clock)
    state = app[RESOS_STATE]
    lose = LosePosts(1)
    provider = make_provider(await start_server(app), fake, transport=lose)
    start = datetime(2026, 6, 12, 21, 0, tzinfo=CPH)
    # The adapter reports a lost POST and never sends it again by itself; looking the key up
    # and sending once more is the gateway's (tablegraph.reconcile.LostCreates) on the retry.
    gateway = GatewayCreates()
    with pytest.raises(OutcomeUnknown):
        await gateway.create(provider, new_booking(start, key="cut-1"))
    assert app[REQUEST_COUNTS]["GET /v1/bookings"] == 1  # looked after the loss: nothing
    booking = await gateway.create(provider, new_booking(start, key="cut-1"))  # the retry
    made = [
        b
        for b in state.restaurant(COPENHAGEN_ID).bookings.values()
        if b["metadata"].get("tablegraphIdempotencyKey") == "cut-1"
    ]
    assert [b["_id"] for b in made] == [booking.reference]
    assert app[REQUEST_COUNTS]["POST /v1/bookings"] == 1
    assert app[REQUEST_COUNTS]["GET /v1/bookings"] == 2  # and the look-up before the retry
    await provider.close()


async def test_unknown_outcome_is_reported_and_the_next_try_looks_first(start_server, fake) -> None:
    app = create_app(0, clock=fake.clock)
    state = app[RESOS_STATE]
    provider = make_provider(await start_server(app), fake, transport=LosePosts(2))
    start = datetime(2026, 6, 12, 21, 15, tzinfo=CPH)
    gateway = GatewayCreates()
    for _ in range(2):  # each try's POST is lost: each is reported, none is sent twice
        with pytest.raises(OutcomeUnknown):
            await gateway.create(provider, new_booking(start, key="cut-2"))
    assert app[REQUEST_COUNTS]["POST /v1/bookings"] == 0
    booking = await gateway.create(provider, new_booking(start, key="cut-2"))
    # A look-up after each loss and one before each retry.
    assert app[REQUEST_COUNTS]["GET /v1/bookings"] == 4
    made = [
        b
        for b in state.restaurant(COPENHAGEN_ID).bookings.values()
        if b["metadata"].get("tablegraphIdempotencyKey") == "cut-2"
    ]
    assert [b["_id"] for b in made] == [booking.reference]
    await provider.close()


async def test_join_waitlist_books_a_waitlist_time(serve, fake) -> None:
    _, state, provider = await serve()
    oslo = state.restaurant(OSLO_ID)
    for table in oslo.tables:  # 19:00 is full, so the waitlist opens there
        state.add_booking(
            oslo,
            {
                "date": "2026-06-12",
                "time": "19:00",
                "people": 2,
                "status": "approved",
                "tables": [table.id],
                "guest": {"name": "X"},
            },
        )
    entry = await provider.join_waitlist(
        WaitlistRequest(
            restaurant_id=OSLO_ID,
            day=DAY,
            party_size=2,
            preferred_time=time(19, 10),
            guest=GuestData("Sigrid", "Undset", phone="+4791234567"),
        )
    )
    assert (entry.status, entry.preferred_time, entry.day) == ("waitlist", time(19, 0), DAY)
    raw = oslo.bookings[entry.native_id.split("/")[1]]
    assert raw["status"] == "waitlist" and raw["tables"] == []
    with pytest.raises(SlotUnavailable):  # Copenhagen keeps no waitlist
        await provider.join_waitlist(
            WaitlistRequest(
                restaurant_id=COPENHAGEN_ID,
                day=DAY,
                party_size=2,
                guest=GuestData("Sigrid", "Undset"),
            )
        )


async def test_a_whole_booking_life_never_sends_patch_or_delete(serve, fake) -> None:
    app, _, provider = await serve()
    made = await provider.create_booking(
        new_booking(datetime(2026, 6, 13, 12, 30, tzinfo=CPH), key="life-1")
    )
    await provider.reschedule_booking(made.native_id, BookingChange(party_size=3))
    await provider.update_booking(made.native_id, BookingUpdate(notes="Birthday", locale="da"))
    done = await provider.cancel_booking(made.native_id, "ill")
    assert (done.status, done.party_size, done.guest and done.guest.locale) == (
        BookingStatus.CANCELLED,
        3,
        "da",
    )
    methods = {key.split(" ")[0] for key in app[REQUEST_COUNTS] if key != "*"}
    assert methods == {"GET", "POST", "PUT"}
    assert app[REQUEST_COUNTS]["PUT /v1/bookings/{id}"] == 3


@pytest.mark.parametrize(
    ("status", "reason", "error", "code", "message"),
    [
        # Source: providers/resos.md, "Status codes seen" and "Error body" (a JSON string).
        (
            400,
            "Bookings cannot be deleted; set status to canceled",
            BookingRejected,
            "REJECTED",
            "Bookings cannot be deleted; set status to canceled",
        ),
        (
            422,
            "Missing required parameter: date",
            InvalidInput,
            "INVALID_INPUT",
            "Missing required parameter: date",
        ),
        (
            422,
            "No available tables",
            SlotUnavailable,
            "SLOT_UNAVAILABLE",
            "the requested time is no longer available",
        ),
        (404, "Not found", NotFound, "NOT_FOUND", "not found at resOS"),
        (
            401,
            "Unauthorized",
            UpstreamAuthError,
            "UPSTREAM_AUTH_FAILED",
            "resOS refused the API key",
        ),
        (409, "", BookingRejected, "REJECTED", "resOS refused the request (409)"),
    ],
)
def test_a_4xx_with_a_resos_body_is_a_definite_refusal_with_its_reason(
    status: int, reason: str, error: type[GatewayError], code: str, message: str
) -> None:
    # A 4xx means resOS did not apply the request: never an unknown outcome (issue #14, 2).
    got = ERRORS.error_for(httpx.Response(status, json=reason), "resos-nordics")
    assert type(got) is error and not isinstance(got, OutcomeUnknown)
    assert (got.code, got.message, got.upstream) == (code, message, "resos-nordics")
    assert got.details["providerStatus"] == status


async def test_a_refused_create_is_reported_as_refused_and_never_sent_again(serve, fake) -> None:
    app, state, provider = await serve()
    app[FAULTS].add(Fault("error", status=400, method="POST", path="^/v1/bookings$", count=1))
    before = len(state.restaurant(COPENHAGEN_ID).bookings)
    start = datetime(2026, 6, 12, 19, 45, tzinfo=CPH)
    with pytest.raises(BookingRejected) as info:
        await GatewayCreates().create(provider, new_booking(start, key="refused-1"))
    assert (info.value.code, info.value.message) == ("REJECTED", "Bad Request")
    assert app[REQUEST_COUNTS]["POST /v1/bookings"] == 1  # refused: not sent again
    assert len(state.restaurant(COPENHAGEN_ID).bookings) == before


async def test_a_polled_day_is_read_each_time_and_mapped_again_only_when_changed(
    serve, fake
) -> None:
    app, state, provider = await serve()
    start, end = local_day_bounds(DAY, "Europe/Copenhagen")
    query = BookingQuery(COPENHAGEN_ID, start, end)
    first = await provider.list_bookings(query)
    again = await provider.list_bookings(query)
    assert app[REQUEST_COUNTS]["GET /v1/bookings"] == 2  # every poll goes upstream
    assert [b.native_id for b in first] == [b.native_id for b in again] != []
    assert all(x is y for x, y in zip(first, again, strict=True))  # the same answer: reused
    answers = provider.runtime.answers(f"{provider.name}.booking-lists")
    assert (answers.hits, answers.misses) == (1, 1)

    state.add_booking(
        state.restaurant(COPENHAGEN_ID),
        {
            "date": DAY.isoformat(),
            "time": "13:00",
            "people": 3,
            "status": "approved",
            "guest": {"name": "New"},
        },
    )
    changed = await provider.list_bookings(query)
    assert len(changed) == len(first) + 1  # a changed answer is mapped again, never stale
    assert answers.misses == 2
