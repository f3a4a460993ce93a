"""The configuration file as a typed model: every mistake is one line, never a traceback.

``load_config(path, environ)`` reads a TOML file, checks it against typed models (pydantic,
strict: ``"10"`` is not a number, ``"rst_1"`` is not a list) and only then builds the
``GatewaySettings`` (``settings.parse_settings``). A problem is a ``ConfigError`` whose
message names the file, the key path and what was expected::

    gateway.toml: upstreams[1].timeout_seconds: expected a number, got "ten"
    gateway.toml: upstreams: expected an array of tables: write [[upstreams]] (two brackets)
    gateway.toml: upstreams[2].kind: unknown kind "opentable" (valid: vardvik, libro, …)

The sections (``[gateway]``, ``[limits]`` and whatever else ``GatewaySettings`` holds) are
derived from the settings dataclasses, so a key added there is typed here without a second
declaration; an upstream is ``UpstreamModel``; its ``options`` are the adapter's own typed
``Options`` (``providers.kit.options``). The README's option tables are generated from the
same models (``option_tables``).
"""

from __future__ import annotations

import dataclasses
import json
import tomllib
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from tablegraph.settings import ConfigError, GatewaySettings, parse_settings


class UpstreamModel(BaseModel):
    """One ``[[upstreams]]`` table."""

    model_config = ConfigDict(extra="forbid", strict=True)

    name: str = Field(
        min_length=1, description="unique upstream name; appears in ids, errors and `upstreams`"
    )
    kind: str = Field(
        min_length=1, description="provider kind (`tablegraph capabilities` lists them)"
    )
    base_url: str = Field(
        min_length=1, description="the provider API root, with its scheme and API path"
    )
    credentials: dict[str, str] = Field(
        default_factory=dict,
        description="credential name → name of the environment variable holding it",
    )
    options: dict[str, Any] = Field(
        default_factory=dict, description="the provider's options (below)"
    )
    timeout_seconds: float = Field(10.0, gt=0, description="per-call HTTP timeout")
    max_connections: int = Field(20, ge=1, description="HTTP connections to this upstream")
    breaker_failures: int = Field(
        5, ge=1, description="consecutive failed calls that open the circuit breaker"
    )
    breaker_reset_seconds: float = Field(10.0, gt=0, description="how long the circuit stays open")
    poll_interval_seconds: float | None = Field(
        None,
        gt=0,
        description="seconds between polls of a watched restaurant, for providers without "
        "webhooks (default: `[events]`)",
    )


