"""The request-wide deadline, carried in a context variable.

The HTTP handler opens a scope per GraphQL request (the gateway's default, or shorter when the
client asks with ``X-Request-Timeout-Ms``). Every upstream call made while answering it, in
whatever task of the fan-out, sees the same absolute deadline (asyncio tasks copy the context)
and cuts its own timeout to what is left, so one slow upstream is cut off and reported while the
others' answers are kept. Waits that are not HTTP (a rate-limit queue, a shared in-flight load)
use ``remaining()`` too.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_deadline: ContextVar[float | None] = ContextVar("tablegraph_deadline", default=None)


def remaining() -> float | None:
    """Seconds left before the current request's deadline (None: no deadline in force)."""
    at = _deadline.get()
    if at is None:
        return None
    return at - time.monotonic()


def at() -> float | None:
    """The current request's deadline on the ``time.monotonic`` clock (None: none)."""
    return _deadline.get()


@contextmanager
def scope(seconds: float, *, extend: bool = False) -> Iterator[None]:
    """A deadline ``seconds`` from now; nested scopes only shorten it unless ``extend``.

    ``extend`` is for work that must run to stay correct after the client's budget is spent,
    such as reconciling a write whose outcome is unknown.
    """
    at = time.monotonic() + seconds
    current = _deadline.get()
    if current is not None and not extend:
        at = min(at, current)
    token = _deadline.set(at)
    try:
        yield
    finally:
        _deadline.reset(token)
