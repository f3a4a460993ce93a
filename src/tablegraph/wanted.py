"""What the query being answered will ask of what an adapter is listing, and reads started
ahead for it (context variables, per request).

A booking list is read before the guests it names: the query's guests are batched once the
list is back. An adapter whose guests come from a read that does not depend on the list
(Libro's people page) can send that read beside the list — a round trip less — when it
knows the query will ask the guests. The resolver says so around the list's read
(``guests``); the adapter asks ``guests_wanted()``, starts the read with ``ahead`` and takes
it where it would have sent it (``take``). A read started ahead belongs to its request
(``reading``, around an execution): only that request's reads take it, so it is one of the
reads that request's answer was built from (``tablegraph.inputs``), and one never taken is
cancelled when the execution ends. Outside a request nothing is read ahead.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable, Coroutine, Hashable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from tablegraph import scoped

_guests: contextvars.ContextVar[bool] = contextvars.ContextVar("guests_wanted", default=False)
_ahead: contextvars.ContextVar[dict[Hashable, asyncio.Task[Any]] | None] = contextvars.ContextVar(
    "tablegraph_read_ahead", default=None
)


def guests(wanted: bool) -> AbstractContextManager[bool]:
    """Reads inside are for a query that will (``wanted``) read the listed bookings' guests."""
    return scoped.setting(_guests, wanted)


def guests_wanted() -> bool:
    return _guests.get()


@contextmanager
def reading() -> Iterator[None]:
    """One request's execution: reads started ahead inside are its own."""
    started: dict[Hashable, asyncio.Task[Any]] = {}
    with scoped.setting(_ahead, started):
        try:
            yield
        finally:
            for task in started.values():  # never taken: the query did not ask after all
                task.cancel()
            started.clear()


def ahead(key: Hashable, read: Callable[[], Coroutine[Any, Any, Any]]) -> None:
    """Start ``read()`` for this request to ``take`` under ``key`` (none inside a request
    already started under ``key``; nothing outside a request)."""
    started = _ahead.get()
    if started is None or key in started:
        return
    task = asyncio.get_running_loop().create_task(read())
    task.add_done_callback(_retrieved)
    started[key] = task


def take(key: Hashable) -> asyncio.Task[Any] | None:
    """The read this request started ahead under ``key``, once."""
    started = _ahead.get()
    return None if started is None else started.pop(key, None)


def _retrieved(task: asyncio.Task[Any]) -> None:
    """Its failure is the taker's to see; one never taken must not be reported as lost."""
    if not task.cancelled():
        task.exception()
