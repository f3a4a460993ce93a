"""Shared helpers of the resOS adapter tests: one fake time for simulator and adapter."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tablegraph.idempotency import IdempotencyStore, fingerprint
from tablegraph.model import Booking, NewBooking
from tablegraph.providers.kit import Runtime
from tablegraph.providers.resos import ResosProvider
from tablegraph.reconcile import LostCreates
from tablegraph.simulators.common import Clock
from tablegraph.simulators.resos import demo_upstreams

#: 10 June 2026, a Wednesday, one second into a minute (CEST in Copenhagen and Oslo).
START = datetime(2026, 6, 10, 8, 0, 1, tzinfo=UTC)


class FrozenClock(Clock):
    """A clock that only moves when told to (no drift from real time)."""

    def __init__(self, start: datetime) -> None:
        super().__init__(start)
        self._now = start

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._now.timestamp()

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)

    def set(self, moment: datetime) -> None:
        self._now = moment


class FakeTime:
    """The simulator's clock and the adapter's ``now``/``sleep``: sleeping moves the clock.

    ``gate`` (an Event) holds sleepers until the test opens it; ``settled`` is polled before
    time moves, so requests already granted reach the simulator first — in real life they
    take milliseconds of a minute-long wait.
    """

    def __init__(self, start: datetime = START) -> None:
        self.clock = FrozenClock(start)
        self.sleeps: list[float] = []
        self.gate: asyncio.Event | None = None
        self.settled: Callable[[], bool] | None = None
        self.sleeping = 0

    def now(self) -> float:
        return self.clock.now().timestamp()

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.sleeping += 1
        try:
            if self.gate is not None:
                await self.gate.wait()
            for _ in range(5000):
                if self.settled is None or self.settled():
                    break
                await asyncio.sleep(0.001)
            self.clock.advance(seconds)
        finally:
            self.sleeping -= 1
        await asyncio.sleep(0)


def make_provider(
    url: str,
    fake: FakeTime,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    now: Callable[[], datetime] | None = None,
    **options: Any,
) -> ResosProvider:
    """The demo upstream on ``url``, on ``fake`` time (``now``: a skewed gateway clock)."""
    config = demo_upstreams(url)[0]
    runtime = Runtime(
        transport=transport,
        now=now or fake.clock.now,
        monotonic=fake.now,
        sleep=fake.sleep,
    )
    return ResosProvider(replace(config, options={**config.options, **options}), runtime)


class GatewayCreates:
    """What the gateway wraps around an adapter's create (``tablegraph.idempotency`` and
    ``tablegraph.reconcile.LostCreates``, as ``graphql/mutations.py`` uses them): a replay of
    a key gets its first outcome, a retry after an unknown outcome looks the key up before it
    books. The adapter keeps no memory of keys; tests of key replays go through this."""

    CLIENT = "resos-tests"

    def __init__(self) -> None:
        self.store: IdempotencyStore[Booking] = IdempotencyStore()
        self.lost = LostCreates()

    async def create(self, provider: ResosProvider, request: NewBooking) -> Booking:
        print_ = fingerprint(
            "create",
            {"start": request.start.astimezone(UTC).isoformat(), "party": request.party_size},
        )

        async def create() -> Booking:
            return await self.lost.create(provider, request, self.CLIENT)

        return await self.store.run(self.CLIENT, request.idempotency_key, print_, create)
