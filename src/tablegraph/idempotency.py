"""Gateway-side idempotency for booking mutations.

A record is keyed by client + idempotency key and stores the request's fingerprint and the
first result. A replay with the same fingerprint returns that result; the same key with a
different request is refused; concurrent duplicates wait for the first instead of racing.
Records live 24 hours. This in-memory store is the embedded default; the interface is small
enough for a Redis implementation when the gateway is scaled out.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, fields, is_dataclass
from datetime import UTC, date, datetime
from datetime import time as time_of_day
from enum import Enum
from typing import Any, Generic, TypeVar

from cachetools import TTLCache

from tablegraph.errors import IdempotencyConflict

T = TypeVar("T")
DAY = 24 * 3600.0


def upstream_key(client: str, key: str) -> str:
    """The idempotency key sent upstream (Vardvik's ``Idempotency-Key``, the markers other
    adapters write): derived from client id + key, so two clients' equal keys never meet
    at the provider, and a retry of the same client's key derives the same one."""
    digest = hashlib.sha256(f"{client}\x00{key}".encode()).hexdigest()
    return f"tg1-{digest[:40]}"


def fingerprint(operation: str, payload: Any) -> str:
    """What makes two requests under one key "the same". Instants are compared in UTC (one
    instant written with two offsets is one request); dataclasses by their fields."""
    canonical = json.dumps([operation, plain(payload)], sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def plain(value: Any) -> Any:
    """``value`` as JSON-ready data, canonical where two spellings mean the same thing."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat() if value.tzinfo else value.isoformat()
    if isinstance(value, date | time_of_day):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted((plain(v) for v in value), key=json.dumps)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


@dataclass
class _Record(Generic[T]):
    fingerprint: str
    future: asyncio.Future[T]


class IdempotencyStore(Generic[T]):
    def __init__(self, ttl: float = DAY, timer: Callable[[], float] = time.monotonic) -> None:
        self._records: TTLCache[tuple[str, str], _Record[T]] = TTLCache(100_000, ttl, timer=timer)

    async def run(
        self,
        client: str,
        key: str,
        print_: str,
        action: Callable[[], Awaitable[T]],
        *,
        keep: Callable[[T], bool] = lambda _r: True,
    ) -> T:
        """Run ``action`` once per (client, key); replays get the first result.

        ``keep(result)`` decides whether a result is final (a transient failure is not kept,
        so the client may retry with the same key).
        """
        slot = (client, key)
        record = self._records.get(slot)
        if record is not None:
            if record.fingerprint != print_:
                raise IdempotencyConflict(
                    "this idempotency key was already used with a different request"
                )
            return await asyncio.shield(record.future)
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._records[slot] = _Record(print_, future)
        try:
            result = await action()
        except BaseException as exc:
            self._records.pop(slot, None)
            future.set_exception(exc)
            future.exception()
            raise
        if not keep(result):
            self._records.pop(slot, None)
        future.set_result(result)
        return result
