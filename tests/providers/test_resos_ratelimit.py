"""resOS request budget: per key, per fixed calendar minute; Retry-After in milliseconds."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tablegraph.errors import UpstreamRateLimited
from tablegraph.model import GuestData, NewBooking
from tablegraph.providers.resos.governor import MUTATION, READ, RateGovernor
from tablegraph.simulators.resos import COPENHAGEN_ID, RESOS_STATE, create_app

from .resos_support import START, FakeTime, make_provider

CPH = ZoneInfo("Europe/Copenhagen")
DAY = date(2026, 6, 12)
MINUTE = int(START.timestamp() // 60)
SKEW = timedelta(seconds=20)


async def test_retry_after_1500_means_one_and_a_half_seconds(start_server) -> None:
    # Source: seeds/resos-api.txt, "Request limiting": "Retry-After: Time in ms until reset".
    fake = FakeTime(START.replace(second=58, microsecond=500_000))  # 1.5 s before the reset
    app = create_app(0, clock=fake.clock, rate_limit=1)
    state = app[RESOS_STATE]
    provider = make_provider(await start_server(app), fake, rate_limit_per_minute=1000)
    ids = [f"{COPENHAGEN_ID}/{i}" for i in list(state.restaurant(COPENHAGEN_ID).bookings)[:2]]
    (first,) = await provider.get_bookings(ids[:1])
    (second,) = await provider.get_bookings(ids[1:])  # 429, waits, retried in a new minute
    assert first is not None and second is not None
    assert state.status_counts[429] == 1
    assert fake.sleeps == [1.5]
    await provider.close()


async def test_burst_of_300_reads_never_draws_a_429_and_mutation_jumps_queue(
    start_server,
) -> None:
    fake = FakeTime()
    app = create_app(0, clock=fake.clock)  # the real limit: 100 per key per minute
    state = app[RESOS_STATE]
    provider = make_provider(await start_server(app), fake)  # budget 100 per minute
    governor = provider.governors["key_copenhagen"]
    fake.settled = lambda: len(state.log) == sum(governor.granted.values())
    fake.gate = asyncio.Event()

    reads = [
        asyncio.create_task(provider.get_availability(COPENHAGEN_ID, DAY, 2)) for _ in range(300)
    ]
    for _ in range(5000):  # until the first minute's budget is spent and the rest queue
        if fake.sleeping and len(state.log) == 100:
            break
        await asyncio.sleep(0.001)
    assert governor.waiting[READ] == 201 and governor.remaining() == 0
    assert provider.health_details()["rateBudget"][COPENHAGEN_ID]["remaining"] == 0

    create = asyncio.create_task(
        provider.create_booking(
            NewBooking(
                restaurant_id=COPENHAGEN_ID,
                start=datetime(2026, 6, 12, 19, 0, tzinfo=CPH),
                party_size=2,
                idempotency_key="burst-1",
                guest=GuestData("Tycho", "Brahe"),
            )
        )
    )
    for _ in range(5000):
        if governor.waiting[MUTATION]:
            break
        await asyncio.sleep(0.001)
    fake.gate.set()  # let the minute pass

    slots = await asyncio.gather(*reads)
    booking = await create
    assert all(len(s) == 30 for s in slots)  # 12 lunch + 18 dinner times each
    assert booking.reference is not None
    assert state.status_counts.get(429, 0) == 0

    by_minute: dict[int, list[tuple[str, str]]] = {}
    for minute, method, path, _ in state.log:
        by_minute.setdefault(minute - MINUTE, []).append((method, path))
    # 300 reads + 1 opening-hours fetch (single flight) + the create's re-check, POST, GET.
    assert [len(by_minute[m]) for m in sorted(by_minute)] == [100, 100, 100, 4]
    times = ("GET", "/v1/bookingFlow/times")
    assert ("GET", "/v1/openingHours") in by_minute[0]
    # Minute 1: the create's slot re-check went ahead of 200 reads queued before it.
    assert by_minute[1].count(times) == 100
    # Minute 2: its POST went ahead of the remaining reads; minute 3: its read-back.
    assert ("POST", "/v1/bookings") in by_minute[2] and by_minute[2].count(times) == 99
    assert ("GET", f"/v1/bookings/{booking.reference}") in by_minute[3]
    assert by_minute[3].count(times) == 3  # the last reads: 300 - 99 * 3
    await provider.close()


async def test_governor_grants_mutations_before_queued_reads() -> None:
    fake = FakeTime()
    fake.gate = asyncio.Event()
    governor = RateGovernor(2, now=fake.now, sleep=fake.sleep)
    order: list[str] = []

    async def ask(name: str, priority: int) -> None:
        await governor.acquire(priority)
        order.append(name)

    tasks = [asyncio.create_task(ask(f"read{i}", READ)) for i in range(4)]
    await asyncio.sleep(0)
    tasks.append(asyncio.create_task(ask("write", MUTATION)))
    await asyncio.sleep(0)
    assert order == ["read0", "read1"] and governor.remaining() == 0
    assert governor.details()["queued"] == 3
    fake.gate.set()
    await asyncio.gather(*tasks)
    assert order == ["read0", "read1", "write", "read2", "read3"]
    assert fake.sleeps == [59.0, 60.0]  # to the next calendar minute, then the one after
    governor.close()


async def test_governor_window_is_the_calendar_minute() -> None:
    fake = FakeTime(START.replace(second=59))
    governor = RateGovernor(3, now=fake.now, sleep=fake.sleep)
    for _ in range(3):
        await governor.acquire(READ)
    assert governor.remaining() == 0 and governor.resets_in() == 1.0
    fake.clock.advance(1)
    assert governor.remaining() == 3  # a fixed window, not a minute from the first request
    await governor.acquire(READ)
    governor.exhaust(2.5)  # a 429 said "the limit resets in 2.5 s"
    assert governor.remaining() == 0 and governor.resets_in() == 2.5
    fake.clock.advance(2.5)
    assert governor.remaining() == 3  # the upstream's window has reset
    governor.close()


async def test_a_refused_post_waits_for_the_reset_and_is_sent_once_more(start_server) -> None:
    fake = FakeTime(START.replace(second=58))  # 2 s before the reset
    app = create_app(0, clock=fake.clock, rate_limit=2)
    state = app[RESOS_STATE]
    provider = make_provider(await start_server(app), fake, rate_limit_per_minute=1000)
    some = next(iter(state.restaurant(COPENHAGEN_ID).bookings))
    await provider.get_bookings([f"{COPENHAGEN_ID}/{some}"])  # 1 of 2
    booking = await provider.create_booking(
        NewBooking(  # re-check 2 of 2, POST → 429
            restaurant_id=COPENHAGEN_ID,
            start=datetime(2026, 6, 12, 19, 0, tzinfo=CPH),
            party_size=2,
            idempotency_key="late-1",
            guest=GuestData("Hans", "Andersen"),
        )
    )
    assert state.status_counts[429] == 1 and fake.sleeps == [2.0]
    made = [
        b
        for b in state.restaurant(COPENHAGEN_ID).bookings.values()
        if b["metadata"].get("tablegraphIdempotencyKey") == "late-1"
    ]
    assert [b["_id"] for b in made] == [booking.reference]
    await provider.close()


async def test_a_429_from_a_key_shared_elsewhere_holds_the_queue_until_reset(
    start_server,
) -> None:
    fake = FakeTime()  # 08:00:01, the reset is 59 s away: longer than the client will wait
    app = create_app(0, clock=fake.clock)
    state = app[RESOS_STATE]
    provider = make_provider(await start_server(app), fake)
    cph = state.restaurant(COPENHAGEN_ID)
    cph.window, cph.used = MINUTE, 100  # another process spent this minute's requests
    with pytest.raises(UpstreamRateLimited) as info:
        await provider.get_availability(COPENHAGEN_ID, DAY, 2)
    assert info.value.retry_after == 59.0
    budget = provider.health_details()["rateBudget"][COPENHAGEN_ID]
    assert budget["remaining"] == 0 and budget["resetsInSeconds"] == 59.0
    slots = await provider.get_availability(COPENHAGEN_ID, DAY, 2)  # waits in the queue
    assert len(slots) == 30
    assert state.status_counts[429] == 2  # the two requests of the first call, no more
    assert fake.sleeps == [59.0]
    await provider.close()


async def test_budget_window_follows_the_upstream_minute_despite_clock_skew(
    start_server,
) -> None:
    fake = FakeTime()  # resOS' clock: 08:00:01, its minute ends in 59 s
    app = create_app(0, clock=fake.clock)
    state = app[RESOS_STATE]
    # The gateway's clock runs 20 s late: its own minute would end in 19 s.
    provider = make_provider(await start_server(app), fake, now=lambda: fake.clock.now() - SKEW)
    governor = provider.governors["key_copenhagen"]
    # Time moves on only once every granted request has been answered (and its Retry-After
    # seen): the answers take milliseconds of a minute.
    fake.settled = lambda: provider.requests_sent == sum(governor.granted.values())
    reads = await asyncio.gather(
        *(provider.get_availability(COPENHAGEN_ID, DAY, 2) for _ in range(150))
    )
    assert all(len(r) == 30 for r in reads)
    assert state.status_counts.get(429, 0) == 0
    # It first slept to its own minute's end; by then resOS' Retry-After had re-aligned the
    # window, so it went on waiting for resOS' reset instead of sending into a full minute.
    assert fake.sleeps == [19.0, 40.0]
    minutes = [m - MINUTE for m, *_ in state.log]
    assert (minutes.count(0), minutes.count(1)) == (100, 51)
    await provider.close()


async def test_start_aligns_the_window_before_the_first_burst(start_server) -> None:
    fake = FakeTime()
    app = create_app(0, clock=fake.clock)
    provider = make_provider(await start_server(app), fake, now=lambda: fake.clock.now() - SKEW)
    governor = provider.governors["key_copenhagen"]
    assert governor.resets_in() == 19.0  # its own (late) clock
    await provider.start()
    assert governor.resets_in() == 59.0  # resOS' minute, from the healthcheck's Retry-After
    await provider.close()


async def test_start_does_not_fail_when_resos_is_down() -> None:
    fake = FakeTime()
    provider = make_provider("http://127.0.0.1:9", fake)  # nothing listens on port 9
    await provider.start()
    # Three connection attempts (two backoffs), each counted against the budget.
    assert provider.governors["key_copenhagen"].remaining() == 97
    assert len(fake.sleeps) == 4  # two backoffs for each of the two keys
    await provider.close()
