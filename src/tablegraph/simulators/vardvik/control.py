"""Test-control endpoints under ``/_sim/`` (not part of the Vardvik API; no auth).

| endpoint | does |
|---|---|
| GET  /_sim/state | counts of reservations, guests, waitlist entries, deliveries |
| GET  /_sim/reservations?restaurantId= | every reservation (no cap) |
| POST /_sim/reservations | ``{restaurantId, locationId, startTime, partySize, status?, email?,`` |
| | ``tableIds?, durationMinutes?}``, bypassing availability and policy |
| GET  /_sim/guests?restaurantId= | every guest |
| POST /_sim/features | ``{restaurantId, feature, enabled}`` |
| POST /_sim/webhooks | ``{restaurantId, url, secret, events?}`` → 201 ``{id}`` |
| GET  /_sim/deliveries | the webhook delivery log (after waiting for pending deliveries) |
| POST /_sim/clock | ``{advanceSeconds}`` |
| POST /_sim/faults | ``{status, code?, count?, match?, after?}`` |
| POST /_sim/rate-limit | ``{perMinute}`` |
| GET  /_sim/requests | request counts by route |
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from tablegraph.simulators.common import CLOCK, REQUEST_COUNTS
from tablegraph.simulators.vardvik.model import ApiError
from tablegraph.simulators.vardvik.parsing import VARDVIK_STATE, instant, json_object


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        return await json_object(request)
    except ApiError as exc:
        raise web.HTTPBadRequest(text=exc.message) from None


async def sim_state(request: web.Request) -> web.Response:
    state = request.app[VARDVIK_STATE]
    return web.json_response(
        {
            "reservations": state.reservation_count(),
            "guests": len(state.guests),
            "waitlist": len(state.waitlist),
            "deliveries": len(state.deliveries),
            "now": state.now().isoformat(),
        }
    )


async def sim_reservations(request: web.Request) -> web.Response:
    state = request.app[VARDVIK_STATE]
    rid = request.query.get("restaurantId")
    rows = [r for r in state.reservations.values() if rid is None or r.restaurant_id == rid]
    return web.json_response({"reservations": [state.reservation_json(r) for r in rows]})


async def sim_add_reservation(request: web.Request) -> web.Response:
    state = request.app[VARDVIK_STATE]
    body = await _body(request)
    try:
        res = state.add_reservation(
            body["restaurantId"],
            body["locationId"],
            instant(body["startTime"], "startTime"),
            int(body["partySize"]),
            status=body.get("status", "confirmed"),
            email=body.get("email", "walk.in@example.com"),
            table_ids=body.get("tableIds"),
            duration_minutes=body.get("durationMinutes"),
        )
    except (KeyError, ValueError, TypeError, ApiError) as exc:
        raise web.HTTPBadRequest(text=f"bad reservation: {exc}") from None
    return web.json_response({"reservation": state.reservation_json(res)}, status=201)


async def sim_guests(request: web.Request) -> web.Response:
    state = request.app[VARDVIK_STATE]
    rid = request.query.get("restaurantId")
    rows = [g for g in state.guests.values() if rid is None or g.restaurant_id == rid]
    return web.json_response({"guests": [g.to_json(state.visit_count(g.id)) for g in rows]})


async def sim_features(request: web.Request) -> web.Response:
    state = request.app[VARDVIK_STATE]
    body = await _body(request)
    try:
        state.set_feature(body["restaurantId"], body["feature"], bool(body["enabled"]))
    except (KeyError, ApiError):
        raise web.HTTPBadRequest(text="restaurantId, feature and enabled are required") from None
    return web.json_response(state.restaurant(body["restaurantId"]).features)


async def sim_webhooks(request: web.Request) -> web.Response:
    state = request.app[VARDVIK_STATE]
    body = await _body(request)
    try:
        hook = state.add_webhook(
            body["restaurantId"], body["url"], body["secret"], body.get("events")
        )
    except KeyError:
        raise web.HTTPBadRequest(text="restaurantId, url and secret are required") from None
    return web.json_response({"id": hook.id}, status=201)


async def sim_deliveries(request: web.Request) -> web.Response:
    state = request.app[VARDVIK_STATE]
    await state.drain_webhooks()
    return web.json_response({"deliveries": state.deliveries})


async def sim_clock(request: web.Request) -> web.Response:
    body = await _body(request)
    request.app[CLOCK].advance(float(body.get("advanceSeconds", 0)))
    return web.json_response({"now": request.app[CLOCK].now().isoformat()})


async def sim_faults(request: web.Request) -> web.Response:
    body = await _body(request)
    request.app[VARDVIK_STATE].inject_fault(
        int(body.get("status", 500)),
        str(body.get("code", "internal_error")),
        int(body.get("count", 1)),
        body.get("match"),
        after=bool(body.get("after", False)),
    )
    return web.json_response({"ok": True}, status=201)


async def sim_rate_limit(request: web.Request) -> web.Response:
    body = await _body(request)
    request.app[VARDVIK_STATE].rate_limit_per_minute = int(body["perMinute"])
    return web.json_response({"perMinute": int(body["perMinute"])})


async def sim_requests(request: web.Request) -> web.Response:
    counts = request.app[REQUEST_COUNTS]
    return web.json_response({name: int(n) for name, n in counts.items()})


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/_sim/state", sim_state)
    r.add_get("/_sim/reservations", sim_reservations)
    r.add_post("/_sim/reservations", sim_add_reservation)
    r.add_get("/_sim/guests", sim_guests)
    r.add_post("/_sim/features", sim_features)
    r.add_post("/_sim/webhooks", sim_webhooks)
    r.add_get("/_sim/deliveries", sim_deliveries)
    r.add_post("/_sim/clock", sim_clock)
    r.add_post("/_sim/faults", sim_faults)
    r.add_post("/_sim/rate-limit", sim_rate_limit)
    r.add_get("/_sim/requests", sim_requests)
