"""Requests and query cost per client and minute: token buckets with an injectable timer.

Each client has a bucket per budget holding at most a minute's allowance and refilling
continuously. ``admit`` takes one request; ``charge(client, amount)`` takes ``amount`` of the
cost budget — the hook the cost model calls once a document's cost is known, before it runs.
Either raises ``RateLimited`` (a 429 with ``Retry-After``: the seconds until the bucket holds
enough). Buckets are per client, so one client at its limit costs another nothing; an idle
client's buckets are dropped after a minute (they would be full again by then).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from tablegraph.http.problem import HTTPProblem

Timer = Callable[[], float]


class RateLimited(HTTPProblem):
    def __init__(self, retry_after: int, what: str) -> None:
        super().__init__(
            429,
            "RATE_LIMITED",
            f"too many {what}; retry in {retry_after} s",
            headers={"Retry-After": str(retry_after)},
        )
        self.retry_after = retry_after


@dataclass
class _Bucket:
    tokens: float
    updated: float


class _Budget:
    def __init__(self, per_minute: int, what: str, timer: Timer, max_clients: int) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self.what = what
        self._timer = timer
        self._max_clients = max_clients
        #: In order of last use (a used bucket is moved to the end).
        self._buckets: dict[str, _Bucket] = {}

    def take(self, client: str, amount: float) -> None:
        if self.capacity <= 0:
            return  # this budget is off
        now = self._timer()
        bucket = self._buckets.pop(client, None) or _Bucket(self.capacity, now)
        bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        self._buckets[client] = bucket
        self._prune(now)
        if bucket.tokens < amount:
            wanted = min(amount, self.capacity) - bucket.tokens
            raise RateLimited(max(1, math.ceil(wanted / self.rate)), self.what)
        bucket.tokens -= amount

    def _prune(self, now: float) -> None:
        """Drop buckets idle for a minute (full again, so the same as none), and the least
        recently used ones past ``max_clients``."""
        while self._buckets:
            oldest = next(iter(self._buckets))
            idle = now - self._buckets[oldest].updated
            if idle < 60.0 and len(self._buckets) <= self._max_clients:
                return
            del self._buckets[oldest]


class RateLimiter:
    def __init__(
        self,
        requests_per_minute: int,
        cost_per_minute: int,
        *,
        timer: Timer = time.monotonic,
        max_clients: int = 100_000,
    ) -> None:
        self._requests = _Budget(requests_per_minute, "requests", timer, max_clients)
        self._cost = _Budget(cost_per_minute, "query cost", timer, max_clients)

    def admit(self, client: str) -> None:
        """Count one request of ``client``; ``RateLimited`` when it is over its rate."""
        self._requests.take(client, 1.0)

    def charge(self, client: str, amount: float) -> None:
        """Take ``amount`` of ``client``'s cost budget; ``RateLimited`` (nothing taken) when
        the budget does not hold that much now."""
        self._cost.take(client, amount)
