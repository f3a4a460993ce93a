"""A query asked again is answered without executing it again once every upstream answer it
was built from has been fetched again and found byte-for-byte the same
(``[gateway] answer_unchanged_queries``, on by default; off in the naive baseline).

A polled dashboard asks the same query every few seconds, and the upstream mostly answers the
same bytes; executing it again (completing a few hundred fields, encoding the rows) would
give the same answer, since an eligible query's answer is a function of what the key holds
(the caller's identity, the document, the operation, the variables) and of its inputs
(``tablegraph.inputs``): the upstream answers it read and the kept cache entries it was
served. So after a clean execution the answer is kept with its inputs, and the next identical
request

- checks that every kept entry it used is still the fresh entry (an expired or replaced one:
  execute), and that the UTC date is the same (date arguments are checked against today);
- sends every upstream read again, all at once, through the same client (auth, retries,
  breaker, rate budgets and ``/metrics`` as for any read; revalidations of the same read in
  flight together are one request, detached by a booking change like the gateway's shared
  reads);
- answers with the kept answer when every status and body is the same, else executes — with
  the answers just fetched handed to the execution (``inputs.given``), so no read is sent twice.

Freshness is exactly an execution's: every upstream read is made, every cache entry is one
the execution would be served. What is skipped is the work between the answers and the
response. Only queries whose every field is known to depend on nothing else are eligible
(``repeatable``): the clock decides availability (past slots), the gateway's own counters and
store decide ``upstreams``, ``node``, ``booking`` (remembered cancellations, manage tokens) and
guest search windows. An execution that read anything it cannot read again the same way (a
write, a read shared with another request, a cache it filled, a stale fallback) is not kept,
nor is an answer with errors.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import httpx
import orjson
from cachetools import LRUCache
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    get_named_type,
)

from tablegraph.cache import AsyncTTLCache
from tablegraph.inputs import Inputs, Kept, Read
from tablegraph.provenance import Provenance

#: Root fields whose answers depend only on upstream answers and kept cache entries.
ROOTS = frozenset({"restaurants", "restaurant", "bookings", "reviews", "__typename"})
#: Fields below them that depend on more: the clock (a slot in the past is not offered).
NOT_REPEATABLE = frozenset({("Restaurant", "availability")})
#: Answers kept, by their estimated size: the encoded answer, the decoded one (five times
#: its bytes, as ``MappedAnswers`` weighs models) and the upstream bodies.
KEPT_BYTES = 32 * 1024 * 1024


def _utc_today() -> date:
    return datetime.now(UTC).date()


@dataclass(frozen=True)
class Recorded:
    """A clean execution's answer and what it was built from."""

    reads: tuple[Read, ...]
    kept: tuple[Kept, ...]
    served: tuple[tuple[str, Any, Hashable], ...]
    #: Every upstream the answer used (``extensions.upstreams``).
    upstreams: tuple[str, ...]
    on: date
    data: Any
    data_json: orjson.Fragment
    cost: int | None
    size: int


def _size(recorded: Recorded) -> int:
    return recorded.size


