"""Per-request provenance: which upstreams an answer came from, how fast, and how fresh.

The HTTP handler installs a ``Provenance`` in a context variable for each GraphQL request; the
upstream client records every call and the gateway records every cache hit and every stale
fallback. The handler puts ``to_json()`` in the response's ``extensions.upstreams``::

    "vardvik-berlin": {"status": "OK", "requests": 2, "latencyMs": 12.5,
                       "cached": false, "ageSeconds": null}
    "libro":          {"status": "STALE", "requests": 1, "latencyMs": 3.1,
                       "cached": true, "ageSeconds": 412.0, "errorCode": "UPSTREAM_UNAVAILABLE"}

``status`` is OK, STALE (reference data served from cache because the upstream failed) or
ERROR (a call failed; the errors list names it). ``cached`` is true only when the answer was
served from the cache: no request went to that upstream, or the data is a stale fallback.
``latencyMs`` is the wall-clock span from the first call to this upstream until the last one
ended; ``ageSeconds`` is the oldest cached entry served.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any


@dataclass
class UpstreamTrace:
    requests: int = 0
    first_start: float | None = None
    last_end: float | None = None
    cached: bool = False
    age: float | None = None
    stale: bool = False
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        span = None
        if self.first_start is not None and self.last_end is not None:
            span = round((self.last_end - self.first_start) * 1000, 1)
        status = "STALE" if self.stale else ("ERROR" if self.error else "OK")
        # ``cached`` means the answer came from the cache: a stale fallback, or no call at
        # all. A write that read the restaurant list from the cache and then called the
        # upstream was answered by the upstream.
        cached = self.stale or (self.cached and self.requests == 0)
        out: dict[str, Any] = {
            "status": status,
            "requests": self.requests,
            "latencyMs": span,
            "cached": cached,
            "ageSeconds": round(self.age, 1) if cached and self.age is not None else None,
        }
        if self.error:
            out["errorCode"] = self.error
        return out


class Provenance:
    def __init__(self) -> None:
        self.upstreams: dict[str, UpstreamTrace] = {}

    def _trace(self, upstream: str) -> UpstreamTrace:
        return self.upstreams.setdefault(upstream, UpstreamTrace())

    def called(self, upstream: str, started: float, ended: float, error: str | None) -> None:
        t = self._trace(upstream)
        t.requests += 1
        t.first_start = started if t.first_start is None else min(t.first_start, started)
        t.last_end = ended if t.last_end is None else max(t.last_end, ended)
        if error:
            t.error = error

    def touched(self, upstream: str) -> None:
        """The answer used this upstream's data (even if no call was needed for it)."""
        self._trace(upstream)

    def failed(self, upstream: str, code: str) -> None:
        self._trace(upstream).error = code

    def served_cached(self, upstream: str, age: float, *, stale: bool = False) -> None:
        t = self._trace(upstream)
        t.cached = True
        t.age = age if t.age is None else max(t.age, age)
        t.stale = t.stale or stale

    def shared(self, leader: Provenance) -> None:
        """This answer is ``leader``'s (an identical query's execution, shared): each of its
        upstreams as served from it, 0 s old, with its failures."""
        for name, trace in leader.upstreams.items():
            self.served_cached(name, 0.0, stale=trace.stale)
            if trace.error:
                self.failed(name, trace.error)

    def to_json(self) -> dict[str, Any]:
        return {name: trace.to_json() for name, trace in sorted(self.upstreams.items())}


_current: ContextVar[Provenance | None] = ContextVar("tablegraph_provenance", default=None)


def current() -> Provenance | None:
    return _current.get()


@contextmanager
def recording() -> Iterator[Provenance]:
    """A fresh record for the current task and the tasks it starts."""
    record = Provenance()
    token = _current.set(record)
    try:
        yield record
    finally:
        _current.reset(token)


def now() -> float:
    return time.perf_counter()
