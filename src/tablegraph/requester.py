"""The client a request is answered for, carried in a context variable (like the deadline).

The HTTP handler opens a scope per GraphQL request with the caller's name for per-client
limits (``tablegraph.http.clients.client_key``: ``client:<id>``, or ``addr:<address>`` for
anonymous callers). Upstream calls made while answering it, in whatever task of the fan-out,
see the same name, so a shared upstream budget (resOS' requests per minute) can be divided
fairly between clients. Work done for no client (start-up probes, background polls, adapter
tests) sees ``None``.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from contextvars import ContextVar

from tablegraph import scoped

_client: ContextVar[str | None] = ContextVar("tablegraph_requester", default=None)


def current() -> str | None:
    """The client the current request is answered for (None: the gateway's own work)."""
    return _client.get()


def acting_for(client: str) -> AbstractContextManager[str | None]:
    """Upstream calls made in this block (and in tasks it starts) are ``client``'s."""
    return scoped.setting(_client, client)
