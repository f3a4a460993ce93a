"""The aiohttp application: GraphQL over HTTP, GraphiQL, health, readiness, metrics, webhooks.

``POST /graphql`` accepts ``application/json`` and answers ``application/json`` or, when the
client accepts it, ``application/graphql-response+json``. Request-level failures (unparseable
body, oversized query, invalid document) get a 4xx and a GraphQL-shaped error body with a code;
executed operations get 200 with data and errors side by side.

Every request to ``/graphql`` carries an identity (``tablegraph.auth``): the ``authenticate``
middleware turns its credentials into one, or answers 401 with ``WWW-Authenticate``. The
operator's surfaces (``/metrics``, ``/readyz`` details, ``/connect/…``) need the ``admin``
scope; ``/healthz`` stays public and says only "ok".

Around every route, outermost first: CORS (``http.cors``), compression
(``http.compression``), authentication, then per-client concurrency and request-rate limits
(``http.clients``, keyed by the authenticated client).
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web
from graphql import DocumentNode, OperationType, parse
from graphql.error import GraphQLSyntaxError
from strawberry.schema.exceptions import CannotGetOperationTypeError
from strawberry.types import ExecutionResult

from tablegraph import deadline, inputs, logs, otel, provenance, requester, tracing, wanted
from tablegraph.auth import redact
from tablegraph.auth.authenticate import Authenticator, MissingCredentials
from tablegraph.auth.connect import ConnectGuard
from tablegraph.auth.identity import IDENTITY, Identity, idempotency_scope
from tablegraph.auth.manage import ManageTokens
from tablegraph.auth.scopes import Scope
from tablegraph.auth.tokens import InvalidCredentials
from tablegraph.errors import GatewayError, InvalidInput, RequestRefused
from tablegraph.gateway import Gateway
from tablegraph.graphql.context import Context
from tablegraph.graphql.graphiql import graphiql_response, static_routes
from tablegraph.graphql.live import LiveView, sse, subscriber_access, wants_sse
from tablegraph.graphql.persisted import (
    MemoryDocumentStore,
    PersistedDocuments,
    SharedDocumentStore,
    load_manifest,
)
from tablegraph.graphql.revalidated import Recorded, RevalidatedQueries
from tablegraph.graphql.schema import GatewaySchema, build_schema, format_error
from tablegraph.graphql.shared_queries import Answer, SharedQueries, query_key
from tablegraph.http import encode
from tablegraph.http.body import loads_bounded, read_body
from tablegraph.http.caching import cacheable_response, max_age, reads_only_reference, uncacheable
from tablegraph.http.clients import ConcurrencyCap, client_key, client_limits_middleware
from tablegraph.http.compression import compression_middleware
from tablegraph.http.cors import CorsPolicy, cors_middleware
from tablegraph.http.params import budget_seconds, media_type, read_params
from tablegraph.http.problem import HTTPProblem, close_after, error_response, problem_response
from tablegraph.http.ratelimit import RateLimiter
from tablegraph.http.readiness import ReadinessProbes
from tablegraph.metrics import CONTENT_TYPE

log = logging.getLogger(__name__)

GATEWAY = web.AppKey("gateway", Gateway)
SCHEMA = web.AppKey("schema", GatewaySchema)
AUTH = web.AppKey("auth", Authenticator)
CONNECT_GUARD = web.AppKey("connect_guard", ConnectGuard)
#: Subscriptions over WebSocket (``graphql/live.py``).
LIVE = web.AppKey("live", LiveView)
PERSISTED = web.AppKey("persisted", PersistedDocuments)

GRAPHQL_RESPONSE = "application/graphql-response+json"
#: A client may ask for a shorter request deadline than the gateway's, in milliseconds.
TIMEOUT_HEADER = "X-Request-Timeout-Ms"
#: ``app[RATE_LIMITER].charge(client_key(request), cost)`` takes a query's cost per client.
RATE_LIMITER = web.AppKey("rate_limiter", RateLimiter)
SHARED_QUERIES = web.AppKey("shared_queries", SharedQueries)
REVALIDATED = web.AppKey("revalidated", RevalidatedQueries)
READINESS = web.AppKey("readiness", ReadinessProbes)
_UPSTREAM_CODES = ("UPSTREAM_", "OUTCOME_UNKNOWN")


#: What a bare ``GET /graphql`` tells a client that is not a browser (curl).
GET_HINT = (
    "this is a GraphQL endpoint: POST a JSON body such as "
    '{"query": "{ restaurants { nodes { id name } } }"} '
    "with 'Authorization: Bearer <key>', or GET /graphql?query={restaurants{nodes{id name}}}"
)
GRAPHIQL_HINT = "; open this URL in a browser for GraphiQL"


def _asks_nothing(request: web.Request) -> bool:
    """A bare ``GET /graphql`` (no query, no persisted-query hash: nothing to run)."""
    return request.method == "GET" and not request.query


def _wants_html(request: web.Request) -> bool:
    return "text/html" in request.headers.get("Accept", "")


@dataclass
class _Seen:
    """What the access log says of a request, noted while it is handled."""

    operation: str | None = None
    #: "ok", or the first error code, once the document was executed.
    outcome: str | None = None
    upstream_requests: dict[str, int] = field(default_factory=dict)


SEEN = web.RequestKey("seen", _Seen)


@web.middleware
async def access_log(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """The one log line of a ``/graphql`` request, refused ones (401, 413, 429…) included.

    Every other line logged while the request is handled carries its ``request_id`` (and,
    once known, ``client_id`` and ``operation``) from the log scope opened here."""
    if request.path != "/graphql":
        return await handler(request)
    started = time.perf_counter()
    seen = request[SEEN] = _Seen()
    status = 500
    with logs.request_scope(request_id=_request_id(request)) as scope:
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
                request_id=scope["request_id"],
                client=identity.client_id if identity is not None else (request.remote or "-"),
                status=status,
                seconds=time.perf_counter() - started,
                operation=seen.operation,
                outcome=seen.outcome,
                upstreams=seen.upstream_requests,
            )


async def graphql_handler(request: web.Request) -> web.StreamResponse:
    noted = request.get(SEEN) or _Seen()
    gateway = request.app[GATEWAY]
    limits = gateway.settings.limits
    live = request.app[LIVE]
    if request.method == "GET" and live.is_websocket_request(request):
        return await live(request)  # graphql-transport-ws subscriptions
    if wants_sse(request):
        return await sse(request, gateway, request.app[SCHEMA], request[IDENTITY])
    if (
        request.method == "GET"
        and _wants_html(request)
        and gateway.settings.security.graphiql_enabled
    ):
        # A browser: GraphiQL, with a ``?query=`` link's query (and variables) filled in.
        return graphiql_response(request.query.get("query"), request.query.get("variables"))
    if _asks_nothing(request):
        hint = GET_HINT + (GRAPHIQL_HINT if gateway.settings.security.graphiql_enabled else "")
        return error_response(400, "BAD_REQUEST", hint, media_type(request))
    media = media_type(request)
    try:
        params = await read_params(request, limits, gateway.settings.http)
        persisted = await request.app[PERSISTED].resolve(params)  # before any parsing
        query, variables, operation = (
            persisted.query,
            params.get("variables"),
            params.get("operationName"),
        )
        if not isinstance(query, str) or not query.strip():
            raise HTTPProblem(400, "BAD_REQUEST", "a 'query' string is required")
        if len(query.encode()) > limits.max_query_bytes:
            raise HTTPProblem(413, "QUERY_TOO_LARGE", "the query document is too large")
        if operation is not None and not isinstance(operation, str):
            raise HTTPProblem(400, "BAD_REQUEST", "'operationName' must be a string")
        noted.operation = operation or _operation_name(query)
        document = _parse(query) if request.method == "GET" else None
        if document is not None and _is_mutation(document, operation):
            raise HTTPProblem(405, "METHOD_NOT_ALLOWED", "mutations need POST")
        budget = budget_seconds(request, limits)
    except HTTPProblem as problem:
        if problem.close:
            return await close_after(request, problem_response(problem, media))
        return problem_response(problem, media)
    except InvalidInput as exc:  # a malformed persisted-query extension
        return error_response(400, exc.code, exc.message, media)
    except RequestRefused as exc:  # an unknown or untrusted persisted document
        return error_response(_refused_status(media), exc.code, exc.message, media)

    context = Context(
        gateway=gateway,
        identity=request[IDENTITY],
        idempotency_scope=idempotency_scope(request[IDENTITY], request.remote),
    )
    limiter, caller = request.app[RATE_LIMITER], client_key(request)
    context.charge = lambda cost: limiter.charge(caller, cost)  # per-client cost per minute
    gateway.metrics.in_flight.inc()
    logs.annotate(client_id=context.identity.client_id, operation=noted.operation)
    with (
        deadline.scope(budget),
        requester.acting_for(caller),  # upstream budgets are shared fairly between clients
        provenance.recording() as record,
        otel.operation(
            request.headers.get(tracing.HEADER),
            name=noted.operation,
            kind=_operation_kind(query, noted.operation),
            client=context.identity.client_id,
        ) as span,
    ):
        schema, shared = request.app[SCHEMA], request.app[SHARED_QUERIES]
        again = request.app[REVALIDATED]
        found = None
        if shared.enabled or again.enabled:
            found = query_key(
                schema.documents, context.identity, caller, query, operation, variables
            )
        key = found.key if found is not None and shared.enabled else None
        repeat = (
            found is not None
            and again.enabled
            and again.repeatable(found.document, found.operation)
        )
        given: dict[Any, Any] | None = None

        async def execute() -> Answer:
            with inputs.recording(given) as read, wanted.reading():
                result = await schema.execute(
                    query,
                    variable_values=variables,
                    context_value=context,
                    operation_name=operation,
                )
            context.settle_late(result.data)  # counters as of the end of the operation
            refused = context.cost_refusal is not None
            # Shared or kept: every request answered encodes the same rows; encoded once here.
            encoded = None if key is None and not repeat else encode.dumps(result.data)
            data = None if encoded is None else orjson.Fragment(encoded)
            if repeat and found is not None and encoded is not None:
                clean = not result.errors and not context.extra_errors and not refused
                if clean:
                    again.keep(found.key, read, result.data, encoded, context.cost, record)
            return Answer(result, tuple(context.extra_errors), context.cost, refused, record, data)

        try:
            recorded = again.recorded(found.key) if repeat and found is not None else None
            if recorded is not None:
                # Charged before any upstream read, as an execution is; not again if it runs.
                _charge(context, recorded.cost, limits.max_cost)
                context.charge = None
            if recorded is not None and context.cost_refusal is not None:
                answer = _answer_again(record, recorded)  # refused below: 429
            elif (
                recorded is not None and (given := await again.revalidate(recorded, record)) is None
            ):
                answer = _answer_again(record, recorded)
                schema.documents.used()
            elif key is None:
                answer = await execute()
            else:
                answer, joined = await shared.run(key, execute)
                if joined and answer.refused:
                    answer = await execute()  # the leader's budget was spent, maybe not ours
                elif joined:
                    _join(context, record, answer, gateway.settings.limits.max_cost)
                    schema.documents.used()
        except CannotGetOperationTypeError:
            # Strawberry raises (instead of answering) when operationName names no operation.
            noted.outcome = "GRAPHQL_VALIDATION_FAILED"
            span.outcome(noted.outcome)
            gateway.metrics.observe(noted.operation, noted.outcome, 0.0)
            return error_response(
                _refused_status(media),
                "GRAPHQL_VALIDATION_FAILED",
                "operationName names no operation in the document",
                media,
            )
        finally:
            gateway.metrics.in_flight.dec()
        result = answer.result
        errors = [format_error(e) for e in (result.errors or [])]
        errors += [format_error(e) for e in answer.extra_errors]
        outcome = str((errors[0].get("extensions") or {}).get("code", "ERROR")) if errors else "ok"
        span.outcome(outcome)
    if context.cost_refusal is not None:
        raise context.cost_refusal  # over the client's cost budget: 429 from the middleware
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
    noted.upstream_requests = {n: t["requests"] for n, t in upstreams.items() if t["requests"]}
    body["extensions"] = {
        "durationMs": round((time.perf_counter() - context.started) * 1000, 1),
        "upstreams": upstreams,
    }
    if context.cost is not None:
        body["extensions"]["cost"] = context.cost
    if executed:
        await request.app[PERSISTED].register(persisted)
    noted.outcome = outcome
    gateway.metrics.observe(noted.operation, outcome, time.perf_counter() - context.started)
    gateway.metrics.request_done()
    # The document never executed (parse, validation, coercion or cost refusal).
    status = 200 if executed else _refused_status(media)
    shown = body if answer.data_json is None or not executed else {**body, "data": answer.data_json}
    raw = encode.dumps(shown)
    if (
        document is not None
        and status == 200
        and not errors
        and reads_only_reference(document, request.app[SCHEMA]._schema)
    ):
        seconds = max_age(record, gateway.settings.reference_ttl_seconds)
        if seconds is not None:
            return cacheable_response(request, body, raw.decode(), media, seconds)
    return uncacheable(web.Response(status=status, body=raw, content_type=media, charset="utf-8"))


def _answer_again(record: provenance.Provenance, recorded: Recorded) -> Answer:
    """This request is answered with the kept answer of an identical query, its upstream
    answers unchanged (``revalidated``); charged its cost before."""
    result = ExecutionResult(data=recorded.data, errors=None)
    return Answer(result, (), recorded.cost, False, record, recorded.data_json)


def _charge(context: Context, cost: int | None, max_cost: int) -> None:
    context.cost = cost
    if cost and cost <= max_cost and context.charge is not None:
        try:
            context.charge(cost)
        except Exception as exc:  # answered as CostLimit answers it: 429
            context.cost_refusal = exc


def _join(context: Context, record: provenance.Provenance, answer: Answer, max_cost: int) -> None:
    """This request is answered by an identical query's execution (``shared_queries``): it
    is charged the cost as if it had run, and its provenance says where the answer came
    from."""
    record.shared(answer.upstreams)
    _charge(context, answer.cost, max_cost)


def _refused_status(media: str) -> int:
    """GraphQL over HTTP: a well-formed request whose document is refused answers 200 with
    ``errors`` in ``application/json``, and 4xx in ``application/graphql-response+json``."""
    return 400 if media == GRAPHQL_RESPONSE else 200


def _parse(query: str) -> DocumentNode | None:
    try:
        return parse(query)
    except GraphQLSyntaxError:
        return None  # execution reports it


#: ``query Name``, ``mutation Name(…``: the access log's operation name, found without parsing
#: (the schema parses the document once, with its own limits; the log must not add a second).
_OPERATION = re.compile(r"(?:^|[\s}])(?:query|mutation|subscription)\s+([_A-Za-z][_0-9A-Za-z]*)")


def _operation_name(query: str) -> str | None:
    """The name of the document's only named operation, for the access log."""
    names = set(_OPERATION.findall(query[:20_000]))
    return names.pop() if len(names) == 1 else None