def load_config(path: str | Path, environ: Mapping[str, str]) -> GatewaySettings:
    """The settings in ``path``, or a one-line ``ConfigError`` naming file, key and fix."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{source}: no such file (`tablegraph init {source}` writes one)"
        ) from None
    except OSError as exc:
        raise ConfigError(f"{source}: cannot be read: {exc.strerror}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from None
    return settings_of(data, environ, source)


def settings_of(
    data: Mapping[str, Any], environ: Mapping[str, str], source: str
) -> GatewaySettings:
    check_document(data, environ, source)
    try:
        return parse_settings(data, environ)
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from None
    except (TypeError, ValueError, KeyError) as exc:  # a check this module does not make yet
        raise ConfigError(f"{source}: {exc}") from None


def check_document(data: Mapping[str, Any], environ: Mapping[str, str], source: str) -> None:
    """Every check short of building the settings; the first problem as a ``ConfigError``."""
    sections = section_models()
    for name, model in sections.items():
        raw = data.get(name, {})
        if isinstance(raw, list):
            raise ConfigError(f"{source}: {name}: expected a table: write [{name}] (one bracket)")
        _validate(model, raw, f"{source}: {name}")
    upstreams = data.get("upstreams")
    if upstreams is None or upstreams == []:
        raise ConfigError(
            f"{source}: no [[upstreams]] configured (`tablegraph init` writes examples)"
        )
    if not isinstance(upstreams, list):
        raise ConfigError(
            f"{source}: upstreams: expected an array of tables: write [[upstreams]] "
            "(two brackets) before each upstream"
        )
    seen: set[str] = set()
    for index, raw in enumerate(upstreams, start=1):
        where = f"{source}: upstreams[{index}]"
        if not isinstance(raw, dict):
            raise ConfigError(f"{where}: expected a table")
        upstream = _validate(UpstreamModel, raw, where)
        assert isinstance(upstream, UpstreamModel)
        if upstream.name in seen:
            raise ConfigError(f"{where}.name: duplicate upstream name {upstream.name!r}")
        seen.add(upstream.name)
        _check_upstream(upstream, raw, environ, where)


def _check_upstream(
    upstream: UpstreamModel, raw: Mapping[str, Any], environ: Mapping[str, str], where: str
) -> None:
    from tablegraph.providers import KINDS, available_kinds, provider_class

    try:
        cls = provider_class(upstream.kind)
    except KeyError:
        valid = ", ".join(available_kinds() or KINDS)
        raise ConfigError(
            f"{where}.kind: unknown kind {json.dumps(upstream.kind)} (valid: {valid})"
        ) from None
    fix = base_url_fix(upstream.base_url, getattr(cls, "base_path", ""))
    if fix is not None:
        raise ConfigError(f"{where}.base_url: {fix}")
    names = cls.credential_names
    for key, variable in upstream.credentials.items():
        if "*" not in names and key not in names:
            raise ConfigError(
                f"{where}.credentials.{key}: unknown credential (valid: {', '.join(names)})"
            )
        if variable not in environ:
            raise ConfigError(
                f"{where}.credentials.{key}: environment variable {variable} is not set"
            )
    for key in getattr(cls, "required_credentials", ()):
        if key not in upstream.credentials:
            raise ConfigError(
                f"{where}.credentials.{key}: missing: name the environment variable that "
                f'holds it, e.g. credentials = {{ {key} = "{_env_example(upstream.name, key)}" }}'
            )
    _validate(cls.Options, raw.get("options", {}), f"{where}.options")


def base_url_fix(base_url: str, base_path: str = "") -> str | None:
    """What is wrong with ``base_url`` and how to write it, or ``None``."""
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        guess = base_url.split("://", 1)[-1].lstrip("/")
        return (
            f"{json.dumps(base_url)} has no http:// or https:// scheme: "
            f'write base_url = "https://{guess}" (or http:// for a local server)'
        )
    path = parts.path.rstrip("/")
    if base_path and not path.endswith(base_path):
        fixed = base_url.rstrip("/") + base_path
        return (
            f"{json.dumps(base_url)} lacks the API path prefix {base_path}: "
            f'write base_url = "{fixed}"'
        )
    return None


def _env_example(upstream: str, key: str) -> str:
    from tablegraph.snippet import env_name

    return env_name(upstream, key)


# ---- the sections, derived from the settings dataclasses --------------------------------


def section_models() -> dict[str, type[BaseModel]]:
    """A strict model per plain TOML section: ``gateway`` (the scalar fields of
    ``GatewaySettings`` that ``[gateway]`` takes) and one per dataclass-typed field whose
    fields are all plain values (``limits``, …). Sections of another shape (``auth`` with
    ``[[clients]]``) are checked by their own parser, in ``settings.parse_settings``."""
    from tablegraph import settings

    hints = _hints(GatewaySettings)
    gateway_keys = getattr(settings, "_GATEWAY_KEYS", None)
    scalars: dict[str, Any] = {}
    sections: dict[str, type[BaseModel]] = {}
    for field in dataclasses.fields(GatewaySettings):
        hint = hints[field.name]
        if field.name == "upstreams":
            continue
        if dataclasses.is_dataclass(hint) and isinstance(hint, type):
            if _plain_dataclass(hint):
                sections[field.name] = _model_of(hint, field.name)
        elif _plain(hint) and (gateway_keys is None or field.name in gateway_keys):
            scalars[field.name] = (hint, _default(field))
    gateway = create_model("gateway", __config__=ConfigDict(extra="forbid", strict=True), **scalars)
    return {"gateway": gateway, **sections}


def _hints(cls: type[Any]) -> dict[str, Any]:
    """Field types of a settings dataclass; a type only imported for type checking (a
    section with its own parser) resolves to ``object``, which is never plain."""
    import sys

    namespace = vars(sys.modules[cls.__module__])
    out: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        try:
            out[f.name] = eval(f.type, namespace) if isinstance(f.type, str) else f.type
        except NameError:
            out[f.name] = object
    return out


def _plain(hint: Any) -> bool:
    """A TOML scalar, an optional one, or a list of them."""
    if hint in (str, int, float, bool, type(None)):
        return True
    origin = typing.get_origin(hint)
    args = [a for a in typing.get_args(hint) if a is not Ellipsis]
    if origin in (typing.Union, types.UnionType, tuple, list, frozenset):
        return all(_plain(a) for a in args)
    return False


def _plain_dataclass(cls: type[Any]) -> bool:
    hints = _hints(cls)
    return all(_plain(hints[f.name]) for f in dataclasses.fields(cls))


def _model_of(cls: type[Any], name: str) -> type[BaseModel]:
    hints = _hints(cls)
    fields = {f.name: (hints[f.name], _default(f)) for f in dataclasses.fields(cls)}
    model: type[BaseModel] = create_model(  # type: ignore[call-overload]
        name, __config__=ConfigDict(extra="forbid", strict=True), **fields
    )
    return model


def _default(field: dataclasses.Field[Any]) -> Any:
    if field.default is not dataclasses.MISSING:
        return field.default
    if field.default_factory is not dataclasses.MISSING:
        return Field(default_factory=field.default_factory)
    return ...


# ---- one line per problem ---------------------------------------------------------------


def _validate(model: type[BaseModel], raw: Any, where: str) -> BaseModel:
    """``raw`` against ``model`` in JSON mode (TOML values are JSON-like; strict JSON mode
    takes arrays for tuples and whole numbers for floats, and nothing stringly)."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a table, got {_shown(raw)}")
    try:
        return model.model_validate_json(json.dumps(raw, default=str), strict=True)
    except ValidationError as exc:
        error = exc.errors()[0]
        path = "".join(f"[{p + 1}]" if isinstance(p, int) else f".{p}" for p in error["loc"])
        raise ConfigError(f"{where}{path}: {_expected(model, error)}") from None


