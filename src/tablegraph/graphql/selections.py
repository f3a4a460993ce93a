"""What a query asks of a field's value: the names selected under it, fragments included.

A resolver holding part of a value (a ``GuestPreview``) answers with it when the query asks
no field it lacks, and reads the whole value otherwise. The names are computed once per
request and field (every item of a list shares the field's AST nodes). ``@skip``/``@include``
are ignored: a skipped field counts as asked, which costs a read, never a wrong answer.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLResolveInfo,
    InlineFragmentNode,
    SelectionSetNode,
)
from strawberry.utils.str_converters import to_camel_case

#: Fields every node answers from its id alone.
ALWAYS = frozenset({"id", "upstream", "__typename"})


Memo = dict[tuple[int, ...], frozenset[str]]


def asked(raw: GraphQLResolveInfo[Any], memo: Memo) -> frozenset[str]:
    """The field names selected under the field ``raw`` resolves (``memo``: per request)."""
    key = tuple(map(id, raw.field_nodes))
    found = memo.get(key)
    if found is None:
        names: set[str] = set()
        for node in raw.field_nodes:
            if node.selection_set is not None:
                _collect(node.selection_set, raw.fragments, names, set())
        found = memo[key] = frozenset(names)
    return found


def _collect(
    selections: SelectionSetNode,
    fragments: dict[str, FragmentDefinitionNode],
    into: set[str],
    seen: set[str],
) -> None:
    for node in selections.selections:
        if isinstance(node, FieldNode):
            into.add(node.name.value)
        elif isinstance(node, InlineFragmentNode):
            _collect(node.selection_set, fragments, into, seen)
        elif isinstance(node, FragmentSpreadNode) and node.name.value not in seen:
            seen.add(node.name.value)
            fragment = fragments.get(node.name.value)
            if fragment is not None:
                _collect(fragment.selection_set, fragments, into, seen)


@cache
def answerable(model_fields: frozenset[str]) -> frozenset[str]:
    """The GraphQL names a partial value with these model fields can answer."""
    return ALWAYS | {to_camel_case(f) for f in model_fields}
