"""The schema, its abuse limits, and how errors are shown to clients."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import strawberry
from graphql import ExecutionResult, GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionContext

from tablegraph.errors import GatewayError, QueryTooCostly
from tablegraph.graphql.context import Context
from tablegraph.graphql.cost import operation_cost
from tablegraph.graphql.direct import direct
from tablegraph.graphql.documents import DocumentCache, DocumentPolicy, document_extension
from tablegraph.graphql.executor import PlannedExecutor
from tablegraph.graphql.fields import argument_path
from tablegraph.graphql.limits import DocumentLimits
from tablegraph.graphql.mutations import Mutation
from tablegraph.graphql.permissions import protect
from tablegraph.graphql.queries import Query
from tablegraph.graphql.restaurant import Restaurant
from tablegraph.graphql.subscriptions import Subscription
from tablegraph.graphql.types import Booking, Guest, Review, WaitlistEntry
from tablegraph.settings import Limits, Security

log = logging.getLogger("tablegraph.graphql")

#: Substrings of graphql-core / Strawberry validation messages → stable codes.
_VALIDATION_CODES = (
    ("exceeds maximum operation depth", "QUERY_TOO_DEEP"),
    ("aliases found", "QUERY_TOO_COMPLEX"),
    ("tokens. Parsing aborted", "QUERY_TOO_COMPLEX"),
    ("Syntax Error", "GRAPHQL_PARSE_FAILED"),
    ("Variable '$", "BAD_USER_INPUT"),
    ("Int cannot represent", "BAD_USER_INPUT"),
)


class GatewaySchema(strawberry.Schema):
    #: Set by ``build_schema``: production mode hides "Did you mean" suggestions.
    production = False
    documents: DocumentCache

    def _get_custom_context_kwargs(
        self, operation_extensions: dict[str, Any] | None = None, *, sync: bool = False
    ) -> dict[str, Any]:
        kwargs = super()._get_custom_context_kwargs(operation_extensions, sync=sync)
        if self.production:  # variable coercion names enum values it would suggest
            kwargs["hide_suggestions"] = True
        return kwargs

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        for error in errors:
            original = error.original_error
            if error.path and original is not None and not isinstance(original, GatewayError):
                log.error(
                    "unexpected error at %s",
                    error.path,
                    exc_info=(type(original), original, original.__traceback__),
                )


class CostLimit(SchemaExtension):
    """Refuse an operation over ``max_cost`` before it runs; record the cost on the context."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits

    def on_execute(self) -> Iterator[None]:
        ctx = self.execution_context
        assert ctx.graphql_document is not None
        cost = operation_cost(
            ctx.schema._schema,
            ctx.graphql_document,
            ctx.operation_name,
            ctx.variables,
            max_list=self.limits.max_list,
        )
        context = ctx.context if isinstance(ctx.context, Context) else None
        if context is not None:
            context.cost = cost
        if cost > self.limits.max_cost:
            refused = QueryTooCostly(
                f"the operation would cost {cost}; at most {self.limits.max_cost} is allowed",
                details={"cost": cost, "maxCost": self.limits.max_cost},
            )
            ctx.result = ExecutionResult(
                data=None, errors=[GraphQLError(refused.message, original_error=refused)]
            )
        elif context is not None and context.charge is not None and cost > 0:
            try:
                context.charge(cost)
            except Exception as exc:  # the caller answers it (HTTP 429): nothing runs
                context.cost_refusal = exc
                ctx.result = ExecutionResult(data=None, errors=[GraphQLError(str(exc))])
        yield


def build_schema(limits: Limits | None = None, security: Security | None = None) -> GatewaySchema:
    limits = limits or Limits()
    security = security or Security()
    documents = DocumentCache(limits.document_cache_mb * 1024 * 1024)
    policy = DocumentPolicy(
        documents,
        DocumentLimits(
            max_depth=limits.max_depth,
            max_fields=limits.max_fields,
            max_aliases=limits.max_aliases,
            max_directives=limits.max_directives,
        ),
        max_tokens=limits.max_tokens,
        production=security.production,
    )
    schema = GatewaySchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=[Restaurant, Booking, Guest, Review, WaitlistEntry],
        extensions=[document_extension(policy), lambda: CostLimit(limits)],
        execution_context_class=PlannedExecutor,
    )
    schema.production = security.production
    schema.documents = documents
    direct(schema)  # before protect: the guards wrap the direct resolvers
    protect(schema)
    return schema


def format_error(error: GraphQLError) -> dict[str, Any]:
    """One error as the client sees it: stable code, upstream named, internals masked."""
    original = error.original_error
    out: dict[str, Any] = {"message": error.message}
    if error.locations:
        out["locations"] = [{"line": loc.line, "column": loc.column} for loc in error.locations]
    if error.path:
        out["path"] = error.path
    if isinstance(original, GatewayError):
        ext = dict(original.extensions)
        field = argument_path(original.field)
        if field:
            ext["field"] = field
        out["extensions"] = ext
    elif not error.path and (
        original is None
        or isinstance(original, GraphQLError)
        or error.message.startswith("Variable '$")  # a scalar refused a variable's value
    ):
        # The document or its variables were refused before execution; graphql-core's
        # message speaks only of the client's own input.
        code = (error.extensions or {}).get("code") or "GRAPHQL_VALIDATION_FAILED"
        if "code" not in (error.extensions or {}):
            for needle, mapped in _VALIDATION_CODES:
                if needle in error.message:
                    code = mapped
                    break
        out["extensions"] = {"code": code}
    elif original is not None:
        out["message"] = "Internal error."
        out["extensions"] = {"code": "INTERNAL_SERVER_ERROR"}
    else:
        out["extensions"] = dict(error.extensions or {}) or {"code": "BAD_USER_INPUT"}
    return out
