"""A ``Store`` that times each operation of the store it wraps, for ``/metrics``.

The gateway wraps whatever store it uses, so every part of the code — idempotency records,
adapters' memories, budgets, invalidations — is measured in one place, by operation name and
store kind. A subscription is timed when it is made, not while it is listened to.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from tablegraph.stores.base import Event, Store, Subscription

T = TypeVar("T")
#: Told (operation, store kind, seconds) after each operation, whether it succeeded or not.
Observe = Callable[[str, str, float], None]


class TimedStore:
    def __init__(self, inner: Store, observe: Observe) -> None:
        self.inner = inner
        self.kind = inner.kind
        self._observe = observe

    async def _timed(self, operation: str, work: Awaitable[T]) -> T:
        started = time.perf_counter()
        try:
            return await work
        finally:
            self._observe(operation, self.kind, time.perf_counter() - started)

    async def get(self, key: str) -> str | None:
        return await self._timed("get", self.inner.get(key))

    async def set(self, key: str, value: str, ttl: float | None = None) -> None:
        await self._timed("set", self.inner.set(key, value, ttl))

    async def set_if_absent(self, key: str, value: str, ttl: float | None = None) -> bool:
        return await self._timed("set_if_absent", self.inner.set_if_absent(key, value, ttl))

    async def delete(self, key: str) -> bool:
        return await self._timed("delete", self.inner.delete(key))

    async def compare_and_set(
        self, key: str, expected: str | None, value: str | None, ttl: float | None = None
    ) -> bool:
        return await self._timed(
            "compare_and_set", self.inner.compare_and_set(key, expected, value, ttl)
        )

    async def incr(self, key: str, amount: int = 1, ttl: float | None = None) -> int:
        return await self._timed("incr", self.inner.incr(key, amount, ttl))

    async def publish(self, channel: str, message: str) -> None:
        await self._timed("publish", self.inner.publish(channel, message))

    async def subscribe(self, channel: str) -> Subscription:
        return await self._timed("subscribe", self.inner.subscribe(channel))

    async def append(self, log: str, data: str, retention: float) -> str:
        return await self._timed("append", self.inner.append(log, data, retention))

    async def read(self, log: str, after: str | None = None, limit: int = 100) -> list[Event]:
        return await self._timed("read", self.inner.read(log, after, limit))

    async def close(self) -> None:
        await self.inner.close()
