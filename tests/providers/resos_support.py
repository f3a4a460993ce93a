"""Shared helpers of the resOS adapter tests: one fake time for simulator and adapter."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from tablegraph.providers.resos import ResosProvider
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


def make_provider(url: str, fake: FakeTime, **options: Any) -> ResosProvider:
    config = demo_upstreams(url)[0]
    merged = {**config.options, "_now": fake.now, "_sleep": fake.sleep, **options}
    return ResosProvider(replace(config, options=merged))
