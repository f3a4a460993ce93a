"""In-process async caches on cachetools: TTL with single-flight loading and an injectable
timer (tests move time instead of sleeping). cachetools' ``@cached`` does not understand
``async def``, hence this small wrapper.

An entry is *fresh* for ``ttl`` seconds. With ``stale_ttl`` it is kept that much longer, and
``fetch(..., stale_if=...)`` answers with it — marked stale — when a reload fails with an
error the caller accepts (an upstream outage), instead of failing.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

from cachetools import TTLCache

from tablegraph import deadline

V = TypeVar("V")
Timer = Callable[[], float]


@dataclass(frozen=True)
class _Entry(Generic[V]):
    stored_at: float
    value: V


@dataclass(frozen=True)
class Fetched(Generic[V]):
    value: V
    #: Seconds since the value was loaded; None when this call loaded it from the upstream.
    age: float | None
    #: Served from cache because the reload failed with ``error``.
    stale: bool = False
    error: BaseException | None = None


class AsyncTTLCache(Generic[V]):
    """``await cache.get_or_load(key, loader)``: one load per key at a time, result kept ``ttl``.

    Failures are not cached. Waiting for another caller's in-flight load is bounded by the
    current request's deadline (``TimeoutError``).
    """

    def __init__(
        self,
        ttl: float,
        maxsize: int = 4096,
        timer: Timer = time.monotonic,
        *,
        stale_ttl: float = 0.0,
    ) -> None:
        self.ttl = ttl
        self._timer = timer
        self._cache: TTLCache[Hashable, _Entry[V]] = TTLCache(maxsize, ttl + stale_ttl, timer=timer)
        self._inflight: dict[Hashable, asyncio.Future[V]] = {}
        self.hits = 0
        self.misses = 0

    def _fresh(self, key: Hashable) -> _Entry[V] | None:
        entry = self._cache.get(key)
        if entry is not None and self._timer() - entry.stored_at < self.ttl:
            return entry
        return None

    def get(self, key: Hashable) -> V | None:
        entry = self._fresh(key)
        return entry.value if entry is not None else None

    def set(self, key: Hashable, value: V) -> None:
        self._cache[key] = _Entry(self._timer(), value)

    def invalidate(self, predicate: Callable[[Hashable], bool] | None = None) -> int:
        keys = [k for k in list(self._cache.keys()) if predicate is None or predicate(k)]
        for k in keys:
            self._cache.pop(k, None)
        return len(keys)

    async def get_or_load(self, key: Hashable, loader: Callable[[], Awaitable[V]]) -> V:
        return (await self.fetch(key, loader)).value

    async def fetch(
        self,
        key: Hashable,
        loader: Callable[[], Awaitable[V]],
        *,
        stale_if: Callable[[BaseException], bool] | None = None,
    ) -> Fetched[V]:
        fresh = self._fresh(key)
        if fresh is not None:
            self.hits += 1
            return Fetched(fresh.value, self._timer() - fresh.stored_at)
        try:
            return await self._load(key, loader)
        except Exception as exc:
            kept = self._cache.get(key)
            if kept is None or stale_if is None or not stale_if(exc):
                raise
            return Fetched(kept.value, self._timer() - kept.stored_at, stale=True, error=exc)

    async def _load(self, key: Hashable, loader: Callable[[], Awaitable[V]]) -> Fetched[V]:
        pending = self._inflight.get(key)
        if pending is not None:
            self.hits += 1  # deduplicated: someone else is loading it right now
            async with asyncio.timeout(deadline.remaining()):
                return Fetched(await asyncio.shield(pending), 0.0)
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
            self.set(key, value)
            future.set_result(value)
            return Fetched(value, None)
        finally:
            self._inflight.pop(key, None)
