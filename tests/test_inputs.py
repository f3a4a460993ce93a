"""What an execution read (``tablegraph.inputs``): noted by the upstream client and the caches,
and what makes an execution unrepeatable. Upstreams are loopback servers."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web

from tablegraph import inputs
from tablegraph.cache import AsyncTTLCache
from tablegraph.errors import UpstreamUnavailable
from tablegraph.upstream import UpstreamClient

from .test_core_units import FakeTimer
from .test_reliability_units import Upstream

StartServer = Callable[[web.Application], Awaitable[str]]


@pytest.fixture
async def client(start_server: StartServer) -> Any:
    upstream = Upstream()
    url = await start_server(upstream.app())
    made = UpstreamClient("up", url, timeout=5.0)
    made.upstream = upstream  # type: ignore[attr-defined]
    yield made
    await made.aclose()


async def test_plain_reads_are_noted_with_their_answers_and_can_be_sent_again(client) -> None:
    with inputs.recording() as read:
        await client.request("GET", "/days", params={"date": "2026-12-02", "all": True})
    assert read.unrepeatable is None
    [noted] = read.reads
    assert (noted.client, noted.status, noted.content) == (client, 200, b'{"ok": true}')
    again = await client.read_again(noted.key)
    assert again.status_code == 200 and client.upstream.requests == 2
    assert again.request.url.params["all"] == "true"


async def test_nothing_is_noted_outside_a_recording_nor_after_it(client) -> None:
    await client.request("GET", "/before")
    with inputs.recording() as read:
        pass
    await client.request("GET", "/after")
    assert read.reads == [] and inputs.current() is None


@pytest.mark.parametrize(
    ("method", "extra", "why"),
    [
        ("POST", {}, "POST /x is not a plain read"),
        ("GET", {"json": {"a": 1}}, "GET /x is not a plain read"),
        ("GET", {"params": {"ids": ["a", "b"]}}, "GET /x is not a plain read"),
    ],
)
async def test_anything_but_a_plain_read_makes_the_execution_unrepeatable(
    client, method: str, extra: dict[str, Any], why: str
) -> None:
    with inputs.recording() as read:
        await client.request(method, "/x", **extra)
    assert read.unrepeatable == why and read.reads == []


async def test_an_answer_given_to_the_request_is_used_once_instead_of_sending(client) -> None:
    with inputs.recording() as first:
        original = await client.request("GET", "/day")
    key = first.reads[0].key
    failure = UpstreamUnavailable("up is down", upstream="up")
    with inputs.recording({(client, key): original}) as read:
        given = await client.request("GET", "/day")
        sent = await client.request("GET", "/day")
    assert given is original and sent is not original
    assert client.upstream.requests == 2 and len(read.reads) == 2
    with inputs.recording({(client, key): failure}) as read, pytest.raises(UpstreamUnavailable):
        await client.request("GET", "/day")
    assert client.upstream.requests == 2 and read.unrepeatable == "a read failed"


async def test_kept_entries_served_are_noted_and_checked_by_identity() -> None:
    timer = FakeTimer()
    cache: AsyncTTLCache[str] = AsyncTTLCache(10.0, timer=timer)

    async def load() -> str:
        return "value"

    with inputs.recording() as filling:
        await cache.fetch("k", load)
    assert filling.unrepeatable == "filled a cache"  # the next one is served the entry
    with inputs.recording() as served:
        await cache.fetch("k", load)
    assert served.unrepeatable is None
    [kept] = served.kept
    timer.now += 4
    assert cache.age("k", kept.entry) == 4.0
    cache.invalidate()
    await cache.fetch("k", load)  # the same value, another entry
    assert cache.age("k", kept.entry) is None and cache.age("k") == 0.0
    timer.now += 10
    assert cache.age("k") is None  # expired


async def test_a_read_shared_in_flight_or_a_stale_fallback_is_unrepeatable() -> None:
    flights: AsyncTTLCache[str] = AsyncTTLCache(0.0)
    release = asyncio.Event()

    async def slow() -> str:
        await release.wait()
        return "v"

    async def joining() -> inputs.Inputs:
        with inputs.recording() as read:
            await flights.fetch("k", slow)
        return read

    leader = asyncio.create_task(joining())
    await asyncio.sleep(0)
    joiner = asyncio.create_task(joining())
    await asyncio.sleep(0)
    release.set()
    assert (await leader).unrepeatable is None  # a cache that keeps nothing: a plain read
    assert (await joiner).unrepeatable == "shared a read in flight"

    timer = FakeTimer()
    kept: AsyncTTLCache[str] = AsyncTTLCache(1.0, timer=timer, stale_ttl=60.0)
    await kept.fetch("k", slow)
    timer.now += 2

    async def failing() -> str:
        raise UpstreamUnavailable("down", upstream="up")

    with inputs.recording() as read:
        got = await kept.fetch("k", failing, stale_if=lambda exc: True)
    # the reload that failed would have filled the cache (and the answer is marked stale)
    assert got.stale and read.unrepeatable == "filled a cache"
