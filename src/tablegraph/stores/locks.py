"""A lock in the store: one holder among every worker sharing it (single-flight refresh).

``async with held(store, "libro-token:acct", ttl=30) as mine:`` — ``mine`` is True for the one
caller that got the lock; the others wait (bounded) until it is released, then re-read what
the holder stored instead of repeating its work. The lock expires after ``ttl`` so a worker
that dies holding it cannot block the rest for longer than that.

``renew_once`` is that pattern whole: a saved value if it is still good, else one worker
renews it while the others wait and read what it saved — what a rotating OAuth refresh token
needs, since a second refresh with the token the first one used would be refused.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

from tablegraph.stores.base import Store

T = TypeVar("T")


class LockBusy(Exception):
    """Another worker kept the lock, and what it was to save never appeared."""


@asynccontextmanager
async def held(
    store: Store, name: str, *, ttl: float = 30.0, wait: float = 30.0
) -> AsyncIterator[bool]:
    key, token = f"lock:{name}", uuid.uuid4().hex
    if await store.set_if_absent(key, token, ttl):
        try:
            yield True
        finally:
            await store.compare_and_set(key, token, None)
        return
    give_up, pause = time.monotonic() + wait, 0.02
    while await store.get(key) is not None and time.monotonic() < give_up:
        await asyncio.sleep(pause)  # the holder is doing the work; wait for it
        pause = min(pause * 2, 0.25)
    yield False


async def renew_once(
    store: Store | None,
    name: str,
    *,
    read: Callable[[], Awaitable[T | None]],
    renew: Callable[[], Awaitable[T]],
    ttl: float = 30.0,
    wait: float = 30.0,
    attempts: int = 3,
) -> T:
    """``read()`` when it finds a usable value (not None); otherwise ``renew()`` — which must
    save what it makes where ``read`` finds it — by one caller at a time among every worker
    sharing ``store`` (None: no lock, renew at once). A caller that waited reads again and
    renews only if the holder saved nothing usable (it failed or died). ``LockBusy`` after
    ``attempts`` waits that each ended without a value."""
    found = await read()
    if found is not None:
        return found
    if store is None:
        return await renew()
    for _ in range(attempts):
        async with held(store, name, ttl=ttl, wait=wait) as mine:
            found = await read()
            if found is not None:
                return found
            if mine:
                return await renew()
    raise LockBusy(f"{name}: another worker holds the lock and saved nothing usable")
