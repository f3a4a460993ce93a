"""What a query asks of a field's value: the names selected under it, fragments included.

A resolver holding part of a value (a ``GuestPreview``) answers with it when the query asks
no field it lacks, and reads the whole value otherwise. The names are computed once per
request and field (every item of a list shares the field's AST nodes). ``@skip``/``@include``
are ignored: a skipped field counts as asked, which costs a read, never a wrong answer.
"""

from __future__ import annotations

from collections.abc import Iterator
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


Memo = dict[tuple[Any, ...], frozenset[str]]


def asked(raw: GraphQLResolveInfo[Any], memo: Memo, path: tuple[str, ...] = ()) -> frozenset[str]:
    """The field names selected under the field ``raw`` resolves (``memo``: per request), or
    under ``path`` below it (``("nodes", "guest")``: each name a field of the one before)."""
    key = (*map(id, raw.field_nodes), *path)
    found = memo.get(key)
    if found is None:
        sets = [n.selection_set for n in raw.field_nodes if n.selection_set is not None]
        for name in path:
            sets = [
                f.selection_set
                for s in sets
                for f in _fields(s, raw.fragments, set())
                if f.name.value == name and f.selection_set is not None
            ]
        names = {f.name.value for s in sets for f in _fields(s, raw.fragments, set())}
        found = memo[key] = frozenset(names)
    return found


def _fields(
    selections: SelectionSetNode, fragments: dict[str, FragmentDefinitionNode], seen: set[str]
) -> Iterator[FieldNode]:
    """The fields of a selection set, those of its fragments included."""
    for node in selections.selections:
        if isinstance(node, FieldNode):
            yield node
        elif isinstance(node, InlineFragmentNode):
            yield from _fields(node.selection_set, fragments, seen)
        elif isinstance(node, FragmentSpreadNode) and node.name.value not in seen:
            seen.add(node.name.value)
            fragment = fragments.get(node.name.value)
            if fragment is not None:
                yield from _fields(fragment.selection_set, fragments, seen)


@cache
def answerable(model_fields: frozenset[str]) -> frozenset[str]:
    """The GraphQL names a partial value with these model fields can answer."""
    return ALWAYS | {to_camel_case(f) for f in model_fields}
