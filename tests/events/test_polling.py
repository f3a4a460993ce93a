"""Polling for providers without webhooks (LibreBooking, resOS): a booking made in the
simulator, not through the gateway, reaches a subscriber within two polls; one poller per
restaurant however many subscribers, stopped after the last leaves."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest

from tablegraph import ids
from tablegraph.model import GuestData, NewBooking
from tablegraph.simulators import simulator_module
from tablegraph.simulators.common import serve
from tablegraph.simulators.harness import harness_of

from ..graphql.stacks import Stack
from .live import WsSubscriber, start_live, until

INTERVAL = 0.2  # seconds between polls: short, and no test sleeps on it to see an event
POLLED = ["librebooking", "resos"]


@pytest.fixture(params=POLLED)
async def stack(request: pytest.FixtureRequest) -> AsyncIterator[Stack]:
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
    runner, api = await start_live([config])
    yield Stack(kind, app, api, config.name)
    await api.http.aclose()
    await runner.cleanup()
    await sim_runner.cleanup()


async def _subscribe(stack: Stack, restaurant_gid: str) -> WsSubscriber:
    sub = await WsSubscriber.connect(stack.api)
    await sub.acked()
    await sub.subscribe({"ids": [restaurant_gid]})
    return sub


async def _book_in_the_simulator(stack: Stack) -> Any:
    """A booking the gateway does not make: the adapter straight to the simulator, the way
    another system writing to the provider would."""
    restaurant = await stack.restaurant()
    slot = await stack.open_slot(restaurant)
    request = NewBooking(
        restaurant_id=restaurant.native_id,
        start=slot.start,
        party_size=2,
        guest=GuestData("Grace", "Hopper", email="grace@example.com"),
        idempotency_key="direct-1",
    )
    return await stack.provider.create_booking(request)


async def test_a_booking_made_in_the_simulator_is_seen_within_two_polls(stack: Stack) -> None:
    restaurant = await stack.restaurant()
    stream = (stack.upstream, restaurant.native_id)
    pollers = stack.api.gateway.pollers
    sub = await _subscribe(stack, stack.restaurant_id(restaurant))
    try:
        await until(lambda: pollers.polls.get(stream, 0) >= 1)  # the baseline is taken
        made = await _book_in_the_simulator(stack)
        polls_when_made = pollers.polls[stream]
        event = await sub.event()
        assert (event["kind"], event["source"]) == ("CREATED", "POLL")
        assert event["booking"]["id"] == ids.encode("Booking", stack.upstream, made.native_id)
        assert pollers.polls[stream] - polls_when_made <= 2
    finally:
        await sub.close()


async def test_two_subscribers_share_one_poller_which_stops_after_both_leave(
    stack: Stack,
) -> None:
    restaurant = await stack.restaurant()
    stream = (stack.upstream, restaurant.native_id)
    gid = stack.restaurant_id(restaurant)
    pollers = stack.api.gateway.pollers

    async def requests_per_poll(polls: int) -> float:
        start_polls, start_requests = pollers.polls.get(stream, 0), stack.requests()
        await until(lambda: pollers.polls.get(stream, 0) >= start_polls + polls)
        done = pollers.polls[stream] - start_polls
        return (stack.requests() - start_requests) / done

    one = await _subscribe(stack, gid)
    await until(lambda: pollers.polls.get(stream, 0) >= 1)
    alone = await requests_per_poll(3)
    two = await _subscribe(stack, gid)
    await until(lambda: stack.api.gateway.events.subscribers(stream) == 2)
    task = pollers.tasks[stream]
    assert list(pollers.tasks) == [stream]
    together = await requests_per_poll(3)
    assert together == alone  # a second subscriber adds no polling
    await one.close()
    await until(lambda: stack.api.gateway.events.subscribers(stream) == 1)
    assert pollers.tasks[stream] is task  # still the one poller
    await two.close()
    await until(lambda: task.done())
    assert stream not in pollers.tasks
    stopped_at = stack.requests()
    await asyncio.sleep(INTERVAL * 3)  # long enough for three polls, had one been left running
    assert stack.requests() == stopped_at


async def test_resos_polls_draw_on_the_rate_budget_at_background_priority(stack: Stack) -> None:
    if stack.kind != "resos":
        pytest.skip("only resOS has a client-side request budget with priorities")
    from tablegraph.providers.resos.governor import BACKGROUND
    from tablegraph.providers.resos.provider import ResosProvider

    restaurant = await stack.restaurant()
    stream = (stack.upstream, restaurant.native_id)
    provider = stack.provider
    assert isinstance(provider, ResosProvider)
    sub = await _subscribe(stack, stack.restaurant_id(restaurant))
    try:
        await until(lambda: stack.api.gateway.pollers.polls.get(stream, 0) >= 2)
        granted = sum(g.granted.get(BACKGROUND, 0) for g in provider.governors.values())
        assert granted >= 2
    finally:
        await sub.close()