_EXPECTED = {
    "float": "expected a number",
    "int": "expected a whole number",
    "bool": "expected true or false",
    "string": "expected a string (in quotes)",
    "list": 'expected a list, e.g. ["a", "b"]',
    "tuple": 'expected a list, e.g. ["a", "b"]',
    "dict": 'expected a table, e.g. { key = "value" }',
    "model": "expected a table",
}


def _expected(model: type[BaseModel], error: Any) -> str:
    kind = str(error["type"])
    got = error.get("input")
    if kind == "extra_forbidden":
        valid = ", ".join(model.model_fields) or "none"
        return f"unknown key (valid: {valid})"
    if kind == "missing":
        return "required, missing"
    if kind in ("too_short", "string_too_short"):
        return f"must not be empty, got {_shown(got)}"
    for prefix, text in _EXPECTED.items():
        if kind.startswith(prefix) or kind == f"{prefix}_type":
            return f"{text}, got {_shown(got)}"
    ctx = error.get("ctx") or {}
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        words = {
            "greater_than": "greater than",
            "greater_than_equal": "at least",
            "less_than": "less than",
            "less_than_equal": "at most",
        }[kind]
        bound = next(iter(ctx.values()), "?")
        if isinstance(bound, float) and bound.is_integer():
            bound = int(bound)
        return f"expected a value {words} {bound}, got {_shown(got)}"
    if kind == "literal_error":
        return f"expected one of {ctx.get('expected', '?')}, got {_shown(got)}"
    message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
    return f"{message[:1].lower()}{message[1:]}, got {_shown(got)}"


def _shown(value: Any) -> str:
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    text = json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "…"
