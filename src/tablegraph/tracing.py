"""W3C trace context: a client's ``traceparent`` carried to every upstream call.

The HTTP handler opens ``scope(header)`` per request: a valid ``traceparent`` from the client
continues its trace, anything else (absent, malformed, the all-zero ids the spec forbids)
starts a new one. Every upstream call then sends ``outgoing()``: the same trace id with a new
parent id of its own, so the upstream's logs line up with the client's trace. Like the
deadline, the trace lives in a context variable that every task of the fan-out inherits.

With the ``otel`` extra switched on (``tablegraph.otel``), the request's context is its
operation span's (``continued``) and each upstream call sends its own span's ids instead of
``outgoing()``'s random parent id.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

HEADER = "traceparent"
_FORMAT = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")


@dataclass(frozen=True)
class TraceContext:
    trace_id: str
    parent_id: str
    flags: str = "01"

    def header(self) -> str:
        return f"00-{self.trace_id}-{self.parent_id}-{self.flags}"

    def child(self) -> TraceContext:
        return TraceContext(self.trace_id, secrets.token_hex(8), self.flags)


_current: ContextVar[TraceContext | None] = ContextVar("tablegraph_trace", default=None)


def parse(header: str | None) -> TraceContext | None:
    """The client's trace context, or None when the header is absent or not valid."""
    found = _FORMAT.match((header or "").strip().lower())
    if found is None:
        return None
    version, trace_id, parent_id, flags = found.groups()
    if version == "ff" or set(trace_id) == {"0"} or set(parent_id) == {"0"}:
        return None
    return TraceContext(trace_id, parent_id, flags)


def current() -> TraceContext | None:
    return _current.get()


@contextmanager
def scope(header: str | None) -> Iterator[TraceContext]:
    """This request's trace: the client's, continued, or a new one."""
    context = parse(header) or TraceContext(secrets.token_hex(16), secrets.token_hex(8))
    token = _current.set(context)
    try:
        yield context
    finally:
        _current.reset(token)


@contextmanager
def continued(context: TraceContext) -> Iterator[TraceContext]:
    """This request's trace, already decided (the operation span's, ``tablegraph.otel``)."""
    token = _current.set(context)
    try:
        yield context
    finally:
        _current.reset(token)


def outgoing() -> dict[str, str]:
    """Headers for one upstream call: the trace continued with a parent id of its own."""
    context = _current.get()
    return {} if context is None else {HEADER: context.child().header()}
