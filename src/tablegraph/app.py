"""The aiohttp application: GraphQL over HTTP, GraphiQL, health, readiness, metrics, webhooks.

``POST /graphql`` accepts ``application/json`` and answers ``application/json`` or, when the
client accepts it, ``application/graphql-response+json``. Request-level failures (unparseable
body, oversized query, invalid document) get a 4xx and a GraphQL-shaped error body with a code;
executed operations get 200 with data and errors side by side.

Every request to ``/graphql`` carries an identity (``tablegraph.auth``): the ``authenticate``
middleware turns its credentials into one, or answers 401 with ``WWW-Authenticate``. The
operator's surfaces (``/metrics``, ``/readyz`` details, ``/connect/…``) need the ``admin``
scope; ``/healthz`` stays public and says only "ok".
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from graphql import OperationType, parse
from graphql.error import GraphQLSyntaxError
from strawberry.schema.exceptions import CannotGetOperationTypeError

from tablegraph import deadline, logs, provenance
from tablegraph.auth import redact
from tablegraph.auth.authenticate import Authenticator, MissingCredentials
from tablegraph.auth.connect import ConnectGuard
from tablegraph.auth.identity import Identity
from tablegraph.auth.manage import ManageTokens
from tablegraph.auth.scopes import Scope
from tablegraph.auth.tokens import InvalidCredentials
from tablegraph.breaker import CircuitState
from tablegraph.errors import GatewayError, InvalidInput
from tablegraph.gateway import Gateway
from tablegraph.graphql.context import Context
from tablegraph.graphql.graphiql import graphiql_response, static_routes
from tablegraph.graphql.schema import GatewaySchema, build_schema, format_error

log = logging.getLogger(__name__)

GATEWAY = web.AppKey("gateway", Gateway)
SCHEMA = web.AppKey("schema", GatewaySchema)
AUTH = web.AppKey("auth", Authenticator)
CONNECT_GUARD = web.AppKey("connect_guard", ConnectGuard)
#: The request's authenticated identity, set by the ``authenticate`` middleware.
IDENTITY = web.RequestKey("identity", Identity)

GRAPHQL_RESPONSE = "application/graphql-response+json"
#: A client may ask for a shorter request deadline than the gateway's, in milliseconds.
TIMEOUT_HEADER = "X-Request-Timeout-Ms"
_UPSTREAM_CODES = ("UPSTREAM_", "OUTCOME_UNKNOWN")


def _error_response(
    status: int, code: str, message: str, media_type: str = "application/json"
) -> web.Response:
    body = {"errors": [{"message": message, "extensions": {"code": code}}]}
    response = web.Response(status=status, text=json.dumps(body), content_type=media_type)
    if status == 413:
        response.force_close()  # the unread rest of the body must not linger on keep-alive
    return response


def _media_type(request: web.Request) -> str:
    accept = request.headers.get("Accept", "")
    return GRAPHQL_RESPONSE if GRAPHQL_RESPONSE in accept else "application/json"


async def _read_params(request: web.Request) -> dict[str, Any]:
    limits = request.app[GATEWAY].settings.limits
    if request.method == "GET":
        params: dict[str, Any] = dict(request.query)
        if "variables" in params:
            try:
                params["variables"] = json.loads(params["variables"])
            except ValueError:
                raise InvalidInput("variables is not valid JSON") from None
        _refuse_lone_surrogates(params)
        return params
    ctype = request.content_type
    if ctype not in ("application/json", "application/graphql-response+json"):
        raise _HTTPProblem(415, "UNSUPPORTED_MEDIA_TYPE", "send application/json")
    too_large = _HTTPProblem(413, "REQUEST_TOO_LARGE", "the request body is too large")
    if request.content_length is not None and request.content_length > limits.max_body_bytes:
        if request.content_length <= 8 * limits.max_body_bytes:
            await _discard(request)  # a client still sending would not see the answer
        raise too_large
    raw = await request.content.read(limits.max_body_bytes + 1)
    if len(raw) > limits.max_body_bytes:
        raise too_large
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise _HTTPProblem(400, "BAD_REQUEST", "the request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise _HTTPProblem(400, "BAD_REQUEST", "the request body must be a JSON object")
    _refuse_lone_surrogates(data)
    return data


def _refuse_lone_surrogates(params: dict[str, Any]) -> None:
    """JSON lets a client escape half a UTF-16 pair ("\\ud800"); such a string is not text,
    and it crashes the first thing that encodes it (the query size check, an upstream call)."""
    try:
        json.dumps(params, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise _HTTPProblem(
            400, "BAD_REQUEST", "the request contains an unpaired UTF-16 surrogate"
        ) from None


async def _discard(request: web.Request) -> None:
    while await request.content.read(65536):
        pass


class _HTTPProblem(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


#: What ``GET /graphql`` without a query tells a client that is not a browser (curl).
GET_HINT = (
    "this is a GraphQL endpoint: POST a JSON body such as "
    '{"query": "{ restaurants { nodes { id name } } }"}, '
    "or GET /graphql?query={restaurants{nodes{id name}}}; "
    "open this URL in a browser for GraphiQL"
)


def _wants_html(request: web.Request) -> bool:
    return "text/html" in request.headers.get("Accept", "")


@dataclass
class _Seen:
    """What the access log says of a request, noted while it is handled."""

    operation: str | None = None
    upstream_requests: dict[str, int] = field(default_factory=dict)


SEEN = web.RequestKey("seen", _Seen)


@web.middleware
async def access_log(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """One access-log line per ``/graphql`` request, refused ones (401, 413…) included."""
    if request.path != "/graphql":
        return await handler(request)
    started = time.perf_counter()
    seen = request[SEEN] = _Seen()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        identity = request.get(IDENTITY)
        logs.log_request(
            request,
            client=identity.client_id if identity is not None else (request.remote or "-"),
            status=status,
            seconds=time.perf_counter() - started,
            operation=seen.operation,
            upstreams=seen.upstream_requests,
        )


async def graphql_handler(request: web.Request) -> web.StreamResponse:
    seen = request.get(SEEN) or _Seen()
    gateway = request.app[GATEWAY]
    limits = gateway.settings.limits
    if request.method == "GET" and _wants_html(request):
        # A browser: GraphiQL, with a ``?query=`` link's query (and variables) filled in.
        return graphiql_response(request.query.get("query"), request.query.get("variables"))
    media = _media_type(request)
    if request.method == "GET" and not request.query.get("query", "").strip():
        return _error_response(400, "BAD_REQUEST", GET_HINT, media)
    try:
        params = await _read_params(request)
        query, variables, operation = (
            params.get("query"),
            params.get("variables"),
            params.get("operationName"),
        )
        if not isinstance(query, str) or not query.strip():
            raise _HTTPProblem(400, "BAD_REQUEST", "a 'query' string is required")
        if len(query.encode()) > limits.max_query_bytes:
            raise _HTTPProblem(413, "QUERY_TOO_LARGE", "the query document is too large")
        if variables is not None and not isinstance(variables, dict):
            raise _HTTPProblem(400, "BAD_REQUEST", "'variables' must be a JSON object")
        if operation is not None and not isinstance(operation, str):
            raise _HTTPProblem(400, "BAD_REQUEST", "'operationName' must be a string")
        seen.operation = operation or _operation_name(query)
        if request.method == "GET" and _is_mutation(query, operation):
            raise _HTTPProblem(405, "METHOD_NOT_ALLOWED", "mutations need POST")
        budget = _budget_seconds(request, limits.request_timeout_ms)
    except _HTTPProblem as p:
        return _error_response(p.status, p.code, p.message, media)
    except InvalidInput as exc:
        return _error_response(400, exc.code, exc.message, media)

    context = Context(gateway=gateway, identity=request[IDENTITY])
    with deadline.scope(budget), provenance.recording() as record:
        try:
            result = await request.app[SCHEMA].execute(
                query,
                variable_values=variables,
                context_value=context,
                operation_name=operation,
            )
        except CannotGetOperationTypeError:
            # Strawberry raises (instead of answering) when operationName names no operation.
            return _error_response(
                400,
                "GRAPHQL_VALIDATION_FAILED",
                "operationName names no operation in the document",
                media,
            )
    errors = [format_error(e) for e in (result.errors or [])]
    errors += [format_error(e) for e in context.extra_errors]
    for error in errors:  # failures an adapter raised itself (an unparseable body...)
        ext = error.get("extensions") or {}
        if ext.get("upstream") and str(ext.get("code", "")).startswith(_UPSTREAM_CODES):
            record.failed(ext["upstream"], ext["code"])
    body: dict[str, Any] = {}
    executed = result.data is not None or not errors or any(e.get("path") for e in errors)
    if executed:  # an execution error nulls data up to the root, but data is still present
        body["data"] = result.data
    if errors:
        body["errors"] = errors
    upstreams = record.to_json()
    seen.upstream_requests = {n: t["requests"] for n, t in upstreams.items() if t["requests"]}
    body["extensions"] = {
        "durationMs": round((time.perf_counter() - context.started) * 1000, 1),
        "upstreams": upstreams,
    }
    status = 200
    if not executed:
        status = 400  # the document never executed: parse, validation or coercion failure
    return web.Response(status=status, text=json.dumps(body, default=str), content_type=media)


def _budget_seconds(request: web.Request, default_ms: int) -> float:
    """Seconds the upstream calls of this request may take: the gateway's deadline or the
    client's shorter one, less a reserve for assembling the answer."""
    total_ms = default_ms
    raw = request.headers.get(TIMEOUT_HEADER)
    if raw is not None:
        try:
            asked = int(raw.strip())
        except ValueError:
            asked = 0
        if asked <= 0:
            raise _HTTPProblem(
                400, "BAD_REQUEST", f"{TIMEOUT_HEADER} must be a positive number of milliseconds"
            )
        total_ms = min(total_ms, asked)
    reserve_ms = min(total_ms * 0.1, 250.0)
    return (total_ms - reserve_ms) / 1000


