"""resOS ``customQuery`` and ``sort`` parameters, as the API reference describes them.

``customQuery`` is a comma-separated list of terms ``field<op>value`` that must all hold:
``:`` equals, ``>`` greater than, ``<`` less than, ``;`` contains. Values are quoted strings
or bare numbers; fields may be dotted paths (``guest.phone``). Phone numbers are searched
with the country code first and no ``+`` (``guest.phone:"4512345678"``).
``sort`` is ``field:1`` (ascending) or ``field:-1`` (descending), comma-separated by priority.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

_TERM = re.compile(r'^\s*([A-Za-z_][\w.]*)\s*([:<>;])\s*("(?:[^"\\]|\\.)*"|[^,"]*)\s*$')


class QueryError(ValueError):
    """An expression the simulator cannot parse (answered with 400)."""


@dataclass(frozen=True)
class Term:
    field: str
    op: str
    value: str | float | bool | None


def split_terms(text: str) -> list[str]:
    """Split on commas outside double quotes."""
    out: list[str] = []
    buf: list[str] = []
    quoted = False
    escaped = False
    for ch in text:
        if escaped:
            buf.append(ch)
            escaped = False
        elif ch == "\\":
            buf.append(ch)
            escaped = True
        elif ch == '"':
            quoted = not quoted
            buf.append(ch)
        elif ch == "," and not quoted:
            out.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
    if quoted:
        raise QueryError("unterminated string")
    out.append("".join(buf))
    return [t for t in out if t.strip()]


def parse_query(text: str) -> list[Term]:
    terms: list[Term] = []
    for raw in split_terms(text):
        match = _TERM.match(raw)
        if match is None:
            raise QueryError(f"cannot parse term {raw.strip()!r}")
        field, op, value = match.groups()
        terms.append(Term(field, op, _value(value.strip())))
    return terms


def _value(text: str) -> str | float | bool | None:
    if text.startswith('"'):
        return re.sub(r"\\(.)", r"\1", text[1:-1])
    if text in ("true", "false"):
        return text == "true"
    if text == "null":
        return None
    try:
        return float(text)
    except ValueError:
        raise QueryError(f"unquoted value {text!r}") from None


def lookup(doc: Any, path: str) -> Any:
    current = doc
    for part in path.split("."):
        if not isinstance(current, dict):
            return None
        current = current.get(part)
    return current


def matches(doc: dict[str, Any], terms: list[Term]) -> bool:
    return all(_holds(doc, term) for term in terms)


def _holds(doc: dict[str, Any], term: Term) -> bool:
    actual = lookup(doc, term.field)
    if term.field == "guest.phone" and isinstance(actual, str):
        actual = actual.lstrip("+")  # searched with the country code first, without "+"
    expected = term.value
    if term.op == ";":
        return actual is not None and str(expected).lower() in str(actual).lower()
    if isinstance(expected, float) and isinstance(actual, (int, float)):
        a: Any = float(actual)
    elif isinstance(expected, bool) or expected is None:
        a = actual
    else:
        a = "" if actual is None else str(actual)
        expected = str(expected) if not isinstance(expected, float) else _num_text(expected)
    if term.op == ":":
        return bool(a == expected)
    if actual is None:
        return False
    try:
        return bool(a > expected) if term.op == ">" else bool(a < expected)
    except TypeError:
        return False


def _num_text(value: float) -> str:
    return str(int(value)) if value.is_integer() else str(value)


def sort_key_fn(text: str) -> list[tuple[str, bool]]:
    keys: list[tuple[str, bool]] = []
    for part in text.split(","):
        if not part.strip():
            continue
        field, sep, direction = part.strip().rpartition(":")
        if not sep or direction.strip() not in ("1", "-1") or not field:
            raise QueryError(f"cannot parse sort {part.strip()!r}")
        keys.append((field.strip(), direction.strip() == "-1"))
    return keys


def sort_docs(docs: list[dict[str, Any]], text: str) -> list[dict[str, Any]]:
    """Stable multi-key sort; a missing value sorts before any present one."""
    out = list(docs)
    for field, descending in reversed(sort_key_fn(text)):
        out.sort(key=_key(field), reverse=descending)
    return out


def _key(field: str) -> Callable[[dict[str, Any]], tuple[int, Any]]:
    def key(doc: dict[str, Any]) -> tuple[int, Any]:
        value = lookup(doc, field)
        if value is None:
            return (0, "")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return (1, value)
        return (2, str(value))

    return key
