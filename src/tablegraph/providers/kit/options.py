"""Per-provider options as typed, validated models (pydantic), declared by each adapter.

An adapter declares ``class Options(ProviderOptions)`` with typed fields and defaults; the
TOML ``options`` table of an upstream is validated against it when the configuration is
read, so a wrong type, an unknown key or a missing required value is one line naming the
key — never a traceback at the first request. Why pydantic: it reports every problem with
its key path and the expected type, and the same models later feed the README's option
table and ``tablegraph check``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from tablegraph.settings import ConfigError

OptionsT = TypeVar("OptionsT", bound="ProviderOptions")


class ProviderOptions(BaseModel):
    """Base of every adapter's ``Options``: frozen, unknown keys refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(cls.model_fields)

    @classmethod
    def parse(cls: type[OptionsT], raw: Mapping[str, Any], upstream: str) -> OptionsT:
        """The options of ``upstream`` or a ``ConfigError`` naming each bad key."""
        try:
            return cls.model_validate(dict(raw))
        except ValidationError as exc:
            problems = []
            for error in exc.errors():
                key = ".".join(str(p) for p in error["loc"]) or "options"
                if error["type"] == "extra_forbidden":
                    valid = ", ".join(cls.names()) or "none"
                    problems.append(f"unknown option {key!r} (valid: {valid})")
                else:
                    problems.append(f"options.{key}: {error['msg']}")
            raise ConfigError(f"upstream {upstream!r}: " + "; ".join(problems)) from None
