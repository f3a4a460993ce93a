"""From the field an error names to the path a GraphQL client sees.

The core and the adapters name *model* fields: snake_case attribute names of the model
request (``("guest", "email")``, ``("party_size",)``; ``()`` for the request as a whole).
Here, and only here, they become schema names: ``["input", "guest", "email"]`` under a
mutation's ``input`` argument, ``["partySize"]`` for a query's arguments. Older adapters
named GraphQL paths instead (``("input", "guest", "email")``, ``("partySize",)``): those come
out the same, so a mutation's ``userErrors.field`` does not depend on which adapter raised it.
Mapping an already mapped path changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

#: The mutations' one argument.
INPUT = "input"
#: Model names the schema spells differently (``WaitlistRequest.day`` is the input's ``date``).
_RENAMED = {"day": "date"}


def camel(name: str) -> str:
    """``party_size`` → ``partySize``; a camelCase name or an index is left alone."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def graphql_names(path: Sequence[str]) -> list[str]:
    """A model field path in the schema's names."""
    names = [camel(segment) for segment in path]
    if names:
        names[0] = _RENAMED.get(names[0], names[0])
    return names


def input_path(path: Sequence[str] | None) -> list[str] | None:
    """Where under a mutation's ``input`` argument the field ``path`` lies (None: nowhere)."""
    if path is None:
        return None
    rest = path[1:] if path and path[0] == INPUT else path
    return [INPUT, *graphql_names(rest)]


def argument_path(path: Sequence[str] | None) -> list[str] | None:
    """A field path among a query's arguments (no ``input`` wrapper)."""
    if not path:
        return None
    return graphql_names(path)
