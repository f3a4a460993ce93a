"""Response bodies as JSON bytes, by orjson (issue #16: ``json.dumps`` was a visible share of a
large answer's CPU time).

The same text as ``json.dumps(value, default=str)`` up to whitespace: compact separators,
non-ASCII kept as UTF-8 rather than ``\\uXXXX`` escapes (both valid JSON). What orjson cannot
encode (an integer beyond 64 bits) goes through ``json`` instead.
"""

from __future__ import annotations

import json
from typing import Any

import orjson


def dumps(value: Any) -> bytes:
    try:
        return orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS)
    except TypeError:
        return json.dumps(value, default=str).encode()


def fragment(value: Any) -> orjson.Fragment:
    """``value`` encoded once, to be placed as it is inside ``dumps`` of a larger value."""
    return orjson.Fragment(dumps(value))
