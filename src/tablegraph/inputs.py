"""What one query's execution read: the upstream answers and the kept cache entries it used,
so that the same query can be answered again once those are known to be unchanged
(``graphql/revalidated.py``).

The HTTP handler installs an ``Inputs`` in a context variable while a query executes; the
upstream client notes every answer it returns (``UpstreamClient.request``), the caches every
kept entry they serve (``AsyncTTLCache.fetch``) and the gateway which upstream a cached read
stood for (``Gateway._cached``). Whatever an answer would depend on that cannot be read again
the same way makes the execution *unrepeatable*, with the reason: a write, a read with a body,
a read shared with another request in flight, a cache the execution filled or tried to fill
(the next execution reads the cache, not the upstream; a stale fallback is such a try).

A failed revalidation hands the answers it fetched to the execution that follows
(``given``): each is used once, instead of asking the upstream a second time.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Read:
    """One upstream answer as the client returned it."""

    #: The ``UpstreamClient`` that sent it; ``client.read_again(key)`` asks again.
    client: Any
    #: (method, path, params, headers, idempotent, authenticated): the request, as sent.
    key: Hashable
    status: int
    content: bytes


@dataclass(frozen=True)
class Kept:
    """A kept cache entry the execution was served (valid while it is still the entry)."""

    cache: Any
    key: Hashable
    entry: object


@dataclass
class Inputs:
    reads: list[Read] = field(default_factory=list)
    kept: list[Kept] = field(default_factory=list)
    #: (upstream, cache, key) of every cached read that stood for an upstream's data
    #: (``extensions.upstreams`` shows it as cached, with the entry's age).
    served: list[tuple[str, Any, Hashable]] = field(default_factory=list)
    #: Why the execution cannot be repeated from these inputs; None: it can.
    unrepeatable: str | None = None
    #: Answers already fetched for this request, by (client, key): each used once.
    given: dict[tuple[Any, Hashable], Any] = field(default_factory=dict)
    closed: bool = False

    def cannot_repeat(self, why: str) -> None:
        if self.unrepeatable is None and not self.closed:
            self.unrepeatable = why

    def take(self, client: Any, key: Hashable) -> Any | None:
        """An answer fetched for this request already (``given``), once."""
        return self.given.pop((client, key), None) if self.given else None


_current: ContextVar[Inputs | None] = ContextVar("tablegraph_inputs", default=None)


def current() -> Inputs | None:
    inputs = _current.get()
    return None if inputs is None or inputs.closed else inputs


def cannot_repeat(why: str) -> None:
    inputs = current()
    if inputs is not None:
        inputs.cannot_repeat(why)


@contextmanager
def recording(given: dict[tuple[Any, Hashable], Any] | None = None) -> Iterator[Inputs]:
    """A fresh record for the current task and the tasks it starts; closed on exit (a task
    still running afterwards notes nothing more)."""
    inputs = Inputs(given=given or {})
    token = _current.set(inputs)
    try:
        yield inputs
    finally:
        inputs.closed = True
        _current.reset(token)
