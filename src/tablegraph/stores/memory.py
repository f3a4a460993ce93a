"""The in-process store: dictionaries and queues. Nothing survives the process; for tests."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict, deque
from collections.abc import Callable

from tablegraph.stores.base import Event


class MemoryStore:
    kind = "memory"

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._values: dict[str, tuple[str, float | None]] = {}
        self._channels: defaultdict[str, set[asyncio.Queue[str]]] = defaultdict(set)
        self._logs: defaultdict[str, deque[tuple[int, float, str]]] = defaultdict(deque)
        self._next_id = 0

    def _live(self, key: str) -> str | None:
        held = self._values.get(key)
        if held is None:
            return None
        value, expires = held
        if expires is not None and self._clock() >= expires:
            del self._values[key]
            return None
        return value

    def _put(self, key: str, value: str, ttl: float | None) -> None:
        self._values[key] = (value, None if ttl is None else self._clock() + ttl)

    async def get(self, key: str) -> str | None:
        return self._live(key)

    async def set(self, key: str, value: str, ttl: float | None = None) -> None:
        self._put(key, value, ttl)

    async def set_if_absent(self, key: str, value: str, ttl: float | None = None) -> bool:
        if self._live(key) is not None:
            return False
        self._put(key, value, ttl)
        return True

    async def delete(self, key: str) -> bool:
        present = self._live(key) is not None
        self._values.pop(key, None)
        return present

    async def compare_and_set(
        self, key: str, expected: str | None, value: str | None, ttl: float | None = None
    ) -> bool:
        if self._live(key) != expected:
            return False
        if value is None:
            self._values.pop(key, None)
        else:
            self._put(key, value, ttl)
        return True

    async def incr(self, key: str, amount: int = 1, ttl: float | None = None) -> int:
        current = self._live(key)
        if current is None:
            self._put(key, str(amount), ttl)
            return amount
        total = int(current) + amount
        self._values[key] = (str(total), self._values[key][1])
        return total

    async def publish(self, channel: str, message: str) -> None:
        for queue in self._channels[channel]:
            queue.put_nowait(message)

    async def subscribe(self, channel: str) -> _Subscription:
        queue: asyncio.Queue[str] = asyncio.Queue()
        self._channels[channel].add(queue)
        return _Subscription(queue, lambda: self._channels[channel].discard(queue))

    async def append(self, log: str, data: str, retention: float) -> str:
        now = self._clock()
        entries = self._logs[log]
        while entries and entries[0][1] <= now - retention:
            entries.popleft()
        self._next_id += 1
        entries.append((self._next_id, now, data))
        return str(self._next_id)

    async def read(self, log: str, after: str | None = None, limit: int = 100) -> list[Event]:
        start = int(after) if after is not None else 0
        out = [Event(str(i), d) for i, _at, d in self._logs[log] if i > start]
        return out[:limit]

    async def close(self) -> None:
        self._channels.clear()


class _Subscription:
    def __init__(self, queue: asyncio.Queue[str], stop: Callable[[], None]) -> None:
        self._queue, self._stop = queue, stop

    def __aiter__(self) -> _Subscription:
        return self

    async def __anext__(self) -> str:
        return await self._queue.get()

    async def aclose(self) -> None:
        self._stop()