_KIND = re.compile(r"(?:^|[\s}])(query|mutation|subscription)\b\s*([_A-Za-z][_0-9A-Za-z]*)?")


def _operation_kind(query: str, name: str | None) -> str:
    """``query``, ``mutation`` or ``subscription``: the named operation's (else the first
    one's) type, for its span; an anonymous ``{ … }`` is a query."""
    for kind, found in _KIND.findall(query[:20_000]):
        if name is None or found == name:
            return str(kind)
    return "query"


def _request_id(request: web.Request) -> str:
    """The caller's ``X-Request-Id`` when it is a sane token, else a new one (for logs)."""
    given = request.headers.get("X-Request-Id", "")
    if 0 < len(given) <= 128 and given.isascii() and given.isprintable():
        return given
    return uuid.uuid4().hex


def _is_mutation(document: DocumentNode, operation: str | None) -> bool:
    for definition in document.definitions:
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
    if path == "/graphql" and request.headers.get("Upgrade", "").lower() == "websocket":
        return (
            _PUBLIC  # a browser's WebSocket sends no headers: it authenticates in connection_init
        )
    if path == "/graphql":
        # A browser gets the GraphiQL page where it is served (also for a ``?query=`` link:
        # the page runs the query with the key it is given); a query-less GET gets the hint.
        graphiql = request.app[GATEWAY].settings.security.graphiql_enabled
        page = request.method == "GET" and _wants_html(request) and graphiql
        page_or_hint = page or _asks_nothing(request)
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
        if not await guard.take_ticket(request):
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
            return await request.app[CONNECT_GUARD].new_ticket(request)
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
    checks = await request.app[READINESS].checks()
    identity = request.get(IDENTITY)
    healthy = sum(1 for ok, _, _ in checks.values() if ok)
    status = "ready" if healthy == len(checks) else ("degraded" if healthy else "unavailable")
    if not (isinstance(identity, Identity) and identity.has(Scope.ADMIN)):
        return web.json_response({"status": status}, status=200 if healthy else 503)
    upstreams = {}
    for name, (ok, code, latency) in checks.items():
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
    """Prometheus text (prometheus-client): requests by operation and outcome, latency, in
    flight; upstream requests by upstream, method and status; breaker state; cache hits."""
    body = request.app[GATEWAY].metrics.render()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})


