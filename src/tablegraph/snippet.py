"""Configuration text for an upstream: the ``[[upstreams]]`` TOML block that points the gateway
at it, and the environment its credentials are read from.

The file names environment variables, never secrets (``settings``); so the snippet names one
variable per credential (``TG_<UPSTREAM>_<CREDENTIAL>``) and ``env_exports`` gives the shell
lines that set them. ``tablegraph simulate`` and ``tablegraph demo`` print these, and a test
reads the snippet back through the configuration loader.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from tablegraph.settings import UpstreamConfig

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def env_name(upstream: str, credential: str) -> str:
    """``TG_RESOS_NORDICS_KEY_OSLO`` for credential ``key_oslo`` of ``resos-nordics``."""
    return re.sub(r"[^A-Z0-9]+", "_", f"TG_{upstream}_{credential}".upper()).strip("_")


def toml_value(value: Any) -> str:
    """One TOML value (inline tables and arrays; strings as JSON-compatible basic strings)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, Mapping):
        items = ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items())
        return "{ " + items + " }" if items else "{}"
    if isinstance(value, Sequence):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(f"no TOML form for {type(value).__name__}")


def toml_key(key: str) -> str:
    return key if _BARE_KEY.match(key) else json.dumps(key, ensure_ascii=False)


def upstream_toml(config: UpstreamConfig) -> str:
    """The ``[[upstreams]]`` block of ``config``; credentials name environment variables."""
    lines = [
        "[[upstreams]]",
        f"name = {toml_value(config.name)}",
        f"kind = {toml_value(config.kind)}",
        f"base_url = {toml_value(config.base_url)}",
    ]
    if config.credentials:
        names = {key: env_name(config.name, key) for key in config.credentials}
        lines.append(f"credentials = {toml_value(names)}")
    options = {k: v for k, v in config.options.items() if not k.startswith("_")}
    if options:
        lines.append(f"options = {toml_value(options)}")
    return "\n".join(lines) + "\n"


def config_toml(upstreams: Iterable[UpstreamConfig]) -> str:
    return "\n".join(upstream_toml(u) for u in upstreams)


def env_exports(upstreams: Iterable[UpstreamConfig]) -> list[str]:
    """``export TG_…='value'`` for every credential (the values are revealed: demo keys)."""
    return [
        f"export {env_name(u.name, key)}={shlex.quote(secret.reveal())}"
        for u in upstreams
        for key, secret in u.credentials.items()
    ]


def environment(upstreams: Iterable[UpstreamConfig]) -> dict[str, str]:
    """The environment ``env_exports`` sets, as a mapping (for tests and ``check``)."""
    return {
        env_name(u.name, key): secret.reveal()
        for u in upstreams
        for key, secret in u.credentials.items()
    }
