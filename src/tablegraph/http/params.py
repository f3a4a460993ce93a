"""GraphQL over HTTP: the request's parameters and its deadline header, checked.

A GET carries ``query``, ``operationName``, ``variables`` and ``extensions`` in the query
string (the last two as JSON); a POST carries them in a JSON object. ``variables`` and
``extensions`` must be objects when present.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from tablegraph.http.body import loads_bounded, read_body
from tablegraph.http.problem import HTTPProblem
from tablegraph.settings import HttpSettings, Limits

GRAPHQL_RESPONSE = "application/graphql-response+json"
#: A client may ask for a shorter request deadline than the gateway's, in milliseconds.
TIMEOUT_HEADER = "X-Request-Timeout-Ms"
_JSON_PARAMS = ("variables", "extensions")


def media_type(request: web.Request) -> str:
    accept = request.headers.get("Accept", "")
    return GRAPHQL_RESPONSE if GRAPHQL_RESPONSE in accept else "application/json"


async def read_params(request: web.Request, limits: Limits, http: HttpSettings) -> dict[str, Any]:
    if request.method == "GET":
        params: dict[str, Any] = dict(request.query)
        for name in _JSON_PARAMS:
            if name in params:
                params[name] = loads_bounded(params[name], limits.max_json_depth, name)
    else:
        if request.content_type not in ("application/json", GRAPHQL_RESPONSE):
            raise HTTPProblem(415, "UNSUPPORTED_MEDIA_TYPE", "send application/json")
        raw = await read_body(request, limits.max_body_bytes, http.body_timeout_seconds)
        params = loads_bounded(raw, limits.max_json_depth)
        if not isinstance(params, dict):
            raise HTTPProblem(400, "BAD_REQUEST", "the request body must be a JSON object")
    for name in _JSON_PARAMS:
        if params.get(name) is not None and not isinstance(params[name], dict):
            raise HTTPProblem(400, "BAD_REQUEST", f"'{name}' must be a JSON object")
    refuse_lone_surrogates(params)
    return params


def refuse_lone_surrogates(params: Any) -> None:
    """JSON lets a client escape half a UTF-16 pair ("\\ud800"); such a string is not text,
    and it crashes the first thing that encodes it (the query size check, an upstream call)."""
    try:
        json.dumps(params, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise HTTPProblem(
            400, "BAD_REQUEST", "the request contains an unpaired UTF-16 surrogate"
        ) from None


def budget_seconds(request: web.Request, limits: Limits) -> float:
    """Seconds the upstream calls of this request may take: the gateway's deadline or the
    client's shorter one, less a reserve for assembling the answer.

    The header is ASCII digits only (``int()`` would take "٣", "+5" and " 5"), and at least
    ``min_request_timeout_ms``: a deadline shorter than any upstream can answer in only
    turns every call into a timeout."""
    total_ms = limits.request_timeout_ms
    raw = request.headers.get(TIMEOUT_HEADER)
    if raw is not None:
        floor = limits.min_request_timeout_ms
        if not (raw.isascii() and raw.isdigit()) or len(raw) > 12 or int(raw) < floor:
            raise HTTPProblem(
                400,
                "BAD_REQUEST",
                f"{TIMEOUT_HEADER} must be a whole number of milliseconds, at least {floor}",
            )
        total_ms = min(total_ms, int(raw))
    reserve_ms = min(total_ms * 0.1, 250.0)
    return (total_ms - reserve_ms) / 1000
