"""Libro simulator: the restricted v2 API, its OAuth server and signed webhooks, with state.

Reference: ``shared/seeds/libro-api.txt`` and ``shared/providers/libro.md`` (DOC). Choices where
Libro is silent (marked "ours" there): 429 after ``rate_limit`` requests per second per token
with ``{"error": "rate-limited", "code": "429", ...}`` and no headers; HTTP-level errors use
the same ``{error, code, message}`` body with the status as ``code``; expired or revoked
tokens answer 401 (``expired_status`` makes it 403, Libro's other documented wording);
``restaurant-code`` is required on writes and accepted everywhere.

Test controls (not Libro's API) live under ``/_sim/``:
``POST /_sim/expire-tokens``, ``POST /_sim/revoke`` ``{"user"}``,
``POST /_sim/fail-next`` ``{"method", "path", "code"}`` (a Libro code or an HTTP status),
``POST /_sim/webhooks`` ``{"urls", "secret"}``; ``/_sim/chaos`` injects faults
(``simulators.faults``; ``expire_credentials`` expires the access tokens).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from http import HTTPStatus
from typing import Any

from aiohttp import web

from tablegraph.settings import Secret, UpstreamConfig
from tablegraph.simulators.common import CLOCK, Clock, Handler, StoredBooking, new_app
from tablegraph.simulators.faults import Fault, FaultProfile
from tablegraph.simulators.libro import api, oauth, openapi
from tablegraph.simulators.libro.api import LIBRO_STATE, LIBRO_WEBHOOKS, http_error
from tablegraph.simulators.libro.state import (
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    DEMO_CODES,
    DEMO_WEBHOOK_SECRET,
    ERRORS,
    LibroError,
    LibroState,
    fail,
)
from tablegraph.simulators.libro.state import seed as seed_state
from tablegraph.simulators.libro.webhooks import WebhookSender
from tablegraph.simulators.openapi import add_openapi

__all__ = [
    "LIBRO_STATE",
    "LIBRO_WEBHOOKS",
    "LibroState",
    "create_app",
    "demo_upstreams",
    "stored_bookings",
]

ACCEPTED = ("application/vnd.libro-restricted-v2+json", "application/vnd.libro-restricted-v3+json")
_RATE = web.AppKey("libro_rate", dict)
_RATE_LIMIT = web.AppKey("libro_rate_limit", object)
_EXPIRED_STATUS = web.AppKey("libro_expired_status", int)


def _error_response(err: LibroError) -> web.Response:
    return web.json_response(
        {"error": err.key, "code": err.code, "message": err.message}, status=err.status
    )


def _fault_error(status: int) -> web.Response:
    """Libro's body, keyed like its HTTP-level errors (``not-found``, ``internal-server-error``)."""
    try:
        key = HTTPStatus(status).phrase.lower().replace(" ", "-")
    except ValueError:
        key = "error"
    return _error_response(http_error(status, key, "Simulated failure"))


def _fault_rate_limited(_seconds: float) -> web.Response:
    return _error_response(LibroError(429, "429", "rate-limited", "Too many requests"))


def _expire_tokens(app: web.Application) -> None:
    app[LIBRO_STATE].expire_tokens()


#: Injected faults answer in Libro's ``{error, code, message}`` shape (a 429 burst does carry
#: ``Retry-After`` in seconds, which the built-in limiter does not); access tokens expire.
FAULT_PROFILE = FaultProfile(
    "Libro", _fault_error, _fault_rate_limited, expire_credentials=_expire_tokens
)


@web.middleware
async def libro_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        if request.path.startswith("/restricted/"):
            _guard(request)
        return await handler(request)
    except LibroError as err:
        return _error_response(err)


def _guard(request: web.Request) -> None:
    """Accept header, bearer token, per-token rate, forced failures — in Libro's order."""
    state = request.app[LIBRO_STATE]
    accept = request.headers.get("Accept", "")
    if not any(a in accept for a in ACCEPTED):
        raise http_error(406, "not-acceptable", "You requested a format that isn't json")
    auth = request.headers.get("Authorization", "")
    token = state.valid_token(auth[7:]) if auth.startswith("Bearer ") else None
    if token is None:
        known = auth[7:] in state.tokens
        status = request.app[_EXPIRED_STATUS] if known else 401
        raise http_error(status, "unauthorized", "The token is missing, expired or invalid")
    request[api.TOKEN_KEY] = token
    limit = request.app[_RATE_LIMIT]
    if isinstance(limit, int):
        window = int(state.clock.now().timestamp())
        rate = request.app[_RATE]
        if rate.get("window") != window:  # a new second: forget the old counts
            rate["window"], rate["counts"] = window, Counter()
        counts: Counter[tuple[str, int]] = rate["counts"]
        counts[(token.value, window)] += 1
        if counts[(token.value, window)] > limit:
            raise LibroError(429, "429", "rate-limited", "Too many requests")
    for i, (method, prefix, code) in enumerate(state.forced):
        if request.method == method and request.path.startswith(prefix):
            del state.forced[i]
            if code in ERRORS:
                raise fail(code)
            raise http_error(int(code), "forced", "Forced failure")


