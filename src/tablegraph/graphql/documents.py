"""Parsing and validation of GraphQL documents: bounded, and done once per document text.

Order matters. The token limit stops the parser; the document limits (``limits.py``, linear
whatever the fragments expand to) run next; only a document within them reaches graphql-core's
standard rules. Of those, ``OverlappingFieldsCanBeMergedRule`` compares fields pairwise, so it
gets a hard work budget of its own (graphql-core's default lets it run for seconds); running
out of it refuses the document as too complex. Every other standard rule is linear in the
document, which the token limit bounds.

The outcome — the parsed document and its validation errors, none for a valid one — is kept
in an LRU keyed by the document text, so a repeated operation is neither parsed nor validated
again. Refused documents are kept too: a client repeating a hostile document costs a lookup.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from cachetools import LRUCache
from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    OverlappingFieldsCanBeMergedRule,
    ValidationContext,
    parse,
    specified_rules,
    validate,
)
from graphql.validation import NoSchemaIntrospectionCustomRule
from graphql.validation.rules import ASTValidationRule
from graphql.validation.validate import ValidationAbortedError
from strawberry.extensions import SchemaExtension
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule

from tablegraph.graphql.limits import DocumentLimits, check_document

#: Work units (field comparisons, roughly) the field-merging rule may spend on one document.
#: Ordinary documents spend a few hundred; graphql-core's own default is 500 000.
MERGE_BUDGET = 5_000


@dataclass(frozen=True)
class ValidatedDocument:
    document: DocumentNode
    #: Validation errors; empty for a valid document.
    errors: tuple[GraphQLError, ...]
    #: Characters of the document's text.
    size: int = 0


#: A parsed document (its nodes and every token, for error locations) holds 60 to 80 times
#: its text in memory; weighing entries at 100 times keeps the cache inside its budget.
BYTES_PER_CHARACTER = 100


class DocumentCache:
    """An LRU of validated documents keyed by their text, bounded by estimated memory (a
    count alone would let 1000 dense 5000-token documents take gigabytes)."""

    def __init__(self, max_bytes: int) -> None:
        self.enabled = max_bytes > 0
        self._entries: LRUCache[str, ValidatedDocument] = LRUCache(
            maxsize=max(1, max_bytes), getsizeof=self.weight
        )
        self.hits = 0
        self.misses = 0

    @staticmethod
    def weight(entry: ValidatedDocument) -> int:
        return BYTES_PER_CHARACTER * entry.size + 1024

    def get(self, text: str) -> ValidatedDocument | None:
        found = self._entries.get(text) if self.enabled else None
        if found is None:
            self.misses += 1
        else:
            self.hits += 1
        return found

    def peek(self, text: str) -> ValidatedDocument | None:
        """``get`` without counting: a look before the request is executed (which counts)."""
        return self._entries.get(text) if self.enabled else None

    def used(self) -> None:
        """Count the hit of a document ``peek`` found for a request answered without an
        execution of its own (answered again, or by another's): it was used all the same."""
        self.hits += 1

    def put(self, text: str, entry: ValidatedDocument) -> None:
        if self.enabled:
            with contextlib.suppress(ValueError):  # larger than the whole cache: not kept
                self._entries[text] = entry

    @property
    def bytes(self) -> int:
        """The estimated memory the cached documents hold."""
        return int(self._entries.currsize)

    def __len__(self) -> int:
        return len(self._entries)


def _budgeted_merge_rule(budget: int) -> type[ASTValidationRule]:
    class BudgetedOverlappingFieldsRule(OverlappingFieldsCanBeMergedRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            self.rule_context.remaining_complexity_budget = budget

    return BudgetedOverlappingFieldsRule


def validation_rules(*, introspection: bool) -> tuple[type[ASTValidationRule], ...]:
    """graphql-core's standard rules with a budget on field merging, plus Strawberry's own."""
    merge = _budgeted_merge_rule(MERGE_BUDGET)
    rules: list[type[ASTValidationRule]] = [
        merge if rule is OverlappingFieldsCanBeMergedRule else rule for rule in specified_rules
    ]
    rules += [MaybeNullValidationRule, OneOfInputValidationRule]
    if not introspection:
        rules.append(NoSchemaIntrospectionCustomRule)
    return tuple(rules)


def validate_document(
    schema: GraphQLSchema,
    document: DocumentNode,
    limits: DocumentLimits,
    rules: tuple[type[ASTValidationRule], ...],
    *,
    hide_suggestions: bool,
) -> tuple[GraphQLError, ...]:
    """The document's validation errors: a limit exceeded, or the standard rules' findings."""
    exceeded = check_document(document, limits)
    if exceeded is not None:
        return (exceeded,)
    errors = validate(schema, document, rules, max_errors=20, hide_suggestions=hide_suggestions)
    over_budget = any(
        isinstance(e, ValidationAbortedError) and not e.message.startswith("Too many")
        for e in errors
    )
    if over_budget:
        return (
            GraphQLError(
                "the document is too complex to validate (fields to compare for merging)",
                extensions={"code": "QUERY_TOO_COMPLEX"},
            ),
        )
    return tuple(errors)


class DocumentPolicy:
    """How documents are parsed and validated, fixed when the schema is built."""

    def __init__(
        self,
        cache: DocumentCache,
        limits: DocumentLimits,
        *,
        max_tokens: int,
        production: bool,
    ) -> None:
        self.cache, self.limits = cache, limits
        self.max_tokens = max_tokens
        self.production = production
        self.rules = validation_rules(introspection=not production)

    def parse(self, text: str) -> DocumentNode:
        return parse(text, max_tokens=self.max_tokens)

    def validate(self, schema: GraphQLSchema, document: DocumentNode) -> tuple[GraphQLError, ...]:
        return validate_document(
            schema, document, self.limits, self.rules, hide_suggestions=self.production
        )


class DocumentExtension(SchemaExtension):
    """Parse and validate through the cache; Strawberry's own steps then have nothing to do."""

    def __init__(self, policy: DocumentPolicy) -> None:
        self.policy = policy
        self.entry: ValidatedDocument | None = None

    def on_parse(self) -> Iterator[None]:
        ctx = self.execution_context
        ctx.parse_options["max_tokens"] = self.policy.max_tokens
        text = ctx.query
        if text is not None and ctx.graphql_document is None:
            self.entry = self.policy.cache.get(text)
            if self.entry is not None:
                ctx.graphql_document = self.entry.document
            else:
                # On a syntax error Strawberry parses again, and reports it.
                with contextlib.suppress(GraphQLError):
                    ctx.graphql_document = self.policy.parse(text)
        yield

    def on_validate(self) -> Iterator[None]:
        ctx = self.execution_context
        entry = self.entry
        if entry is None and ctx.graphql_document is not None and ctx.query is not None:
            errors = self.policy.validate(ctx.schema._schema, ctx.graphql_document)
            entry = ValidatedDocument(ctx.graphql_document, errors, len(ctx.query))
            self.policy.cache.put(ctx.query, entry)
        if entry is not None:
            ctx.pre_execution_errors = list(entry.errors)
        yield


def document_extension(policy: DocumentPolicy) -> Any:
    """A factory Strawberry calls once per request."""
    return lambda: DocumentExtension(policy)