def _operation_name(query: str) -> str | None:
    """The name of the document's only named operation, for the access log (cheaply: the
    document is parsed for real by the schema)."""
    try:
        doc = parse(query)
    except GraphQLSyntaxError:
        return None
    operations = [d for d in doc.definitions if hasattr(d, "operation")]
    if len(operations) != 1:
        return None
    name = getattr(operations[0], "name", None)
    return str(name.value) if name is not None else None


def _is_mutation(query: str, operation: str | None) -> bool:
    try:
        doc = parse(query)
    except GraphQLSyntaxError:
        return False
    for definition in doc.definitions:
        op = getattr(definition, "operation", None)
        name = getattr(getattr(definition, "name", None), "value", None)
        if op is OperationType.MUTATION and (operation is None or name == operation):
            return True
    return False


# ---- who is calling ---------------------------------------------------------------------------

_PUBLIC, _IDENTIFIED, _OPTIONAL, _ADMIN = "public", "identified", "optional", "admin"
_TICKET = "ticket"  # a connect start link an admin asked for (POST /connect/{upstream})


def _policy(request: web.Request) -> str:
    path = request.path
    if request.method == "OPTIONS":
        return _PUBLIC  # a CORS preflight never carries credentials
    if path == "/graphql":
        # A browser gets the GraphiQL page (also for a ``?query=`` link: the page runs the
        # query with the key it is given); any client asking nothing gets the usage hint.
        page_or_hint = request.method == "GET" and (
            _wants_html(request) or not request.query.get("query", "").strip()
        )
        return _PUBLIC if page_or_hint else _IDENTIFIED
    if path == "/metrics":
        return _ADMIN
    if path == "/readyz":
        return _OPTIONAL  # probes get the status; details only for admin
    if path.startswith("/connect/"):
        if path.endswith("/callback"):
            return _PUBLIC
        return _TICKET if request.method == "GET" and "ticket" in request.query else _ADMIN
    return _PUBLIC


