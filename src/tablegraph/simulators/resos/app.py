"""HTTP surface of the resOS simulator (API v1.2 under ``/v1``), plus ``/_sim`` controls.

As documented and observed: HTTP Basic auth with the API key as user name and an empty
password (401 otherwise); a fixed calendar-minute request limit per key with ``Retry-After``
in milliseconds on every response (429 over the limit); bare JSON arrays with
``skip``/``limit`` (max 100), ``sort`` and ``customQuery``; errors as bare JSON strings;
``POST /bookings`` answers the new id as a JSON string, ``PUT`` answers ``true``; PATCH on a
booking is 405, DELETE 400; unknown keys in a body are 422.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import date
from http import HTTPStatus
from typing import Any

from aiohttp import web

from tablegraph.simulators.common import Handler
from tablegraph.simulators.faults import FaultProfile
from tablegraph.simulators.resos.query import QueryError, matches, parse_query, sort_docs
from tablegraph.simulators.resos.state import (
    LANGUAGES,
    SOURCES,
    STATUSES,
    ResosState,
    Restaurant,
    iso_utc,
    parse_iso,
)

RESOS_STATE = web.AppKey("resos_state", ResosState)
_RESTAURANT = web.RequestKey("resos_restaurant", Restaurant)

CREATE_KEYS = frozenset(
    {
        "restaurantId",
        "date",
        "time",
        "people",
        "duration",
        "tables",
        "guest",
        "status",
        "source",
        "comment",
        "note",
        "noteAuthor",
        "referrer",
        "languageCode",
        "openingHourId",
        "customFields",
        "restaurantNotes",
        "metadata",
        "areaId",
    }
)
UPDATE_KEYS = frozenset(
    {
        "date",
        "time",
        "dateTime",
        "people",
        "tables",
        "duration",
        "status",
        "metadata",
        "source",
        "referrer",
        "languageCode",
        "openingHourId",
        "openingHourName",
        "canceledAt",
        "declinedAt",
        "deletedAt",
        "customer",
        "guest",
        "customFields",
    }
)
GUEST_KEYS = frozenset({"name", "email", "phone", "notificationSms", "notificationEmail"})
MAX_LIMIT = 100


def error(status: int, text: str) -> web.Response:
    """resOS errors: the status code plus a description as a bare JSON string."""
    return web.json_response(text, status=status)


def _fault_error(status: int) -> web.Response:
    try:
        text = HTTPStatus(status).phrase
    except ValueError:
        text = "Error"
    return error(status, text)


#: Injected faults answer a bare JSON string; a 429 burst carries ``Retry-After`` in
#: milliseconds, like the real limit. API keys never expire.
FAULT_PROFILE = FaultProfile(
    "resOS",
    _fault_error,
    lambda _seconds: error(429, "Too many requests, please wait until the limit resets"),
    retry_after_ms=True,
)


def restaurant_of(request: web.Request) -> Restaurant:
    restaurant: Restaurant = request[_RESTAURANT]
    return restaurant


@web.middleware
async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Auth, then the per-key fixed-window limit; ``Retry-After`` (ms) on every answer."""
    if request.path.startswith("/_sim") or request.path == "/openapi.json":
        return await handler(request)
    state = request.app[RESOS_STATE]
    restaurant = _authenticate(request, state)
    if restaurant is None:
        response: web.StreamResponse = error(401, "Unauthorized")
    elif not state.take_request(restaurant):
        state.log.append((state.minute(), request.method, request.path, request.query_string))
        response = error(429, "Too many requests, please wait until the limit resets")
    else:
        state.log.append((state.minute(), request.method, request.path, request.query_string))
        request[_RESTAURANT] = restaurant
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            response = error(exc.status, exc.reason)
    state.status_counts[response.status] = state.status_counts.get(response.status, 0) + 1
    response.headers["Retry-After"] = str(state.ms_until_reset())
    return response


def _authenticate(request: web.Request, state: ResosState) -> Restaurant | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "basic" or not token:
        return None
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    if not sep or password:
        return None  # the key is the user name and the password must be empty
    return state.by_key(user)


async def _json_body(request: web.Request) -> Any:
    if request.content_type != "application/json":
        raise web.HTTPUnsupportedMediaType(reason="Content-Type must be application/json")
    try:
        return await request.json()
    except json.JSONDecodeError:
        raise web.HTTPBadRequest(reason="Body is not valid JSON") from None


def _int_param(request: web.Request, name: str, default: int | None = None) -> int:
    raw = request.query.get(name)
    if raw is None or raw == "":
        if default is None:
            raise web.HTTPUnprocessableEntity(reason=f"Missing required parameter: {name}")
        return default
    try:
        return int(raw)
    except ValueError:
        raise web.HTTPBadRequest(reason=f"Invalid parameter: {name}") from None


