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

from tablegraph import deadline, inputs

V = TypeVar("V")
#: A caller joins a load in flight whose request's deadline comes at most this much sooner
#: than its own (requests arriving together under the same budget share one load).
JOIN_SLACK_SECONDS = 1.0
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
    """``await cache.get_or_load(key, loader)``: one load per key at a time, result kept ``ttl``
    (``ttl`` 0: nothing kept, loads in flight shared).

    Failures are not cached. Waiting for another caller's in-flight load is bounded by the
    current request's deadline (``TimeoutError``); a load cut by a much shorter deadline than
    the caller's is not joined, and the caller whose load others joined may be cancelled
    without failing them. ``invalidate`` detaches loads in flight as well as dropping entries.
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
        #: Loads in flight: their result, and the deadline that cuts them (None: none).
        self._inflight: dict[Hashable, tuple[asyncio.Future[V], float | None]] = {}
        #: ``ttl`` and ``stale_ttl`` 0: nothing is kept, loads in flight are shared (single
        #: flight only).
        self._keeps = ttl + stale_ttl > 0
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
        if self._keeps:
            self._cache[key] = _Entry(self._timer(), value)

    def invalidate(self, predicate: Callable[[Hashable], bool] | None = None) -> int:
        """Drop the matching entries, and detach the matching loads in flight: they began
        before whatever made the entries stale, so a caller arriving now starts a new load
        rather than joining one, and a detached load's result is not kept (its own waiters,
        who asked before, still get it). The count is of entries dropped."""
        for k in [k for k in self._inflight if predicate is None or predicate(k)]:
            del self._inflight[k]
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
            noting = inputs.current()
            if noting is not None:
                noting.kept.append(inputs.Kept(self, key, fresh))
            return Fetched(fresh.value, self._timer() - fresh.stored_at)
        try:
            return await self._load(key, loader)
        except Exception as exc:
            kept = self._cache.get(key)
            if kept is None or stale_if is None or not stale_if(exc):
                raise
            return Fetched(kept.value, self._timer() - kept.stored_at, stale=True, error=exc)

    @property
    def loading(self) -> int:
        """Loads in flight now (that a new caller would join)."""
        return len(self._inflight)

    def age(self, key: Hashable, entry: object | None = None) -> float | None:
        """Seconds since the fresh entry for ``key`` was stored — only if it is ``entry``, when
        one is given (``inputs.Kept``); None when there is no such fresh entry."""
        fresh = self._fresh(key)
        if fresh is None or (entry is not None and fresh is not entry):
            return None
        return self._timer() - fresh.stored_at

    async def _load(self, key: Hashable, loader: Callable[[], Awaitable[V]]) -> Fetched[V]:
        mine = deadline.at()
        while (flight := self._inflight.get(key)) is not None:
            pending, cut_at = flight
            if cut_at is not None and (mine is None or cut_at < mine - JOIN_SLACK_SECONDS):
                # That load gives up well before this caller would (its request's deadline
                # is shorter): a timeout of theirs must not fail this one. Load anew; later
                # callers join the new load.
                break
            self.hits += 1  # deduplicated: someone else is loading it right now
            inputs.cannot_repeat("shared a read in flight")  # its upstream reads are not ours
            try:
                async with asyncio.timeout(deadline.remaining()):
                    return Fetched(await asyncio.shield(pending), 0.0)
            except asyncio.CancelledError:
                # The loading caller was cancelled (its client went away), not this one:
                # load it afresh rather than fail a caller who is still waiting.
                if not pending.cancelled() or _being_cancelled():
                    raise
                self.hits -= 1
        self.misses += 1
        if self._keeps:  # the next execution is served the entry instead of these reads
            inputs.cannot_repeat("filled a cache")
        future: asyncio.Future[V] = asyncio.get_running_loop().create_future()
        self._inflight[key] = (future, mine)
        try:
            value = await loader()
        except asyncio.CancelledError:
            future.cancel()
            raise
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: waiters re-raise it, nobody else must
            raise
        else:
            if self._ours(key, future):  # not detached by an invalidation or a later load
                self.set(key, value)
            future.set_result(value)
            return Fetched(value, None)
        finally:
            if self._ours(key, future):
                del self._inflight[key]

    def _ours(self, key: Hashable, future: asyncio.Future[V]) -> bool:
        flight = self._inflight.get(key)
        return flight is not None and flight[0] is future


def _being_cancelled() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0
