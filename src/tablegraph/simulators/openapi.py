"""``GET /openapi.json``: each simulator's API described as an OpenAPI 3.0 document.

The documents are the simulated APIs' reference for users, and what other gateways (GraphQL
Mesh in the benchmark, ``tests/bench``) are composed over. Each simulator declares its
operations once, as a table of ``Op`` in its own ``openapi.py``; path parameters are read from
the path template, so the table holds only what a template cannot say. A test checks that the
document and the simulator's router list the same routes (``HEAD`` aside: aiohttp adds one for
every ``GET``).

Payload schemas are mostly coarse (a JSON object or array, with the shape in prose): the
simulators' own modules (``documents.py``, ``views.py``...) stay the field-level reference.
Where another gateway composes over an answer field by field (the benchmark's GraphQL Mesh
over Vardvik's reservations and configuration), the ``Op`` carries that answer's full
``schema``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

_PATH_PARAM = re.compile(r"\{([^}]+)\}")
OPENAPI_PATH = "/openapi.json"


@dataclass(frozen=True)
class Op:
    method: str
    path: str
    summary: str
    query: tuple[str, ...] = ()  # optional query parameters (strings)
    required_query: tuple[str, ...] = ()
    body: str | None = None  # the JSON request body, in prose; None: no body
    form: bool = False  # the body is application/x-www-form-urlencoded
    answer: str = "a JSON object"  # the success body, in prose
    status: int = 200
    array: bool = False  # the success body is a JSON array
    public: bool = False  # no credentials needed
    html: bool = False  # the success body is an HTML page
    #: The success body's JSON schema, where a client needs its fields (else coarse).
    schema: Mapping[str, Any] | None = None


def document(
    *,
    title: str,
    description: str,
    security: Mapping[str, Any],
    ops: Iterable[Op],
    media: str = "application/json",
) -> dict[str, Any]:
    """An OpenAPI 3.0.3 document; ``security`` is one named scheme, applied to every non-public
    operation. ``media``: the media type the API's own answers are asked for in (a client
    composed over the document sends it as ``Accept``); public operations (OAuth) answer
    plain JSON."""
    (scheme_name,) = security
    paths: dict[str, dict[str, Any]] = {}
    for op in ops:
        params: list[dict[str, Any]] = [
            {"name": n, "in": "path", "required": True, "schema": {"type": "string"}}
            for n in _PATH_PARAM.findall(op.path)
        ]
        params += [
            {
                "name": n,
                "in": "query",
                "required": n in op.required_query,
                "schema": {"type": "string"},
            }
            for n in (*op.required_query, *op.query)
        ]
        answered = "application/json" if op.public else media
        if op.html:
            content: dict[str, Any] = {"text/html": {"schema": {"type": "string"}}}
        else:
            schema = (
                dict(op.schema)
                if op.schema is not None
                else {"type": "array", "items": {"type": "object"}}
                if op.array
                else {"type": "object"}
            )
            content = {answered: {"schema": schema}}
        operation: dict[str, Any] = {
            "operationId": _operation_id(op),
            "summary": op.summary,
            "responses": {
                str(op.status): {"description": op.answer, "content": content},
                "default": {
                    "description": "an error, in the provider's error shape",
                    "content": {answered: {"schema": {}}},
                },
            },
        }
        if params:
            operation["parameters"] = params
        if op.body is not None:
            kind = "application/x-www-form-urlencoded" if op.form else "application/json"
            operation["requestBody"] = {
                "required": True,
                "description": op.body,
                "content": {kind: {"schema": {"type": "object"}}},
            }
        operation["security"] = [] if op.public else [{scheme_name: []}]
        paths.setdefault(op.path, {})[op.method.lower()] = operation
    return {
        "openapi": "3.0.3",
        "info": {"title": title, "version": "simulated", "description": description},
        "paths": paths,
        "components": {"securitySchemes": dict(security)},
    }


def _operation_id(op: Op) -> str:
    words = re.findall(r"[A-Za-z0-9]+", op.path.replace("{", "by_"))
    return op.method.lower() + "".join(w[:1].upper() + w[1:] for w in words)


def add_openapi(app: web.Application, doc: Mapping[str, Any]) -> None:
    """Serve ``doc`` at ``GET /openapi.json`` (no credentials needed)."""
    body = dict(doc)

    async def openapi(_request: web.Request) -> web.Response:
        return web.json_response(body)

    app.router.add_get(OPENAPI_PATH, openapi)
