"""Batch-shaped reads for providers without a batch endpoint: one call per distinct key,
a bounded number at once, results in key order (``Batch``: value, ``None`` for not found,
or the key's own ``GatewayError``) — exactly what a DataLoader wants."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import TypeVar

from tablegraph.errors import GatewayError, NotFound

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)

#: One entry per requested key, in key order.
Batch = list[T | GatewayError | None]

DEFAULT_CONCURRENCY = 8


async def batch_by_key(
    keys: Sequence[K],
    fetch: Callable[[K], Awaitable[T | None]],
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
) -> Batch[T]:
    """``fetch`` each distinct key once, at most ``concurrency`` at a time.

    ``NotFound`` becomes ``None``; any other ``GatewayError`` is that key's entry, so one
    failing key does not fail the others. Anything else is a bug and propagates.
    """
    unique = list(dict.fromkeys(keys))
    semaphore = asyncio.Semaphore(max(1, concurrency))

    async def one(key: K) -> T | GatewayError | None:
        async with semaphore:
            try:
                return await fetch(key)
            except NotFound:
                return None
            except GatewayError as exc:
                return exc

    results = dict(zip(unique, await asyncio.gather(*(one(k) for k in unique)), strict=True))
    return [results[k] for k in keys]


def in_key_order(keys: Sequence[K], found: dict[K, T]) -> Batch[T]:
    """A batch from a lookup table (a list endpoint's rows by id); missing keys are ``None``."""
    return [found.get(k) for k in keys]
