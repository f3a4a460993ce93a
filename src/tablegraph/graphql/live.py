"""Subscriptions over the wire: graphql-transport-ws on ``GET /graphql`` (an upgrade) and
GraphQL over Server-Sent Events (``text/event-stream``) on ``GET``/``POST /graphql``.

Both authenticate with the gateway's client identities (``tablegraph.auth``) and need the
``bookings:read`` scope. WebSocket clients send their credentials in ``connection_init``'s
payload (``{"Authorization": "Bearer …"}``, what GraphiQL sends from its headers editor) or in
the upgrade request's headers: missing ones close the socket with 4401, refused ones (unknown,
or without the scope) with 4403. SSE requests pass the HTTP authentication every request does
(401) and answer 403 without the scope.

SSE follows the GraphQL-over-SSE "distinct connections" mode: each result is ``event: next``
with the event's id as the SSE ``id:``, the end is ``event: complete``, and a comment every
``keepalive_seconds`` keeps idle connections open. A client reconnecting with
``Last-Event-ID`` (what ``EventSource`` sends itself) first gets the events it missed.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web
from graphql import OperationType, parse
from graphql.error import GraphQLFormattedError, GraphQLSyntaxError
from multidict import CIMultiDict
from strawberry.aiohttp.views import GraphQLView
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import ErrorMessage
from strawberry.types import ExecutionResult

from tablegraph.auth.authenticate import Authenticator, MissingCredentials
from tablegraph.auth.identity import Identity
from tablegraph.auth.scopes import Scope
from tablegraph.auth.tokens import InvalidCredentials
from tablegraph.gateway import Gateway
from tablegraph.graphql.context import Context
from tablegraph.graphql.schema import GatewaySchema, format_error

log = logging.getLogger(__name__)

UNAUTHORIZED = 4401
FORBIDDEN = 4403
#: How often an idle SSE stream checks that its client is still connected.
GONE_CHECK_SECONDS = 1.0
#: The scope a subscriber needs; guest contact details still follow ``guests:read``.
SUBSCRIBE_SCOPE = Scope.BOOKINGS_READ


class Unauthenticated(Exception):
    """No credentials were sent."""


class Refused(Exception):
    """Credentials were sent and refused (unknown, or without the scope)."""


Authenticate = Callable[[Mapping[str, str]], Awaitable[Identity]]


def subscriber_access(authenticator: Authenticator) -> Authenticate:
    """The subscriber's identity from its headers or ``connection_init`` payload."""

    async def authenticate(headers: Mapping[str, str]) -> Identity:
        try:
            identity = await authenticator.identify(headers)
        except MissingCredentials as exc:
            raise Unauthenticated(str(exc)) from None
        except InvalidCredentials as exc:
            raise Refused(str(exc)) from None
        if not identity.has(SUBSCRIBE_SCOPE):
            raise Refused(f"subscribing needs the {SUBSCRIBE_SCOPE.value} scope")
        return identity

    return authenticate


def _is_subscription(query: object, operation: object) -> bool:
    """Whether the operation a ``subscribe`` message names is a subscription (a document that
    does not parse counts as one: Strawberry reports the syntax error itself)."""
    if not isinstance(query, str):
        return True
    try:
        doc = parse(query)
    except GraphQLSyntaxError:
        return True
    ops = [d for d in doc.definitions if hasattr(d, "operation")]
    named = [d for d in ops if getattr(getattr(d, "name", None), "value", None) == operation]
    chosen = named or (ops if operation is None else [])
    return all(getattr(d, "operation", None) is OperationType.SUBSCRIPTION for d in chosen)


class _SubscriptionsOnly(BaseGraphQLTransportWSHandler[Context, None]):
    """Queries and mutations go through ``POST /graphql`` (its deadline, limits and
    provenance); the socket carries subscriptions only."""

    async def handle_subscribe(self, message: Any) -> None:
        payload = message.get("payload") or {}
        if not _is_subscription(payload.get("query"), payload.get("operationName")):
            error: GraphQLFormattedError = {
                "message": "this socket carries subscriptions only; "
                "send queries and mutations with POST /graphql",
                "extensions": {"code": "BAD_REQUEST"},
            }
            await self.send_message(ErrorMessage(id=message["id"], type="error", payload=[error]))
            return
        await super().handle_subscribe(message)


