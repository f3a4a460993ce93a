"""Everything the gateway remembers beyond a request, behind one interface (``base.Store``).

``open_store(config)`` picks the implementation the configuration names; the rest of the code
sees only ``Store``.
"""

from __future__ import annotations

from pathlib import Path

from tablegraph.settings import ConfigError, StoreConfig
from tablegraph.stores.base import Event, Store, Subscription
from tablegraph.stores.memory import MemoryStore

__all__ = ["Event", "MemoryStore", "Store", "Subscription", "open_store"]


def open_store(config: StoreConfig) -> Store:
    if config.kind == "memory":
        return MemoryStore()
    if config.kind == "sqlite":
        from tablegraph.stores.sqlite import SqliteStore

        return SqliteStore(Path(config.data_dir).expanduser())
    if config.kind == "redis":
        if not config.redis_url:
            raise ConfigError("[store] kind = 'redis' needs redis_url")
        from tablegraph.stores.redis import RedisStore

        return RedisStore(config.redis_url)
    raise ConfigError(f"[store] unknown kind {config.kind!r}")
