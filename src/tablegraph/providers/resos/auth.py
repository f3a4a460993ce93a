"""resOS auth: HTTP Basic with the restaurant's API key as user name and an empty password
(``base64(key + ":")``, seeds/resos-api.txt "Authentication"). A key never expires, so there
is nothing to refresh: a 401 is final.

Every attempt the ``UpstreamClient`` makes (retries included) first asks the key's rate
governor for budget, at the priority of the current task (``priority``), so the budget
counts what is really sent.
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, ParamSpec, TypeVar

from tablegraph import background
from tablegraph.errors import UpstreamRateLimited
from tablegraph.providers.kit import StaticAuth
from tablegraph.providers.resos.governor import BACKGROUND, MUTATION, READ, RateGovernor
from tablegraph.upstream import UpstreamClient

P = ParamSpec("P")
T = TypeVar("T")

_priority: contextvars.ContextVar[int] = contextvars.ContextVar("resos_priority", default=READ)


@contextmanager
def priority(level: int) -> Iterator[None]:
    """Requests made in this block (and in tasks it starts) ask for budget at ``level``
    (``MUTATION`` or ``READ``)."""
    token = _priority.set(level)
    try:
        yield
    finally:
        _priority.reset(token)


class GovernedBasicAuth:
    """Basic auth for one key; every attempt first waits for the key's budget."""

    refresh_statuses: frozenset[int] = StaticAuth.refresh_statuses

    def __init__(self, api_key: str, governor: RateGovernor) -> None:
        self._basic = StaticAuth.basic(api_key)
        self.governor = governor

    async def headers(self, client: UpstreamClient) -> Mapping[str, str]:
        try:
            level = _priority.get()
            if level == READ and background.active():
                level = BACKGROUND  # a poll for booking events waits behind clients' reads
            await self.governor.acquire(level)
        except TimeoutError:
            wait = round(self.governor.resets_in(), 3)
            raise UpstreamRateLimited(
                f"{client.name}: its request budget has no room before this request's deadline",
                upstream=client.name,
                retry_after=wait,
                details={"retryAfterSeconds": wait},
            ) from None
        return await self._basic.headers(client)

    async def refresh(self, client: UpstreamClient, stale: Mapping[str, str]) -> bool:
        return False


def mutation(method: Callable[P, Awaitable[T]]) -> Callable[P, Coroutine[Any, Any, T]]:
    """Run an adapter method's requests at ``MUTATION`` priority: a write's re-checks, its
    write and its read-back go ahead of queued browsing reads."""

    @functools.wraps(method)
    async def run(*args: P.args, **kwargs: P.kwargs) -> T:
        with priority(MUTATION):
            return await method(*args, **kwargs)

    return run
