"""The HTTP layer's pure helpers: JSON depth, If-None-Match, client keys."""

from __future__ import annotations

import json

import pytest

from tablegraph.http.body import loads_bounded, nested_deeper
from tablegraph.http.caching import matches
from tablegraph.http.problem import HTTPProblem


@pytest.mark.parametrize(
    "text, depth, deeper",
    [
        (json.dumps([[{"a": '[[[["[['}]]), 3, False),
        (json.dumps([[[{"a": '[[[["[['}]]]), 3, True),
        (json.dumps([[{"a": ']]]]"]]\\'}], [[[]]]]), 4, False),  # brackets in strings ignored
        ("[" * 64 + "]" * 64, 64, False),
        ("[" * 65 + "]" * 65, 64, True),
        ("[" + "[]," * 100 + "[]]", 2, False),  # many brackets, shallow
        ("[" + "[]," * 100 + "[[]]]", 2, True),
        ('{"a": {"b": {"c": 1}}}', 2, True),
    ],
)
def test_nesting_depth(text: str, depth: int, deeper: bool) -> None:
    assert nested_deeper(text, depth) is deeper
    assert nested_deeper(text.encode(), depth) is deeper


@pytest.mark.parametrize("text", ["[" * 5000, '{"a":' * 3000, "[" * 2000 + "]" * 2000])
def test_deep_or_unbalanced_json_is_a_bad_request_not_a_recursion_error(text: str) -> None:
    with pytest.raises(HTTPProblem) as refused:
        loads_bounded(text, 64)
    assert (refused.value.status, refused.value.code) == (400, "BAD_REQUEST")


def test_if_none_match_compares_weakly() -> None:
    tag = 'W/"abc"'
    assert matches('W/"abc"', tag) and matches('"abc"', tag) and matches("*", tag)
    assert matches('"x", W/"abc"', tag)
    assert not matches('"abcd"', tag) and not matches(None, tag) and not matches("", tag)


def test_response_json_is_what_json_dumps_says_whatever_the_value() -> None:
    """``encode.dumps`` (orjson) decodes to what ``json.dumps(value, default=str)`` does:
    non-ASCII as UTF-8, non-string keys, unknown types as ``str``, and integers beyond 64
    bits through the standard library."""
    from datetime import date

    from tablegraph.http import encode

    for value in (
        {"data": {"name": "Zoé Ĺ ☕", "n": 3, "x": 1.5, "ok": True, "none": None, "l": [1, "a"]}},
        {1: "int key"},
        {"when": date(2026, 12, 1)},
        {"big": 2**70},
    ):
        raw = encode.dumps(value)
        assert isinstance(raw, bytes)
        assert json.loads(raw) == json.loads(json.dumps(value, default=str)), value
    assert "☕".encode() in encode.dumps({"s": "☕"})