class RevalidatedQueries:
    def __init__(
        self,
        schema: GraphQLSchema,
        *,
        enabled: bool,
        reads: AsyncTTLCache[httpx.Response] | None = None,
        max_bytes: int = KEPT_BYTES,
        today: Callable[[], date] = _utc_today,
    ) -> None:
        self.enabled = enabled
        self._schema = schema
        #: Revalidations of one read in flight together share it (the gateway's, so that a
        #: booking change detaches them); None: each sends its own.
        self._reads = reads
        self.today = today
        self._answers: LRUCache[Hashable, Recorded] = LRUCache(max_bytes, getsizeof=_size)
        #: Whether an operation is eligible, by document and operation (``repeatable``).
        self._eligible: LRUCache[tuple[int, str | None], tuple[DocumentNode, bool]] = LRUCache(1024)
        #: ``/metrics`` (cache ``unchanged-queries``): a hit is a request answered again, a
        #: miss one that had to execute after revalidating.
        self.hits = 0
        self.misses = 0

    def repeatable(self, document: DocumentNode, operation: OperationDefinitionNode) -> bool:
        """Whether every field the operation selects is eligible (``ROOTS``,
        ``NOT_REPEATABLE``); worked out once per parsed document and operation."""
        name = operation.name.value if operation.name else None
        memo = self._eligible.get((id(document), name))
        if memo is not None and memo[0] is document:
            return memo[1]
        fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        root = self._schema.query_type
        ok = root is not None and _fields_repeatable(
            self._schema, operation.selection_set, root, fragments, set()
        )
        self._eligible[(id(document), name)] = (document, ok)
        return ok

    def recorded(self, key: Hashable) -> Recorded | None:
        """The kept answer for ``key`` while its kept entries are all still fresh and it is
        still the day it was executed on."""
        recorded = self._answers.get(key)
        if recorded is None:
            return None
        if not self._still(recorded):
            self._answers.pop(key, None)
            return None
        return recorded

    def _still(self, recorded: Recorded) -> bool:
        """Still the day it was executed on, and each kept entry still the fresh one."""
        return recorded.on == self.today() and all(
            k.cache.age(k.key, k.entry) is not None for k in recorded.kept
        )

    async def revalidate(
        self, recorded: Recorded, provenance: Provenance
    ) -> dict[tuple[Any, Hashable], Any] | None:
        """Every read of ``recorded`` sent again at once. None when each answered exactly
        as before (and the kept entries are still the fresh ones); else what they answered
        (responses and the errors they raised), for the execution that follows."""
        got = await self._read_all(recorded.reads, provenance)
        same = True
        given: dict[tuple[Any, Hashable], Any] = {}
        for read, answer in zip(recorded.reads, got, strict=True):
            if isinstance(answer, BaseException) and not isinstance(answer, Exception):
                raise answer  # cancelled
            given[(read.client, read.key)] = answer
            if isinstance(answer, Exception) or (
                answer.status_code != read.status or answer.content != read.content
            ):
                same = False
        # An entry dropped while the reads were out (a change the gateway heard of): execute.
        if same and self._still(recorded):
            self.hits += 1
            for kept in recorded.kept:
                kept.cache.hits += 1  # served from it, as the execution would have been
            for upstream, cache, key in recorded.served:
                provenance.served_cached(upstream, cache.age(key) or 0.0)
            for upstream in recorded.upstreams:
                provenance.touched(upstream)
            return None
        self.misses += 1
        return given

    async def _read_all(self, reads: tuple[Read, ...], provenance: Provenance) -> list[Any]:
        if len(reads) == 1:  # the usual case: no task of its own
            try:
                return [await self._again(reads[0], provenance)]
            except Exception as exc:
                return [exc]
        return await asyncio.gather(
            *(self._again(read, provenance) for read in reads), return_exceptions=True
        )

    async def _again(self, read: Read, provenance: Provenance) -> httpx.Response:
        if self._reads is None:
            response: httpx.Response = await read.client.read_again(read.key)
            return response
        got = await self._reads.fetch(
            (read.client.name, read.client, read.key), lambda: read.client.read_again(read.key)
        )
        if got.age is not None:  # another request's revalidation, in flight together
            provenance.served_cached(read.client.name, 0.0)
        return got.value

    def keep(
        self,
        key: Hashable,
        inputs: Inputs,
        data: Any,
        encoded: bytes,
        cost: int | None,
        provenance: Provenance,
    ) -> None:
        """Keep a clean execution's answer, if what it read can be read again."""
        if inputs.unrepeatable is not None or any(
            t.error or t.stale for t in provenance.upstreams.values()
        ):
            self._answers.pop(key, None)
            return
        size = len(encoded) * 6 + sum(len(r.content) for r in inputs.reads) + 1024
        recorded = Recorded(
            tuple(inputs.reads),
            tuple(inputs.kept),
            tuple(inputs.served),
            tuple(provenance.upstreams),
            self.today(),
            data,
            orjson.Fragment(encoded),
            cost,
            size,
        )
        try:
            self._answers[key] = recorded
        except ValueError:  # larger than the whole budget: not kept
            self._answers.pop(key, None)

    def __len__(self) -> int:
        return len(self._answers)


def _fields_repeatable(
    schema: GraphQLSchema,
    selections: SelectionSetNode,
    parent: Any,
    fragments: dict[str, FragmentDefinitionNode],
    spreading: set[str],
) -> bool:
    for node in selections.selections:
        if isinstance(node, FieldNode):
            name = node.name.value
            if name == "__typename":
                continue
            if parent is schema.query_type and name not in ROOTS:
                return False
            if (parent.name, name) in NOT_REPEATABLE or name.startswith("__"):
                return False
            if not isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
                return False
            definition = parent.fields.get(name)
            if definition is None:
                return False
            if node.selection_set is not None and not _fields_repeatable(
                schema, node.selection_set, get_named_type(definition.type), fragments, spreading
            ):
                return False
        elif isinstance(node, InlineFragmentNode):
            on = schema.get_type(node.type_condition.name.value) if node.type_condition else parent
            if not _fields_repeatable(schema, node.selection_set, on, fragments, spreading):
                return False
        elif isinstance(node, FragmentSpreadNode):
            name = node.name.value
            fragment = fragments.get(name)
            if fragment is None or name in spreading:
                return False
            on = schema.get_type(fragment.type_condition.name.value)
            spreading.add(name)
            ok = _fields_repeatable(schema, fragment.selection_set, on, fragments, spreading)
            spreading.discard(name)
            if not ok:
                return False
    return True