class LiveView(GraphQLView[Context, None]):
    """Strawberry's aiohttp view, used only for WebSocket upgrades (``app.py`` owns HTTP)."""

    graphql_transport_ws_handler_class = _SubscriptionsOnly

    def __init__(self, schema: GatewaySchema, gateway: Gateway, authenticate: Authenticate) -> None:
        super().__init__(
            schema,
            graphql_ide=None,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            connection_init_wait_timeout=_seconds(10),
        )
        self.gateway = gateway
        self.authenticate = authenticate
        #: Open sockets, closed with 1001 (going away) when the app shuts down.
        self.sockets: set[web.WebSocketResponse] = set()

    async def create_websocket_response(
        self, request: web.Request, subprotocol: str | None
    ) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(
            protocols=[subprotocol] if subprotocol else [],
            heartbeat=self.gateway.settings.events.keepalive_seconds,
        )
        await ws.prepare(request)
        self.sockets.add(ws)
        return ws

    async def __call__(self, request: web.Request) -> web.StreamResponse:
        try:
            return await super().__call__(request)
        finally:
            self.sockets = {ws for ws in self.sockets if not ws.closed}

    async def shutdown(self) -> None:
        """End every subscription and close every socket (``app.on_shutdown``)."""
        self.gateway.events.close_all()
        for ws in list(self.sockets):
            await ws.close(code=1001, message=b"the gateway is stopping")

    async def get_context(
        self, request: web.Request, response: web.Response | web.WebSocketResponse
    ) -> Context:
        context = Context(gateway=self.gateway, websocket=response, connection_params={})
        context.upgrade_headers = dict(request.headers)
        return context

    async def on_ws_connect(self, context: Context) -> dict[str, object] | None:
        headers: CIMultiDict[str] = CIMultiDict(context.upgrade_headers)
        for key, value in (context.connection_params or {}).items():
            if isinstance(value, str):
                headers[key] = value  # the payload's credentials win over the upgrade's
        try:
            identity = await self.authenticate(headers)
        except Unauthenticated:
            if context.websocket is not None:
                await context.websocket.close(code=UNAUTHORIZED, message=b"Unauthorized")
            raise ConnectionRejectionError() from None
        except Refused:
            raise ConnectionRejectionError() from None  # Strawberry closes with 4403
        context.identity = identity
        context.client_id = identity.client_id
        return None


def _seconds(value: float) -> Any:
    from datetime import timedelta

    return timedelta(seconds=value)


def wants_sse(request: web.Request) -> bool:
    accept = request.headers.get("Accept", "")
    return any(p.split(";", 1)[0].strip().lower() == "text/event-stream" for p in accept.split(","))


def _problem(status: int, code: str, message: str) -> web.Response:
    body = {"errors": [{"message": message, "extensions": {"code": code}}]}
    return web.json_response(body, status=status)


async def _params(request: web.Request) -> dict[str, Any]:
    if request.method == "GET":
        params: dict[str, Any] = dict(request.query)
        if "variables" in params:
            params["variables"] = json.loads(params["variables"])
        return params
    raw = await request.content.read(1_000_001)
    data = json.loads(raw)
    if not isinstance(data, dict):
        raise ValueError("the request body must be a JSON object")
    return data


def _frame(result: ExecutionResult, event_id: str | None) -> str:
    body: dict[str, Any] = {"data": result.data}
    if result.errors:
        body["errors"] = [format_error(e) for e in result.errors]
    head = f"id: {event_id}\n" if event_id else ""
    return f"{head}event: next\ndata: {json.dumps(body, default=str)}\n\n"


async def sse(
    request: web.Request, gateway: Gateway, schema: GatewaySchema, identity: Identity
) -> web.StreamResponse:
    """One subscription over Server-Sent Events (see the module), for an identity the HTTP
    layer has authenticated."""
    if not identity.has(SUBSCRIBE_SCOPE):
        message = f"subscribing needs the {SUBSCRIBE_SCOPE.value} scope"
        return _problem(403, "FORBIDDEN", message)
    try:
        params = await _params(request)
    except ValueError:
        return _problem(400, "BAD_REQUEST", "the request is not valid JSON")
    query, variables = params.get("query"), params.get("variables")
    if not isinstance(query, str) or not isinstance(variables, dict | None):
        return _problem(400, "BAD_REQUEST", "a 'query' string (and object 'variables') is required")
    context = Context(gateway=gateway, identity=identity)
    context.last_event_id = request.headers.get("Last-Event-ID") or None
    results = await schema.subscribe(
        query,
        variable_values=variables,
        context_value=context,
        operation_name=params.get("operationName"),
    )
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-cache, no-transform",
            "X-Accel-Buffering": "no",
        }
    )
    await response.prepare(request)
    keepalive = gateway.settings.events.keepalive_seconds
    loop = asyncio.get_running_loop()
    quiet_since = loop.time()
    pending: asyncio.Task[Any] | None = None
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(anext(results))
            # aiohttp does not cancel a handler whose client left: look at the connection at
            # least every second, so a gone subscriber is let go promptly, not at a ping.
            done, _ = await asyncio.wait({pending}, timeout=min(keepalive, GONE_CHECK_SECONDS))
            if not done:
                if request.transport is None or request.transport.is_closing():
                    raise ConnectionResetError("the subscriber went away")
                if loop.time() - quiet_since >= keepalive:
                    await response.write(b": ping\n\n")
                    quiet_since = loop.time()
                continue
            try:
                result = pending.result()
            except StopAsyncIteration:
                break
            pending = None
            await response.write(_frame(result, context.last_event_id).encode())
            quiet_since = loop.time()
        await response.write(b"event: complete\ndata: \n\n")
    except (ConnectionResetError, asyncio.CancelledError):
        log.debug("an SSE subscriber went away")
    finally:
        if pending is not None and not pending.done():
            pending.cancel()
            await asyncio.gather(pending, return_exceptions=True)
        await results.aclose()
    return response
