"""One operation per root field of the live schema, with a variable for every argument, plus
one per field with arguments one level below a root field (``restaurant(id) { availability(date,
partySize) }``), so every argument the API takes is fuzzed.

The selection takes the scalar and enum fields without arguments, and descends into object
fields without required arguments up to ``MAX_DEPTH`` (a payload's ``userErrors``, a
connection's ``nodes`` and ``pageInfo``); interfaces select ``__typename`` and ``id``.
"""

from __future__ import annotations

from dataclasses import dataclass

from graphql import (
    GraphQLArgument,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    get_named_type,
    is_leaf_type,
)

from tablegraph.graphql.schema import build_schema

MAX_DEPTH = 3


@dataclass(frozen=True)
class Operation:
    kind: str  # "query" or "mutation"
    field: str
    arguments: dict[str, GraphQLArgument]
    document: str

    @property
    def name(self) -> str:
        return f"{self.kind}.{self.field}"


def graphql_schema() -> GraphQLSchema:
    return build_schema()._schema


def operations() -> list[Operation]:
    schema = graphql_schema()
    out = []
    for kind, root in (("query", schema.query_type), ("mutation", schema.mutation_type)):
        assert root is not None
        for name, fld in root.fields.items():
            out.append(_operation(kind, name, fld))
            named = get_named_type(fld.type)
            if kind == "query" and isinstance(named, GraphQLObjectType):
                for sub_name, sub in named.fields.items():
                    if sub.args:
                        out.append(_nested_operation(name, fld, sub_name, sub))
    return out


def _nested_operation(name: str, fld: GraphQLField, sub_name: str, sub: GraphQLField) -> Operation:
    """``query { <name>(outer args) { <sub_name>(inner args) { ... } } }``; inner variables are
    prefixed with the sub-field's name so they cannot clash with the outer ones."""
    arguments = dict(fld.args)
    inner = {f"{sub_name}_{arg}": spec for arg, spec in sub.args.items()}
    arguments.update(inner)
    params = ", ".join(f"${arg}: {spec.type}" for arg, spec in arguments.items())
    outer_args = ", ".join(f"{arg}: ${arg}" for arg in fld.args)
    inner_args = ", ".join(f"{arg}: ${sub_name}_{arg}" for arg in sub.args)
    selection = _selection(sub, 2)
    document = (
        f"query Fuzz({params}) {{ {name}({outer_args}) {{ id {sub_name}({inner_args})"
        f"{' ' + selection if selection else ''} }} }}"
    )
    return Operation("query", f"{name}.{sub_name}", arguments, document)


def _operation(kind: str, name: str, fld: GraphQLField) -> Operation:
    params = ", ".join(f"${arg}: {spec.type}" for arg, spec in fld.args.items())
    args = ", ".join(f"{arg}: ${arg}" for arg in fld.args)
    header = f"{kind} Fuzz({params})" if params else f"{kind} Fuzz"
    call = f"{name}({args})" if args else name
    selection = _selection(fld, 1)
    document = f"{header} {{ {call}{' ' + selection if selection else ''} }}"
    return Operation(kind, name, dict(fld.args), document)


def _selection(fld: GraphQLField, depth: int) -> str:
    named = get_named_type(fld.type)
    if is_leaf_type(named):
        return ""
    if isinstance(named, GraphQLUnionType):
        return "{ __typename }"
    if isinstance(named, GraphQLInterfaceType):
        return "{ __typename id }"
    assert isinstance(named, GraphQLObjectType)
    parts = []
    for sub_name, sub in named.fields.items():
        if any(isinstance(a.type, GraphQLNonNull) for a in sub.args.values()) or sub.args:
            continue  # fields with arguments are reached through their own root operation
        sub_named = get_named_type(sub.type)
        if is_leaf_type(sub_named):
            parts.append(sub_name)
        elif depth < MAX_DEPTH and not _is_list_of_lists(sub):
            inner = _selection(sub, depth + 1)
            if inner:
                parts.append(f"{sub_name} {inner}")
    return "{ " + " ".join(parts or ["__typename"]) + " }"


def _is_list_of_lists(fld: GraphQLField) -> bool:
    t = fld.type.of_type if isinstance(fld.type, GraphQLNonNull) else fld.type
    return isinstance(t, GraphQLList) and isinstance(
        t.of_type.of_type if isinstance(t.of_type, GraphQLNonNull) else t.of_type, GraphQLList
    )
