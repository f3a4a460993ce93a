"""HTTP caching of GET answers: reference data is cacheable, anything else is not.

A GET query that reads only reference data — restaurants, their profiles, opening hours and
booking policies — answers with ``Cache-Control: private, max-age=N``, N being what is left of the
freshness of the oldest cache entry it was built from, and a weak ``ETag`` over its data and
errors (not ``extensions``, whose timings change on every call); ``If-None-Match`` with that
tag gets 304. Everything else — bookings, guests, availability, reviews, upstream state, any
mutation, any answer with errors — is ``Cache-Control: private, no-store``.

What counts as reference data is an allowlist of (type, field) pairs checked against the
whole document with graphql-core's ``TypeInfo``: a field not on it (a new one included)
makes the answer uncacheable.
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any

from aiohttp import web
from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    TypeInfo,
    TypeInfoVisitor,
    Visitor,
)
from graphql import visit as visit_document

from tablegraph.http.headers import NO_STORE, add_vary
from tablegraph.provenance import Provenance

#: Type → its fields that read only reference data; ``None``: every field of the type.
REFERENCE_FIELDS: dict[str, frozenset[str] | None] = {
    "Query": frozenset({"restaurants", "restaurant"}),
    "RestaurantConnection": None,
    "RestaurantEdge": None,
    "PageInfo": None,
    "Restaurant": frozenset(
        {
            "id",
            "reference",
            "upstream",
            "name",
            "timezone",
            "city",
            "address",
            "latitude",
            "longitude",
            "phone",
            "policy",
            "capabilities",
            "provider",
            "openingHours",
        }
    ),
    "BookingPolicy": None,
    "OpeningHours": None,
    "OpeningPeriod": None,
    "SpecialDay": None,
}


class _ReferenceOnly(Visitor):
    def __init__(self, type_info: TypeInfo) -> None:
        super().__init__()
        self.type_info = type_info
        self.ok = True

    def enter_field(self, node: FieldNode, *_args: Any) -> Any:
        if node.name.value == "__typename":
            return None
        parent = self.type_info.get_parent_type()
        allowed = REFERENCE_FIELDS.get(parent.name, frozenset()) if parent else frozenset()
        if allowed is not None and node.name.value not in allowed:
            self.ok = False
            return self.BREAK
        return None


def reads_only_reference(document: DocumentNode, schema: GraphQLSchema) -> bool:
    """Whether every field the document names (in any operation or fragment) is reference
    data. Queries only: a mutation is never reference data."""
    for definition in document.definitions:
        if (
            isinstance(definition, OperationDefinitionNode)
            and definition.operation is not OperationType.QUERY
        ):
            return False
    type_info = TypeInfo(schema)
    visitor = _ReferenceOnly(type_info)
    visit_document(document, TypeInfoVisitor(type_info, visitor))
    return visitor.ok


def max_age(record: Provenance, ttl: float) -> int | None:
    """Seconds the answer stays fresh: the reference TTL less the age of the oldest cached
    entry used; None when any of it was stale or failed."""
    oldest = 0.0
    for trace in record.upstreams.values():
        if trace.stale or trace.error:
            return None
        if trace.age is not None:
            oldest = max(oldest, trace.age)
    return max(0, math.floor(ttl - oldest))


def etag(body: dict[str, Any]) -> str:
    """A weak validator of what the client sees as the answer: data and errors."""
    shown = {k: body[k] for k in ("data", "errors") if k in body}
    digest = hashlib.sha256(json.dumps(shown, sort_keys=True, default=str).encode()).hexdigest()
    return f'W/"{digest[:32]}"'


def matches(if_none_match: str | None, tag: str) -> bool:
    """Weak comparison (RFC 9110 13.1.2) of ``If-None-Match`` against ``tag``."""
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    opaque = tag.removeprefix("W/")
    return any(t.strip().removeprefix("W/") == opaque for t in if_none_match.split(","))


def cacheable_response(
    request: web.Request, body: dict[str, Any], text: str, media: str, seconds: int
) -> web.Response:
    tag = etag(body)
    # private: what a client sees depends on who it is (its restaurants), and a key sent as
    # X-Api-Key is no credential to a shared cache, which would hand one client's answer on.
    headers = {"Cache-Control": f"private, max-age={seconds}", "ETag": tag}
    if matches(request.headers.get("If-None-Match"), tag):
        response = web.Response(status=304, headers=headers)
    else:
        response = web.Response(text=text, content_type=media, headers=headers)
    add_vary(response, "Accept")
    return response


def uncacheable(response: web.StreamResponse) -> web.StreamResponse:
    response.headers.setdefault("Cache-Control", NO_STORE)
    return response
