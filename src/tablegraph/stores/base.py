"""The one store interface for everything the gateway remembers beyond a request.

Idempotency records and write intents, creates whose outcome is unknown, cancellations a
provider forgets, tokens, rate budgets, cache invalidations heard by every worker, and event
logs all go through ``Store``. Three implementations, chosen by configuration
(``[store] kind``) and invisible to the code that uses them:

- ``memory`` (``stores.memory``): one process, nothing survives; for tests;
- ``sqlite`` (``stores.sqlite``): a WAL-mode SQLite file in the data directory; the default
  for ``serve`` and ``demo``; survives restarts, and processes on one host may share it;
- ``redis`` (``stores.redis``): redis-py's asyncio client, for many workers or hosts.

Values are ``str`` (callers keep JSON in them). TTLs are seconds of wall-clock time, so an
expiry means the same after a restart. Every operation is atomic on its own; the few
read-modify-writes the gateway needs are ``set_if_absent`` (locks), ``incr`` (budgets) and
``compare_and_set`` (records that change state).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class Event:
    """One entry of an append-only event log; ``id`` orders entries within their log."""

    id: str
    data: str


class Subscription(Protocol):
    def __aiter__(self) -> AsyncIterator[str]: ...

    async def __anext__(self) -> str: ...

    async def aclose(self) -> None: ...


@runtime_checkable
class Store(Protocol):
    #: "memory", "sqlite" or "redis": for logs and for refusing unsafe setups (workers).
    kind: str

    async def get(self, key: str) -> str | None: ...

    async def set(self, key: str, value: str, ttl: float | None = None) -> None: ...

    async def set_if_absent(self, key: str, value: str, ttl: float | None = None) -> bool:
        """Store ``value`` only when ``key`` holds nothing (or expired); True if stored."""
        ...

    async def delete(self, key: str) -> bool:
        """Drop ``key``; True if it held a value."""
        ...

    async def compare_and_set(
        self, key: str, expected: str | None, value: str | None, ttl: float | None = None
    ) -> bool:
        """Replace the value only when it is ``expected`` (None: absent); ``value`` None
        deletes. True if the swap happened."""
        ...

    async def incr(self, key: str, amount: int = 1, ttl: float | None = None) -> int:
        """Add ``amount`` to the integer at ``key`` (0 when absent) and return the sum. The
        expiry is set when the counter is created and not moved by later increments."""
        ...

    async def publish(self, channel: str, message: str) -> None: ...

    async def subscribe(self, channel: str) -> Subscription:
        """Messages published on ``channel`` once this returns, by any process sharing the
        store. Iterate it in a task; ``aclose()`` unsubscribes."""
        ...

    async def append(self, log: str, data: str, retention: float) -> str:
        """Append to the event log ``log``; entries older than ``retention`` seconds go."""
        ...

    async def read(self, log: str, after: str | None = None, limit: int = 100) -> list[Event]:
        """Entries of ``log`` after the entry ``after`` (None: from the oldest kept)."""
        ...

    async def close(self) -> None: ...
