"""The store-backed pieces workers share: a rate budget, single-flight locks, tokens, and
bookings an upstream forgets — each across three handles on one SQLite file or one Redis,
standing in for three workers."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tablegraph.model import Booking, BookingStatus
from tablegraph.stores import Store
from tablegraph.stores.budget import SharedBudget
from tablegraph.stores.locks import held, renew_once
from tablegraph.stores.remembered import RememberedBookings
from tablegraph.stores.sqlite import SqliteStore
from tablegraph.stores.tokens import StoreTokenStore


@pytest.fixture(params=["sqlite", "redis"])
async def workers(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[list[Store]]:
    """Three handles on one shared store, as three worker processes would hold."""
    made: list[Store]
    if request.param == "sqlite":
        made = [SqliteStore(tmp_path / "shared") for _ in range(3)]
    else:
        from tablegraph.stores.redis import RedisStore

        url, prefix = request.getfixturevalue("redis_url"), f"w{uuid.uuid4().hex[:8]}:"
        made = [RedisStore(url, prefix=prefix) for _ in range(3)]
    yield made
    for store in made:
        await store.close()


class Clock:
    now = 1_000_040.0  # 20 s into a 60 s window

    def __call__(self) -> float:
        return self.now


async def test_a_budget_holds_across_workers_together(workers: list[Store]) -> None:
    clock = Clock()
    budgets = [SharedBudget(s, "resos:key-1", 100, 60.0, clock=clock) for s in workers]
    waits = await asyncio.gather(*(budgets[i % 3].take() for i in range(150)))
    assert sum(1 for w in waits if w == 0.0) == 100
    assert {round(w) for w in waits if w} == {40}  # the window opens 40 s later
    assert await budgets[1].left() == 0
    clock.now += 40
    assert await budgets[2].take() == 0.0


async def test_one_refresh_among_workers(workers: list[Store]) -> None:
    refreshes = 0
    gate = asyncio.Event()
    waiting: set[int] = set()
    for index, store in enumerate(workers):  # note who found the lock taken and is waiting
        real_get = store.get

        async def get(key: str, _i: int = index, _get=real_get) -> str | None:  # type: ignore[no-untyped-def]
            waiting.add(_i)
            return await _get(key)

        store.get = get  # type: ignore[method-assign]

    async def worker(store: Store) -> bool:
        nonlocal refreshes
        async with held(store, "libro-token:acct", ttl=30) as mine:
            if mine:
                refreshes += 1
                await gate.wait()
            return mine

    tasks = [asyncio.create_task(worker(s)) for s in workers]
    async with asyncio.timeout(10):
        while len(waiting) < 2:  # both others are waiting on the holder
            await asyncio.sleep(0.01)
    gate.set()
    assert sorted(await asyncio.gather(*tasks)) == [False, False, True]
    assert refreshes == 1


async def test_tokens_are_shared_and_sealed(workers: list[Store]) -> None:
    first, second, _ = (StoreTokenStore(s, key="test-key") for s in workers)
    await asyncio.gather(
        first.save("libro", "acct-1", {"refresh_token": "rt-secret-1"}),
        second.save("libro", "acct-2", {"refresh_token": "rt-secret-2"}),
    )
    assert await second.load("libro") == {
        "acct-1": {"refresh_token": "rt-secret-1"},
        "acct-2": {"refresh_token": "rt-secret-2"},
    }
    raw = await workers[2].get("tokens:libro")
    assert raw is not None and "rt-secret" not in raw
    assert await StoreTokenStore(workers[2], key="other-key").load("libro") == {}
    await first.delete("libro", "acct-1")
    assert list(await second.load("libro")) == ["acct-2"]


async def test_a_forgotten_booking_is_remembered_by_every_worker(workers: list[Store]) -> None:
    when = datetime(2030, 5, 1, 19, tzinfo=UTC)
    cancelled = Booking(
        upstream="librebooking-nyc",
        native_id="ref-1",
        restaurant_id="1",
        status=BookingStatus.CANCELLED,
        provider_status="deleted",
        start=when,
        end=when,
        party_size=2,
    )
    await RememberedBookings(workers[0], "librebooking-nyc").remember(cancelled)
    again = await RememberedBookings(workers[1], "librebooking-nyc").get("ref-1")
    assert again == cancelled
    assert await RememberedBookings(workers[2], "other").get("ref-1") is None
    assert json.loads((await workers[2].get("remembered:librebooking-nyc:ref-1")) or "{}")


class _CountingClientsLate:
    """A worker's handle whose next count of a new client (``*``) waits until released: the
    moment between a client's first unit and its counting among the window's clients."""

    def __init__(self, store: Store) -> None:
        self._store, self.reached, self.release = store, asyncio.Event(), asyncio.Event()

    async def incr(self, key: str, amount: int = 1, ttl: float | None = None) -> int:
        if key.endswith(":client:*") and amount > 0 and not self.release.is_set():
            self.reached.set()
            await self.release.wait()
        return await self._store.incr(key, amount, ttl)

    def __getattr__(self, name: str) -> object:
        return getattr(self._store, name)


async def test_a_client_is_held_to_its_share_while_its_first_take_is_being_counted(
    workers: list[Store],
) -> None:
    """A client's takes in other workers, while its first is not yet counted among the
    clients, do not take it for the window's only client (which has no share to keep)."""
    clock = Clock()
    late = _CountingClientsLate(workers[0])
    first_worker = SharedBudget(late, "resos:k", 20, clock=clock)  # type: ignore[arg-type]
    others = [SharedBudget(s, "resos:k", 20, clock=clock) for s in workers[1:]]
    index = int(clock.now // 60)
    assert (await others[0].take_in(index, client="b", past_share=14))[0]  # B came first
    first = asyncio.create_task(first_worker.take_in(index, client="a", past_share=14))
    await late.reached.wait()
    granted = 0
    for n in range(19):
        granted += (await others[n % 2].take_in(index, client="a", past_share=14))[0]
    late.release.set()
    assert (await first)[0]  # within its share: its own
    # A's share is 20 // 3 = 6; past it, A takes only while the total (B's 1 among it) stays
    # within 14. Taken for the only client, it would have had all 19 left.
    assert granted == 14 - 1
    assert await others[1].used(index) == 1 + granted + 1


async def test_resos_governors_of_three_workers_spend_one_budget_fairly(
    workers: list[Store],
) -> None:
    from tablegraph import requester
    from tablegraph.providers.resos.governor import READ, RateGovernor

    clock = Clock()
    held = asyncio.Event()  # time never moves: what is over the budget stays queued
    parked = 0  # pumps asleep until the next window (none mid-take in the store)

    async def wait(seconds: float) -> None:
        nonlocal parked
        parked += 1
        try:
            await held.wait()
        finally:
            parked -= 1

    governors = [
        RateGovernor(20, now=clock, sleep=wait, store=s, name="resos:nordics:key_cph", reserve=0.5)
        for s in workers
    ]
    granted: dict[str, int] = {"client:a": 0, "client:b": 0}

    async def ask(governor: RateGovernor, client: str) -> None:
        with requester.acting_for(client):
            await governor.acquire(READ)
        granted[client] += 1

    await ask(governors[1], "client:b")  # B is around this minute
    # Client A floods through every worker: 30 reads against a budget of 20.
    flood = [asyncio.create_task(ask(governors[i % 3], "client:a")) for i in range(30)]
    for _ in range(1000):
        await asyncio.sleep(0.01)
        queued = [sum(g.waiting.values()) for g in governors]
        # Settled: every request granted or queued, and every worker with a queue asleep. A
        # pump still taking may hold a unit in the store it is about to give back.
        if sum(queued) + granted["client:a"] == 30 and parked == sum(1 for q in queued if q):
            break
    # Its share (20 // 3, with B and one more), then up to what the reserve (10, released
    # over the window) has let go after 20 s of 60: 14 in all — counted together, not per
    # worker. (One of A's takes within its share may reach the store after the others on
    # another worker, and is granted over the 14: its share is its own.)
    assert granted["client:a"] in (14 - 1, 14)
    # B, on another worker than most of A's, is granted at once within the same window.
    await asyncio.wait_for(asyncio.gather(*(ask(governors[1], "client:b") for _ in range(3))), 10)
    assert granted["client:b"] == 1 + 3
    shared = SharedBudget(workers[2], "resos:nordics:key_cph", 20)
    used = await shared.used(int(clock.now // 60))
    assert used == granted["client:a"] + granted["client:b"]  # one count, in the store
    for governor in governors:
        governor.close()
    await asyncio.gather(*flood, return_exceptions=True)


async def test_forgotten_bookings_are_listed_by_window_from_every_worker(
    workers: list[Store],
) -> None:
    """``between`` reads the per-restaurant, per-day index: bookings remembered by three
    workers at once on one day are all listed, by another worker, inside the window only."""
    base = datetime(2030, 5, 1, 17, tzinfo=UTC)

    def booking(n: int, start: datetime, restaurant: str = "1") -> Booking:
        return Booking(
            upstream="librebooking-nyc",
            native_id=f"ref-{n}",
            restaurant_id=restaurant,
            status=BookingStatus.CANCELLED,
            provider_status="deleted",
            start=start,
            end=start,
            party_size=2,
        )

    same_day = [booking(n, base.replace(hour=17 + n % 6)) for n in range(12)]
    await asyncio.gather(
        *(
            RememberedBookings(workers[n % 3], "librebooking-nyc").remember(b)
            for n, b in enumerate(same_day)
        )
    )
    next_day = booking(20, datetime(2030, 5, 2, 1, tzinfo=UTC))
    elsewhere = booking(21, base, restaurant="2")
    for other in (next_day, elsewhere):
        await RememberedBookings(workers[0], "librebooking-nyc").remember(other)

    reader = RememberedBookings(workers[2], "librebooking-nyc")
    found = await reader.between("1", base, datetime(2030, 5, 2, 2, tzinfo=UTC))
    assert sorted(b.native_id for b in found) == sorted(b.native_id for b in [*same_day, next_day])
    late = await reader.between("1", base.replace(hour=21), datetime(2030, 5, 2, 1, tzinfo=UTC))
    assert sorted(b.native_id for b in late) == sorted(
        b.native_id for b in same_day if b.start.hour >= 21
    )
    assert [b.native_id for b in await reader.between("2", base, next_day.start)] == ["ref-21"]


async def test_renew_once_makes_one_value_for_every_worker(workers: list[Store]) -> None:
    """The holder renews and saves; the others wait on it and read what it saved."""
    saved: list[str] = []
    renewals = 0
    release = asyncio.Event()

    async def read() -> str | None:
        return saved[-1] if saved else None

    async def renew() -> str:
        nonlocal renewals
        renewals += 1
        await release.wait()
        saved.append(f"token-{renewals}")
        return saved[-1]

    tasks = [
        asyncio.create_task(renew_once(s, "libro-token:x", read=read, renew=renew)) for s in workers
    ]
    async with asyncio.timeout(10):
        while not await workers[0].get("lock:libro-token:x"):
            await asyncio.sleep(0.01)
    release.set()
    assert await asyncio.gather(*tasks) == ["token-1"] * 3
    assert renewals == 1


async def test_renew_once_after_a_failed_holder_renews_again(workers: list[Store]) -> None:
    """A holder that fails saves nothing: a waiter takes the lock and renews itself."""
    saved: list[str] = []
    attempts = 0
    holding = asyncio.Event()
    fail = asyncio.Event()

    async def read() -> str | None:
        return saved[-1] if saved else None

    async def failing() -> str:
        nonlocal attempts
        attempts += 1
        holding.set()
        await fail.wait()
        raise ConnectionError("token endpoint down")

    async def working() -> str:
        nonlocal attempts
        attempts += 1
        saved.append("token-2")
        return "token-2"

    first = asyncio.create_task(renew_once(workers[0], "t", read=read, renew=failing))
    await asyncio.wait_for(holding.wait(), 10)
    second = asyncio.create_task(renew_once(workers[1], "t", read=read, renew=working))
    fail.set()
    with pytest.raises(ConnectionError):
        await first
    assert await asyncio.wait_for(second, 10) == "token-2"
    assert attempts == 2
