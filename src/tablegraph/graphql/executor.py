"""graphql-core's executor with a planned path for the plain scalar fields of an object.

Completing an object, graphql-core executes each selected field on its own: a ``Path``, an
``Info``, the resolver through Strawberry's wrapper, then ``complete_value`` — about ten calls
for what is, for most fields, ``getattr`` and a scalar's ``coerce_output_value``. A list of
59 bookings × 11 fields spent more CPU there than everything else a request does (issue #16).

``PlannedExecutor`` plans each selection once per request (per object type and field group,
the key graphql-core memoises its own field collection on, so ``@skip``/``@include`` are
already applied) and then, for every object of that selection:

- a *plain leaf* — a Strawberry field with no resolver, no field extension and no permission
  guard (``permissions.protect`` replaces the resolver of every gated field), whose type is
  a scalar or enum — is read with Strawberry's default resolver and coerced in place;
- ``__typename`` is the type's name;
- a *plain list* — a field with no resolver, as above, of one object type or one scalar —
  is read and its items completed right here (``_items``);
- every other field (resolvers, guarded fields, other lists, nested objects) goes through
  graphql-core's own ``execute_field``, unchanged.

Anything unusual about a plain leaf's value — null where the type is non-null, a read or a
coercion that raises, a coercion to null — is handed to ``execute_field`` too, which raises,
reports and propagates exactly as it would have: the plan changes how fast an answer is
built, never what it is. Deferred selections and graphql-core middleware take the
unplanned path.

A list's items — a plain list's, or a resolver's ``list`` (``complete_list_value``) — are
completed without graphql-core's ``complete_value`` → ``complete_object_value`` per item:
each object through its plan, each scalar coerced in place. Items not all of the list's
object type, a null where items are non-null, a scalar that does not coerce, a ``@stream``:
graphql-core completes the list, and reports. A list of 59 bookings' ``tables`` and ``tags``
cost 2.4 ms of CPU less per query this way (HISTORY 33).
"""

from __future__ import annotations

import enum
import weakref
from collections.abc import Callable
from contextlib import suppress
from typing import Any, NamedTuple

from cachetools import LRUCache
from graphql import (
    GraphQLLeafType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfoHelpers,
    is_leaf_type,
)
from graphql.pyutils import Path, Undefined, gather_with_cancel
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter

from tablegraph.graphql.direct import LATER

#: Leaf types whose output coercion is kept (``_COERCIONS``).
TYPES_KEPT = 1024

#: How a planned field is answered.
LEAF, TYPENAME, EXECUTE, OBJECT, LIST = 0, 1, 2, 3, 4


class Step(NamedTuple):
    response_name: str
    kind: int
    #: The field group graphql-core executes (``EXECUTE``, and a leaf's fallback).
    details: Any
    #: ``LEAF``: Strawberry's default resolver and the attribute it reads, the scalar's
    #: output coercion, and whether null is allowed. ``TYPENAME``: ``attribute`` is the name.
    read: Callable[[Any, str], Any] | None = None
    attribute: str = ""
    coerce: Callable[[Any], Any] | None = None
    nullable: bool = True
    #: ``OBJECT``: ``read`` is the field's ``now(source, context)`` (``direct.py``), these the
    #: object type it returns and the field's own type (non-null or not). ``LIST``: ``read``
    #: and ``attribute`` as for a leaf, the field's own type, and how its items complete.
    object_type: GraphQLObjectType | None = None
    return_type: GraphQLOutputType | None = None
    items: Items | None = None


class Items(NamedTuple):
    """How the items of a list of one object type, or of one scalar, are completed."""

    #: The item's type, as graphql-core reports an item's error against it.
    item_type: GraphQLOutputType
    nullable: bool
    #: Objects: their type. Scalars: None, and ``coerce`` their output coercion.
    object_type: GraphQLObjectType | None
    coerce: Callable[[Any], Any] | None


Plan = tuple[Step, ...]


