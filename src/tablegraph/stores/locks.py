"""A lock in the store: one holder among every worker sharing it (single-flight refresh).

``async with held(store, "libro-token:acct", ttl=30) as mine:`` — ``mine`` is True for the one
caller that got the lock; the others wait (bounded) until it is released, then re-read what
the holder stored instead of repeating its work. The lock expires after ``ttl`` so a worker
that dies holding it cannot block the rest for longer than that.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from tablegraph.stores.base import Store


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
