"""The schema, its abuse limits, and how errors are shown to clients."""

from __future__ import annotations

import logging
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaxAliasesLimiter, MaxTokensLimiter, QueryDepthLimiter
from strawberry.types import ExecutionContext

from tablegraph.errors import GatewayError
from tablegraph.graphql.fields import argument_path
from tablegraph.graphql.mutations import Mutation
from tablegraph.graphql.permissions import protect
from tablegraph.graphql.queries import Query
from tablegraph.graphql.restaurant import Restaurant
from tablegraph.graphql.types import Booking, Guest, Review, WaitlistEntry
from tablegraph.settings import Limits

log = logging.getLogger("tablegraph.graphql")

#: Substrings of graphql-core / Strawberry validation messages → stable codes.
_VALIDATION_CODES = (
    ("exceeds maximum operation depth", "QUERY_TOO_DEEP"),
    ("aliases found", "QUERY_TOO_COMPLEX"),
    ("token limit", "QUERY_TOO_COMPLEX"),
    ("Syntax Error", "GRAPHQL_PARSE_FAILED"),
    ("Variable '$", "BAD_USER_INPUT"),
    ("Int cannot represent", "BAD_USER_INPUT"),
)


class GatewaySchema(strawberry.Schema):
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


def build_schema(limits: Limits | None = None) -> GatewaySchema:
    limits = limits or Limits()
    schema = GatewaySchema(
        query=Query,
        mutation=Mutation,
        types=[Restaurant, Booking, Guest, Review, WaitlistEntry],
        extensions=[
            lambda: QueryDepthLimiter(max_depth=limits.max_depth),
            lambda: MaxAliasesLimiter(max_alias_count=limits.max_aliases),
            lambda: MaxTokensLimiter(max_token_count=limits.max_tokens),
        ],
    )
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
    elif not error.path:
        # The document or its variables were refused before execution; graphql-core's
        # message speaks only of the client's own input.
        code = "GRAPHQL_VALIDATION_FAILED"
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