def plan_fields(
    parent_type: GraphQLObjectType, grouped: Any, get_field: Callable[..., Any]
) -> Plan:
    """One ``Step`` per response name of ``grouped`` (graphql-core's grouped field set)."""
    steps = []
    for response_name, details in grouped.items():
        name = details[0].node.name.value
        if name == "__typename":
            steps.append(Step(response_name, TYPENAME, details, attribute=parent_type.name))
            continue
        field_def = get_field(parent_type, name)
        step = Step(response_name, EXECUTE, details)
        if field_def is not None and getattr(field_def.resolve, "_is_default", False):
            strawberry_field = (field_def.extensions or {}).get(
                GraphQLCoreConverter.DEFINITION_BACKREF
            )
            leaf, nullable = _leaf(field_def.type)
            if strawberry_field is not None and leaf is not None:
                step = Step(
                    response_name,
                    LEAF,
                    details,
                    read=strawberry_field.default_resolver,
                    attribute=strawberry_field.python_name,
                    coerce=_coercion(leaf),
                    nullable=nullable,
                )
            elif strawberry_field is not None and not _directed(details):
                step = _list_step(response_name, details, field_def.type, strawberry_field) or step
        elif field_def is not None and getattr(field_def.resolve, "now", None) is not None:
            object_type, nullable = _object(field_def.type)
            if object_type is not None:
                step = Step(
                    response_name,
                    OBJECT,
                    details,
                    read=field_def.resolve.now,
                    nullable=nullable,
                    object_type=object_type,
                    return_type=field_def.type,
                )
        steps.append(step)
    return tuple(steps)


def _list_step(
    response_name: str, details: Any, gtype: GraphQLOutputType, strawberry_field: Any
) -> Step | None:
    """A ``LIST`` step for a list of objects of one object type or of one scalar, or None."""
    nullable = not isinstance(gtype, GraphQLNonNull)
    list_type = gtype if nullable else gtype.of_type  # type: ignore[union-attr]
    items = _items_of(list_type) if isinstance(list_type, GraphQLList) else None
    if items is None:
        return None
    return Step(
        response_name,
        LIST,
        details,
        read=strawberry_field.default_resolver,
        attribute=strawberry_field.python_name,
        nullable=nullable,
        return_type=gtype,
        items=items,
    )


def _items_of(list_type: GraphQLList[Any]) -> Items | None:
    """``Items`` for a list of one object type or one scalar; None for a list of lists or
    of an abstract type."""
    item_type = list_type.of_type
    nullable = not isinstance(item_type, GraphQLNonNull)
    inner = item_type if nullable else item_type.of_type
    if isinstance(inner, GraphQLObjectType):
        return Items(item_type, nullable, inner, None)
    if is_leaf_type(inner):
        return Items(item_type, nullable, None, _coercion(inner))
    return None


def _directed(details: Any) -> bool:
    """A directive left on a field after collection (``@stream`` on a list)."""
    return any(d.node.directives for d in details)


def _leaf(gtype: GraphQLOutputType) -> tuple[GraphQLLeafType | None, bool]:
    if isinstance(gtype, GraphQLNonNull):
        inner = gtype.of_type
        return (inner, False) if is_leaf_type(inner) else (None, False)
    return (gtype, True) if is_leaf_type(gtype) else (None, True)


def _object(gtype: GraphQLOutputType) -> tuple[GraphQLObjectType | None, bool]:
    nullable = not isinstance(gtype, GraphQLNonNull)
    inner = gtype if nullable else gtype.of_type  # type: ignore[union-attr]
    return (inner if isinstance(inner, GraphQLObjectType) else None), nullable


#: ``_coercion`` per leaf type object: an enum's table of names took ~45 µs to build, once
#: per request and field. A gateway has one schema, of a few dozen leaf types; the bound
#: only matters to a process that builds many schemas (the tests).
_COERCIONS: LRUCache[Any, Callable[[Any], Any]] = LRUCache(maxsize=TYPES_KEPT)


def _coercion(leaf: GraphQLLeafType) -> Callable[[Any], Any]:
    """``leaf.coerce_output_value``, or for a Strawberry enum the same answer from a table:
    Strawberry's coercion scans the enum's values for every value it coerces."""
    known = _COERCIONS.get(leaf)
    if known is None:
        known = _COERCIONS[leaf] = _make_coercion(leaf)
    return known


