"""What an adapter gets from the process it runs in, passed once at construction.

Tests replace the pieces here (a mock transport, a fake clock, a sleep that only records)
instead of smuggling them through the upstream's options. The gateway builds one
``Runtime`` and hands it to every adapter; ``Runtime()`` is the production default.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypeVar

import httpx

from tablegraph.cache import AsyncTTLCache
from tablegraph.providers.kit.answers import MappedAnswers
from tablegraph.stores.base import Store
from tablegraph.tokenstore import TokenStore
from tablegraph.upstream import CallObserver

V = TypeVar("V")
Sleep = Callable[[float], Awaitable[None]]


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Caches:
    """The gateway's caches that adapters ask for by name (``runtime.caches.get(...)``).

    Adapters never build their own TTL dictionaries: a cache made here is the gateway's, so
    it is counted in ``/metrics``, moved by the same test clock, and — once the shared store
    lands — shared between workers.
    """

    timer: Callable[[], float] = time.monotonic
    made: dict[str, AsyncTTLCache[object]] = field(default_factory=dict)
    #: ``answers``: mappings kept by body, per name. ``keep_answers`` off (the naive
    #: baseline) maps every answer again.
    mapped: dict[str, MappedAnswers[object]] = field(default_factory=dict)
    keep_answers: bool = True

    def get(self, name: str, ttl: float, *, stale_ttl: float = 0.0) -> AsyncTTLCache[V]:
        """The cache called ``name`` (``"<upstream>.<what>"``), made on first use."""
        cache = self.made.get(name)
        if cache is None:
            cache = AsyncTTLCache(ttl, timer=self.timer, stale_ttl=stale_ttl)
            self.made[name] = cache
        return cache  # type: ignore[return-value]

    def answers(self, name: str) -> MappedAnswers[V]:
        """The ``MappedAnswers`` called ``name`` (``"<upstream>.<what>"``), made on first use."""
        kept = self.mapped.get(name)
        if kept is None:
            kept = self.mapped[name] = MappedAnswers()
        kept.enabled = self.keep_answers
        return kept  # type: ignore[return-value]

    def invalidate(self, prefix: str, predicate: Callable[[Hashable], bool] | None = None) -> int:
        """Drop entries of every cache whose name starts with ``prefix``."""
        return sum(c.invalidate(predicate) for n, c in self.made.items() if n.startswith(prefix))


@dataclass
class Runtime:
    """Test seams and shared services for adapters. Every field has a production default."""

    #: httpx transport for every upstream client (tests: ``httpx.MockTransport``).
    transport: httpx.AsyncBaseTransport | None = None
    #: Wall clock, aware UTC (token expiry, "now" for notice periods, webhook freshness).
    now: Callable[[], datetime] = _utc_now
    #: Monotonic seconds (TTLs, rate windows).
    monotonic: Callable[[], float] = time.monotonic
    #: How the upstream client and rate governors wait (tests: record instead of sleeping).
    sleep: Sleep = asyncio.sleep
    #: Where OAuth tokens are kept; ``None``: the adapter's configured default.
    token_store: TokenStore | None = None
    caches: Caches | None = None
    #: The gateway's store (``tablegraph.stores``): what an adapter must remember across
    #: restarts and share between workers (LibreBooking's cancellations, budgets, sessions).
    #: ``None`` outside a gateway (adapter unit tests).
    store: Store | None = None
    #: Told of every upstream HTTP exchange (the gateway's ``/metrics``); ``None``: nobody.
    calls: CallObserver | None = None

    def __post_init__(self) -> None:
        if self.caches is None:
            self.caches = Caches(timer=self.monotonic)

    def cache(self, name: str, ttl: float, *, stale_ttl: float = 0.0) -> AsyncTTLCache[V]:
        assert self.caches is not None
        return self.caches.get(name, ttl, stale_ttl=stale_ttl)

    def answers(self, name: str) -> MappedAnswers[V]:
        assert self.caches is not None
        return self.caches.answers(name)
