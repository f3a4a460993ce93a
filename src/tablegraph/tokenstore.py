"""Durable storage for OAuth grants (refresh tokens of connected accounts), provider-neutral.

A record is a small JSON object per ``(namespace, account)``; the namespace is the upstream
name. ``SqliteTokenStore`` keeps records in an embedded SQLite file, each encrypted with Fernet
(AES-128-CBC + HMAC-SHA256) under a key from the environment, so a copied file reveals no
token. SQLite calls are blocking: they run in a worker thread (``asyncio.to_thread``), each
with its own short-lived connection. ``MemoryTokenStore`` is the non-durable stand-in.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import sqlite3
import time
from pathlib import Path
from typing import Any, Protocol

from cryptography.fernet import Fernet, InvalidToken

DEFAULT_KEY_ENV = "TABLEGRAPH_TOKEN_KEY"

Record = dict[str, Any]


class TokenStore(Protocol):
    async def load(self, namespace: str) -> dict[str, Record]: ...

    async def save(self, namespace: str, account: str, record: Record) -> None: ...

    async def delete(self, namespace: str, account: str) -> None: ...


class MemoryTokenStore:
    def __init__(self) -> None:
        self._data: dict[tuple[str, str], Record] = {}

    async def load(self, namespace: str) -> dict[str, Record]:
        return {a: dict(r) for (n, a), r in self._data.items() if n == namespace}

    async def save(self, namespace: str, account: str, record: Record) -> None:
        self._data[(namespace, account)] = dict(record)

    async def delete(self, namespace: str, account: str) -> None:
        self._data.pop((namespace, account), None)


def fernet_key(secret: str) -> bytes:
    """A Fernet key from the configured secret: a Fernet key as is, any other string hashed."""
    try:
        Fernet(secret.encode())
        return secret.encode()
    except ValueError:
        return base64.urlsafe_b64encode(hashlib.sha256(secret.encode()).digest())


class SqliteTokenStore:
    _SCHEMA = (
        "CREATE TABLE IF NOT EXISTS grants (namespace TEXT NOT NULL, account TEXT NOT NULL, "
        "data BLOB NOT NULL, updated_at REAL NOT NULL, PRIMARY KEY (namespace, account))"
    )

    def __init__(self, path: str | Path, key: str) -> None:
        self.path = Path(path)
        self._fernet = Fernet(fernet_key(key))
        self._ready = False

    @classmethod
    def from_env(cls, path: str | Path, env_var: str = DEFAULT_KEY_ENV) -> SqliteTokenStore:
        key = os.environ.get(env_var)
        if not key:
            raise RuntimeError(f"token store key: environment variable {env_var} is not set")
        return cls(path, key)

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=10)
        if not self._ready:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with conn:
                conn.execute(self._SCHEMA)
            self._ready = True
        return conn

    def _load(self, namespace: str) -> dict[str, Record]:
        conn = self._connect()
        try:
            rows = conn.execute(
                "SELECT account, data FROM grants WHERE namespace = ?", (namespace,)
            ).fetchall()
        finally:
            conn.close()
        out: dict[str, Record] = {}
        for account, blob in rows:
            try:
                out[account] = json.loads(self._fernet.decrypt(blob))
            except InvalidToken:
                continue  # another key wrote it: unreadable, treated as absent
        return out

    def _save(self, namespace: str, account: str, record: Record) -> None:
        blob = self._fernet.encrypt(json.dumps(record).encode())
        conn = self._connect()
        try:
            with conn:
                conn.execute(
                    "INSERT INTO grants (namespace, account, data, updated_at) "
                    "VALUES (?, ?, ?, ?) ON CONFLICT (namespace, account) "
                    "DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at",
                    (namespace, account, blob, time.time()),
                )
        finally:
            conn.close()

    def _delete(self, namespace: str, account: str) -> None:
        conn = self._connect()
        try:
            with conn:
                conn.execute(
                    "DELETE FROM grants WHERE namespace = ? AND account = ?", (namespace, account)
                )
        finally:
            conn.close()

    async def load(self, namespace: str) -> dict[str, Record]:
        return await asyncio.to_thread(self._load, namespace)

    async def save(self, namespace: str, account: str, record: Record) -> None:
        await asyncio.to_thread(self._save, namespace, account, record)

    async def delete(self, namespace: str, account: str) -> None:
        await asyncio.to_thread(self._delete, namespace, account)
