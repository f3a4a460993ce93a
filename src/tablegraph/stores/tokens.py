"""OAuth grants in the gateway's store: ``tokenstore.TokenStore`` for every worker at once.

Libro's adapter keeps its tokens through the ``TokenStore`` protocol; this one puts them
in the shared store (one JSON map per namespace, updated with compare-and-set so two workers
saving at once both land), encrypted with Fernet when a key is given (``tokenstore.fernet_key``)
so Redis or the SQLite file never hold a readable token — the adapter uses it without a key
only over the memory store. Libro's own encrypted token file stays an option
(``token_store_path``); a renewal is made single-flight across workers with
``stores.locks.renew_once``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

from tablegraph.stores.base import Store
from tablegraph.tokenstore import Record, fernet_key


class StoreTokenStore:
    def __init__(self, store: Store, key: str | None = None) -> None:
        self.store = store
        self._fernet = Fernet(fernet_key(key)) if key else None

    def _seal(self, record: Record) -> str:
        text = json.dumps(record)
        return self._fernet.encrypt(text.encode()).decode() if self._fernet else text

    def _open(self, sealed: str) -> Record | None:
        try:
            text = self._fernet.decrypt(sealed.encode()).decode() if self._fernet else sealed
            opened: Record = json.loads(text)
        except (InvalidToken, ValueError):
            return None  # another key wrote it: unreadable, treated as absent
        return opened

    async def load(self, namespace: str) -> dict[str, Record]:
        raw = await self.store.get(f"tokens:{namespace}")
        sealed: dict[str, str] = json.loads(raw) if raw else {}
        opened = {account: self._open(s) for account, s in sealed.items()}
        return {account: r for account, r in opened.items() if r is not None}

    async def save(self, namespace: str, account: str, record: Record) -> None:
        sealed = self._seal(record)
        await self._update(namespace, lambda m: {**m, account: sealed})

    async def delete(self, namespace: str, account: str) -> None:
        await self._update(namespace, lambda m: {a: s for a, s in m.items() if a != account})

    async def _update(
        self, namespace: str, change: Callable[[dict[str, Any]], dict[str, Any]]
    ) -> None:
        key = f"tokens:{namespace}"
        for _ in range(100):  # bounded: compare-and-set retries only when another saved
            raw = await self.store.get(key)
            current: dict[str, Any] = json.loads(raw) if raw else {}
            if await self.store.compare_and_set(key, raw, json.dumps(change(current))):
                return
        raise RuntimeError(f"token store: {namespace} kept changing under this save")
