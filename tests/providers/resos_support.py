"""Shared helpers of the resOS adapter tests: one fake time for simulator and adapter."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any

from tablegraph.providers.resos import ResosProvider
from tablegraph.simulators.common import Clock
from tablegraph.simulators.resos import demo_upstreams

#: 10 June 2026, a Wednesday, one second into a minute (CEST in Copenhagen and Oslo).
START = datetime(2026, 6, 10, 8, 0, 1, tzinfo=timezone.utc)


class FakeTime:
    """The simulator's clock and the adapter's ``now``/``sleep``: sleeping moves the clock."""

    def __init__(self, start: datetime = START) -> None:
        self.clock = Clock(start)
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.clock.now().timestamp()

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.clock.advance(seconds)
        await asyncio.sleep(0)


def make_provider(url: str, fake: FakeTime, **options: Any) -> ResosProvider:
    config = demo_upstreams(url)[0]
    merged = {**config.options, "_now": fake.now, "_sleep": fake.sleep, **options}
    return ResosProvider(replace(config, options=merged))
