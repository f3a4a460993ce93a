"""Units of the core that need no upstream: ids, time, caches, idempotency, settings."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time, timedelta

import pytest

from tablegraph import deadline, ids
from tablegraph.cache import AsyncTTLCache
from tablegraph.errors import IdempotencyConflict, InvalidInput
from tablegraph.idempotency import IdempotencyStore, fingerprint
from tablegraph.settings import ConfigError, Secret, parse_settings
from tablegraph.timeutil import instant_in, local_day_bounds, localize, parse_instant


class FakeTimer:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_global_id_round_trip_and_type_check() -> None:
    gid = ids.encode("Booking", "vardvik-berlin", "res_9f31")
    assert ids.decode(gid, "Booking") == ("Booking", "vardvik-berlin", "res_9f31")
    with pytest.raises(InvalidInput, match="expected a Restaurant id"):
        ids.decode(gid, "Restaurant")
    for bad in ["", "%%%", "Zm9v", "x" * 600, ids.encode("Booking", "u", "")]:
        with pytest.raises(InvalidInput):
            ids.decode(bad)


def test_native_ids_with_separators_survive() -> None:
    gid = ids.encode("Restaurant", "up", "rst_1/loc_2:x")
    assert ids.decode(gid).native_id == "rst_1/loc_2:x"


def test_parse_instant_accepts_provider_styles_and_refuses_naive() -> None:
    expected = datetime(2021, 3, 8, 9, 56, 4, tzinfo=UTC)
    assert parse_instant("2021-03-08T09:56:04+0000") == expected  # LibreBooking style
    assert parse_instant("2021-03-08T09:56:04.000Z") == expected  # Vardvik style
    assert parse_instant("2021-03-08T04:56:04-0500") == expected
    # What ``datetime.fromisoformat`` refuses, the lenient path still reads.
    assert parse_instant(" 2021-03-08T09:56:04z ") == expected
    with pytest.raises(ValueError):
        parse_instant("2021-03-08T09:56:04")
    with pytest.raises(ValueError):  # refused again: errors are not cached as values
        parse_instant("2021-03-08T09:56:04")
    local = instant_in("2021-03-08T09:56:04.000Z", "Europe/Oslo")
    assert local == expected and local.utcoffset() == timedelta(hours=1)


def test_local_day_is_23_hours_on_spring_forward_in_berlin() -> None:
    start, end = local_day_bounds(date(2026, 3, 29), "Europe/Berlin")
    assert start.utcoffset() == timedelta(hours=1)
    assert end.utcoffset() == timedelta(hours=2)
    # Same-zone subtraction uses wall time in Python; elapsed time needs UTC.
    assert end.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=23)
    start, end = local_day_bounds(date(2026, 10, 25), "Europe/Berlin")
    assert end.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=25)


def test_localize_moves_a_skipped_wall_time_forward() -> None:
    moved = localize(date(2026, 3, 29), time(2, 30), "Europe/Berlin")
    assert moved.isoformat() == "2026-03-29T03:30:00+02:00"
    normal = localize(date(2026, 3, 29), time(18, 0), "Europe/Berlin")
    assert normal.isoformat() == "2026-03-29T18:00:00+02:00"


@pytest.mark.parametrize("ttl", [10.0, 0.0])
async def test_ttl_cache_loads_once_for_concurrent_callers_and_expires(ttl: float) -> None:
    """Concurrent callers share one load; its result is kept ``ttl`` (0: not at all)."""
    timer = FakeTimer()
    cache: AsyncTTLCache[int] = AsyncTTLCache(ttl, timer=timer)
    calls = 0
    gate = asyncio.Event()

    async def load() -> int:
        nonlocal calls
        calls += 1
        await gate.wait()
        return calls

    tasks = [asyncio.create_task(cache.get_or_load("k", load)) for _ in range(20)]
    await asyncio.sleep(0)
    gate.set()
    assert await asyncio.gather(*tasks) == [1] * 20
    assert calls == 1
    assert cache.get("k") == (1 if ttl else None)
    timer.now += ttl + 1
    assert await cache.get_or_load("k", load) == 2


async def test_ttl_cache_does_not_keep_failures() -> None:
    cache: AsyncTTLCache[int] = AsyncTTLCache(10, timer=FakeTimer())

    async def fail() -> int:
        raise RuntimeError("down")

    async def ok() -> int:
        return 7

    with pytest.raises(RuntimeError):
        await cache.get_or_load("k", fail)
    assert await cache.get_or_load("k", ok) == 7


async def test_ttl_cache_invalidation_detaches_a_load_in_flight() -> None:
    """A load that began before an invalidation is not joined by later callers, and its
    result (possibly from before the change) is not kept; its own waiters still get it."""
    timer = FakeTimer()
    cache: AsyncTTLCache[str] = AsyncTTLCache(10, timer=timer)
    gates = [asyncio.Event(), asyncio.Event()]
    calls = 0

    async def load() -> str:
        nonlocal calls
        calls += 1
        mine = calls
        await gates[mine - 1].wait()
        return f"load-{mine}"

    early = [asyncio.create_task(cache.get_or_load("k", load)) for _ in range(3)]
    await asyncio.sleep(0)
    cache.invalidate(lambda key: key == "k")
    late = asyncio.create_task(cache.get_or_load("k", load))
    await asyncio.sleep(0)
    assert calls == 2  # the late caller started its own load
    gates[0].set()
    assert await asyncio.gather(*early) == ["load-1"] * 3
    assert cache.get("k") is None  # the detached load's result was not kept
    gates[1].set()
    assert await late == "load-2"
    assert cache.get("k") == "load-2"


async def test_ttl_cache_waiters_outlive_a_cancelled_loader() -> None:
    """The caller whose load others joined goes away (its client disconnected): the others
    are not cancelled with it; one of them loads afresh."""
    cache: AsyncTTLCache[str] = AsyncTTLCache(10, timer=FakeTimer())
    started = asyncio.Event()
    gate = asyncio.Event()
    calls = 0

    async def load() -> str:
        nonlocal calls
        calls += 1
        started.set()
        await gate.wait()
        return f"load-{calls}"

    leader = asyncio.create_task(cache.get_or_load("k", load))
    await started.wait()
    waiters = [asyncio.create_task(cache.get_or_load("k", load)) for _ in range(3)]
    await asyncio.sleep(0)
    leader.cancel()
    with pytest.raises(asyncio.CancelledError):
        await leader
    await asyncio.sleep(0)
    gate.set()
    assert await asyncio.gather(*waiters) == ["load-2"] * 3
    assert calls == 2


async def test_ttl_cache_joins_no_load_cut_sooner_than_the_caller() -> None:
    """A load under a shorter request deadline than the caller's could time out for it:
    the caller loads anew, and later callers join whichever load lasts as long as they may
    wait."""
    cache: AsyncTTLCache[int] = AsyncTTLCache(10, timer=FakeTimer())
    gate = asyncio.Event()
    calls = 0

    async def load() -> int:
        nonlocal calls
        calls += 1
        mine = calls
        await gate.wait()
        return mine

    async def within(seconds: float) -> int:
        with deadline.scope(seconds):
            return await cache.get_or_load("k", load)

    hurried = asyncio.create_task(within(5))
    await asyncio.sleep(0)
    patient = asyncio.create_task(within(60))
    await asyncio.sleep(0)
    others = [asyncio.create_task(within(s)) for s in (30, 1)]
    await asyncio.sleep(0)
    assert calls == 2
    gate.set()
    assert await hurried == 1
    assert await patient == 2
    assert await asyncio.gather(*others) == [2, 2]


async def test_idempotency_replays_and_refuses_a_changed_request() -> None:
    store: IdempotencyStore[str] = IdempotencyStore(timer=FakeTimer())
    runs = 0
    gate = asyncio.Event()

    async def action() -> str:
        nonlocal runs
        runs += 1
        await gate.wait()
        return f"booking-{runs}"

    fp = fingerprint("create", {"party": 2})
    tasks = [asyncio.create_task(store.run("c", "k", fp, action)) for _ in range(50)]
    await asyncio.sleep(0)
    gate.set()
    assert set(await asyncio.gather(*tasks)) == {"booking-1"}
    assert runs == 1
    with pytest.raises(IdempotencyConflict):
        await store.run("c", "k", fingerprint("create", {"party": 3}), action)
    # Another client's identical key is its own record.
    assert await store.run("other", "k", fp, action) == "booking-2"


def test_secret_never_prints() -> None:
    s = Secret("hunter2")
    assert "hunter2" not in repr(s) and "hunter2" not in str(s) and "hunter2" not in f"{s}"
    assert s.reveal() == "hunter2"


def test_settings_name_missing_env_and_unknown_keys() -> None:
    base = {
        "upstreams": [
            {
                "name": "v",
                "kind": "vardvik",
                "base_url": "http://127.0.0.1:1",
                "credentials": {"api_key": "V_KEY"},
                "options": {"restaurant_ids": ["rst_1"]},
            }
        ]
    }
    settings = parse_settings(base, {"V_KEY": "secret"})
    assert settings.upstreams[0].credentials["api_key"].reveal() == "secret"
    with pytest.raises(ConfigError, match="V_KEY"):
        parse_settings(base, {})
    with pytest.raises(ConfigError, match="colour"):
        parse_settings({**base, "gateway": {"colour": "red"}}, {"V_KEY": "x"})
    bad_kind = {"upstreams": [{**base["upstreams"][0], "kind": "nope"}]}
    with pytest.raises(ConfigError, match="unknown kind 'nope'"):
        parse_settings(bad_kind, {"V_KEY": "x"})


@pytest.mark.parametrize("native", ["a\x00b", "\n", "res_1\x7f", "a\x02b"])
def test_ids_with_control_characters_in_the_native_id_are_malformed(native: str) -> None:
    # Found by the fuzzer: Booking:vardvik-berlin:"a\x02b" reached httpx as a URL path and
    # crashed with InvalidURL (an internal error) instead of an input error.
    with pytest.raises(InvalidInput, match="malformed id"):
        ids.decode(ids.encode("Booking", "vardvik-berlin", native))


@pytest.mark.parametrize(
    "native",
    [
        ".",
        "..",
        "x/../../restaurants",
        "rst_1/./loc_1",
        "a/..",
        "63873407?x=1",
        "63873407#f",
        "63873407 ",
        " 63873407",
    ],
)
def test_ids_that_would_name_another_upstream_resource_are_malformed(native: str) -> None:
    # Found by the fuzzer: Libro's booking(id: base64("Booking:libro-montreal:.")) fetched
    # ".../bookings/." = the booking list and answered with another booking; "63873407?x=1"
    # answered as booking 63873407 under an id that is not its own.
    with pytest.raises(InvalidInput, match="malformed id"):
        ids.decode(ids.encode("Booking", "libro-montreal", native))
    assert ids.decode(ids.encode("Booking", "u", "a.b/..c")).native_id == "a.b/..c"


def test_settle_memory_freezes_what_the_gateway_holds_and_spaces_young_collections() -> None:
    import gc

    from tablegraph.cli import GC_THRESHOLD, settle_memory

    before = gc.get_threshold()
    try:
        settle_memory()
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold()[0] == GC_THRESHOLD > before[0]
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
