"""One contract, every store: memory, SQLite and a real Redis behave alike.

Written once and run against each implementation through the parametrised ``store`` fixture
(the way Strawberry's tests/http runs one behaviour against every integration). Expiry is
tested with the stores' injectable clock, never by sleeping.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from tablegraph.stores import MemoryStore, Store
from tablegraph.stores.sqlite import SqliteStore

KINDS = ["memory", "sqlite", "redis"]


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def _make(
    kind: str, tmp_path: Path, clock: Callable[[], float], request: pytest.FixtureRequest
) -> Store:
    if kind == "memory":
        return MemoryStore(clock=clock)
    if kind == "sqlite":
        return SqliteStore(tmp_path / "data", clock=clock, poll_seconds=0.01)
    from tablegraph.stores.redis import RedisStore

    url = request.getfixturevalue("redis_url")
    return RedisStore(url, prefix=f"t{uuid.uuid4().hex[:8]}:", clock=clock)


@pytest.fixture(params=KINDS)
async def store(
    request: pytest.FixtureRequest, tmp_path: Path, clock: Clock
) -> AsyncIterator[Store]:
    made = _make(request.param, tmp_path, clock, request)
    yield made
    await made.close()


async def test_is_a_store(store: Store) -> None:
    assert isinstance(store, Store)
    assert store.kind in KINDS


async def test_get_set_delete(store: Store) -> None:
    assert await store.get("a") is None
    await store.set("a", "1")
    assert await store.get("a") == "1"
    await store.set("a", "2")
    assert await store.get("a") == "2"
    assert await store.delete("a") is True
    assert await store.delete("a") is False
    assert await store.get("a") is None


async def test_set_if_absent_is_a_lock(store: Store) -> None:
    assert await store.set_if_absent("lock", "me", ttl=30) is True
    assert await store.set_if_absent("lock", "you", ttl=30) is False
    assert await store.get("lock") == "me"
    await store.delete("lock")
    assert await store.set_if_absent("lock", "you", ttl=30) is True


async def test_concurrent_set_if_absent_has_one_winner(store: Store) -> None:
    won = await asyncio.gather(*(store.set_if_absent("race", str(i), ttl=30) for i in range(10)))
    assert won.count(True) == 1


async def test_compare_and_set(store: Store) -> None:
    assert await store.compare_and_set("rec", None, "pending") is True
    assert await store.compare_and_set("rec", None, "again") is False
    assert await store.compare_and_set("rec", "wrong", "done") is False
    assert await store.compare_and_set("rec", "pending", "done") is True
    assert await store.get("rec") == "done"
    assert await store.compare_and_set("rec", "done", None) is True
    assert await store.get("rec") is None


async def test_incr_counts_atomically(store: Store) -> None:
    totals = await asyncio.gather(*(store.incr("budget", ttl=60) for _ in range(20)))
    assert sorted(totals) == list(range(1, 21))
    assert await store.incr("budget", 5) == 25


async def test_pubsub_reaches_subscribers(store: Store) -> None:
    first = await store.subscribe("invalidate")
    second = await store.subscribe("invalidate")
    other = await store.subscribe("elsewhere")
    await store.publish("invalidate", "one")
    await store.publish("invalidate", "two")
    async with asyncio.timeout(10):
        assert [await anext(first), await anext(first)] == ["one", "two"]
        assert await anext(second) == "one"
    for sub in (first, second, other):
        await sub.aclose()


async def test_event_log_appends_in_order_and_reads_after(store: Store) -> None:
    ids = [await store.append("events", f"e{i}", retention=3600) for i in range(5)]
    everything = await store.read("events")
    assert [e.data for e in everything] == ["e0", "e1", "e2", "e3", "e4"]
    assert [e.id for e in everything] == ids
    later = await store.read("events", after=ids[1], limit=2)
    assert [e.data for e in later] == ["e2", "e3"]
    assert await store.read("nothing") == []


async def test_two_handles_share_state(
    request: pytest.FixtureRequest, tmp_path: Path, clock: Clock, store: Store
) -> None:
    """What one process (handle) writes another sees: the point of sqlite and redis."""
    if store.kind == "memory":
        pytest.skip("memory is one process's by definition")
    prefix = getattr(store, "_prefix", None)
    if store.kind == "redis":
        from tablegraph.stores.redis import RedisStore

        other: Store = RedisStore(
            request.getfixturevalue("redis_url"), prefix=prefix or "", clock=clock
        )
    else:
        other = SqliteStore(tmp_path / "data", clock=clock, poll_seconds=0.01)
    try:
        sub = await other.subscribe("news")
        await store.set("shared", "yes")
        assert await other.get("shared") == "yes"
        assert await other.set_if_absent("shared", "no") is False
        await store.publish("news", "hello")
        async with asyncio.timeout(10):
            assert await anext(sub) == "hello"
        await sub.aclose()
    finally:
        await other.close()
