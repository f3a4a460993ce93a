"""Document limits measured in linear time: depth, fields, aliases and directives.

A fragment spread expands to its fragment wherever it appears, so limits that re-walk a
fragment at every spread take time exponential in the document (``fragment F0 { ...F1 ...F1 }
… fragment F20 { __typename }`` is 824 bytes and a million fields). Here each selection set is
walked once without following spreads (its *local* measure plus the spreads it makes, with their
depth); fragments are then combined bottom-up, each measured once (memoised), with counts that
saturate just above their limit. So the work is linear in the document's size whatever it
expands to, and the first limit found exceeded is reported.

The standard rules that follow are linear in the document except two, which get budgets:
field merging (``documents.MERGE_BUDGET``) and the per-operation walk over fragments
(``max_operation_fragments``, checked here first).

Unknown fragments and fragment cycles count as empty here: the standard rules
(``KnownFragmentNamesRule``, ``NoFragmentCyclesRule``) report them, and they run after these
limits.

Depth counts fields that have a selection set (``{ a { b } }`` is 1); introspection fields
(``__schema``…) are ignored for depth, as in Strawberry's ``QueryDepthLimiter``, so GraphiQL's
schema query works under any sensible limit. Fields, aliases and directives count every
expansion: ``...F ...F`` counts ``F``'s fields twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)


@dataclass(frozen=True)
class DocumentLimits:
    max_depth: int = 12
    max_fields: int = 2_000
    max_aliases: int = 30
    max_directives: int = 50
    #: Selection sets, fields and spreads this check may visit in all (the document's size
    #: bounds it already: this is the backstop).
    max_work: int = 50_000
    #: Operations × fragments: graphql-core's variable and fragment rules walk every fragment
    #: an operation reaches, per operation (150 operations over a chain of 150 fragments fit
    #: in 5000 tokens and take a third of a second).
    max_operation_fragments: int = 2_500


@dataclass
class _Measure:
    depth: int = 0
    fields: int = 0
    aliases: int = 0
    directives: int = 0
    #: (fragment name, field depth at the spread), in document order.
    spreads: list[tuple[str, int]] = field(default_factory=list)


class LimitExceeded(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message

    def to_graphql(self) -> GraphQLError:
        return GraphQLError(self.message, extensions={"code": self.code})


def check_document(document: DocumentNode, limits: DocumentLimits) -> GraphQLError | None:
    """The first limit this document exceeds, as a GraphQL error with a code; else None."""
    try:
        _Checker(document, limits).run()
    except LimitExceeded as exc:
        return exc.to_graphql()
    return None


class _Checker:
    def __init__(self, document: DocumentNode, limits: DocumentLimits) -> None:
        self.limits = limits
        self.work = 0
        self.fragments: dict[str, FragmentDefinitionNode] = {}
        self.operations: list[OperationDefinitionNode] = []
        for definition in document.definitions:
            if isinstance(definition, FragmentDefinitionNode):
                self.fragments.setdefault(definition.name.value, definition)
            elif isinstance(definition, OperationDefinitionNode):
                self.operations.append(definition)
        self.local: dict[str, _Measure] = {}
        self.total: dict[str, _Measure] = {}

    def run(self) -> None:
        if len(self.operations) * len(self.fragments) > self.limits.max_operation_fragments:
            raise LimitExceeded(
                "QUERY_TOO_COMPLEX",
                "too many operations and fragments in one document (send the operation you run)",
            )
        for operation in self.operations:
            own = self._local(operation.selection_set)
            own.directives += len(operation.directives or ())
            for variable in operation.variable_definitions or ():
                own.directives += len(variable.directives or ())
            self._check(self._combine(own))

    # ---- one selection set, spreads not followed ------------------------------------------

    def _local(self, root: SelectionSetNode, *, introspection: bool = False) -> _Measure:
        m = _Measure()
        stack: list[tuple[SelectionSetNode, int, bool]] = [(root, 0, introspection)]
        while stack:
            selection_set, depth, introspection = stack.pop()
            for selection in selection_set.selections:
                self._spend()
                m.directives += len(selection.directives or ())
                if isinstance(selection, FieldNode):
                    m.fields += 1
                    m.aliases += selection.alias is not None
                    if selection.selection_set is not None:
                        inside = introspection or selection.name.value.startswith("__")
                        child_depth = depth if inside else depth + 1
                        m.depth = max(m.depth, child_depth)
                        stack.append((selection.selection_set, child_depth, inside))
                elif isinstance(selection, InlineFragmentNode):
                    stack.append((selection.selection_set, depth, introspection))
                elif isinstance(selection, FragmentSpreadNode):
                    # Spreads inside introspection fields add no depth either; rare enough
                    # to measure at the current depth.
                    m.spreads.append((selection.name.value, depth))
        return m

    def _fragment_local(self, name: str) -> _Measure | None:
        if name not in self.fragments:
            return None
        if name not in self.local:
            fragment = self.fragments[name]
            # A fragment on an introspection type (GraphiQL's ``TypeRef``) adds no depth.
            on_introspection = fragment.type_condition.name.value.startswith("__")
            m = self._local(fragment.selection_set, introspection=on_introspection)
            m.directives += len(fragment.directives or ())
            self.local[name] = m
        return self.local[name]

    # ---- fragments combined bottom-up, each once -------------------------------------------

    def _combine(self, own: _Measure) -> _Measure:
        """``own`` with every fragment it spreads (transitively) added in."""
        self._resolve([name for name, _ in own.spreads])
        return self._add_spreads(own)

    def _resolve(self, roots: list[str]) -> None:
        """Fill ``self.total`` for the fragments reachable from ``roots``, without recursion
        (a chain of a thousand fragments must not overflow the stack)."""
        on_path: set[str] = set()
        for root in roots:
            if root in self.total or self._fragment_local(root) is None:
                continue
            path: list[tuple[str, int]] = [(root, 0)]
            on_path.add(root)
            while path:
                name, index = path[-1]
                spreads = self.local[name].spreads
                while index < len(spreads):
                    child = spreads[index][0]
                    index += 1
                    if (
                        child not in self.total
                        and child not in on_path
                        and self._fragment_local(child) is not None
                    ):
                        break
                else:
                    path.pop()
                    on_path.discard(name)
                    self.total[name] = self._add_spreads(self.local[name])
                    # A fragment the operation reaches that is over a limit puts the operation
                    # over it too: stop here.
                    self._check(self.total[name])
                    continue
                path[-1] = (name, index)
                path.append((child, 0))
                on_path.add(child)

    def _add_spreads(self, local: _Measure) -> _Measure:
        out = _Measure(local.depth, local.fields, local.aliases, local.directives)
        cap = self.limits
        for name, depth in local.spreads:
            self._spend()
            sub = self.total.get(name)
            if sub is None:  # unknown, or a cycle: the standard rules report it
                continue
            out.depth = min(max(out.depth, depth + sub.depth), cap.max_depth + 1)
            out.fields = min(out.fields + sub.fields, cap.max_fields + 1)
            out.aliases = min(out.aliases + sub.aliases, cap.max_aliases + 1)
            out.directives = min(out.directives + sub.directives, cap.max_directives + 1)
        return out

    def _check(self, m: _Measure) -> None:
        lim = self.limits
        if m.depth > lim.max_depth:
            raise LimitExceeded(
                "QUERY_TOO_DEEP",
                f"the operation exceeds maximum operation depth of {lim.max_depth}",
            )
        if m.aliases > lim.max_aliases:
            raise LimitExceeded(
                "QUERY_TOO_COMPLEX",
                f"more than {lim.max_aliases} aliases found (fragments counted where spread)",
            )
        if m.directives > lim.max_directives:
            raise LimitExceeded(
                "QUERY_TOO_COMPLEX", f"more than {lim.max_directives} directives found"
            )
        if m.fields > lim.max_fields:
            raise LimitExceeded(
                "QUERY_TOO_COMPLEX",
                f"the operation selects more than {lim.max_fields} fields "
                "once its fragments are expanded",
            )

    def _spend(self) -> None:
        self.work += 1
        if self.work > self.limits.max_work:
            raise LimitExceeded("QUERY_TOO_COMPLEX", "the document is too large to validate")
