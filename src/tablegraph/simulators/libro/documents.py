"""JSON:API documents exactly as Libro shapes them (kebab-case attributes, string ids)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tablegraph.simulators.libro.state import (
    BookingRec,
    Experience,
    LibroState,
    Person,
    RestaurantRec,
    ReviewRec,
)
from tablegraph.timeutil import zone


def iso(moment: datetime | None, tz: str | None = None) -> str | None:
    """``2025-07-09T17:00:00.000-04:00`` (Libro's style), in ``tz`` when given."""
    if moment is None:
        return None
    if tz is not None:
        moment = moment.astimezone(zone(tz))
    return moment.isoformat(timespec="milliseconds")


def restaurant_doc(r: RestaurantRec) -> dict[str, Any]:
    return {
        "type": "restaurant",
        "id": r.id,
        "attributes": {
            "name": r.name,
            "active": r.active,
            "code": r.code,
            "latitude": r.latitude,
            "longitude": r.longitude,
            "tz": r.tz,
            "created-at": iso(r.created_at, r.tz),
            "online-booking-lead-months": r.lead_months,
            "cancelation-delay": r.cancelation_delay,
            "service-scopes": [
                {
                    "name": s.name,
                    "startTime": s.start.strftime("%H:%M"),
                    "endTime": s.end.strftime("%H:%M"),
                }
                for s in r.scopes
            ],
            "classifications": [],
        },
    }


def _rel(kind: str, ident: object | None) -> dict[str, Any]:
    return {"data": None if ident is None else {"id": str(ident), "type": kind}}


def booking_doc(state: LibroState, b: BookingRec) -> dict[str, Any]:
    tz = state.restaurants[b.restaurant_id].tz
    until = state.cancelation_allowed_until(b)
    return {
        "id": str(b.id),
        "type": "booking",
        "attributes": {
            "size": b.size,
            "status": b.status,
            "time": iso(b.start, tz),
            "note": b.note,
            "table-number": b.table,
            "private-note": b.private_note,
            "expected-leave-at": iso(b.end, tz),
            "source": b.source,
            "read-token": b.read_token,
            "edit-token": b.edit_token,
            "booking-type": b.booking_type,
            "locale": b.locale,
            "tags": list(b.tags),
            "created-at": iso(b.created_at, tz),
            "updated-at": iso(b.updated_at, tz),
            "arrived-at": iso(b.stamps.get("arrived"), tz),
            "confirmed-at": iso(b.stamps.get("confirmed"), tz),
            "seated-at": iso(b.stamps.get("seated"), tz),
            "completed-at": iso(b.stamps.get("completed"), tz),
            "canceled-at": iso(b.stamps.get("canceled"), tz),
            "flags": {"children": False, "reduced-mobility": False, "do-not-move": False},
            "invoice": None,
            "affiliate": None,
            "cancelation-allowed-until": iso(until, tz),
            "modification-restricted": state.modification_restricted(b),
        },
        "relationships": {
            "person": _rel("person", b.person_id),
            "restaurant": _rel("restaurant", b.restaurant_id),
            "recommendation": _rel("recommendation", None),
            "experience": _rel("experience", b.experience_id),
        },
    }


def experience_doc(exp: Experience) -> dict[str, Any]:
    return {"id": str(exp.id), "type": "experience", "attributes": {"name": exp.names()}}


def booking_included(state: LibroState, bookings: list[BookingRec]) -> list[dict[str, Any]]:
    """Side-loaded experiences of the bookings (DOC: booking relationships)."""
    seen: dict[int, dict[str, Any]] = {}
    for b in bookings:
        if b.experience_id is None or b.experience_id in seen:
            continue
        for scope in state.restaurants[b.restaurant_id].scopes:
            for exp in scope.experiences:
                if exp.id == b.experience_id:
                    seen[exp.id] = experience_doc(exp)
    return list(seen.values())


def person_doc(p: Person) -> dict[str, Any]:
    return {
        "id": str(p.id),
        "type": "person",
        "attributes": {
            "first-name": p.first_name,
            "last-name": p.last_name,
            "email": p.email,
            "phone": p.phone,
            "note": p.note,
            "tags": list(p.tags),
            "locale": p.locale,
            "preferred-communication-channel": p.channel,
            "created-at": iso(p.created_at),
            "updated-at": iso(p.updated_at),
        },
    }


def review_doc(state: LibroState, r: ReviewRec) -> dict[str, Any]:
    tz = state.restaurants[r.restaurant_id].tz
    return {
        "id": str(r.id),
        "type": "review",
        "attributes": {
            **r.ratings,
            "custom-question-1": None,
            "custom-question-2": None,
            "description": r.description,
            "reply": r.reply,
            "source": r.source,
            "created-at": iso(r.created_at, tz),
            "updated-at": iso(r.updated_at, tz),
        },
        "relationships": {
            "restaurant": _rel("restaurant", r.restaurant_id),
            "person": _rel("person", r.person_id),
        },
    }
