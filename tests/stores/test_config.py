"""``[store]`` in the config file: the kinds, their defaults, and what is refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tablegraph.settings import DEFAULT_DATA_DIR, ConfigError, StoreConfig, parse_settings
from tablegraph.stores import MemoryStore, open_store
from tablegraph.stores.sqlite import SqliteStore

BASE: dict[str, Any] = {
    "upstreams": [
        {
            "name": "v",
            "kind": "vardvik",
            "base_url": "http://127.0.0.1:1",
            "credentials": {"api_key": "V_KEY"},
            "options": {"restaurant_ids": ["rst_1"]},
        }
    ]
}
ENV = {"V_KEY": "secret"}


def test_a_config_file_defaults_to_the_durable_store() -> None:
    settings = parse_settings(BASE, ENV)
    assert settings.store == StoreConfig("sqlite", DEFAULT_DATA_DIR, None)


def test_store_section_is_read() -> None:
    raw = {**BASE, "store": {"kind": "redis", "redis_url": "redis://127.0.0.1:6379/0"}}
    assert parse_settings(raw, ENV).store.redis_url == "redis://127.0.0.1:6379/0"
    raw = {**BASE, "store": {"kind": "sqlite", "data_dir": "/srv/tg"}}
    assert parse_settings(raw, ENV).store == StoreConfig("sqlite", "/srv/tg")


@pytest.mark.parametrize(
    ("store", "message"),
    [
        ({"kind": "sqlite", "colour": "red"}, r"\[store\]: unknown key\(s\) colour"),
        ({"kind": "postgres"}, "kind must be one of memory, sqlite, redis"),
        ({"kind": "redis"}, "needs redis_url"),
    ],
)
def test_bad_store_sections_are_refused(store: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_settings({**BASE, "store": store}, ENV)


async def test_open_store_picks_the_configured_kind(tmp_path: Path) -> None:
    memory = open_store(StoreConfig("memory"))
    assert isinstance(memory, MemoryStore)
    sqlite = open_store(StoreConfig("sqlite", str(tmp_path / "data")))
    assert isinstance(sqlite, SqliteStore)
    assert sqlite.path == tmp_path / "data" / "tablegraph.sqlite3"
    journal = await sqlite._run(lambda c: c.execute("PRAGMA journal_mode").fetchone()[0])
    assert journal == "wal"
    await sqlite.close()
