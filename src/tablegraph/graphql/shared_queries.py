"""Identical queries in flight answered by one execution (``[gateway] share_identical_queries``,
off by default — as Hive Gateway's ``inboundInflightRequestDeduplication`` is).

A request joins another's execution only when everything that decides the answer is the
same: the caller (its identity: client, scopes, restaurants in reach; and its rate-limit key),
the document text, the operation name and the variables. Only queries: the operation's type
comes from the parsed, validated document the schema has already cached for that text (a
document seen for the first time is executed on its own), never from a pattern over the text,
so a mutation is never shared. Joining follows the gateway caches' rules
(``AsyncTTLCache``): not an execution cut by a much shorter deadline, and a cancelled leader
does not fail the others.

Each joiner is still a request of its own: it is charged the operation's cost against its
caller's budget (refused with 429 when that is spent), counted in ``/metrics``, logged, and
answered with its own ``extensions`` — its upstreams shown as served from the shared answer
(``cached``, 0 s old, no request of its own). An answer the leader was refused (its cost
budget) is not shared: the joiner executes for itself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Any, NamedTuple

import orjson
from graphql import (
    DocumentNode,
    GraphQLError,
    OperationDefinitionNode,
    OperationType,
    get_operation_ast,
)
from strawberry.types import ExecutionResult

from tablegraph.auth.identity import Identity
from tablegraph.cache import AsyncTTLCache
from tablegraph.graphql.documents import DocumentCache
from tablegraph.provenance import Provenance


@dataclass(frozen=True)
class Answer:
    """One execution's outcome, as every request sharing it needs it."""

    result: ExecutionResult
    extra_errors: tuple[GraphQLError, ...]
    cost: int | None
    #: The leader was over its cost budget: its answer is a refusal, not the query's.
    refused: bool
    upstreams: Provenance
    #: ``result.data`` as JSON, encoded once for every request the execution answers (the
    #: rows of a day are most of each answer's bytes); None where nothing is shared.
    data_json: orjson.Fragment | None = None


class QueryKey(NamedTuple):
    #: (identity, caller, document text, operation name, variables as sorted JSON)
    key: Hashable
    document: DocumentNode
    operation: OperationDefinitionNode


def query_key(
    documents: DocumentCache,
    identity: Identity,
    caller: str,
    query: str,
    operation: str | None,
    variables: Any,
) -> QueryKey | None:
    """Everything that decides a query's answer, as a key, with its parsed document and
    operation; None for anything but a valid query document already seen (its type is the
    validated document's, never a pattern over the text), or variables that are not JSON."""
    validated = documents.peek(query)
    if validated is None or validated.errors:
        return None
    found = get_operation_ast(validated.document, operation)
    if found is None or found.operation is not OperationType.QUERY:
        return None
    try:
        given = orjson.dumps(variables, option=orjson.OPT_SORT_KEYS) if variables else b""
    except TypeError:
        return None
    return QueryKey((identity, caller, query, operation, given), validated.document, found)


class SharedQueries:
    def __init__(self, documents: DocumentCache, *, enabled: bool) -> None:
        self._documents = documents
        #: Executions in flight by key (``/metrics``: cache ``queries``, a hit a request
        #: answered by another's execution).
        self.flights: AsyncTTLCache[Answer] = AsyncTTLCache(0.0)
        self.enabled = enabled

    @property
    def joined(self) -> int:
        """Requests answered by another's execution so far."""
        return self.flights.hits

    def key(
        self,
        identity: Identity,
        caller: str,
        query: str,
        operation: str | None,
        variables: Any,
    ) -> Hashable | None:
        """What an execution of this request may be shared under; None: not shareable."""
        if not self.enabled:
            return None
        found = query_key(self._documents, identity, caller, query, operation, variables)
        return None if found is None else found.key

    async def run(
        self, key: Hashable, execute: Callable[[], Awaitable[Answer]]
    ) -> tuple[Answer, bool]:
        """The answer of the execution in flight under ``key``, else of ``execute()``; and
        whether it was another request's."""
        got = await self.flights.fetch(key, execute)
        return got.value, got.age is not None