async def webhook(request: web.Request) -> web.StreamResponse:
    """Verify a provider's webhook, drop the cached entries it touches, and publish the booking
    events it stands for (once per provider event id)."""
    gateway = request.app[GATEWAY]
    name = request.match_info["upstream"]
    provider = gateway.providers.get(name)
    if provider is None:
        return web.json_response({"error": "unknown upstream"}, status=404)
    limits, http = gateway.settings.limits, gateway.settings.http
    try:
        body = await read_body(request, limits.max_body_bytes, http.body_timeout_seconds)
    except HTTPProblem as problem:
        response = web.json_response({"error": problem.message}, status=problem.status)
        return await close_after(request, response) if problem.close else response
    try:
        # The adapter parses only after the signature matched; parse here first anyway so
        # that nesting is bounded whatever the adapter does with the JSON.
        if not isinstance(loads_bounded(body, limits.max_json_depth, "the webhook body"), dict):
            raise HTTPProblem(400, "BAD_REQUEST", "the webhook body must be a JSON object")
        touched = provider.verify_webhook(dict(request.headers), body)
    except GatewayError as exc:
        log.warning("refused a webhook for %s: %s", name, exc.message)  # never the body
        return web.json_response(
            {"error": exc.message}, status=400 if exc.code != "NOT_SUPPORTED" else 404
        )
    except HTTPProblem as problem:
        log.warning("refused a webhook for %s: %s", name, problem.message)
        return web.json_response({"error": problem.message}, status=problem.status)
    except (ValueError, TypeError, KeyError, AttributeError, IndexError):
        # A safety net: adapters refuse malformed payloads with InvalidInput, but a signed
        # payload of a shape one did not foresee is still the sender's fault, so a 400
        # (logged without the body), never a 500.
        log.warning("refused a malformed webhook payload for %s", name, exc_info=True)
        return web.json_response({"error": "the webhook payload is malformed"}, status=400)
    event_id = touched.event_id
    if event_id and not await gateway.first_delivery(name, event_id):
        return web.json_response({"status": "duplicate"})
    for rid in touched.restaurant_ids or (None,):
        gateway.invalidate_availability(name, rid)
    await gateway.feed.webhook(name, touched, gateway.provider(name).get_bookings)
    return web.json_response({"status": "accepted"})


