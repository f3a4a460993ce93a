"""The booking a write has just read, handed once to the adapter's own read before it writes.

The booking service reads a booking before changing it (its state decides the answer), and
most adapters read it again inside the write (the provider's guards, the current start and
party). Without this module every reschedule, cancel and update fetched the same booking
twice. Now the service's read runs under ``keeping()``, which keeps each raw answer an
adapter loads through ``reuse``; the write call runs under ``handing()``, where the first
``reuse`` of a kept key takes that answer instead of sending a request. Everything else
loads:

- an answer is taken at most once, and whatever was not taken is dropped when the write call
  returns, so a read-back after the write — or the reconciliation of a lost answer — is
  always a fresh request;
- outside both scopes ``reuse`` just loads (reads of queries are never served from here).

An adapter uses ``reuse`` for the read it makes *before* sending a write (and in the read
path the service calls), never for the read-back after it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

T = TypeVar("T")

_KEEP, _HAND = "keep", "hand"
_scope: ContextVar[tuple[str, dict[Hashable, Any]] | None] = ContextVar(
    "tablegraph_prefetch", default=None
)


@contextmanager
def _phase(phase: str, kept: dict[Hashable, Any]) -> Iterator[dict[Hashable, Any]]:
    token = _scope.set((phase, kept))
    try:
        yield kept
    finally:
        _scope.reset(token)


@contextmanager
def keeping() -> Iterator[dict[Hashable, Any]]:
    """Reads inside keep their raw answers (returned, for ``handing``)."""
    with _phase(_KEEP, {}) as kept:
        yield kept


@contextmanager
def handing(kept: dict[Hashable, Any]) -> Iterator[None]:
    """The write call inside may take each kept answer once; the rest is dropped after."""
    try:
        with _phase(_HAND, kept):
            yield
    finally:
        kept.clear()


async def reuse(key: Hashable, load: Callable[[], Awaitable[T]]) -> T:
    """``load()``, or the answer the service's read kept under ``key`` (taken once)."""
    scope = _scope.get()
    if scope is None:
        return await load()
    phase, kept = scope
    if phase == _HAND and key in kept:
        taken: T = kept.pop(key)
        return taken
    value = await load()
    if phase == _KEEP:
        kept[key] = value
    return value
