"""The reliability primitives on their own: breaker, deadline, stale cache, provenance.

Upstreams here are small aiohttp servers on 127.0.0.1 whose behaviour each test controls.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import Awaitable, Callable

import httpx
import pytest
from aiohttp import web

from tablegraph import deadline, provenance
from tablegraph.breaker import BreakerPolicy, CircuitBreaker, CircuitState
from tablegraph.cache import AsyncTTLCache
from tablegraph.errors import (
    CircuitOpen,
    OutcomeUnknown,
    UpstreamRateLimited,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from tablegraph.upstream import RetryPolicy, UpstreamClient

from .test_core_units import FakeTimer


class Upstream:
    """A loopback server: answers ``status`` (or hangs until released); counts requests."""

    def __init__(self) -> None:
        self.status = 200
        self.hang = False
        self.requests = 0
        self.release = asyncio.Event()

    async def handle(self, request: web.Request) -> web.Response:
        self.requests += 1
        if self.hang:
            await self.release.wait()
        return web.json_response({"ok": self.status < 400}, status=self.status)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.handle)
        return app


@pytest.fixture
async def upstream(start_server: Callable[[web.Application], Awaitable[str]]):
    server = Upstream()
    url = await start_server(server.app())
    server.url = url  # type: ignore[attr-defined]
    yield server
    server.release.set()


def client_for(server: Upstream, **kw: object) -> UpstreamClient:
    kw.setdefault("retry", RetryPolicy(attempts=1))
    return UpstreamClient("up", server.url, **kw)  # type: ignore[attr-defined,arg-type]


# ---- breaker -----------------------------------------------------------------------------


def test_breaker_opens_after_the_threshold_and_lets_one_probe_through() -> None:
    timer = FakeTimer()
    breaker = CircuitBreaker(
        "up", BreakerPolicy(failure_threshold=3, reset_seconds=10), timer=timer
    )
    for _ in range(2):
        breaker.admit()
        breaker.failed()
    assert breaker.state is CircuitState.CLOSED
    breaker.admit()
    breaker.failed()
    assert breaker.state is CircuitState.OPEN
    with pytest.raises(CircuitOpen) as refused:
        breaker.admit()
    assert refused.value.details["retryAfterSeconds"] == 10
    timer.now += 10
    assert breaker.state is CircuitState.HALF_OPEN
    breaker.admit()  # the probe
    with pytest.raises(CircuitOpen):
        breaker.admit()  # everyone else still fails fast while it runs
    breaker.failed()
    assert breaker.state is CircuitState.OPEN, "a failed probe opens it for another period"
    timer.now += 10
    breaker.admit()
    breaker.succeeded()
    assert breaker.state is CircuitState.CLOSED
    breaker.admit()
    assert breaker.opened_count == 2


def test_a_success_resets_the_failure_count() -> None:
    breaker = CircuitBreaker("up", BreakerPolicy(failure_threshold=2), timer=FakeTimer())
    breaker.failed()
    breaker.succeeded()
    breaker.failed()
    assert breaker.state is CircuitState.CLOSED
    assert breaker.consecutive_failures == 1


def test_a_cancelled_probe_frees_the_probe_slot() -> None:
    timer = FakeTimer()
    breaker = CircuitBreaker("up", BreakerPolicy(failure_threshold=1, reset_seconds=1), timer=timer)
    breaker.failed()
    timer.now += 1
    breaker.admit()
    breaker.abandoned()
    breaker.admit()  # a new probe may go


async def test_client_stops_calling_a_failing_upstream_and_recovers(upstream: Upstream) -> None:
    timer = FakeTimer()
    breaker = CircuitBreaker("up", BreakerPolicy(failure_threshold=2, reset_seconds=5), timer=timer)
    client = client_for(upstream, breaker=breaker)
    upstream.status = 503
    for _ in range(2):
        with pytest.raises(UpstreamUnavailable):
            await client.request("GET", "/x")
    assert upstream.requests == 2
    for _ in range(5):
        with pytest.raises(CircuitOpen):
            await client.request("GET", "/x")
    assert upstream.requests == 2, "an open circuit sends nothing"
    upstream.status = 200
    timer.now += 5
    response = await client.request("GET", "/x")
    assert response.status_code == 200 and upstream.requests == 3
    assert breaker.state is CircuitState.CLOSED
    await client.aclose()


async def test_client_errors_and_429_do_not_open_the_circuit(upstream: Upstream) -> None:
    breaker = CircuitBreaker("up", BreakerPolicy(failure_threshold=1), timer=FakeTimer())
    client = client_for(upstream, breaker=breaker)
    upstream.status = 404
    assert (await client.request("GET", "/x")).status_code == 404
    upstream.status = 429
    with pytest.raises(UpstreamRateLimited):
        await client.request("GET", "/x")
    assert breaker.state is CircuitState.CLOSED
    await client.aclose()


async def test_an_open_circuit_refuses_a_write_without_sending_it(upstream: Upstream) -> None:
    breaker = CircuitBreaker("up", BreakerPolicy(failure_threshold=1), timer=FakeTimer())
    client = client_for(upstream, breaker=breaker)
    upstream.status = 503
    with pytest.raises(OutcomeUnknown):
        await client.request("POST", "/bookings", json={})
    with pytest.raises(CircuitOpen):  # not OutcomeUnknown: nothing was sent
        await client.request("POST", "/bookings", json={})
    assert upstream.requests == 1
    await client.aclose()


# ---- deadline ----------------------------------------------------------------------------


async def test_the_deadline_cuts_a_hanging_read_short(upstream: Upstream) -> None:
    upstream.hang = True
    client = client_for(upstream, timeout=30.0, retry=RetryPolicy(attempts=3))
    started = time.monotonic()
    with deadline.scope(0.3), pytest.raises(UpstreamTimeout):
        await client.request("GET", "/slow")
    elapsed = time.monotonic() - started
    assert elapsed < 2.0, f"cut at the 0.3 s deadline, not the 30 s timeout ({elapsed:.2f}s)"
    assert upstream.requests == 1, "no retry once the deadline has passed"
    await client.aclose()


async def test_a_write_cut_by_the_deadline_is_ambiguous(upstream: Upstream) -> None:
    upstream.hang = True
    client = client_for(upstream, timeout=30.0)
    with deadline.scope(0.2), pytest.raises(OutcomeUnknown):
        await client.request("POST", "/bookings", json={})
    await client.aclose()


async def test_nothing_is_sent_after_the_deadline(upstream: Upstream) -> None:
    client = client_for(upstream)
    with deadline.scope(0.0), pytest.raises(UpstreamTimeout) as late:
        await client.request("POST", "/bookings", json={})
    assert late.value.details == {"deadlineExceeded": True}
    assert upstream.requests == 0
    await client.aclose()


async def test_deadlines_cut_while_queued_for_a_connection_do_not_wedge_the_pool(
    start_server: Callable[[web.Application], Awaitable[str]],
) -> None:
    async def answer(request: web.Request) -> web.Response:
        await asyncio.sleep(0.02)  # the upstream's latency: requests queue for connections
        return web.json_response({})

    app = web.Application()
    app.router.add_get("/{tail:.*}", answer)
    client = UpstreamClient(
        "up", await start_server(app), max_connections=2, retry=RetryPolicy(attempts=1)
    )

    async def hurried(i: int) -> None:
        with deadline.scope(0.004 * (1 + i % 10)), contextlib.suppress(UpstreamTimeout):
            await client.request("GET", "/x")

    for _ in range(3):  # bursts cut short at every point of the wait for a connection
        await asyncio.gather(*(hurried(i) for i in range(100)))
    with deadline.scope(2.0):  # the pool still has both of its connections
        answers = await asyncio.gather(*(client.request("GET", "/x") for _ in range(4)))
    assert [a.status_code for a in answers] == [200] * 4
    await client.aclose()


async def test_retries_stop_when_the_backoff_would_cross_the_deadline(upstream: Upstream) -> None:
    upstream.status = 503
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    client = client_for(
        upstream, retry=RetryPolicy(attempts=5, base_delay=5.0, max_delay=5.0), sleep=sleep
    )
    response_or_error: object
    with deadline.scope(1.0):
        try:
            response_or_error = await client.request("GET", "/x")
        except UpstreamUnavailable as exc:
            response_or_error = exc
    assert isinstance(response_or_error, UpstreamUnavailable)
    assert all(w < 1.0 for w in waits), waits
    await client.aclose()


@pytest.mark.parametrize("broken", ["unreachable", "503"])
async def test_a_deadline_that_runs_out_while_retrying_reports_the_upstreams_failure(
    upstream: Upstream, broken: str
) -> None:
    """A busy event loop wakes a retry's backoff late, past the request's deadline: the call
    ends, and says what the upstream did (unreachable, a 5xx), not a bare timeout hiding it
    (the chaos matrix's reset upstream read as ``UPSTREAM_TIMEOUT`` on a loaded CI box)."""
    if broken == "unreachable":
        with socket.socket() as probe:  # a loopback port nobody listens on: refused
            probe.bind(("127.0.0.1", 0))
            url = f"http://127.0.0.1:{probe.getsockname()[1]}"
    else:
        upstream.status = 503
        url = upstream.url  # type: ignore[attr-defined]

    async def overslept(seconds: float) -> None:
        # the backoff's wake-up arrives after the deadline (same task: the same context)
        deadline._deadline.set(time.monotonic() - 0.001)

    client = UpstreamClient("up", url, retry=RetryPolicy(attempts=3), sleep=overslept)
    with deadline.scope(5.0), pytest.raises(UpstreamUnavailable) as caught:
        await client.request("GET", "/x")
    assert caught.value.code == "UPSTREAM_UNAVAILABLE"
    # A write: refused connections sent nothing (a plain failure); a 5xx may have been
    # applied, and the call still says so.
    expected = UpstreamUnavailable if broken == "unreachable" else OutcomeUnknown
    with deadline.scope(5.0), pytest.raises(expected):
        await client.request("POST", "/x", json={}, idempotent=True)
    await client.aclose()


def test_nested_scopes_only_shorten_unless_extended() -> None:
    with deadline.scope(10):
        with deadline.scope(60):
            left = deadline.remaining()
            assert left is not None and left <= 10
        with deadline.scope(60, extend=True):
            left = deadline.remaining()
            assert left is not None and left > 10
    assert deadline.remaining() is None


# ---- stale cache and provenance ----------------------------------------------------------


async def test_stale_entries_answer_only_for_accepted_failures() -> None:
    timer = FakeTimer()
    cache: AsyncTTLCache[str] = AsyncTTLCache(10, timer=timer, stale_ttl=100)

    async def first() -> str:
        return "profile"

    async def down() -> str:
        raise UpstreamUnavailable("down", upstream="up")

    async def bug() -> str:
        raise KeyError("bug")

    await cache.fetch("k", first)
    timer.now += 30
    got = await cache.fetch("k", down, stale_if=lambda e: isinstance(e, UpstreamUnavailable))
    assert (got.value, got.stale, got.age) == ("profile", True, 30)
    with pytest.raises(UpstreamUnavailable):
        await cache.fetch("k", down)  # the caller did not accept stale data
    with pytest.raises(KeyError):
        await cache.fetch("k", bug, stale_if=lambda e: isinstance(e, UpstreamUnavailable))
    timer.now += 100
    with pytest.raises(UpstreamUnavailable):  # too old even to be stale
        await cache.fetch("k", down, stale_if=lambda e: True)


async def test_provenance_records_calls_and_failures(upstream: Upstream) -> None:
    client = client_for(upstream)
    with provenance.recording() as record:
        await client.request("GET", "/a")
        upstream.status = 503
        with pytest.raises(UpstreamUnavailable):
            await client.request("GET", "/b")
    trace = record.to_json()["up"]
    assert trace["requests"] == 2
    assert trace["status"] == "ERROR" and trace["errorCode"] == "UPSTREAM_UNAVAILABLE"
    assert trace["latencyMs"] is not None and trace["latencyMs"] >= 0
    assert trace["cached"] is False
    assert provenance.current() is None
    await client.aclose()


async def test_waiting_on_another_callers_load_respects_the_deadline() -> None:
    cache: AsyncTTLCache[int] = AsyncTTLCache(10)
    gate = asyncio.Event()

    async def slow() -> int:
        await gate.wait()
        return 1

    first = asyncio.create_task(cache.get_or_load("k", slow))
    await asyncio.sleep(0)
    with deadline.scope(0.05), pytest.raises(TimeoutError):
        await cache.get_or_load("k", slow)
    gate.set()
    assert await first == 1


async def test_an_idempotent_write_that_never_got_a_clear_answer_is_ambiguous(
    upstream: Upstream,
) -> None:
    """Retried writes (Vardvik's keyed create) may have landed on any attempt."""
    upstream.status = 503

    async def no_wait(_seconds: float) -> None:
        return None

    client = client_for(upstream, retry=RetryPolicy(attempts=3), sleep=no_wait)
    with pytest.raises(OutcomeUnknown):
        await client.request("POST", "/reservations", json={}, idempotent=True)
    assert upstream.requests == 3, "retried under its idempotency key"
    with pytest.raises(UpstreamUnavailable) as read:
        await client.request("GET", "/reservations")
    assert not isinstance(read.value, OutcomeUnknown), "a failed read is just a failure"
    await client.aclose()


async def test_requests_beyond_the_pool_wait_in_the_client_then_time_out_as_httpx_would() -> None:
    """At most ``max_connections`` requests reach httpx at once (the rest wait in the client,
    not in httpcore's queue); one that waits past the pool timeout is a timeout, as httpx's
    own ``PoolTimeout`` was."""
    release = asyncio.Event()
    in_flight = 0
    most = 0

    async def handler(_request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        await release.wait()
        in_flight -= 1
        return httpx.Response(200, json={})

    client = UpstreamClient(
        "up",
        "http://up.test",
        timeout=0.3,
        max_connections=2,
        retry=RetryPolicy(attempts=1),
        transport=httpx.MockTransport(handler),
    )
    try:
        held = [asyncio.ensure_future(client.request("GET", "/a")) for _ in range(2)]
        waiting = asyncio.ensure_future(client.request("GET", "/b"))
        with pytest.raises(UpstreamTimeout):
            await asyncio.wait_for(waiting, 5)  # bounded: without the slots it would hang
        assert most == 2
        release.set()
        assert [r.status_code for r in await asyncio.gather(*held)] == [200, 200]
        assert (await client.request("GET", "/c")).status_code == 200  # slots given back
    finally:
        await client.aclose()
