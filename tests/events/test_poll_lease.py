"""The poll lease on its own (no HTTP): a lease that lapsed while its holder was held up is
taken back without restarting the poll, and one another worker took ends this one's polling."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from tablegraph.events.feeds import BookingFeed
from tablegraph.events.polling import Pollers
from tablegraph.events.storebus import StoreEventBus
from tablegraph.model import Booking, BookingQuery
from tablegraph.providers.base import Provider
from tablegraph.settings import EventSettings, UpstreamConfig
from tablegraph.stores import MemoryStore

from .live import until

STREAM = ("up", "r1")
KEY = "poll-lease:up:r1"


class Clock:
    now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


class Quiet(Provider):
    """An upstream without webhooks and without bookings; counts its listings."""

    kind = "quiet"
    display_name = "Quiet"

    def __init__(self) -> None:
        super().__init__(UpstreamConfig(name="up", kind="quiet", base_url="http://127.0.0.1:9"))
        self.listings = 0

    async def list_bookings(self, query: BookingQuery) -> list[Booking]:
        self.listings += 1
        return []


@pytest.fixture
async def leader() -> AsyncIterator[tuple[Pollers, MemoryStore, Clock]]:
    clock = Clock()
    store = MemoryStore(clock=clock)
    settings = EventSettings(poll_interval_seconds=0.01)
    pollers = Pollers({"up": Quiet()}, BookingFeed(StoreEventBus(store)), settings, {}, store=store)
    pollers.watch(STREAM)
    await until(lambda: STREAM in pollers.leading and pollers.polls.get(STREAM, 0) >= 1)
    yield pollers, store, clock
    await pollers.close()


async def test_a_lapsed_lease_nobody_took_is_taken_back_without_restarting(
    leader: tuple[Pollers, MemoryStore, Clock],
) -> None:
    pollers, store, clock = leader
    token = await store.get(KEY)
    assert token is not None
    clock.now += pollers.lease_seconds("up") + 1  # the holder was held up past its lease
    assert await store.get(KEY) is None
    async with asyncio.timeout(15):  # its next heartbeat
        while await store.get(KEY) is None:
            await asyncio.sleep(0.01)
    assert await store.get(KEY) == token
    assert pollers.leads == {STREAM: 1} and STREAM in pollers.leading
    polls = pollers.polls[STREAM]
    await until(lambda: pollers.polls[STREAM] > polls)  # still polling


async def test_a_lease_another_worker_took_ends_this_ones_polling(
    leader: tuple[Pollers, MemoryStore, Clock],
) -> None:
    pollers, store, clock = leader
    clock.now += pollers.lease_seconds("up") + 1
    assert await store.set_if_absent(KEY, "other-worker", 60)  # another worker got it
    await until(lambda: STREAM not in pollers.leading)
    polls = pollers.polls[STREAM]
    assert STREAM in pollers.tasks  # it still waits to take over
    assert await store.get(KEY) == "other-worker"
    await store.delete(KEY)  # the other worker's last subscriber left
    await until(lambda: STREAM in pollers.leading)
    assert pollers.leads == {STREAM: 2}
    await until(lambda: pollers.polls[STREAM] > polls)
