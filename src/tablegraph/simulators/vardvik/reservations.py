"""Reservation endpoints: create (idempotent), list, get, PATCH (status/tables/reschedule),
DELETE (cancel)."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from tablegraph.simulators.vardvik import availability
from tablegraph.simulators.vardvik.model import (
    ACTIVE,
    STATUSES,
    TRANSITIONS,
    ApiError,
    ApiKey,
    Location,
    Policy,
    Reservation,
    Restaurant,
    invalid,
)
from tablegraph.simulators.vardvik.parsing import (
    day,
    instant,
    integer,
    json_object,
    location_for,
    person,
    reservation_for,
    restaurant_for,
    state_of,
    text,
)
from tablegraph.simulators.vardvik.state import IdempotencyRecord, VardvikState

LIST_CAP = 200
_RESCHEDULE_FIELDS = ("startTime", "partySize", "durationMinutes")
_PATCH_FIELDS = frozenset({"status", "tableIds", *_RESCHEDULE_FIELDS})


def _json(status: int, payload: dict[str, Any]) -> web.Response:
    return web.json_response(payload, status=status)


def _outside_policy(rule: str, policy: Policy) -> ApiError:
    limit = policy.to_json()[rule]
    return ApiError(
        422,
        "outside_policy",
        f"the booking breaks the {rule} rule ({limit})",
        {"rule": rule, "limit": limit},
    )


def _slot_unavailable(reason: str) -> ApiError:
    return ApiError(
        409, "slot_unavailable", "the requested slot is not available", {"reason": reason}
    )


async def create_reservation(request: web.Request) -> web.Response:
    key, rest = restaurant_for(request, "reservations:write")
    state = state_of(request)
    body = await json_object(request)
    idem = request.headers.get("Idempotency-Key")
    if idem is None:
        status, payload = _create(state, key, rest, body)
        return _json(status, payload)
    if not idem or len(idem) > 255:
        raise invalid("Idempotency-Key", "Idempotency-Key must be 1-255 characters")
    fingerprint = hashlib.sha256(json.dumps([rest.id, body], sort_keys=True).encode()).hexdigest()
    async with state.idempotency_lock(key.key, idem):
        record = state.idempotency_record(key.key, idem)
        if record is not None:
            if record.fingerprint != fingerprint:
                raise ApiError(
                    409,
                    "idempotency_key_reused",
                    "this Idempotency-Key was used with a different request",
                )
            return web.Response(
                body=record.body,
                status=record.status,
                content_type="application/json",
                headers={"Idempotent-Replayed": "true"},
            )
        # Only completed creates are remembered: a rejected attempt may be retried.
        status, payload = _create(state, key, rest, body)
        raw = json.dumps(payload).encode()
        state.idempotency[(key.key, idem)] = IdempotencyRecord(
            fingerprint, status, raw, state.now()
        )
        return web.Response(body=raw, status=status, content_type="application/json")


def _create(
    state: VardvikState, key: ApiKey, rest: Restaurant, body: dict[str, Any]
) -> tuple[int, dict[str, Any]]:
    loc = location_for(key, rest, body.get("locationId"))
    start = instant(body.get("startTime"), "startTime")
    party = integer(body.get("partySize"), "partySize", 1, 30)
    guest_in = person(body.get("guest"))
    special = text(body, "specialRequests", limit=2000)
    duration = integer(
        body.get("durationMinutes"),
        "durationMinutes",
        15,
        480,
        rest.policy.default_duration_minutes,
    )
    source = text(body, "source", limit=50) or "api"
    now = state.now()
    breach = availability.policy_breach(rest.policy, start, party, now)
    if breach is not None:
        raise _outside_policy(breach, rest.policy)
    window = availability.window_for(loc, start, duration)
    if window is None:
        raise _slot_unavailable("closed")
    verdict = availability.evaluate(
        loc,
        rest.policy,
        state.location_bookings(loc.id),
        start,
        duration,
        party,
        window.service_date,
        now,
    )
    if verdict.table_ids is None:
        raise _slot_unavailable("no_table")
    guest, _ = state.upsert_guest(
        rest.id, guest_in["firstName"], guest_in["lastName"], guest_in["email"], guest_in["phone"]
    )
    res = state.insert_reservation(
        loc,
        rest.id,
        start,
        duration,
        party,
        verdict.table_ids,
        guest,
        special_requests=special,
        source=source,
    )
    state.notify("reservation.created", res)
    return 201, {"reservation": state.reservation_json(res)}


async def list_reservations(request: web.Request) -> web.Response:
    key, rest = restaurant_for(request, "reservations:read")
    state = state_of(request)
    q = request.query
    loc_id = q.get("locationId") or key.location_id
    locations = [location_for(key, rest, loc_id).id] if loc_id else list(rest.locations)
    service_date = day(q["date"]) if "date" in q else None
    statuses = [s for s in q.get("status", "").split(",") if s]
    for s in statuses:
        if s not in STATUSES:
            raise invalid("status", f"status must be one of {', '.join(STATUSES)}")
    rows = [
        r
        for r in state.reservations.values()
        if r.restaurant_id == rest.id
        and r.location_id in locations
        and (service_date is None or r.service_date == service_date)
        and (not statuses or r.status in statuses)
    ]
    rows.sort(key=lambda r: (r.start, r.created_at, r.id), reverse=True)
    return _json(200, {"reservations": [state.reservation_json(r) for r in rows[:LIST_CAP]]})


async def get_reservation(request: web.Request) -> web.Response:
    res = reservation_for(request, "reservations:read")
    return _json(200, {"reservation": state_of(request).reservation_json(res)})


async def cancel_reservation(request: web.Request) -> web.Response:
    res = reservation_for(request, "reservations:cancel")
    state = state_of(request)
    if res.status in ("pending", "confirmed"):
        res.status, res.updated_at = "cancelled", state.now()
        res.cancel_reason = request.query.get("reason")
        state.notify("reservation.cancelled", res)
    elif res.status != "cancelled":
        raise ApiError(
            409,
            "invalid_state",
            f"a {res.status} reservation cannot be cancelled",
            {"status": res.status},
        )
    return _json(200, {"reservation": state.reservation_json(res)})


async def update_reservation(request: web.Request) -> web.Response:
    res = reservation_for(request, "reservations:write")
    state = state_of(request)
    rest = state.restaurant(res.restaurant_id)
    loc = rest.locations[res.location_id]
    body = await json_object(request)
    for name in body:
        if name not in _PATCH_FIELDS:
            raise invalid(name, f"{name} cannot be changed")
    if not body:
        raise invalid("body", "nothing to change")
    reschedule = [f for f in _RESCHEDULE_FIELDS if f in body]
    if reschedule and not rest.features.get("reservationChanges", False):
        raise ApiError(
            422,
            "feature_disabled",
            "reservation changes are disabled for this restaurant",
            {"feature": "reservationChanges", "fields": reschedule},
        )
    status = body.get("status", res.status)
    if status not in STATUSES:
        raise invalid("status", f"status must be one of {', '.join(STATUSES)}")
    tables = _table_ids(body, loc) if "tableIds" in body else None
    if status != res.status and status not in TRANSITIONS.get(res.status, ()):
        raise ApiError(
            409,
            "invalid_transition",
            f"cannot move from {res.status} to {status}",
            {"from": res.status, "to": status},
        )
    if (reschedule and res.status not in ("pending", "confirmed")) or (
        tables is not None and res.status not in ACTIVE
    ):
        raise ApiError(
            409,
            "invalid_state",
            f"a {res.status} reservation cannot be changed",
            {"status": res.status},
        )
    start, end, party = res.start, res.end, res.party_size
    if reschedule:
        start, end, party, tables = _rescheduled(state, res, loc, rest.policy, body, tables)
    elif tables is not None:
        busy = availability.busy_tables(
            state.location_bookings(loc.id), start, end, loc.buffer_minutes, exclude=res.id
        )
        if busy & set(tables):
            raise _slot_unavailable("tables_taken")
    changed = (status, start, end, party) != (res.status, res.start, res.end, res.party_size) or (
        tables is not None and tables != res.table_ids
    )
    if changed:
        res.status, res.start, res.end, res.party_size = status, start, end, party
        if tables is not None:
            res.table_ids = tables
        window = availability.window_for(loc, start, int((end - start).total_seconds() // 60))
        if window is not None:
            res.service_date = window.service_date
        res.updated_at = state.now()
        state.notify(
            "reservation.cancelled" if status == "cancelled" else "reservation.updated", res
        )
    return _json(200, {"reservation": state.reservation_json(res)})


def _table_ids(body: dict[str, Any], loc: Location) -> list[str]:
    value = body["tableIds"]
    known = {t.id for t in loc.tables}
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(t, str) and t in known for t in value)
    ):
        raise invalid("tableIds", "tableIds must list tables of the reservation's location")
    return list(dict.fromkeys(value))


def _rescheduled(
    state: VardvikState,
    res: Reservation,
    loc: Location,
    policy: Policy,
    body: dict[str, Any],
    tables: list[str] | None,
) -> tuple[datetime, datetime, int, list[str]]:
    """New (start, end, party, tables) after re-checking availability without ``res`` itself."""
    current = int((res.end - res.start).total_seconds() // 60)
    start = instant(body["startTime"], "startTime") if "startTime" in body else res.start
    party = integer(body.get("partySize"), "partySize", 1, 30, res.party_size)
    duration = integer(body.get("durationMinutes"), "durationMinutes", 15, 480, current)
    now = state.now()
    if start != res.start or party != res.party_size:
        breach = availability.policy_breach(policy, start, party, now)
        if breach is not None:
            raise _outside_policy(breach, policy)
    window = availability.window_for(loc, start, duration)
    if window is None:
        raise _slot_unavailable("closed")
    end = start + timedelta(minutes=duration)
    bookings = state.location_bookings(loc.id)
    busy = availability.busy_tables(bookings, start, end, loc.buffer_minutes, exclude=res.id)
    left = availability.covers_left(loc, bookings, start, window.service_date, res.id)
    if left is not None and left < party:
        raise _slot_unavailable("slot_limit")
    seats = {t.id: t.seats for t in loc.tables}
    keep = tables if tables is not None else res.table_ids
    if keep and not busy & set(keep) and sum(seats.get(t, 0) for t in keep) >= party:
        return start, end, party, list(keep)
    assigned = availability.assign(loc, party, busy) if tables is None else None
    if assigned is None:
        raise _slot_unavailable("no_table")
    return start, end, party, assigned
