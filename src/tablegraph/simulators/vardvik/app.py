"""The aiohttp application: auth, rate limit and error middleware, routes, config, opening
hours and availability handlers."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

from aiohttp import web

from tablegraph.simulators.common import CLOCK, REQUEST_COUNTS, Clock, Handler, new_app
from tablegraph.simulators.faults import Fault, FaultProfile
from tablegraph.simulators.openapi import add_openapi
from tablegraph.simulators.vardvik import availability, control, guests, openapi, reservations
from tablegraph.simulators.vardvik.model import ApiError, ApiKey
from tablegraph.simulators.vardvik.parsing import (
    API_KEY,
    VARDVIK_STATE,
    day,
    integer,
    json_object,
    location_for,
    restaurant_for,
    state_of,
)
from tablegraph.simulators.vardvik.seed import seed_demo
from tablegraph.simulators.vardvik.state import VardvikState
from tablegraph.timeutil import format_utc_millis

log = logging.getLogger(__name__)
PREFIX = "/api/v1"


def _error(exc: ApiError, headers: Mapping[str, str] | None = None) -> web.Response:
    return web.json_response(exc.body(), status=exc.status, headers=headers)


_FAULT_CODES = {
    400: "validation_error",
    401: "unauthorized",
    403: "insufficient_scope",
    404: "not_found",
    409: "invalid_state",
    422: "outside_policy",
    429: "rate_limited",
}


def _fault_error(status: int) -> web.Response:
    code = _FAULT_CODES.get(status, "internal_error" if status >= 500 else "bad_request")
    return _error(ApiError(status, code, "simulated failure"))


def _fault_rate_limited(seconds: float) -> web.Response:
    details = {"retryAfterSeconds": math.ceil(seconds)}
    return _error(ApiError(429, "rate_limited", "too many requests", details))


#: Injected faults answer in Vardvik's envelope; its API keys never expire.
FAULT_PROFILE = FaultProfile("Vardvik", _fault_error, _fault_rate_limited)


@web.middleware
async def api_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Bearer key (401), fixed-window rate limit (429), injected faults, error envelope."""
    if not request.path.startswith(PREFIX + "/"):
        return await handler(request)
    state = request.app[VARDVIK_STATE]
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    key = state.api_keys.get(token.strip()) if scheme.lower() == "bearer" else None
    if key is None:
        return _error(ApiError(401, "unauthorized", "a valid API key is required"))
    retry_after = state.hit_rate_limit(key.key)
    if retry_after is not None:
        return _error(
            ApiError(429, "rate_limited", "too many requests", {"retryAfterSeconds": retry_after}),
            {"Retry-After": str(retry_after)},
        )
    request[API_KEY] = key
    try:
        fault = state.take_fault(f"{request.method} {request.path}")
        if fault is not None and not fault.after:
            raise ApiError(fault.status, fault.code, "simulated failure")
        response = await handler(request)
        if fault is not None:
            raise ApiError(fault.status, fault.code, "simulated failure")
        return response
    except ApiError as exc:
        # An injected 429 carries Retry-After like a real one.
        return _error(exc, {"Retry-After": "1"} if exc.status == 429 else None)
    except web.HTTPException as exc:
        if exc.status == 405:
            return _error(ApiError(405, "method_not_allowed", "method not allowed"))
        if exc.status == 404:
            return _error(ApiError(404, "not_found", "no such endpoint"))
        raise
    except Exception:
        log.exception("vardvik simulator failure")
        return _error(ApiError(500, "internal_error", "internal error"))


async def get_config(request: web.Request) -> web.Response:
    _key, rest = restaurant_for(request, "config:read")
    return web.json_response(rest.config_json())


async def get_opening_hours(request: web.Request) -> web.Response:
    key, rest = restaurant_for(request, "config:read")
    loc = location_for(key, rest, request.query.get("locationId"))
    today = state_of(request).local_today(loc.timezone)
    return web.json_response(
        {
            "locationId": loc.id,
            "timezone": loc.timezone,
            "weekly": [
                {
                    "dayOfWeek": p.day_of_week,
                    "opens": p.opens.strftime("%H:%M"),
                    "closes": p.closes.strftime("%H:%M"),
                    "serviceName": p.service_name,
                }
                for p in sorted(loc.weekly, key=lambda p: (p.day_of_week, p.opens))
            ],
            "specialDays": [
                {
                    "date": s.date.isoformat(),
                    "closed": s.closed,
                    **({"opens": s.opens.strftime("%H:%M")} if s.opens else {}),
                    **({"closes": s.closes.strftime("%H:%M")} if s.closes else {}),
                    **({"note": s.note} if s.note else {}),
                }
                for s in sorted(loc.special_days.values(), key=lambda s: s.date)
                if s.date >= today
            ],
            "rules": [
                {
                    "id": r.id,
                    "name": r.name,
                    "validFrom": r.valid_from.isoformat(),
                    "validTo": r.valid_to.isoformat() if r.valid_to else None,
                    **(
                        {"maxCoversPerSlot": r.max_covers_per_slot} if r.max_covers_per_slot else {}
                    ),
                }
                for r in loc.rules
                if r.valid_to is None or r.valid_to >= today
            ],
        }
    )