def _make_coercion(leaf: GraphQLLeafType) -> Callable[[Any], Any]:
    coerce = leaf.coerce_output_value
    members: Any = getattr(leaf, "wrapped_cls", None)
    if not (isinstance(members, type) and issubclass(members, enum.Enum)):
        return coerce
    names: dict[Any, Any] = {}
    for member in members:
        with suppress(Exception):  # not in the schema: coerce raises, as it would anyway
            names[member] = coerce(member)

    def coerce_enum(value: Any) -> Any:
        name = names.get(value)
        return coerce(value) if name is None else name

    return coerce_enum


def _scalars(items: Items, values: list[Any]) -> Any:
    """Scalar items coerced, or ``Undefined`` if one is null where items are non-null or does
    not coerce (graphql-core then completes the list and reports it)."""
    coerce: Any = items.coerce
    out: list[Any] = []
    try:
        for value in values:
            if value is None:
                if not items.nullable:
                    return Undefined
                out.append(None)
                continue
            coerced = coerce(value)
            if coerced is None or coerced is Undefined:
                return Undefined
            out.append(coerced)
    except Exception:
        return Undefined
    return out


def _leaves_only(plan: Plan | None) -> bool:
    return plan is not None and all(step.kind in (LEAF, TYPENAME) for step in plan)


