"""Booking events across workers: two gateways sharing one store (a real redis-server, or one
SQLite file) stand in for two worker processes. A write on one reaches subscribers on the
other, a reconnect to the other worker replays, a webhook delivered to both is one event, and
two workers' subscribers to one polled restaurant cause one poller between them."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from tablegraph import ids
from tablegraph.model import GuestData, NewBooking
from tablegraph.settings import Secret
from tablegraph.simulators import simulator_module
from tablegraph.simulators.common import serve
from tablegraph.simulators.harness import harness_of
from tablegraph.simulators.vardvik import demo_upstreams
from tablegraph.stores import Store
from tablegraph.stores.sqlite import SqliteStore

from ..graphql.conftest import Api, Sim
from ..graphql.helpers import BERLIN_MITTE
from ..graphql.stacks import Stack
from .live import SseSubscriber, WsSubscriber, bearer, start_live, until
from .test_live import STREAM, _cancel, _create, _reschedule, _signed, _two_starts

INTERVAL = 0.2  # seconds between polls (no test sleeps on it)

#: A new handle on the shared store, as each worker process opens its own.
Handle = Callable[[], Store]


@pytest.fixture(params=["redis", "sqlite"])
async def shared(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Handle]:
    made: list[Store] = []
    prefix = f"w{uuid.uuid4().hex[:8]}:"

    def handle() -> Store:
        store: Store
        if request.param == "redis":
            from tablegraph.stores.redis import RedisStore

            store = RedisStore(request.getfixturevalue("redis_url"), prefix=prefix)
        else:
            store = SqliteStore(tmp_path / "shared", poll_seconds=0.02)
        made.append(store)
        return store

    yield handle
    for store in made:
        await store.close()


@pytest.fixture
async def redis_shared(redis_url: str) -> AsyncIterator[Handle]:
    from tablegraph.stores.redis import RedisStore

    made: list[Store] = []
    prefix = f"w{uuid.uuid4().hex[:8]}:"

    def handle() -> Store:
        made.append(RedisStore(redis_url, prefix=prefix))
        return made[-1]

    yield handle
    for store in made:
        await store.close()


@dataclass
class Workers:
    apis: list[Api]
    runners: list[web.AppRunner]

    async def close(self) -> None:
        for api, runner in zip(self.apis, self.runners, strict=True):
            await api.http.aclose()
            await runner.cleanup()


async def _workers(upstreams: list[Any], handle: Handle, n: int = 2) -> Workers:
    workers = Workers([], [])
    for _ in range(n):
        runner, api = await start_live(upstreams, store=handle())
        workers.apis.append(api)
        workers.runners.append(runner)
    return workers


def _vardvik(sim: Sim) -> list[Any]:
    return [
        replace(u, credentials={**u.credentials, "webhook_secret": Secret("whsec_test")})
        for u in demo_upstreams(sim.url)
    ]


async def _ws(api: Api, variables: dict[str, Any]) -> WsSubscriber:
    sub = await WsSubscriber.connect(api, bearer("all"))
    await sub.acked()
    await sub.subscribe(variables)
    return sub


async def test_a_write_on_one_worker_reaches_subscribers_on_another(
    sim: Sim, shared: Handle
) -> None:
    workers = await _workers(_vardvik(sim), shared)
    a, b = workers.apis
    ws = await _ws(b, {"ids": [BERLIN_MITTE]})
    sse = await SseSubscriber.open(b, {"ids": [BERLIN_MITTE]}, bearer("all"))
    try:
        await until(lambda: b.gateway.events.subscribers(STREAM) == 2)
        await until(lambda: b.gateway.events.hearing(STREAM))
        assert a.gateway.events.subscribers(STREAM) == 0  # nobody listens on the writer
        first, second = await _two_starts(a)
        booking = await _create(a, first)
        await _reschedule(a, booking["id"], second)
        await _cancel(a, booking["id"])
        for sub in (ws, sse):
            seen = [await sub.event() for _ in range(3)]
            assert [e["kind"] for e in seen] == ["CREATED", "RESCHEDULED", "CANCELLED"]
            assert {e["booking"]["id"] for e in seen} == {booking["id"]}
            assert {e["source"] for e in seen} == {"GATEWAY"}
        assert a.gateway.events.published == 3
        assert b.gateway.events.published == 0
    finally:
        await ws.close()
        await sse.close()
        await workers.close()


async def test_a_reconnect_to_another_worker_replays_what_was_missed(
    sim: Sim, shared: Handle
) -> None:
    workers = await _workers(_vardvik(sim), shared)
    a, b = workers.apis
    try:
        first, second = await _two_starts(a)
        ws = await _ws(a, {"ids": [BERLIN_MITTE]})
        await until(lambda: a.gateway.events.hearing(STREAM))
        booking = await _create(a, first)
        seen = await ws.event()
        await ws.close()
        await until(lambda: a.gateway.events.subscribers(STREAM) == 0)
        await _reschedule(a, booking["id"], second)  # missed while away
        await _cancel(b, booking["id"])  # on the other worker, too

        again = await _ws(b, {"ids": [BERLIN_MITTE], "after": seen["id"]})
        sse = await SseSubscriber.open(
            b, {"ids": [BERLIN_MITTE]}, {**bearer("all"), "Last-Event-ID": seen["id"]}
        )
        try:
            for sub in (again, sse):
                replayed = [await sub.event() for _ in range(2)]
                assert [e["kind"] for e in replayed] == ["RESCHEDULED", "CANCELLED"]
            await until(lambda: b.gateway.events.subscribers(STREAM) == 2)
            await until(lambda: b.gateway.events.hearing(STREAM))
            live_one = await _create(a, first, n=1)  # then live, nothing repeated between
            for sub in (again, sse):
                nxt = await sub.event()
                assert (nxt["kind"], nxt["booking"]["id"]) == ("CREATED", live_one["id"])
        finally:
            await again.close()
            await sse.close()
    finally:
        await workers.close()


async def test_a_webhook_delivered_to_two_workers_and_after_a_restart_is_one_event(
    sim: Sim, redis_shared: Handle
) -> None:
    workers = await _workers(_vardvik(sim), redis_shared)
    a, b = workers.apis
    subs = [await _ws(api, {"ids": [BERLIN_MITTE]}) for api in (a, b)]
    try:
        for api in (a, b):
            await until(lambda api=api: api.gateway.events.hearing(STREAM))  # type: ignore[misc]
        first, _ = await _two_starts(a)
        # Staff booked it in Vardvik's console: only the webhook tells the gateway.
        res = sim.state.add_reservation("rst_1", "loc_1", datetime.fromisoformat(first), 2)
        body = json.dumps(
            {
                "id": "evt_console_2",
                "type": "reservation.created",
                "restaurantId": "rst_1",
                "data": {"reservationId": res.id},
            }
        ).encode()
        to_a = await a.http.post("/webhooks/vardvik-berlin", content=body, headers=_signed(body))
        to_b = await b.http.post("/webhooks/vardvik-berlin", content=body, headers=_signed(body))
        assert to_a.json() == {"status": "accepted"}
        assert to_b.json() == {"status": "duplicate"}
        # A worker started afterwards (a restart) on the same store knows it too.
        restarted = await _workers(_vardvik(sim), redis_shared, n=1)
        try:
            c = restarted.apis[0]
            again = await c.http.post(
                "/webhooks/vardvik-berlin", content=body, headers=_signed(body)
            )
            assert again.json() == {"status": "duplicate"}
        finally:
            await restarted.close()
        created = [await sub.event() for sub in subs]
        assert {(e["kind"], e["source"]) for e in created} == {("CREATED", "WEBHOOK")}
        booking_id = created[0]["booking"]["id"]
        await _cancel(b, booking_id)
        # Each subscriber's next event is the cancel, not a second copy of the creation.
        for sub in subs:
            after = await sub.event()
            assert (after["kind"], after["booking"]["id"]) == ("CANCELLED", booking_id)
    finally:
        for sub in subs:
            await sub.close()
        await workers.close()


# ---- one poller across workers ----------------------------------------------------------


@pytest.fixture(params=["librebooking", "resos"])
async def polled(
    request: pytest.FixtureRequest, redis_shared: Handle
) -> AsyncIterator[list[Stack]]:
    """One polled simulator behind two gateways sharing a Redis: a stack per worker."""
    kind: str = request.param
    module = simulator_module(kind)
    harness = harness_of(kind)
    app = module.create_app(7, **{**getattr(module, "DEMO_OPTIONS", {}), **harness.unlimited})
    sim_runner, url = await serve(app)
    config = module.demo_upstreams(url)[0]
    config = replace(
        config,
        options={**config.options, **harness.unlimited_upstream},
        poll_interval_seconds=INTERVAL,
    )
    workers = await _workers([config], redis_shared)
    yield [Stack(kind, app, api, config.name) for api in workers.apis]
    await workers.close()
    await sim_runner.cleanup()


async def _book_directly(stack: Stack, n: int) -> Any:
    """A booking another system makes at the provider: the adapter straight to the simulator."""
    restaurant = await stack.restaurant()
    slot = await stack.open_slot(restaurant)
    request = NewBooking(
        restaurant_id=restaurant.native_id,
        start=slot.start,
        party_size=2,
        guest=GuestData("Grace", f"Hopper{n}", email=f"grace{n}@example.com"),
        idempotency_key=f"direct-{n}-{uuid.uuid4().hex[:6]}",
    )
    return await stack.provider.create_booking(request)


async def _created(sub: WsSubscriber, stack: Stack, native_id: str) -> None:
    event = await sub.event()
    assert (event["kind"], event["source"]) == ("CREATED", "POLL")
    assert event["booking"]["id"] == ids.encode("Booking", stack.upstream, native_id)


async def test_two_workers_subscribers_to_one_restaurant_cause_one_poller(
    polled: list[Stack],
) -> None:
    one, two = polled
    restaurant = await one.restaurant()
    stream = (one.upstream, restaurant.native_id)
    gid = one.restaurant_id(restaurant)
    first, second = (s.api.gateway.pollers for s in polled)

    async def requests_per_poll(polls: int) -> float:
        start_polls, start_requests = first.polls.get(stream, 0), one.requests()
        await until(lambda: first.polls.get(stream, 0) >= start_polls + polls)
        return (one.requests() - start_requests) / (first.polls[stream] - start_polls)

    sub_one = await _ws(one.api, {"ids": [gid]})
    await until(lambda: first.polls.get(stream, 0) >= 1)
    alone = await requests_per_poll(3)
    sub_two = await _ws(two.api, {"ids": [gid]})
    try:
        await until(lambda: stream in second.tasks)  # the second worker wants to poll too
        await until(lambda: two.api.gateway.events.hearing(stream))
        together = await requests_per_poll(3)
        # The second worker's subscriber adds no polling: a second poller at the same interval
        # would double the requests per poll (the bound leaves room for a stray request).
        assert together < 1.5 * alone
        assert stream in first.leading and stream not in second.leading
        assert second.polls.get(stream, 0) == 0

        made = await _book_directly(one, 1)  # heard by the poller on the first worker ...
        for sub in (sub_one, sub_two):  # ... and by the subscribers on both
            await _created(sub, one, made.native_id)

        await sub_one.close()  # the poller's worker loses its subscriber: the other takes over
        await until(lambda: stream not in first.tasks)
        await until(lambda: stream in second.leading)
        await until(lambda: second.polls.get(stream, 0) >= 1)
        held = f'tablegraph_poll_leases{{upstream="{stream[0]}"}} 1.0'
        assert held in (await two.api.http.get("/metrics")).text
        assert held not in (await one.api.http.get("/metrics")).text
        later = await _book_directly(two, 2)
        await _created(sub_two, two, later.native_id)  # not the first one again, either
    finally:
        await sub_one.close()
        await sub_two.close()
    await until(lambda: stream not in second.tasks)
    assert first.tasks == {} and second.tasks == {}  # no poller left on either worker
    lease = await two.api.gateway.store.get(f"poll-lease:{stream[0]}:{stream[1]}")
    assert lease is None  # given back, not left to expire


async def test_a_lease_left_by_a_dead_worker_is_taken_over_when_it_expires(
    polled: list[Stack],
) -> None:
    one, two = polled
    restaurant = await one.restaurant()
    stream = (one.upstream, restaurant.native_id)
    first, second = (s.api.gateway.pollers for s in polled)
    # A worker that died holding the lease: it is in the store, nobody renews it.
    key = f"poll-lease:{stream[0]}:{stream[1]}"
    store = one.api.gateway.store
    lease = first.lease_seconds(stream[0])
    loop = asyncio.get_running_loop()
    assert await store.set_if_absent(key, "dead-worker", lease)
    left_at = loop.time()
    sub = await _ws(two.api, {"ids": [two.restaurant_id(restaurant)]})
    try:
        await until(lambda: stream in second.leading)
        assert loop.time() - left_at >= lease * 0.9  # not before the dead one's lease expired
        await until(lambda: second.polls.get(stream, 0) >= 1)
        assert first.polls == {}
        made = await _book_directly(two, 3)
        await _created(sub, two, made.native_id)
    finally:
        await sub.close()
