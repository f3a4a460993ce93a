"""A client-side request budget per resOS API key: N requests per fixed calendar minute.

resOS resets its limit "every minute as opposed to a minute from the first request", so the
budget is a fixed window aligned to the minute (not a sliding token bucket). Requests over
the budget wait in a priority queue until the next window: mutations (priority 0) are
granted before queued browsing reads (priority 1), and those before background polls for
booking events (priority 2), first come first served within a level.
Time and sleeping are injectable so tests move a fake clock instead of waiting a minute.

The governor hears from resOS twice: ``RateLimitObserver`` (a transport wrapper) reads the
``Retry-After`` every answer carries and keeps the window aligned with resOS' minute; a 429
reaches ``exhaust`` through the upstream client's ``on_rate_limited`` hook and holds the
queue until the reset, instead of each queued request drawing its own 429 (another process
may share the key).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from tablegraph import deadline

MUTATION = 0
READ = 1
BACKGROUND = 2

Now = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


class RateGovernor:
    def __init__(
        self,
        budget: int = 100,
        *,
        window_seconds: float = 60.0,
        now: Now = time.time,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if budget < 1:
            raise ValueError("budget must be at least 1")
        self.budget = budget
        self.window_seconds = window_seconds
        self._now = now
        self._sleep = sleep
        self._window = -1
        self._used = 0
        #: Seconds past the local minute at which the upstream's window resets (clock skew).
        self._phase = 0.0
        self._blocked_until = 0.0
        self._queue: list[tuple[int, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self._pump: asyncio.Task[None] | None = None
        #: Grants by priority, for /metrics and tests.
        self.granted = {MUTATION: 0, READ: 0}

    # ---- state ------------------------------------------------------------------------------

    def _roll(self) -> float:
        now = self._now()
        window = math.floor((now - self._phase) / self.window_seconds)
        if window != self._window:
            self._window = window
            self._used = 0
        if self._blocked_until and now >= self._blocked_until:
            self._blocked_until = 0.0  # the upstream's own window has reset
            self._used = 0
        return now

    def _has_room(self) -> bool:
        now = self._roll()
        return now >= self._blocked_until and self._used < self.budget

    def remaining(self) -> int:
        if not self._has_room():
            return 0
        return self.budget - self._used

    def resets_in(self) -> float:
        now = self._roll()
        if self._blocked_until:
            return self._blocked_until - now
        return (self._window + 1) * self.window_seconds + self._phase - now

    def sync(self, upstream_resets_in: float) -> None:
        """Align the window with the upstream's, which every resOS answer announces in its
        ``Retry-After``. Requests already counted stay counted."""
        now = self._now()
        phase = (now + upstream_resets_in) % self.window_seconds
        drift = (phase - self._phase) % self.window_seconds
        if min(drift, self.window_seconds - drift) < 0.5:
            return  # within network latency: keep the window steady
        self._phase = phase
        self._window = math.floor((now - self._phase) / self.window_seconds)

    @property
    def waiting(self) -> dict[int, int]:
        out = {MUTATION: 0, READ: 0}
        for priority, _, fut in self._queue:
            if not fut.done():
                out[priority] = out.get(priority, 0) + 1
        return out

    def details(self) -> dict[str, Any]:
        return {
            "budgetPerMinute": self.budget,
            "remaining": self.remaining(),
            "resetsInSeconds": round(self.resets_in(), 3),
            "queued": sum(self.waiting.values()),
        }

    # ---- use --------------------------------------------------------------------------------

    async def acquire(self, priority: int = READ) -> None:
        """Wait until this request may be sent; counts it against the current window.

        Raises ``TimeoutError`` at once when the budget cannot have room before the request's
        deadline, and when the deadline passes while queued (the place in line is given up).
        """
        if not self._queue and self._has_room():
            self._grant(priority)
            return
        left = deadline.remaining()
        if left is not None and self.resets_in() >= left:
            raise TimeoutError("no room in the rate budget before the deadline")
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._queue, (priority, next(self._order), future))
        if self._pump is None or self._pump.done():
            self._pump = asyncio.create_task(self._run_pump())
        async with asyncio.timeout(left):
            await future

    def exhaust(self, retry_after: float | None) -> None:
        """The upstream said 429: nothing more until it resets (``retry_after`` seconds)."""
        now = self._roll()
        if retry_after is not None and retry_after > 0:
            self._blocked_until = max(self._blocked_until, now + retry_after)
        else:
            self._used = self.budget

    def close(self) -> None:
        """Stop the pump; waiters still queued are cancelled."""
        if self._pump is not None and not self._pump.done():
            self._pump.cancel()
        for _, _, future in self._queue:
            if not future.done():
                future.cancel()
        self._queue.clear()

    def _grant(self, priority: int) -> None:
        self._used += 1
        self.granted[priority] = self.granted.get(priority, 0) + 1

    async def _run_pump(self) -> None:
        while self._queue:
            while self._queue and self._has_room():
                priority, _, future = heapq.heappop(self._queue)
                if future.done():  # the waiter was cancelled
                    continue
                self._grant(priority)
                future.set_result(None)
            if not self._queue:
                return
            await self._sleep(max(self.resets_in(), 0.001))


class RateLimitObserver(httpx.AsyncBaseTransport):
    """Aligns the key's governor with resOS' minute from the ``Retry-After`` (milliseconds)
    of every answer but a 429 (that one is the client's ``on_rate_limited`` → ``exhaust``)."""

    def __init__(self, inner: httpx.AsyncBaseTransport, governor: RateGovernor) -> None:
        self._inner = inner
        self._governor = governor

    @classmethod
    def around(
        cls, inner: httpx.AsyncBaseTransport | None, governor: RateGovernor, connections: int
    ) -> RateLimitObserver:
        """Observe ``inner`` (the runtime's transport), else a pool of ``connections``."""
        if inner is None:
            limits = httpx.Limits(
                max_connections=connections, max_keepalive_connections=connections
            )
            inner = httpx.AsyncHTTPTransport(limits=limits)
        return cls(inner, governor)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        if response.status_code != 429:
            try:
                resets_in = float(response.headers.get("Retry-After", "")) / 1000
            except ValueError:
                return response  # no or an unreadable Retry-After: nothing to learn
            if math.isfinite(resets_in) and resets_in >= 0:
                self._governor.sync(resets_in)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()
