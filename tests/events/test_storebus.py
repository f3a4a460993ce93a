"""The store-backed event bus without HTTP: two buses on one store stand in for two workers
(the in-process store here; tests/events/test_workers.py runs them on Redis and SQLite)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tablegraph.events.hub import REPLAY_UNAVAILABLE, SubscriptionClosed
from tablegraph.events.model import BookingEvent, EventSource
from tablegraph.events.storebus import StoreEventBus, decode, encode
from tablegraph.stores import MemoryStore
from tablegraph.stores.base import Subscription

from .live import until
from .test_hub import STREAM, _event

OTHER = ("up", "r2")


class CountingStore(MemoryStore):
    """Counts the store subscriptions its buses open."""

    def __init__(self) -> None:
        super().__init__()
        self.subscriptions = 0

    async def subscribe(self, channel: str) -> Subscription:
        self.subscriptions += 1
        return await super().subscribe(channel)


def _ev(n: int) -> BookingEvent:
    event = _event(n)
    assert isinstance(event, BookingEvent)
    return event


def test_an_event_survives_the_store_as_it_was() -> None:
    event = _ev(1)
    assert decode(encode(event)) == event


async def test_one_store_subscription_per_worker_and_restaurant() -> None:
    store = CountingStore()
    writer, reader = StoreEventBus(store), StoreEventBus(store)
    subs = [await reader.subscribe([STREAM]) for _ in range(3)]
    assert store.subscriptions == 1
    assert reader.hearing(STREAM) and not writer.hearing(STREAM)
    await writer.publish(_ev(1))
    for sub in subs:
        assert (await anext(sub)).booking.native_id == "b1"
    for sub in subs:
        sub.close()
    assert not reader.hearing(STREAM)
    await reader.close()


async def test_the_same_change_from_two_workers_is_published_once() -> None:
    store = MemoryStore()
    one, two = StoreEventBus(store), StoreEventBus(store)
    sub = await one.subscribe([STREAM])
    event = _ev(1)
    assert await one.publish(event) is True
    assert await two.publish(replace(event, source=EventSource.POLL)) is False
    assert await one.publish(_ev(2)) is True
    got = [await anext(sub), await anext(sub)]
    assert [e.booking.native_id for e in got] == ["b1", "b2"]  # b1 once, then b2
    assert two.duplicates == 1
    sub.close()
    await one.close()


async def test_replay_on_another_worker_of_only_its_restaurants_then_live_once() -> None:
    store = MemoryStore()
    writer, reader = StoreEventBus(store), StoreEventBus(store)
    events = [_ev(n) for n in range(1, 4)]
    elsewhere = replace(_ev(9), booking=replace(_ev(9).booking, restaurant_id=OTHER[1]))
    await writer.publish(events[0])
    await writer.publish(events[1])
    await writer.publish(elsewhere)  # another restaurant's: not in this replay
    sub = await reader.subscribe([STREAM], after=events[0].id)
    await writer.publish(events[2])
    got = [await anext(sub) for _ in range(2)]
    assert got == events[1:]
    sub.close()
    await reader.close()


async def test_a_live_event_heard_during_the_replay_is_not_repeated() -> None:
    store = MemoryStore()
    bus = StoreEventBus(store)
    keep = await bus.subscribe([STREAM])  # the worker already hears the stream
    first, second = _ev(1), _ev(2)
    await bus.publish(first)
    await bus.publish(second)  # announced, not yet heard: it comes in while replaying
    sub = await bus.subscribe([STREAM], after=first.id)
    assert await anext(sub) == second
    await until(lambda: len(keep._items) == 2)  # the announcement reached the hub too
    third = _ev(3)
    await bus.publish(third)
    assert await anext(sub) == third  # not `second` a second time
    sub.close()
    keep.close()
    await bus.close()


async def test_an_id_the_store_no_longer_keeps_cannot_be_replayed() -> None:
    bus = StoreEventBus(MemoryStore())
    with pytest.raises(SubscriptionClosed) as refused:
        await bus.subscribe([STREAM], after="evt_never")
    assert refused.value.code == REPLAY_UNAVAILABLE
    assert bus.subscribers(STREAM) == 0  # the refused subscriber left nothing behind


class FailingAppend(MemoryStore):
    """A store whose event log fails once."""

    def __init__(self) -> None:
        super().__init__()
        self.fail = True

    async def append(self, log: str, data: str, retention: float) -> str:
        if self.fail:
            self.fail = False
            raise ConnectionError("the store went away")
        return await super().append(log, data, retention)


async def test_an_event_the_log_refused_is_not_taken_for_a_repeat_later() -> None:
    bus = StoreEventBus(FailingAppend())
    sub = await bus.subscribe([STREAM])
    event = _ev(1)
    with pytest.raises(ConnectionError):
        await bus.publish(event)
    assert await bus.publish(replace(event, source=EventSource.POLL)) is True
    assert (await anext(sub)).source is EventSource.POLL
    sub.close()
    await bus.close()