def _unauthorized(request: web.Request, message: str, *, invalid: bool) -> web.Response:
    challenge = 'Bearer realm="tablegraph"'
    if invalid:
        challenge += ', error="invalid_token"'
    body = {"errors": [{"message": message, "extensions": {"code": "UNAUTHENTICATED"}}]}
    return web.json_response(body, status=401, headers={"WWW-Authenticate": challenge})


@web.middleware
async def authenticate(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    policy = _policy(request)
    if policy == _TICKET:
        guard = request.app[CONNECT_GUARD]
        if not guard.take_ticket(request):
            return _unauthorized(request, "unknown, used or expired start link", invalid=True)
        return await guard.start(request, handler)
    if policy == _PUBLIC:
        if request.path.startswith("/connect/") and request.path.endswith("/callback"):
            return await request.app[CONNECT_GUARD].callback(request, handler)
        return await handler(request)
    try:
        identity = await request.app[AUTH].identify(request.headers)
    except (MissingCredentials, InvalidCredentials) as exc:
        if policy == _OPTIONAL:
            return await handler(request)
        return _unauthorized(request, str(exc), invalid=isinstance(exc, InvalidCredentials))
    request[IDENTITY] = identity
    if policy == _ADMIN and not identity.has(Scope.ADMIN):
        body = {
            "errors": [
                {
                    "message": "this needs the admin scope",
                    "extensions": {"code": "FORBIDDEN", "scope": Scope.ADMIN.value},
                }
            ]
        }
        return web.json_response(body, status=403)
    if request.path.startswith("/connect/"):
        if request.method == "POST":
            return request.app[CONNECT_GUARD].new_ticket(request)
        return await request.app[CONNECT_GUARD].start(request, handler)
    return await handler(request)


async def _connect_link(request: web.Request) -> web.StreamResponse:
    raise web.HTTPNotFound()  # unreachable: the middleware answers POST /connect/{upstream}


async def _no_server_banner(request: web.Request, response: web.StreamResponse) -> None:
    response.headers["Server"] = "tablegraph"  # never aiohttp's and Python's versions


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    gateway = request.app[GATEWAY]
    names = list(gateway.providers)
    checks = await asyncio.gather(*(gateway.check(n) for n in names))
    identity = request.get(IDENTITY)
    healthy = sum(1 for ok, _, _ in checks if ok)
    status = "ready" if healthy == len(names) else ("degraded" if healthy else "unavailable")
    if not (isinstance(identity, Identity) and identity.has(Scope.ADMIN)):
        return web.json_response({"status": status}, status=200 if healthy else 503)
    upstreams = {}
    for name, (ok, code, latency) in zip(names, checks, strict=True):
        provider = gateway.providers[name]
        upstreams[name] = {
            "kind": provider.kind,
            "ok": ok,
            "error": code,
            "latencyMs": round(latency, 1),
            **provider.breaker.snapshot(),
            **provider.health_details(),
        }
    return web.json_response(
        {"status": status, "upstreams": upstreams}, status=200 if healthy else 503
    )


async def metrics(request: web.Request) -> web.Response:
    """Prometheus text: upstream requests by upstream, method and status; breaker state;
    cache hits."""
    gateway = request.app[GATEWAY]
    lines = [
        "# HELP tablegraph_upstream_requests_total Requests sent to upstreams.",
        "# TYPE tablegraph_upstream_requests_total counter",
    ]
    for name, provider in gateway.providers.items():
        for client in provider.clients:
            for key, count in sorted(client.counts.items()):
                method, _, status = key.partition(" ")
                lines.append(
                    f'tablegraph_upstream_requests_total{{upstream="{name}",'
                    f'method="{method}",status="{status}"}} {count}'
                )
    lines.append("# TYPE tablegraph_circuit_open gauge")
    for name, provider in gateway.providers.items():
        is_open = int(provider.breaker.state is not CircuitState.CLOSED)
        lines.append(f'tablegraph_circuit_open{{upstream="{name}"}} {is_open}')
        lines.append(
            f'tablegraph_circuit_opened_total{{upstream="{name}"}} {provider.breaker.opened_count}'
        )
    for cache_name, cache in (
        ("availability", gateway.availability),
        ("restaurants", gateway.restaurant_lists),
    ):
        lines.append(f'tablegraph_cache_hits_total{{cache="{cache_name}"}} {cache.hits}')
        lines.append(f'tablegraph_cache_misses_total{{cache="{cache_name}"}} {cache.misses}')
    return web.Response(text="\n".join(lines) + "\n", content_type="text/plain")


async def webhook(request: web.Request) -> web.Response:
    """Verify a provider's webhook and drop the cached entries it touches."""
    gateway = request.app[GATEWAY]
    name = request.match_info["upstream"]
    provider = gateway.providers.get(name)
    if provider is None:
        return web.json_response({"error": "unknown upstream"}, status=404)
    body = await request.content.read(1_000_001)
    if len(body) > 1_000_000:
        return web.json_response({"error": "body too large"}, status=413)
    try:
        touched = provider.verify_webhook(dict(request.headers), body)
    except GatewayError as exc:
        log.warning("refused a webhook for %s: %s", name, exc.message)  # never the body
        return web.json_response(
            {"error": exc.message}, status=400 if exc.code != "NOT_SUPPORTED" else 404
        )
    event_id = touched.event_id
    if event_id and gateway.seen_webhook_events.get((name, event_id)):
        return web.json_response({"status": "duplicate"})
    if event_id:
        gateway.seen_webhook_events.set((name, event_id), True)
    for rid in touched.restaurant_ids or (None,):
        gateway.invalidate_availability(name, rid)
    return web.json_response({"status": "accepted"})


def create_app(gateway: Gateway, *, manage_tokens: ManageTokens | None = None) -> web.Application:
    redact.install()
    auth = gateway.settings.auth
    app = web.Application(
        client_max_size=gateway.settings.limits.max_body_bytes + 1024,
        middlewares=[access_log, authenticate],
    )
    app[GATEWAY] = gateway
    app[AUTH] = Authenticator(auth)
    if manage_tokens is not None:  # a test's clock, or secrets not from the settings
        gateway.bookings.manage_tokens = manage_tokens
    app[CONNECT_GUARD] = ConnectGuard(auth.public_base_url)
    app.on_response_prepare.append(_no_server_banner)
    app[SCHEMA] = build_schema(gateway.settings.limits)
    app.router.add_route("GET", "/graphql", graphql_handler)
    app.router.add_route("POST", "/graphql", graphql_handler)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    app.router.add_post("/webhooks/{upstream}", webhook)
    app.router.add_routes(static_routes())
    for provider in gateway.providers.values():
        routes = provider.http_routes()  # e.g. Libro's /connect/{upstream}
        app.router.add_routes(routes)
        if routes:
            # The start link for a browser; answered by the connect guard in ``authenticate``.
            app.router.add_post(f"/connect/{provider.name}", _connect_link)

    async def lifecycle(app: web.Application) -> Any:
        await gateway.start()
        yield
        await gateway.close()

    app.cleanup_ctx.append(lifecycle)
    return app
