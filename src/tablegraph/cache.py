"""In-process async caches on cachetools: TTL with single-flight loading and an injectable
timer (tests move time instead of sleeping). cachetools' ``@cached`` does not understand
``async def``, hence this small wrapper.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

from cachetools import TTLCache

V = TypeVar("V")
Timer = Callable[[], float]
_MISSING = object()


class AsyncTTLCache(Generic[V]):
    """``await cache.get_or_load(key, loader)``: one load per key at a time, result kept ``ttl``.

    Failures are not cached.
    """

    def __init__(self, ttl: float, maxsize: int = 4096, timer: Timer = time.monotonic) -> None:
        self._cache: TTLCache[Hashable, V] = TTLCache(maxsize, ttl, timer=timer)
        self._inflight: dict[Hashable, asyncio.Future[V]] = {}
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> V | None:
        return self._cache.get(key)

    def set(self, key: Hashable, value: V) -> None:
        self._cache[key] = value

    def invalidate(self, predicate: Callable[[Hashable], bool] | None = None) -> int:
        keys = [k for k in list(self._cache.keys()) if predicate is None or predicate(k)]
        for k in keys:
            self._cache.pop(k, None)
        return len(keys)

    async def get_or_load(self, key: Hashable, loader: Callable[[], Awaitable[V]]) -> V:
        cached = self._cache.get(key, _MISSING)
        if cached is not _MISSING:
            self.hits += 1
            return cached  # type: ignore[return-value]
        pending = self._inflight.get(key)
        if pending is not None:
            self.hits += 1
            return await asyncio.shield(pending)
        self.misses += 1
        future: asyncio.Future[V] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            value = await loader()
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: waiters re-raise it, nobody else must
            raise
        else:
            self._cache[key] = value
            future.set_result(value)
            return value
        finally:
            self._inflight.pop(key, None)
