"""Expiry, with the clock moved by the test. Redis keeps its own time, so its expiry is
covered separately with a short real TTL checked by the server's PTTL (no sleeping)."""

from __future__ import annotations

import pytest

from tablegraph.stores import MemoryStore, Store
from tablegraph.stores.sqlite import SqliteStore

from .test_contract import Clock


@pytest.fixture(params=["memory", "sqlite"])
async def store(request: pytest.FixtureRequest, tmp_path, clock: Clock):  # type: ignore[no-untyped-def]
    made: Store = (
        MemoryStore(clock=clock)
        if request.param == "memory"
        else SqliteStore(tmp_path / "d", clock=clock)
    )
    yield made
    await made.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


async def test_values_and_locks_expire(store: Store, clock: Clock) -> None:
    await store.set("v", "1", ttl=10)
    assert await store.set_if_absent("lock", "a", ttl=5) is True
    clock.now += 6
    assert await store.set_if_absent("lock", "b", ttl=5) is True  # the old holder's lapsed
    assert await store.get("v") == "1"
    clock.now += 5
    assert await store.get("v") is None


async def test_counter_expiry_is_set_once(store: Store, clock: Clock) -> None:
    assert await store.incr("c", ttl=60) == 1
    clock.now += 50
    assert await store.incr("c", ttl=60) == 2  # not pushed back by this increment
    clock.now += 11
    assert await store.incr("c", ttl=60) == 1


async def test_event_log_retention(store: Store, clock: Clock) -> None:
    await store.append("log", "old", retention=60)
    clock.now += 61
    await store.append("log", "new", retention=60)
    assert [e.data for e in await store.read("log")] == ["new"]


async def test_redis_sets_expiry_on_the_server(redis_url: str) -> None:
    from tablegraph.stores.redis import RedisStore

    store = RedisStore(redis_url, prefix="expiry:")
    try:
        await store.set_if_absent("lock", "x", ttl=30)
        await store.incr("budget", ttl=60)
        await store.incr("budget", ttl=60)
        raw = store._redis
        assert 0 < await raw.pttl("expiry:lock") <= 30_000
        assert 50_000 < await raw.pttl("expiry:budget") <= 60_000
        await store.set("forever", "x")
        assert await raw.pttl("expiry:forever") == -1
    finally:
        await store.close()
