"""Provider adapters, looked up by kind. A kind's module is imported on first use."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tablegraph.providers.base import Provider

#: Every provider kind tablegraph knows, in README order. Module name = kind.
KINDS: tuple[str, ...] = ("vardvik", "libro", "librebooking", "resos")

_REGISTRY: dict[str, type[Provider]] = {}


def register(cls: type[Provider]) -> type[Provider]:
    """Class decorator; refuses a second class for the same kind."""
    existing = _REGISTRY.get(cls.kind)
    if existing is not None and existing is not cls:
        raise ValueError(f"provider kind {cls.kind!r} is already registered")
    _REGISTRY[cls.kind] = cls
    return cls


def provider_class(kind: str) -> type[Provider]:
    """The adapter class of a kind; ``KeyError`` for an unknown or unimplemented kind."""
    if kind not in _REGISTRY:
        if kind not in KINDS:
            raise KeyError(kind)
        try:
            importlib.import_module(f"tablegraph.providers.{kind}")
        except ModuleNotFoundError as exc:
            if exc.name == f"tablegraph.providers.{kind}":
                raise KeyError(kind) from None
            raise
    return _REGISTRY[kind]


def available_kinds() -> list[str]:
    """Kinds whose adapter module exists in this build."""
    out = []
    for kind in KINDS:
        try:
            provider_class(kind)
        except KeyError:
            continue
        out.append(kind)
    return out
