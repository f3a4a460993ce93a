"""The embedded, durable store: one SQLite file in WAL mode in the data directory.

The default for ``serve`` and ``demo``: a single process keeps what decides whether a booking
write happens again across restarts, with no other service. WAL lets readers run beside the
one writer, and every read-modify-write runs in a ``BEGIN IMMEDIATE`` transaction (the
file's write lock), so several processes on one host may share the file safely; waiting for
the lock is bounded by ``busy_timeout``.

sqlite3 calls block, so they run in a worker thread (``asyncio.to_thread``) on one
connection per store, serialised by a lock. Pub/sub is a table that subscribers poll
(``poll_seconds``), which is what lets processes sharing the file hear each other; messages
are kept a minute.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from tablegraph.stores.base import Event

T = TypeVar("T")
FILE_NAME = "tablegraph.sqlite3"
MESSAGE_SECONDS = 60.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS kv (
    key TEXT PRIMARY KEY, value TEXT NOT NULL, expires_at REAL
);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT, log TEXT NOT NULL, at REAL NOT NULL, data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_log ON events (log, id);
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT, channel TEXT NOT NULL, at REAL NOT NULL,
    data TEXT NOT NULL
);
"""


class SqliteStore:
    kind = "sqlite"

    def __init__(
        self,
        path: str | Path,
        *,
        clock: Callable[[], float] = time.time,
        poll_seconds: float = 0.05,
        busy_timeout: float = 10.0,
    ) -> None:
        """``path``: the database file, or a directory to keep ``tablegraph.sqlite3`` in."""
        path = Path(path)
        if path.is_dir() or not path.suffix:
            path.mkdir(parents=True, exist_ok=True)
            path = path / FILE_NAME
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._clock = clock
        self.poll_seconds = poll_seconds
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(
            path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
        )
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(_SCHEMA)
        self._writes = 0

    # ---- plumbing -------------------------------------------------------------------------

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        def call() -> T:
            with self._lock:
                return fn(self._conn)

        return await asyncio.to_thread(call)

    async def _tx(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """``fn`` inside BEGIN IMMEDIATE: no other writer, in this process or another."""

        def body(conn: sqlite3.Connection) -> T:
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = fn(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            return result

        return await self._run(body)

    def _live(self, conn: sqlite3.Connection, key: str) -> str | None:
        row = conn.execute(
            "SELECT value FROM kv WHERE key = ? AND (expires_at IS NULL OR expires_at > ?)",
            (key, self._clock()),
        ).fetchone()
        return None if row is None else str(row[0])

    def _put(self, conn: sqlite3.Connection, key: str, value: str, ttl: float | None) -> None:
        expires = None if ttl is None else self._clock() + ttl
        conn.execute(
            "INSERT INTO kv (key, value, expires_at) VALUES (?, ?, ?) ON CONFLICT (key) "
            "DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at",
            (key, value, expires),
        )
        self._writes += 1
        if self._writes % 1000 == 0:  # expired rows are invisible; drop them now and then
            conn.execute("DELETE FROM kv WHERE expires_at <= ?", (self._clock(),))

    # ---- key/value ------------------------------------------------------------------------

    async def get(self, key: str) -> str | None:
        return await self._run(lambda c: self._live(c, key))

    async def set(self, key: str, value: str, ttl: float | None = None) -> None:
        await self._run(lambda c: self._put(c, key, value, ttl))

    async def set_if_absent(self, key: str, value: str, ttl: float | None = None) -> bool:
        def body(conn: sqlite3.Connection) -> bool:
            if self._live(conn, key) is not None:
                return False
            self._put(conn, key, value, ttl)
            return True

        return await self._tx(body)

    async def delete(self, key: str) -> bool:
        def body(conn: sqlite3.Connection) -> bool:
            present = self._live(conn, key) is not None
            conn.execute("DELETE FROM kv WHERE key = ?", (key,))
            return present

        return await self._tx(body)

    async def compare_and_set(
        self, key: str, expected: str | None, value: str | None, ttl: float | None = None
    ) -> bool:
        def body(conn: sqlite3.Connection) -> bool:
            if self._live(conn, key) != expected:
                return False
            if value is None:
                conn.execute("DELETE FROM kv WHERE key = ?", (key,))
            else:
                self._put(conn, key, value, ttl)
            return True

        return await self._tx(body)

    async def incr(self, key: str, amount: int = 1, ttl: float | None = None) -> int:
        def body(conn: sqlite3.Connection) -> int:
            current = self._live(conn, key)
            if current is None:
                self._put(conn, key, str(amount), ttl)
                return amount
            total = int(current) + amount
            conn.execute("UPDATE kv SET value = ? WHERE key = ?", (str(total), key))
            return total

        return await self._tx(body)

    # ---- pub/sub ---------------------------------------------------------------------------

    async def publish(self, channel: str, message: str) -> None:
        def body(conn: sqlite3.Connection) -> None:
            now = self._clock()
            conn.execute("DELETE FROM messages WHERE at < ?", (now - MESSAGE_SECONDS,))
            conn.execute(
                "INSERT INTO messages (channel, at, data) VALUES (?, ?, ?)",
                (channel, now, message),
            )

        await self._tx(body)

    async def subscribe(self, channel: str) -> _Subscription:
        last = await self._run(
            lambda c: int(c.execute("SELECT COALESCE(MAX(id), 0) FROM messages").fetchone()[0])
        )
        return _Subscription(self, channel, last)

    async def _messages_after(self, channel: str, last: int) -> list[tuple[int, str]]:
        rows: list[Any] = await self._run(
            lambda c: c.execute(
                "SELECT id, data FROM messages WHERE channel = ? AND id > ? ORDER BY id",
                (channel, last),
            ).fetchall()
        )
        return [(int(i), str(d)) for i, d in rows]

    # ---- event logs ------------------------------------------------------------------------

    async def append(self, log: str, data: str, retention: float) -> str:
        def body(conn: sqlite3.Connection) -> str:
            now = self._clock()
            conn.execute("DELETE FROM events WHERE log = ? AND at <= ?", (log, now - retention))
            cursor = conn.execute(
                "INSERT INTO events (log, at, data) VALUES (?, ?, ?)", (log, now, data)
            )
            return str(cursor.lastrowid)

        return await self._tx(body)

    async def read(self, log: str, after: str | None = None, limit: int = 100) -> list[Event]:
        rows: list[Any] = await self._run(
            lambda c: c.execute(
                "SELECT id, data FROM events WHERE log = ? AND id > ? ORDER BY id LIMIT ?",
                (log, int(after) if after is not None else 0, limit),
            ).fetchall()
        )
        return [Event(str(i), str(d)) for i, d in rows]

    async def close(self) -> None:
        await self._run(lambda c: c.close())


class _Subscription:
    """Polls the messages table; a poll that finds nothing waits ``poll_seconds``."""

    def __init__(self, store: SqliteStore, channel: str, last: int) -> None:
        self._store, self._channel, self._last = store, channel, last
        self._pending: list[str] = []
        self._closed = False

    def __aiter__(self) -> _Subscription:
        return self

    async def __anext__(self) -> str:
        while not self._pending:
            if self._closed:
                raise StopAsyncIteration
            rows = await self._store._messages_after(self._channel, self._last)
            if rows:
                self._last = rows[-1][0]
                self._pending = [d for _i, d in rows]
            else:
                await asyncio.sleep(self._store.poll_seconds)
        return self._pending.pop(0)

    async def aclose(self) -> None:
        self._closed = True