class PlannedExecutor(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's executor; objects' plain scalar fields answered from a per-request plan.

    An object reached through an ``OBJECT`` step whose selection is plain leaves only, and
    that completed without any field falling back to graphql-core, is completed once per
    request: the same object under the same step again (every booking's restaurant) is a
    copy of that answer — what reading the same attributes of the same object again would
    give, since views do not change during a request.
    """

    #: (object type, id of the field group) → the group (kept, so its id is not reused),
    #: its plan, and whether the plan is plain leaves only.
    _plans: dict[tuple[Any, int], tuple[Any, Plan | None, bool]]
    #: (id of the object, id of the step) → the object (kept) and its completed answer.
    _completed: dict[tuple[int, int], tuple[Any, dict[str, Any]]]
    #: Fields handed to graphql-core's ``execute_field`` by a plan (see ``_object``).
    _fallbacks: int

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._plans = {}
        self._completed = {}
        self._fallbacks = 0
        # graphql-core's helpers are bound methods of the executor, kept on the executor: a
        # cycle, so the executor — with the request's context, loaders and every row they
        # hold — waited for the cyclic garbage collector, which spent ~10% of the CPU under
        # load (#16). The same helpers through a weak reference free it with its request.
        executor = weakref.ref(self)

        def gather(values: Any) -> Any:
            return executor().gather_async_work(values)  # type: ignore[union-attr]

        def track(values: Any) -> None:
            executor().track_async_work(values)  # type: ignore[union-attr]

        self.async_helpers = GraphQLResolveInfoHelpers(gather=gather, track=track)

    def collect_and_execute_subfields(
        self,
        return_type: GraphQLObjectType,
        field_details_list: Any,
        path: Path,
        result: Any,
        position_context: Any,
    ) -> Any:
        plan = None if position_context is not None else self._plan(return_type, field_details_list)
        if plan is None:
            return super().collect_and_execute_subfields(
                return_type, field_details_list, path, result, position_context
            )
        return self._run(plan, return_type, result, path, position_context)

    def _plan(self, return_type: GraphQLObjectType, field_details_list: Any) -> Plan | None:
        return self._planned(return_type, field_details_list)[1]

    def _planned(
        self, return_type: GraphQLObjectType, field_details_list: Any
    ) -> tuple[Any, Plan | None, bool]:
        cached = self._plans.get((return_type, id(field_details_list)))
        if cached is not None:
            return cached
        middleware = self.middleware_manager
        plan = None
        if middleware is None or not middleware.middlewares:
            grouped, defer_usages, _ = self.collect_subfields(return_type, field_details_list)
            deferred = defer_usages or any(
                d.defer_usage is not None for group in grouped.values() for d in group
            )
            if not deferred:
                plan = plan_fields(return_type, grouped, self.schema.get_field)
        entry = (field_details_list, plan, _leaves_only(plan))
        self._plans[(return_type, id(field_details_list))] = entry
        return entry

    def _run(
        self,
        plan: Plan,
        parent_type: GraphQLObjectType,
        source: Any,
        path: Path,
        position_context: Any,
    ) -> Any:
        results: dict[str, Any] = {}
        pending: list[str] = []
        is_awaitable = self.is_awaitable
        try:
            for step in plan:
                name, kind, details, read, attribute, coerce, nullable, object_type = step[:8]
                if kind == LEAF:
                    try:
                        value = read(source, attribute)  # type: ignore[misc]
                        if value is None:
                            if nullable:
                                results[name] = None
                                continue
                        else:
                            coerced = coerce(value)  # type: ignore[misc]
                            if coerced is not None and coerced is not Undefined:
                                results[name] = coerced
                                continue
                    except Exception:  # execute_field reads it again and reports it
                        pass
                elif kind == TYPENAME:
                    results[name] = attribute
                    continue
                elif kind == OBJECT:
                    value = read(source, self.context_value)  # type: ignore[misc]
                    if value is None and nullable:
                        results[name] = None
                        continue
                    if value is not LATER and value is not None:
                        is_type_of: Any = object_type.is_type_of  # type: ignore[union-attr]
                        if is_type_of is None or is_type_of(value, None) is True:
                            value = self._object(step, parent_type, path, value)
                            results[name] = value
                            if is_awaitable(value):
                                pending.append(name)
                            continue
                elif kind == LIST:
                    try:
                        value = read(source, attribute)  # type: ignore[misc]
                    except Exception:  # execute_field reads it again and reports it
                        value = Undefined
                    if value is None and nullable:
                        results[name] = None
                        continue
                    if type(value) is list:
                        value = self._list(step, parent_type, path, value)
                        if value is not Undefined:
                            results[name] = value
                            if is_awaitable(value):
                                pending.append(name)
                            continue
                self._fallbacks += 1
                field_path = Path(path, name, parent_type.name)
                value = self.execute_field(
                    parent_type, source, details, field_path, position_context
                )
                if value is not Undefined:
                    results[name] = value
                    if is_awaitable(value):
                        pending.append(name)
        except Exception:
            self._abandon(results, pending)
            raise
        return self._finish(results, pending)

    def _object(self, step: Step, parent_type: GraphQLObjectType, path: Path, value: Any) -> Any:
        """``value`` completed as the object ``step``'s field returns, as ``execute_field``
        completes a resolver's value: an error inside nulls the field, or propagates when
        the field is non-null."""
        object_type: Any = step.object_type
        _, plan, leaves_only = self._planned(object_type, step.details)
        if leaves_only:
            done = self._completed.get((id(value), id(step)))
            if done is not None and done[0] is value:
                return dict(done[1])
        field_path = Path(path, step.response_name, parent_type.name)
        fallbacks = self._fallbacks
        completed: Any
        try:
            if plan is None:
                completed = super().collect_and_execute_subfields(
                    object_type, step.details, field_path, value, None
                )
            else:
                completed = self._run(plan, object_type, value, field_path, None)
        except Exception as raw_error:
            self._field_error(raw_error, step, field_path)
            return None
        if self.is_awaitable(completed):
            return self._settle_object(completed, step, field_path)
        if leaves_only and self._fallbacks == fallbacks:  # every field answered by the plan
            # Kept as it is: nothing changes an answer while the operation executes, and a
            # later meeting gets a copy.
            self._completed[(id(value), id(step))] = (value, completed)
        return completed

    def _list(
        self, step: Step, parent_type: GraphQLObjectType, path: Path, values: list[Any]
    ) -> Any:
        """A ``LIST`` step's value completed (``_items``), or ``Undefined`` (the caller then
        hands the field to ``execute_field``); an error from an item nulls the field, or
        propagates when the field is non-null, as ``execute_field`` would."""
        field_path = Path(path, step.response_name, parent_type.name)
        try:
            done = self._items(step.items, step.details, field_path, values)  # type: ignore[arg-type]
        except Exception as raw_error:
            self._field_error(raw_error, step, field_path)
            return None
        if self.is_awaitable(done):
            return self._settle_object(done, step, field_path)
        return done

    def complete_list_value(
        self,
        return_type: GraphQLList[Any],
        field_details_list: Any,
        info: Any,
        path: Path,
        result: Any,
        position_context: Any,
    ) -> Any:
        """A list from a resolver: its items completed as a ``LIST`` step's are."""
        if position_context is None and type(result) is list and not _directed(field_details_list):
            items = _items_of(return_type)
            if items is not None:
                done = self._items(items, field_details_list, path, result)
                if done is not Undefined:
                    return done
        return super().complete_list_value(
            return_type, field_details_list, info, path, result, position_context
        )

    def _items(self, items: Items, details: Any, field_path: Path, values: list[Any]) -> Any:
        """``values`` completed as graphql-core's ``complete_list_value`` completes them —
        each object through its plan, each scalar coerced in place — or ``Undefined`` when one
        is not what that expects (before anything started). An error inside an item nulls the
        item, or raises when items are non-null."""
        object_type = items.object_type
        if not values:
            return []  # nothing to plan
        if object_type is None:
            return _scalars(items, values)
        is_type_of: Any = object_type.is_type_of
        for value in values:
            if value is None:
                if not items.nullable:
                    return Undefined
            elif is_type_of is not None and is_type_of(value, None) is not True:
                return Undefined
        _, plan, _ = self._planned(object_type, details)
        completed: list[Any] = []
        awaiting: list[int] = []
        is_awaitable = self.is_awaitable
        try:
            for index, value in enumerate(values):
                if value is None:
                    completed.append(None)
                    continue
                item_path = Path(field_path, index, None)
                try:
                    if plan is None:
                        done = super().collect_and_execute_subfields(
                            object_type, details, item_path, value, None
                        )
                    else:
                        done = self._run(plan, object_type, value, item_path, None)
                except Exception as raw_error:  # raises again when items are non-null
                    self.handle_field_error(raw_error, items.item_type, details, item_path)
                    done = None
                if is_awaitable(done):
                    done = self._settle_item(done, items.item_type, details, item_path)
                    awaiting.append(index)
                completed.append(done)
        except Exception:
            self._abandon(completed, awaiting)
            raise
        return self._finish(completed, awaiting)

    async def _settle_item(
        self, completed: Any, item_type: GraphQLOutputType, details: Any, item_path: Path
    ) -> Any:
        try:
            return await completed
        except Exception as raw_error:
            self.handle_field_error(raw_error, item_type, details, item_path)
            return None

    async def _settle_object(self, completed: Any, step: Step, field_path: Path) -> Any:
        try:
            return await completed
        except Exception as raw_error:
            self._field_error(raw_error, step, field_path)
            return None

    def _field_error(self, raw_error: Exception, step: Step, field_path: Path) -> None:
        return_type: Any = step.return_type
        self.handle_field_error(raw_error, return_type, step.details, field_path)

    def _abandon(self, results: Any, pending: list[Any]) -> None:
        """What other fields or items started is settled in the background, as graphql-core
        does when one of them raises."""
        if pending:
            self.settle_in_background([results[key] for key in pending])

    def _finish(self, results: Any, pending: list[Any]) -> Any:
        return self._await_pending(results, pending) if pending else results

    @staticmethod
    async def _await_pending(results: Any, pending: list[Any]) -> Any:
        """``results`` (an object's fields, a list's items) with the awaitables at the keys
        ``pending`` replaced by what they give."""
        if len(pending) == 1:
            results[pending[0]] = await results[pending[0]]
        else:
            settled = await gather_with_cancel(*(results[key] for key in pending))
            for key, value in zip(pending, settled, strict=True):
                results[key] = value
        return results