def create_app(gateway: Gateway, *, manage_tokens: ManageTokens | None = None) -> web.Application:
    redact.install()
    settings = gateway.settings
    auth = settings.auth
    limiter = RateLimiter(settings.limits.requests_per_minute, settings.limits.cost_per_minute)
    app = web.Application(
        client_max_size=settings.limits.max_body_bytes + 1024,
        middlewares=[
            access_log,
            cors_middleware(CorsPolicy(settings.cors)),
            compression_middleware(settings.http.compress_min_bytes),
            authenticate,
            client_limits_middleware(
                ConcurrencyCap(settings.limits.max_concurrent_per_client), limiter
            ),
        ],
    )
    app[GATEWAY] = gateway
    app[AUTH] = Authenticator(auth)
    if manage_tokens is not None:  # a test's clock, or secrets not from the settings
        gateway.bookings.manage_tokens = manage_tokens
    app[CONNECT_GUARD] = ConnectGuard(auth.public_base_url, gateway.store)
    app.on_response_prepare.append(_no_server_banner)
    security = settings.security
    app[SCHEMA] = build_schema(settings.limits, security)
    gateway.metrics.app_caches["documents"] = app[SCHEMA].documents
    app[SHARED_QUERIES] = SharedQueries(
        app[SCHEMA].documents, enabled=settings.share_identical_queries and not settings.naive
    )
    if app[SHARED_QUERIES].enabled:
        gateway.metrics.app_caches["queries"] = app[SHARED_QUERIES].flights
    app[REVALIDATED] = RevalidatedQueries(
        app[SCHEMA]._schema,
        enabled=settings.answer_unchanged_queries and not settings.naive,
        reads=gateway.reads_again,
    )
    if app[REVALIDATED].enabled:
        gateway.metrics.app_caches["unchanged-queries"] = app[REVALIDATED]
    local = MemoryDocumentStore(security.apq_cache_mb * 1024 * 1024)
    app[PERSISTED] = PersistedDocuments(
        store=SharedDocumentStore(gateway.store, local) if security.apq else None,
        manifest=load_manifest(security.trusted_documents) if security.trusted_documents else None,
    )
    app[RATE_LIMITER] = limiter
    app[READINESS] = ReadinessProbes(gateway, settings.http.readyz_cache_seconds)
    app[LIVE] = LiveView(app[SCHEMA], gateway, subscriber_access(app[AUTH]))
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

    async def end_subscriptions(app: web.Application) -> None:
        await app[LIVE].shutdown()  # open streams would hold the shutdown for its timeout

    app.on_shutdown.append(end_subscriptions)
    app.cleanup_ctx.append(lifecycle)
    return app
