"""The event hub and the event model without HTTP: ids, de-duplication, bounded queues,
replay, watchers; and a slow subscriber as the GraphQL layer reports it."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from tablegraph.events.feeds import BookingFeed
from tablegraph.events.hub import (
    REPLAY_UNAVAILABLE,
    SLOW_CONSUMER,
    MemoryEventHub,
    SubscriptionClosed,
)
from tablegraph.events.model import EventKind, EventSource, diff
from tablegraph.model import Booking, BookingStatus

from .live import RecordingBus

AT = datetime(2026, 6, 10, 19, 0, tzinfo=UTC)
STREAM = ("up", "r1")


def _booking(n: int = 1, **changes: object) -> Booking:
    base = Booking(
        upstream="up",
        native_id=f"b{n}",
        restaurant_id="r1",
        status=BookingStatus.CONFIRMED,
        provider_status="confirmed",
        start=AT,
        end=AT + timedelta(hours=2),
        party_size=2,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_the_same_change_has_one_id_however_it_was_learnt() -> None:
    before, after = _booking(), _booking(start=AT + timedelta(hours=1))
    by_gateway = diff(before, after, EventSource.GATEWAY, AT)
    by_poll = diff(before, after, EventSource.POLL, AT + timedelta(seconds=30))
    assert by_gateway is not None and by_poll is not None
    assert by_gateway.kind is EventKind.RESCHEDULED
    assert by_gateway.id == by_poll.id
    back = diff(after, before, EventSource.POLL, AT)
    assert back is not None and back.id != by_gateway.id


def test_kinds_follow_what_changed() -> None:
    def kind(**changes: object) -> EventKind | None:
        event = diff(_booking(), _booking(**changes), EventSource.POLL, AT)
        return event.kind if event else None

    assert kind(status=BookingStatus.CANCELLED) is EventKind.CANCELLED
    assert kind(status=BookingStatus.SEATED) is EventKind.STATUS_CHANGED
    assert kind(party_size=4) is EventKind.RESCHEDULED
    assert kind(notes="window seat") is EventKind.UPDATED
    assert kind(provider_status="other word") is None
    created = diff(None, _booking(), EventSource.WEBHOOK, AT)
    assert created is not None and created.kind is EventKind.CREATED


def _event(n: int, **changes: object) -> object:
    event = diff(_booking(n), _booking(n, party_size=2 + n, **changes), EventSource.GATEWAY, AT)
    assert event is not None
    return event


async def test_a_duplicate_id_is_published_once() -> None:
    hub = MemoryEventHub()
    sub = await hub.subscribe([STREAM])
    event = _event(1)
    assert await hub.publish(event) is True  # type: ignore[arg-type]
    assert await hub.publish(replace(event, source=EventSource.POLL)) is False  # type: ignore[type-var]
    assert await anext(sub) is event
    sub.close()
    assert hub.duplicates == 1


async def test_a_slow_subscriber_is_closed_while_a_normal_one_keeps_receiving() -> None:
    hub = MemoryEventHub(queue_size=3)
    slow, normal = await hub.subscribe([STREAM]), await hub.subscribe([STREAM])
    received = []
    for n in range(1, 7):
        await hub.publish(_event(n))  # type: ignore[arg-type]
        received.append(await anext(normal))  # the normal one keeps up
    assert len(received) == 6
    got = [await anext(slow) for _ in range(3)]  # what it had queued, then the reason
    assert [e.booking.native_id for e in got] == ["b1", "b2", "b3"]
    with pytest.raises(SubscriptionClosed) as closed:
        await anext(slow)
    assert closed.value.code == SLOW_CONSUMER
    assert "fell 3 events behind" in closed.value.message
    assert hub.subscribers(STREAM) == 1
    normal.close()


async def test_replay_after_an_id_then_live_exactly_once() -> None:
    hub = MemoryEventHub()
    events = [_event(n) for n in range(1, 5)]
    for event in events[:3]:
        await hub.publish(event)  # type: ignore[arg-type]
    sub = await hub.subscribe([STREAM], after=events[0].id)  # type: ignore[attr-defined]
    await hub.publish(events[3])  # type: ignore[arg-type]
    got = [await anext(sub) for _ in range(3)]
    assert got == events[1:]
    sub.close()
    with pytest.raises(StopAsyncIteration):
        await anext(sub)


async def test_an_id_past_retention_cannot_be_replayed() -> None:
    now = [0.0]
    hub = MemoryEventHub(retention_seconds=60, clock=lambda: now[0])
    old = _event(1)
    await hub.publish(old)  # type: ignore[arg-type]
    now[0] = 61.0
    with pytest.raises(SubscriptionClosed) as refused:
        await hub.subscribe([STREAM], after=old.id)  # type: ignore[attr-defined]
    assert refused.value.code == REPLAY_UNAVAILABLE


async def test_watchers_hear_the_first_and_the_last_subscriber() -> None:
    hub = MemoryEventHub()
    heard: list[tuple[str, tuple[str, str]]] = []

    class Recorder:
        def watch(self, stream: tuple[str, str]) -> None:
            heard.append(("watch", stream))

        def unwatch(self, stream: tuple[str, str]) -> None:
            heard.append(("unwatch", stream))

    hub.add_watcher(Recorder())
    a, b = await hub.subscribe([STREAM]), await hub.subscribe([STREAM])
    a.close()
    a.close()
    b.close()
    assert heard == [("watch", STREAM), ("unwatch", STREAM)]


async def test_graphql_reports_a_slow_subscriber_with_its_code() -> None:
    """Through the schema (no transport): the subscriber stops pulling, falls behind, gets
    what it had queued and then an error whose code is SLOW_CONSUMER."""
    from tablegraph.gateway import Gateway
    from tablegraph.graphql.context import Context
    from tablegraph.graphql.schema import build_schema
    from tablegraph.settings import EventSettings, GatewaySettings

    gateway = Gateway(GatewaySettings(upstreams=(), events=EventSettings(queue_size=2)), [])
    hub = gateway.events
    query = "subscription($a: ID!) { bookingEvents(restaurantIds: [$a]) { id kind } }"
    # A restaurant the gateway knows, from a stand-in loader instead of an upstream.
    gateway.providers["up"] = None  # type: ignore[assignment]  # known, never called
    from tablegraph.auth.identity import Identity
    from tablegraph.auth.scopes import ALL_SCOPES

    context = Context(gateway=gateway, identity=Identity("t", ALL_SCOPES))

    async def known(key: tuple[str, str]) -> object:
        from tablegraph.model import Restaurant

        return Restaurant(upstream="up", native_id="r1", name="R", timezone="UTC")

    context.restaurants.load = known  # type: ignore[method-assign]
    from tablegraph import ids

    results = await build_schema().subscribe(
        query, variable_values={"a": ids.encode("Restaurant", "up", "r1")}, context_value=context
    )
    first = asyncio.ensure_future(anext(results))
    for _ in range(500):
        if hub.subscribers(STREAM):
            break
        await asyncio.sleep(0.01)
    await hub.publish(_event(1))  # type: ignore[arg-type]
    got = await first
    assert got.errors is None, got.errors  # type: ignore[union-attr]
    assert got.data["bookingEvents"]["kind"] == "RESCHEDULED"  # type: ignore[union-attr]
    for n in range(2, 6):  # nobody pulls: the queue of 2 overflows
        await hub.publish(_event(n))  # type: ignore[arg-type]
    queued = [await anext(results) for _ in range(2)]
    assert all(r.errors is None for r in queued)  # type: ignore[union-attr]
    ended = await anext(results)
    assert ended.errors is not None  # type: ignore[union-attr]
    assert ended.errors[0].original_error.code == SLOW_CONSUMER  # type: ignore[union-attr]
    await results.aclose()


async def test_a_write_without_a_read_publishes_against_what_the_feed_last_saw() -> None:
    """A cancel that read nothing first (``BookingFeed.wrote_unread``): against a state seen
    before, the real change once and nothing on a repeat; a booking never seen is announced
    as what it is now (cancelled)."""
    bus = RecordingBus()
    feed = BookingFeed(bus, now=lambda: AT)  # type: ignore[arg-type]
    confirmed = _booking(1)
    cancelled = replace(confirmed, status=BookingStatus.CANCELLED, provider_status="cancelled")
    await feed.wrote(None, confirmed)
    first = await feed.wrote_unread(cancelled)
    again = await feed.wrote_unread(cancelled)
    assert first is not None and first.kind is EventKind.CANCELLED
    assert again is None
    stranger = replace(cancelled, native_id="b2")
    unseen = await feed.wrote_unread(stranger)
    assert unseen is not None and unseen.kind is EventKind.CANCELLED
    assert unseen.booking == stranger
    assert [e.kind for e in bus.events] == [  # type: ignore[attr-defined]
        EventKind.CREATED,
        EventKind.CANCELLED,
        EventKind.CANCELLED,
    ]
