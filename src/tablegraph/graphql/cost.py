"""What an operation may cost upstream, computed from the document and its variables before
anything runs.

The unit is one upstream call. A field that lists from an upstream (``bookings``, ``guests``,
``reviews``, ``restaurants``) or reads one item that is not batched (``openingHours``,
``availability``, ``ratingSummary``) costs 1 each time it runs; a booking list costs 1 per
started day of its window (Vardvik lists a day per call); ``availability(restaurantIds:)``
costs 1 per restaurant. What is selected under a list runs once per item: ``first`` (or the
default page size) multiplies the cost of a connection's selection, the number of
``restaurantIds`` that of ``availability``'s. An item read through a per-request DataLoader
(``restaurant``, ``booking``, ``Booking.guest``…) costs 1 however many parents ask for it:
the loader makes one batched call per level.

A value the cost cannot read (of the wrong type, or a required one missing: coercion refuses
it next) counts as its worst case; an optional one left out counts as the default it runs
with. Each fragment is costed once (memoised), so this is linear in the document, whatever its
fragments expand to.

The cost is an upper bound: within a request the same list is fetched once however often the
document asks for it (``Context.once``), and reference data comes from the gateway's caches.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    StringValueNode,
    ValueNode,
    VariableNode,
    get_named_type,
    get_operation_ast,
)

DEFAULT_PAGE = 50
#: Most restaurants one availability query takes (``queries.MAX_AVAILABILITY_RESTAURANTS``).
MAX_RESTAURANT_IDS = 20
#: Longest booking window, in days (``validate.MAX_RANGE``).
MAX_WINDOW_DAYS = 31

#: (type, field) → how the field costs: "page" (a paged upstream list: 1 call, children × first),
#: "window" (a booking list: 1 per started day, children × first), "each" (one restaurant per
#: id: 1 each, children × ids), "call" (one upstream read), "batched" (a DataLoader item).
FIELD_COSTS: dict[tuple[str, str], str] = {
    ("Query", "restaurants"): "page",
    ("Query", "guests"): "page",
    ("Query", "reviews"): "page",
    ("Query", "bookings"): "window",
    ("Query", "availability"): "each",
    ("Query", "node"): "batched",
    ("Query", "restaurant"): "batched",
    ("Query", "booking"): "batched",
    ("Query", "guest"): "batched",
    ("Restaurant", "bookings"): "window",
    ("Restaurant", "reviews"): "page",
    ("Restaurant", "availability"): "call",
    ("Restaurant", "openingHours"): "call",
    ("Restaurant", "ratingSummary"): "call",
    ("Booking", "guest"): "batched",
    ("Booking", "restaurant"): "batched",
    ("RestaurantAvailability", "restaurant"): "batched",
    ("Mutation", "createBooking"): "call",
    ("Mutation", "rescheduleBooking"): "call",
    ("Mutation", "cancelBooking"): "call",
    ("Mutation", "updateBooking"): "call",
    ("Mutation", "joinWaitlist"): "call",
    ("Mutation", "upsertGuest"): "call",
}


@dataclass(frozen=True)
class _Cost:
    #: Calls made once per item of every enclosing list.
    repeated: int = 0
    #: Batched loads: once per level, whatever the enclosing lists hold.
    flat: int = 0

    def __add__(self, other: _Cost) -> _Cost:
        return _Cost(self.repeated + other.repeated, self.flat + other.flat)

    @property
    def total(self) -> int:
        return self.repeated + self.flat


def operation_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: Mapping[str, Any] | None,
    *,
    max_list: int,
) -> int:
    """The cost of the operation the request runs (0 if it names none: execution says so)."""
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return 0
    root = schema.get_root_type(operation.operation)
    if root is None:
        return 0
    return (
        _Costing(schema, document, operation, variables or {}, max_list)
        .selection(operation.selection_set, root)
        .total
    )


class _Costing:
    def __init__(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        operation: OperationDefinitionNode,
        variables: Mapping[str, Any],
        max_list: int,
    ) -> None:
        self.schema = schema
        self.variables = dict(variables)
        for definition in operation.variable_definitions or ():
            name = definition.variable.name.value
            if name not in self.variables and definition.default_value is not None:
                self.variables[name] = _literal(definition.default_value, {})
        self.max_list = max_list
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.memo: dict[str, _Cost] = {}
        self.visiting: set[str] = set()

    def selection(self, selection_set: SelectionSetNode, parent: GraphQLNamedType) -> _Cost:
        cost = _Cost()
        for node in selection_set.selections:
            if isinstance(node, FieldNode):
                cost += self.field(node, parent)
            elif isinstance(node, InlineFragmentNode):
                inner = parent
                if node.type_condition is not None:
                    inner = self.schema.get_type(node.type_condition.name.value) or parent
                cost += self.selection(node.selection_set, inner)
            elif isinstance(node, FragmentSpreadNode):
                cost += self.fragment(node.name.value)
        return cost

    def fragment(self, name: str) -> _Cost:
        if name in self.memo:
            return self.memo[name]
        definition = self.fragments.get(name)
        if definition is None or name in self.visiting:
            return _Cost()  # validation refuses unknown fragments and cycles
        self.visiting.add(name)
        on = self.schema.get_type(definition.type_condition.name.value)
        cost = self.selection(definition.selection_set, on) if on is not None else _Cost()
        self.visiting.discard(name)
        self.memo[name] = cost
        return cost

    def field(self, node: FieldNode, parent: GraphQLNamedType) -> _Cost:
        if not isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            return _Cost()
        definition = parent.fields.get(node.name.value)
        if definition is None:
            return _Cost()
        children = _Cost()
        if node.selection_set is not None:
            children = self.selection(node.selection_set, get_named_type(definition.type))
        kind = FIELD_COSTS.get((parent.name, node.name.value))
        args = {a.name.value: a.value for a in node.arguments or ()}
        if kind == "page":
            return self.repeat(1, self.first(args), children)
        if kind == "window":
            return self.repeat(self.days(args), self.first(args), children)
        if kind == "each":
            n = self.count(args.get("restaurantIds"))
            return self.repeat(n, n, children)
        if kind == "call":
            return _Cost(1) + children
        if kind == "batched":
            return _Cost(0, 1) + children
        return children

    @staticmethod
    def repeat(own: int, times: int, children: _Cost) -> _Cost:
        return _Cost(own + times * children.repeated, children.flat)

    def value(self, node: ValueNode | None) -> Any:
        return None if node is None else _literal(node, self.variables)

    def first(self, args: Mapping[str, ValueNode]) -> int:
        if "first" not in args:
            return min(DEFAULT_PAGE, self.max_list)
        first = self.value(args["first"])
        if first is None:
            return min(DEFAULT_PAGE, self.max_list)
        if isinstance(first, int) and not isinstance(first, bool) and 0 <= first <= self.max_list:
            return first
        return self.max_list  # refused when it runs; costed at its worst meanwhile

    def count(self, node: ValueNode | None) -> int:
        ids = self.value(node)
        if isinstance(ids, list):
            return min(len(ids), MAX_RESTAURANT_IDS) or 1
        return MAX_RESTAURANT_IDS if ids is None else 1

    def days(self, args: Mapping[str, ValueNode]) -> int:
        if self.value(args.get("date")) is not None:
            return 1
        start = _instant(self.value(args.get("from")))
        if start is None:
            return 1 if "from" not in args and "date" not in args else MAX_WINDOW_DAYS
        if self.value(args.get("to")) is None:
            return 1  # from plus one day
        end = _instant(self.value(args.get("to")))
        if end is None:
            return MAX_WINDOW_DAYS
        try:
            days = (end - start).total_seconds() / 86400
        except TypeError:  # one with an offset, one without: refused when it runs
            return MAX_WINDOW_DAYS
        return max(1, min(MAX_WINDOW_DAYS, math.ceil(days)))


def _literal(node: ValueNode, variables: Mapping[str, Any]) -> Any:
    """A literal's Python value (the raw JSON of a variable); None where unknown."""
    if isinstance(node, VariableNode):
        return variables.get(node.name.value)
    if isinstance(node, IntValueNode):
        try:
            return int(node.value)
        except ValueError:
            return None
    if isinstance(node, StringValueNode):
        return node.value
    if isinstance(node, ListValueNode):
        return [_literal(v, variables) for v in node.values]
    return getattr(node, "value", None)


def _instant(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        try:
            d = date.fromisoformat(value)
        except ValueError:
            return None
        return datetime(d.year, d.month, d.day)