async def get_availability(request: web.Request) -> web.Response:
    return await _availability(request, dict(request.query))


async def search_availability(request: web.Request) -> web.Response:
    return await _availability(request, await json_object(request))


async def _availability(request: web.Request, params: Mapping[str, Any]) -> web.Response:
    key, rest = restaurant_for(request, "availability:read")
    state = state_of(request)
    loc = location_for(key, rest, params.get("locationId"))
    service_date = day(params.get("date"))
    party = integer(params.get("partySize"), "partySize", 1, 30)
    policy = rest.policy
    duration = integer(
        params.get("durationMinutes"), "durationMinutes", 15, 480, policy.default_duration_minutes
    )
    interval = integer(
        params.get("intervalMinutes"), "intervalMinutes", 5, 240, policy.slot_interval_minutes
    )
    now, bookings = state.now(), state.location_bookings(loc.id)
    slots = []
    for start, window in availability.grid(loc, service_date, interval, duration):
        verdict = availability.evaluate(
            loc, policy, bookings, start, duration, party, window.service_date, now
        )
        slots.append(
            {
                "start": format_utc_millis(start),
                "end": format_utc_millis(start + timedelta(minutes=duration)),
                "available": verdict.available,
                "capacity": verdict.capacity,
                "tableIds": verdict.table_ids if verdict.available and verdict.table_ids else [],
                "serviceName": window.service_name,
            }
        )
    return web.json_response({"slots": slots})


def _routes(app: web.Application) -> None:
    r = app.router
    r.add_get(PREFIX + "/restaurants/{restaurantId}/config", get_config)
    r.add_get(PREFIX + "/restaurants/{restaurantId}/opening-hours", get_opening_hours)
    r.add_get(PREFIX + "/restaurants/{restaurantId}/availability", get_availability)
    r.add_post(PREFIX + "/restaurants/{restaurantId}/availability/search", search_availability)
    r.add_post(PREFIX + "/restaurants/{restaurantId}/reservations", reservations.create_reservation)
    r.add_get(PREFIX + "/restaurants/{restaurantId}/reservations", reservations.list_reservations)
    item = PREFIX + "/reservations/{idOrPublicReference}"
    r.add_get(item, reservations.get_reservation)
    r.add_patch(item, reservations.update_reservation)
    r.add_delete(item, reservations.cancel_reservation)
    r.add_post(PREFIX + "/restaurants/{restaurantId}/waitlist", guests.join_waitlist)
    r.add_get(PREFIX + "/restaurants/{restaurantId}/guests", guests.list_guests)
    r.add_post(PREFIX + "/restaurants/{restaurantId}/guests", guests.upsert_guest)
    r.add_post(PREFIX + "/restaurants/{restaurantId}/webhooks/test", guests.send_test_event)
    control.add_routes(app)


def create_app(
    seed: int = 0,
    *,
    clock: Clock | None = None,
    rate_limit_per_minute: int = 60,
    webhooks: Iterable[Mapping[str, Any]] = (),
    api_keys: Iterable[ApiKey] = (),
    demo_data: bool = True,
    faults: Iterable[Fault] = (),
) -> web.Application:
    """The simulator app; ``webhooks`` rows are ``{restaurantId, url, secret, events?}``;
    ``faults`` are injected from the start (see ``simulators.faults``)."""
    app = new_app(clock, api_middleware, profile=FAULT_PROFILE, faults=faults)
    state = VardvikState(app[CLOCK], seed, rate_limit_per_minute)
    if demo_data:
        seed_demo(state)
    for key in api_keys:
        state.add_api_key(key)
    for hook in webhooks:
        state.add_webhook(hook["restaurantId"], hook["url"], hook["secret"], hook.get("events"))
    state.request_counts = app[REQUEST_COUNTS]
    app[VARDVIK_STATE] = state

    async def close_webhooks(_app: web.Application) -> None:
        await state.dispatcher.close()

    app.on_cleanup.append(close_webhooks)
    _routes(app)
    add_openapi(app, openapi.DOCUMENT)
    return app
