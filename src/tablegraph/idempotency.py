"""Gateway-side idempotency for booking mutations, kept in the gateway's store.

A record is keyed by client + idempotency key and holds the request's fingerprint and the
first final result. A replay with the same fingerprint returns that result; the same key with
a different request is refused; concurrent duplicates wait for the first instead of racing —
in one process on a future, across processes on an in-flight lock in the store. Records live
24 hours, in whatever store the gateway runs on (``tablegraph.stores``): with SQLite or Redis
they survive a restart and are shared by every worker.

Write-ahead: under the lock, the record is written as an *intent* (fingerprint and what the
caller describes: upstream, restaurant…) before ``action`` runs, and replaced by the outcome
after it. An intent with no outcome and no live lock is a write whose process died; the
create path finds the booking it may have made by its marker (``reconcile.LostCreates``)
before anything is written again.

The in-flight lock lives ``LOCK_SECONDS`` and is renewed while its write runs, so a crashed
worker's lock lapses on its own; on the same host a lock whose process is gone is taken over
at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, fields, is_dataclass
from datetime import UTC, date, datetime
from datetime import time as time_of_day
from enum import Enum
from typing import Any, Generic, TypeVar

from cachetools import TTLCache

from tablegraph import deadline
from tablegraph.errors import IdempotencyConflict, OutcomeUnknown
from tablegraph.stores.base import Store
from tablegraph.stores.memory import MemoryStore

T = TypeVar("T")
DAY = 24 * 3600.0
#: How long an in-flight lock outlives a worker that died holding it (renewed while alive).
LOCK_SECONDS = 30.0
#: How long a duplicate waits for another worker's write when no request deadline is set.
WAIT_SECONDS = 60.0
_HOST = socket.gethostname()


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
class _Local(Generic[T]):
    fingerprint: str
    future: asyncio.Future[T]


def _identity(value: T) -> Any:
    return value


class IdempotencyStore(Generic[T]):
    """``run(client, key, fingerprint, action)``: ``action`` once per (client, key).

    ``dump``/``load`` turn a result into JSON-ready data and back (identity for results that
    are JSON already).
    """

    def __init__(
        self,
        store: Store | None = None,
        *,
        ttl: float = DAY,
        timer: Callable[[], float] = time.monotonic,
        dump: Callable[[T], Any] = _identity,
        load: Callable[[Any], T] = _identity,
    ) -> None:
        self.store: Store = store if store is not None else MemoryStore(clock=timer)
        self.ttl = ttl
        self._dump, self._load = dump, load
        self._local: dict[tuple[str, str], _Local[T]] = {}
        #: Results this process produced, as objects: a replay here gets them back even when
        #: no ``load`` can rebuild them from the record (callers that keep JSON-less results).
        self._results: TTLCache[tuple[str, str], T] = TTLCache(100_000, ttl, timer=timer)

    async def run(
        self,
        client: str,
        key: str,
        print_: str,
        action: Callable[[], Awaitable[T]],
        *,
        keep: Callable[[T], bool] = lambda _r: True,
        intent: Mapping[str, Any] | None = None,
    ) -> T:
        """Run ``action`` once per (client, key); replays get the first result.

        ``keep(result)`` decides whether a result is final (a transient failure is not kept,
        so the client may retry with the same key). ``intent`` is stored with the record
        before ``action`` runs (what the write is about, for whoever finds it unfinished).
        """
        slot = (client, key)
        local = self._local.get(slot)
        if local is not None:
            _same(local.fingerprint, print_)
            return await asyncio.shield(local.future)
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._local[slot] = _Local(print_, future)
        try:
            result = await self._run_shared(slot, print_, action, keep, intent or {})
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: waiters re-raise it, nobody else must
            raise
        else:
            future.set_result(result)
            return result
        finally:
            self._local.pop(slot, None)

    async def _run_shared(
        self,
        slot: tuple[str, str],
        print_: str,
        action: Callable[[], Awaitable[T]],
        keep: Callable[[T], bool],
        intent: Mapping[str, Any],
    ) -> T:
        name = json.dumps(slot)
        record_key, lock_key = f"idem:{name}", f"idem-lock:{name}"
        token = f"{_HOST}:{os.getpid()}:{uuid.uuid4().hex}"
        finished = await self._acquire(record_key, lock_key, token, print_)
        if finished is not None:
            return self._finished(slot, finished)
        renew = asyncio.create_task(self._renew(lock_key, token))
        try:
            record = await self._record(record_key, print_)
            if record is not None and "outcome" in record:
                return self._finished(slot, record)
            if record is None:  # write-ahead: the intent is durable before the write
                started = {"fingerprint": print_, "intent": dict(intent), "at": time.time()}
                await self.store.set(record_key, json.dumps(started, default=str), self.ttl)
            else:
                started = record  # its writer died before the outcome: the action reconciles
            try:
                result = await action()
            except BaseException:
                await self.store.delete(record_key)  # not final: a retry runs again
                raise
            if keep(result):
                done = {**started, "outcome": self._dump(result)}
                await self.store.set(record_key, json.dumps(done, default=str), self.ttl)
                self._results[slot] = result
            else:
                await self.store.delete(record_key)
            return result
        finally:
            renew.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renew
            await self.store.compare_and_set(lock_key, token, None)

    def _finished(self, slot: tuple[str, str], record: dict[str, Any]) -> T:
        kept = self._results.get(slot)
        return kept if kept is not None else self._load(record["outcome"])

    async def _record(self, record_key: str, print_: str) -> dict[str, Any] | None:
        raw = await self.store.get(record_key)
        if raw is None:
            return None
        record: dict[str, Any] = json.loads(raw)
        _same(record["fingerprint"], print_)
        return record

    async def _acquire(
        self, record_key: str, lock_key: str, token: str, print_: str
    ) -> dict[str, Any] | None:
        """Take the in-flight lock (None), or return the finished record another worker
        wrote while this one waited for its lock."""
        left = deadline.remaining()
        give_up = time.monotonic() + (WAIT_SECONDS if left is None else max(left, 0.0))
        pause = 0.02
        while True:
            record = await self._record(record_key, print_)
            if record is not None and "outcome" in record:
                return record
            if await self.store.set_if_absent(lock_key, token, LOCK_SECONDS):
                return None
            holder = await self.store.get(lock_key)
            if (
                holder is not None
                and _dead(holder)
                and await self.store.compare_and_set(lock_key, holder, token, LOCK_SECONDS)
            ):
                return None
            if time.monotonic() >= give_up:
                raise OutcomeUnknown(
                    "a request with this idempotency key is still running; retry with the same key"
                )
            await asyncio.sleep(pause)  # another worker is writing: poll for its outcome
            pause = min(pause * 2, 0.25)

    async def _renew(self, lock_key: str, token: str) -> None:
        while True:
            await asyncio.sleep(LOCK_SECONDS / 3)
            await self.store.compare_and_set(lock_key, token, token, LOCK_SECONDS)


def _same(stored: str, print_: str) -> None:
    if stored != print_:
        raise IdempotencyConflict("this idempotency key was already used with a different request")


def _dead(holder: str) -> bool:
    """A lock holder on this host whose process no longer exists."""
    host, _, rest = holder.partition(":")
    pid_text = rest.partition(":")[0]
    if host != _HOST or not pid_text.isdigit() or int(pid_text) == os.getpid():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