def _date_param(request: web.Request, name: str) -> date:
    raw = request.query.get(name)
    if not raw:
        raise web.HTTPUnprocessableEntity(reason=f"Missing required parameter: {name}")
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise web.HTTPBadRequest(reason=f"Invalid date: {name}") from None


# ---- reads ---------------------------------------------------------------------------------


async def healthcheck(request: web.Request) -> web.Response:
    return web.json_response(
        {"status": "Now we're cooking!", "restaurantId": restaurant_of(request).id}
    )


async def opening_hours(request: web.Request) -> web.Response:
    restaurant = restaurant_of(request)
    show_deleted = request.query.get("showDeleted") == "true"
    only_special = request.query.get("onlySpecial") == "true"
    docs = [
        p.to_json(restaurant.id)
        for p in restaurant.periods
        if (show_deleted or not p.deleted) and (p.special or not only_special)
    ]
    return web.json_response(docs)


async def booking_flow_times(request: web.Request) -> web.Response:
    state = request.app[RESOS_STATE]
    day = _date_param(request, "date")
    people = _int_param(request, "people")
    if people < 1:
        return error(422, "people must be at least 1")
    periods = state.times(restaurant_of(request), day, people)
    wanted = request.query.get("openingHourId")
    if wanted:
        periods = [p for p in periods if p["_id"] == wanted]
    return web.json_response(periods)


async def booking_flow_dates(request: web.Request) -> web.Response:
    restaurant = restaurant_of(request)
    start = _date_param(request, "fromDate")
    end = _date_param(request, "toDate")
    out: list[str] = []
    day = start
    while day < end and len(out) < 366:  # toDate exclusive, as clients treat it
        if restaurant.periods_on(day):
            out.append(day.isoformat())
        day = date.fromordinal(day.toordinal() + 1)
    return web.json_response(out)


async def tables(request: web.Request) -> web.Response:
    return web.json_response([t.to_json() for t in restaurant_of(request).tables])


async def list_bookings(request: web.Request) -> web.Response:
    state = request.app[RESOS_STATE]
    docs = state.list_bookings(restaurant_of(request))
    try:
        start = (
            parse_iso(request.query["fromDateTime"]) if "fromDateTime" in request.query else None
        )
        end = parse_iso(request.query["toDateTime"]) if "toDateTime" in request.query else None
    except ValueError:
        return error(400, "Invalid fromDateTime or toDateTime")
    if start is not None:
        docs = [b for b in docs if parse_iso(b["dateTime"]) >= start]
    if end is not None:
        docs = [b for b in docs if parse_iso(b["dateTime"]) <= end]  # inclusive, as observed
    try:
        # The reference says "passed as a header"; its examples and clients use the query.
        expression = request.query.get("customQuery") or request.headers.get("customQuery")
        if expression:
            terms = parse_query(expression)
            docs = [b for b in docs if matches(b, terms)]
        docs = sort_docs(docs, request.query.get("sort") or "dateTime:1,_id:1")
    except QueryError:
        return error(400, "Invalid customQuery or sort expression")
    skip = max(0, _int_param(request, "skip", 0))
    limit = min(MAX_LIMIT, max(0, _int_param(request, "limit", MAX_LIMIT)))
    return web.json_response(docs[skip : skip + limit])


async def get_booking(request: web.Request) -> web.Response:
    booking = restaurant_of(request).bookings.get(request.match_info["id"])
    if booking is None:
        return error(404, "Not found")
    return web.json_response(booking)


# ---- writes --------------------------------------------------------------------------------


def _validate(body: Any, allowed: frozenset[str], *, create: bool) -> str | None:
    if not isinstance(body, dict):
        return "Body must be an object"
    unknown = sorted(set(body) - allowed)
    if unknown:
        return f"Unknown key: {unknown[0]}"
    if create:
        for key in ("date", "time", "people"):
            if body.get(key) in (None, ""):
                return f"Missing required parameter: {key}"
        if not isinstance(body.get("guest"), dict) or not body["guest"].get("name"):
            return "Missing required parameter: guest.name"
    guest = body.get("guest")
    if guest is not None:
        if not isinstance(guest, dict):
            return "guest must be an object"
        unknown = sorted(set(guest) - GUEST_KEYS)
        if unknown:
            return f"Unknown key: guest.{unknown[0]}"
    if "date" in body:
        try:
            date.fromisoformat(str(body["date"]))
        except ValueError:
            return "Invalid date"
    if "time" in body:
        t = str(body["time"])
        if len(t) != 5 or t[2] != ":" or not (t[:2] + t[3:]).isdigit():
            return "Invalid time"
    if "people" in body and (not isinstance(body["people"], int) or body["people"] < 1):
        return "Invalid people"
    if "status" in body and body["status"] not in STATUSES:
        return "Invalid status"
    if "source" in body and body["source"] not in SOURCES:
        return "Invalid source"
    if "languageCode" in body and body["languageCode"] not in LANGUAGES:
        return "Invalid languageCode"
    if "metadata" in body and (
        not isinstance(body["metadata"], dict) or len(json.dumps(body["metadata"])) > 2000
    ):
        return "metadata must be an object of at most 2000 characters"
    return None