async def _sim_expire(request: web.Request) -> web.Response:
    request.app[LIBRO_STATE].expire_tokens()
    return web.json_response({"ok": True})


async def _sim_revoke(request: web.Request) -> web.Response:
    body = await request.json()
    request.app[LIBRO_STATE].revoke_user(str(body["user"]))
    return web.json_response({"ok": True})


async def _sim_fail_next(request: web.Request) -> web.Response:
    body = await request.json()
    request.app[LIBRO_STATE].forced.append(
        (str(body.get("method", "GET")).upper(), str(body["path"]), str(body["code"]))
    )
    return web.json_response({"ok": True})


async def _sim_webhooks(request: web.Request) -> web.Response:
    body = await request.json()
    sender = request.app[LIBRO_WEBHOOKS]
    sender.urls = [str(u) for u in body.get("urls", [])]
    if "secret" in body:
        sender.secret = body["secret"]
    return web.json_response({"ok": True})


def create_app(
    seed: int = 0,
    *,
    clock: Clock | None = None,
    rate_limit: int | None = 10,
    token_ttl: int = 7200,
    expired_status: int = 401,
    webhook_urls: tuple[str, ...] = (),
    webhook_secret: str | None = DEMO_WEBHOOK_SECRET,
    bookings_per_day: int = 6,
    faults: Iterable[Fault] = (),
    **options: Any,
) -> web.Application:
    """The simulator app. ``rate_limit``: requests per second per token (None: unlimited);
    ``faults``: injected from the start (see ``simulators.faults``)."""
    if options:
        raise TypeError(f"unknown Libro simulator option(s): {', '.join(sorted(options))}")
    app = new_app(clock, libro_middleware, profile=FAULT_PROFILE, faults=faults)
    clk = app[CLOCK]
    state = LibroState(clk, token_ttl=token_ttl, seed=seed)
    seed_state(state, seed, bookings_per_day=bookings_per_day)
    app[LIBRO_STATE] = state
    sender = WebhookSender(clk, webhook_secret, list(webhook_urls))
    app[LIBRO_WEBHOOKS] = sender
    app[_RATE] = {}
    app[_RATE_LIMIT] = rate_limit
    app[_EXPIRED_STATUS] = expired_status
    app.add_routes(
        api.ROUTES
        + oauth.ROUTES
        + [
            web.post("/_sim/expire-tokens", _sim_expire),
            web.post("/_sim/revoke", _sim_revoke),
            web.post("/_sim/fail-next", _sim_fail_next),
            web.post("/_sim/webhooks", _sim_webhooks),
        ]
    )

    async def _close(_: web.Application) -> None:
        await sender.close()

    app.on_cleanup.append(_close)
    add_openapi(app, openapi.DOCUMENT)
    return app


def demo_upstreams(base_url: str) -> list[UpstreamConfig]:
    return [
        UpstreamConfig(
            name="libro-montreal",
            kind="libro",
            base_url=base_url,
            credentials={
                "client_id": Secret(DEMO_CLIENT_ID),
                "client_secret": Secret(DEMO_CLIENT_SECRET),
                "webhook_secret": Secret(DEMO_WEBHOOK_SECRET),
            },
            options={"restaurant_codes": list(DEMO_CODES)},
        )
    ]


def stored_bookings(app: web.Application) -> list[StoredBooking]:
    """Every booking the simulator holds, in neutral terms (restaurant by its code)."""
    state = app[LIBRO_STATE]
    out = []
    for b in state.bookings.values():
        person = state.people.get(b.person_id)
        rest = state.restaurants.get(b.restaurant_id)
        out.append(
            StoredBooking(
                id=str(b.id),
                restaurant_id=rest.code if rest is not None else b.restaurant_id,
                start=b.start,
                party_size=b.size,
                guest_email=person.email if person is not None else None,
                status=b.status,
            )
        )
    return out
