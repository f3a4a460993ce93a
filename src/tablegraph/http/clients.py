"""Who a request comes from, and how many of its requests run at once.

``client_key`` names the caller for the per-client limits: the client ``authenticate``
(``tablegraph.app``) identified, which runs before these limits. No request header chooses
it. (Idempotency keys and manage tokens are scoped by ``Identity.client_id`` itself.)

A greedy client could hold every worker of the gateway with slow or long requests; the
per-client cap refuses its requests beyond ``max_concurrent_per_client`` at once with 429
(its own, not anyone else's), before their bodies are read.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager

from aiohttp import web
from aiohttp.typedefs import Middleware

from tablegraph.auth.identity import IDENTITY
from tablegraph.http.params import media_type
from tablegraph.http.problem import HTTPProblem, problem_response
from tablegraph.http.ratelimit import RateLimiter

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
#: Only the API is rate-limited; health, metrics and webhooks are not.
RATE_LIMITED_PATHS = frozenset({"/graphql"})


def client_key(request: web.Request) -> str:
    """The caller for per-client limits.

    ``client:<id>`` for an authenticated request (an API key's ``[[clients]]`` id, or
    ``jwt:<subject>``): every key of one client shares its budgets, and clients behind one
    address have their own. ``addr:<remote address>`` for anonymous requests (where
    ``anonymous_scopes`` allows them: anonymous callers share one identity, so one address
    must not spend the others' budget) and for routes without authentication (``/healthz``,
    webhooks, a public ``/readyz``)."""
    identity = request.get(IDENTITY)
    if identity is not None and identity.method != "anonymous":
        return f"client:{identity.client_id}"
    return f"addr:{request.remote or 'unknown'}"


class ConcurrencyCap:
    def __init__(self, per_client: int) -> None:
        self.per_client = per_client
        self.active: dict[str, int] = {}

    @contextmanager
    def hold(self, client: str) -> Iterator[None]:
        """One slot of ``client`` for the duration; 429 when it has none left (0: no cap)."""
        count = self.active.get(client, 0)
        if self.per_client and count >= self.per_client:
            raise HTTPProblem(
                429,
                "TOO_MANY_CONCURRENT_REQUESTS",
                f"at most {self.per_client} requests of one client at a time",
                headers={"Retry-After": "1"},
            )
        self.active[client] = count + 1
        try:
            yield
        finally:
            left = self.active[client] - 1
            if left:
                self.active[client] = left
            else:
                del self.active[client]  # the table holds only clients with requests running


def client_limits_middleware(cap: ConcurrencyCap, limiter: RateLimiter) -> Middleware:
    """Per-client concurrency cap on every route, request rate on the API; both answer 429
    before the request's body is read."""

    @web.middleware
    async def limit(request: web.Request, handler: Handler) -> web.StreamResponse:
        client = client_key(request)
        try:
            with cap.hold(client):
                if request.path in RATE_LIMITED_PATHS:
                    limiter.admit(client)
                return await handler(request)
        except HTTPProblem as problem:  # the cap, the limiter, or a charge() in the handler
            return problem_response(problem, media_type(request))

    return limit
