"""``tablegraph init``: a commented configuration with one example upstream of every kind; and
the README's tables of upstream keys and provider options, generated from the typed models.

The examples are the simulators' demo upstreams (``simulators.<kind>.demo_upstreams``) at an
example URL — the same shapes the gateway is tested with — written through ``snippet`` so
credentials are names of environment variables. With ``--base-url KIND=URL`` the file points
at real servers (or at simulators: that is how the test runs ``check`` over it).
"""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from tablegraph.settings import UpstreamConfig

_HEADER = """\
# tablegraph configuration (written by `tablegraph init`).
#
# Secrets never go in this file: each `credentials` entry names the ENVIRONMENT VARIABLE that
# holds the value. Set them, then:
#
#   tablegraph check --config {path}    # validates this file, then probes every upstream
#   tablegraph serve --config {path}
#
# Delete the upstreams you do not use; copy one to add another restaurant group.
#
# The gateway admits nobody until a client is configured: `tablegraph keys new web-widget`
# prints a key and the [[clients]] line to paste (README, "Clients and scopes").

[gateway]
host = "127.0.0.1"
port = 8080
"""


def example_upstreams(base_urls: Mapping[str, str] | None = None) -> list[UpstreamConfig]:
    """One example upstream per available kind, at ``base_urls[kind]`` or its example URL."""
    from tablegraph.providers import available_kinds, provider_class
    from tablegraph.simulators import available_simulators, simulator_module

    simulated = set(available_simulators())
    out = []
    for kind in available_kinds():
        if kind not in simulated:
            continue
        cls = provider_class(kind)
        base_url = (base_urls or {}).get(kind) or cls.example_base_url
        root = base_url.rstrip("/")
        if cls.base_path and root.endswith(cls.base_path):
            root = root[: -len(cls.base_path)]
        first = simulator_module(kind).demo_upstreams(root)[0]
        out.append(first)
    return out


def init_text(path: str = "gateway.toml", base_urls: Mapping[str, str] | None = None) -> str:
    from tablegraph.providers import provider_class
    from tablegraph.snippet import upstream_toml

    parts = [_HEADER.format(path=path)]
    for upstream in example_upstreams(base_urls):
        cls = provider_class(upstream.kind)
        comment = [
            f'# ---- {cls.display_name} (kind = "{upstream.kind}") '.ljust(96, "-"),
            f"# base_url: the API root, e.g. {cls.example_base_url}"
            + (f" (it ends with {cls.base_path})" if cls.base_path else ""),
            "# credentials: "
            + (
                ", ".join(
                    f"{name}{' (required)' if name in cls.required_credentials else ''}"
                    for name in cls.credential_names
                )
                if "*" not in cls.credential_names
                else "free names, one per restaurant (see options.restaurants)"
            ),
            "# options: "
            + ", ".join(
                f"{row[0]} ({row[1]}, default {row[2]})" for row in option_rows(upstream.kind)
            ),
        ]
        parts.append("\n".join(_wrap_comment(line) for line in comment))
        parts.append(upstream_toml(upstream))
    return "\n".join(parts)


def _wrap_comment(line: str, width: int = 96) -> str:
    if len(line) <= width or not line.startswith("# "):
        return line
    words, lines, current = line[2:].split(" "), [], "#"
    for word in words:
        if len(current) + 1 + len(word) > width and current != "#":
            lines.append(current)
            current = "#  "
        current += " " + word
    lines.append(current)
    return "\n".join(lines)


# ---- generated documentation --------------------------------------------------------------


def describe_type(annotation: Any) -> str:
    """A reader's name for a field type: ``list of strings``, ``number``, ``string or none``."""
    origin = typing.get_origin(annotation)
    args = [a for a in typing.get_args(annotation) if a is not Ellipsis]
    if origin in (typing.Union, types.UnionType):
        named = [describe_type(a) for a in args if a is not type(None)]
        return " or ".join(named) + (" (optional)" if type(None) in args else "")
    if origin in (list, tuple, set, frozenset):
        inner = describe_type(args[0]) if args else "values"
        return "list of " + " or ".join(_plural(part) for part in inner.split(" or "))
    if origin in (dict, typing.Mapping) or annotation is dict:
        return "table"
    names = {str: "string", int: "whole number", float: "number", bool: "true/false"}
    if annotation in names:
        return names[annotation]
    if annotation is Any:
        return "any"
    return getattr(annotation, "__name__", str(annotation))


def _plural(word: str) -> str:
    return {
        "table": "tables",
        "string": "strings",
        "number": "numbers",
        "whole number": "whole numbers",
    }.get(word, word)


def _default_text(field: Any) -> str:
    if field.is_required():
        return "required"
    value = field.default_factory() if field.default_factory is not None else field.default
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple) and not value:
        return "[]"
    if isinstance(value, str):
        return f'"{value}"'
    return str(value)


def model_rows(model: type[BaseModel]) -> list[tuple[str, str, str, str]]:
    return [
        (name, describe_type(field.annotation), _default_text(field), field.description or "")
        for name, field in model.model_fields.items()
    ]


def option_rows(kind: str) -> list[tuple[str, str, str, str]]:
    from tablegraph.providers import provider_class

    return model_rows(provider_class(kind).Options)


def upstream_keys_table() -> str:
    from tablegraph.configmodel import UpstreamModel

    rows = ["| upstream key | type | default | meaning |", "|---|---|---|---|"]
    rows += [f"| `{n}` | {t} | {d} | {m} |" for n, t, d, m in model_rows(UpstreamModel)]
    return "\n".join(rows)


def options_table() -> str:
    """Every provider's options: kind, option, type, default (README, kept equal by a test)."""
    from tablegraph.providers import available_kinds

    rows = ["| kind | option | type | default |", "|---|---|---|---|"]
    for kind in available_kinds():
        rows += [f"| `{kind}` | `{n}` | {t} | {d} |" for n, t, d, _ in option_rows(kind)]
    return "\n".join(rows)
