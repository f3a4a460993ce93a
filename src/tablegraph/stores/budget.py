"""A rate budget every worker draws from together: N calls per window, counted in the store.

resOS allows 100 calls a minute per API key. With several workers each keeping its own
token bucket, together they would spend N times that; here each call takes one unit from a
counter in the store (``incr`` with the window's expiry, atomic in every implementation)
named by the budget and the current window. A caller refused in this window is told how long
to wait for the next one.

Fixed windows admit up to twice the rate across a window boundary in the worst case; callers
that must never exceed the upstream's own sliding window keep a small margin (``limit``
below the provider's figure).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from tablegraph.stores.base import Store


class SharedBudget:
    def __init__(
        self,
        store: Store,
        name: str,
        limit: int,
        window: float = 60.0,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store, self.name, self.limit, self.window = store, name, limit, window
        self._clock = clock

    async def take(self) -> float:
        """Take one unit: 0.0 if granted, else the seconds until the next window opens."""
        now = self._clock()
        index = int(now // self.window)
        used = await self.store.incr(f"budget:{self.name}:{index}", 1, ttl=self.window * 2)
        if used <= self.limit:
            return 0.0
        return (index + 1) * self.window - now

    async def left(self) -> int:
        """Units left in the current window (for /metrics and health details)."""
        index = int(self._clock() // self.window)
        used = await self.store.get(f"budget:{self.name}:{index}")
        return max(self.limit - int(used or 0), 0)