async def create_booking(request: web.Request) -> web.Response:
    state = request.app[RESOS_STATE]
    restaurant = restaurant_of(request)
    body = await _json_body(request)
    problem = _validate(body, CREATE_KEYS, create=True)
    if problem:
        return error(422, problem)
    day = date.fromisoformat(body["date"])
    period = restaurant.find_period(day, body["time"])
    duration = int(body.get("duration") or (period.duration if period else 120))
    if (
        state.strict
        and body.get("status", "request") != "waitlist"
        and state.free_table(restaurant, day, body["time"], body["people"], duration) is None
    ):
        return error(422, "No available tables")
    booking = state.add_booking(restaurant, body)
    return web.json_response(booking["_id"])


async def update_booking(request: web.Request) -> web.Response:
    state = request.app[RESOS_STATE]
    restaurant = restaurant_of(request)
    booking = restaurant.bookings.get(request.match_info["id"])
    if booking is None:
        return error(404, "Not found")
    body = await _json_body(request)
    problem = _validate(body, UPDATE_KEYS, create=False)
    if problem:
        return error(422, problem)
    moved = {"date", "time", "people", "duration"} & set(body)
    if state.strict and moved and body.get("status", booking["status"]) != "waitlist":
        day = date.fromisoformat(body.get("date", booking["date"]))
        if (
            state.free_table(
                restaurant,
                day,
                body.get("time", booking["time"]),
                int(body.get("people", booking["people"])),
                int(body.get("duration", booking["duration"])),
                ignore=booking["_id"],
            )
            is None
        ):
            return error(422, "No available tables")
    state.update_booking(restaurant, booking, body)
    return web.json_response(True)


async def add_restaurant_note(request: web.Request) -> web.Response:
    state = request.app[RESOS_STATE]
    booking = restaurant_of(request).bookings.get(request.match_info["id"])
    if booking is None:
        return error(404, "Not found")
    body = await _json_body(request)
    if not isinstance(body, dict) or not isinstance(body.get("text"), str) or not body["text"]:
        return error(422, "Missing required parameter: text")
    if set(body) - {"text"}:
        return error(422, f"Unknown key: {min(set(body) - {'text'})}")
    return web.json_response(state.add_note(booking, body["text"]))


async def patch_booking(request: web.Request) -> web.Response:
    return error(405, "Method not allowed")


async def delete_booking(request: web.Request) -> web.Response:
    return error(400, "Bookings cannot be deleted; set status to canceled")


# ---- test controls -------------------------------------------------------------------------


async def sim_strict(request: web.Request) -> web.Response:
    state = request.app[RESOS_STATE]
    body = await request.json() if request.can_read_body else {}
    state.strict = bool(body.get("strict", True)) if isinstance(body, dict) else True
    return web.json_response({"strict": state.strict})


async def sim_state(request: web.Request) -> web.Response:
    state = request.app[RESOS_STATE]
    return web.json_response(
        {
            "now": iso_utc(state.clock.now()),
            "restaurants": [
                {"id": r.id, "name": r.name, "timezone": r.timezone, "bookings": len(r.bookings)}
                for r in state.restaurants.values()
            ],
        }
    )


def add_routes(app: web.Application) -> None:
    app.router.add_get("/v1/healthcheck", healthcheck)
    app.router.add_get("/v1/openingHours", opening_hours)
    app.router.add_get("/v1/bookingFlow/times", booking_flow_times)
    app.router.add_get("/v1/bookingFlow/dates", booking_flow_dates)
    app.router.add_get("/v1/tables", tables)
    app.router.add_get("/v1/bookings", list_bookings)
    app.router.add_post("/v1/bookings", create_booking)
    app.router.add_get("/v1/bookings/{id}", get_booking)
    app.router.add_put("/v1/bookings/{id}", update_booking)
    app.router.add_patch("/v1/bookings/{id}", patch_booking)
    app.router.add_delete("/v1/bookings/{id}", delete_booking)
    app.router.add_post("/v1/bookings/{id}/restaurantNote", add_restaurant_note)
    app.router.add_post("/_sim/strict", sim_strict)
    app.router.add_get("/_sim/state", sim_state)
