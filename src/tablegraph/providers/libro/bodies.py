"""What the adapter sends (the reverse of ``mapping``): model values → Libro request bodies
and query parameters.

Libro's tables are normative where its examples disagree: kebab-case person attributes,
``time`` as ``HH:MM:SS``, and ``restaurant-code`` in every write body (providers/libro.md).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tablegraph.errors import InvalidInput
from tablegraph.model import BookingQuery, BookingUpdate, GuestData, NewBooking
from tablegraph.providers.libro.mapping import day_of, libro_statuses, with_marker


def _present(attributes: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in attributes.items() if v is not None}


def person(guest: GuestData, person_id: str | None, *, upstream: str) -> dict[str, Any]:
    """The booking's ``person`` relationship: a known person by id, else a new one embedded."""
    if person_id is not None:
        return {"type": "people", "id": int(person_id) if person_id.isdigit() else person_id}
    if not (guest.email and guest.phone):
        # Libro's person table marks first-name, last-name, email and phone required.
        raise InvalidInput(
            "Libro needs the guest's e-mail and phone for a new guest",
            upstream=upstream,
            field=("guest",),
        )
    attributes = {
        "first-name": guest.first_name,
        "last-name": guest.last_name,
        "email": guest.email,
        "phone": guest.phone,
        "preferred-communication-channel": "email",
        "locale": guest.locale,
    }
    return {"type": "people", "attributes": _present(attributes)}


def new_booking(
    request: NewBooking, local_start: datetime, person: dict[str, Any], *, upstream: str
) -> dict[str, Any]:
    """``POST /restricted/restaurant/bookings``; ``local_start`` in the restaurant's zone."""
    attributes: dict[str, Any] = {
        "size": request.party_size,
        "date": local_start.date().isoformat(),
        "time": local_start.strftime("%H:%M:%S"),
    }
    # Libro keeps no idempotency key: the note carries its marker (``mapping.with_marker``).
    attributes["note"] = with_marker(request.notes, request.idempotency_key)
    if request.guest.locale:
        attributes["locale"] = request.guest.locale
    if request.area_id:
        try:
            attributes["booking-experience-id"] = int(request.area_id)
        except ValueError:
            raise InvalidInput(
                "unknown Libro experience id", upstream=upstream, field=("area_id",)
            ) from None
    return {
        "restaurant-code": request.restaurant_id,
        "data": {"attributes": attributes, "relationships": {"person": {"data": person}}},
    }


def reschedule(code: str, local_start: datetime, party_size: int) -> dict[str, Any]:
    """``PUT …/bookings/:id/reschedule`` (a JSON body, not a query string)."""
    attributes = {
        "date": local_start.date().isoformat(),
        "time": local_start.strftime("%H:%M:%S"),
        "size": party_size,
    }
    return {"restaurant-code": code, "data": {"attributes": attributes}}


def booking_update(code: str, update: BookingUpdate) -> dict[str, Any] | None:
    """``PATCH …/bookings/:id``: note, tags and locale only; ``None`` when nothing changes."""
    attributes: dict[str, Any] = {}
    if update.notes is not None:
        attributes["note"] = update.notes
    if update.tags is not None:
        attributes["tags"] = list(update.tags)
    if update.locale is not None:
        attributes["locale"] = update.locale
    if not attributes:
        return None
    return {"restaurant-code": code, "data": {"attributes": attributes}}


def person_update(guest: GuestData, notes: str | None) -> dict[str, Any]:
    """``PATCH /restricted/people/:id``."""
    attributes = {
        "first-name": guest.first_name,
        "last-name": guest.last_name,
        "email": guest.email,
        "phone": guest.phone,
        "locale": guest.locale,
        "note": notes,
    }
    return {"data": {"attributes": _present(attributes)}}


# ---- query parameters ---------------------------------------------------------------------


def booking_list_params(query: BookingQuery, tz: str) -> dict[str, Any]:
    """``GET …/bookings``: one local ``date`` when the window is exactly one local day, else
    ``started-after``/``started-before``; ``status`` only when it names one Libro status."""
    params: dict[str, Any] = {"restaurant-code": query.restaurant_id}
    day = day_of(query.start, query.end, tz)
    if day is not None:
        params["date"] = day.isoformat()
    else:
        params["started-after"] = query.start.isoformat()
        params["started-before"] = query.end.isoformat()
    raw_statuses = libro_statuses(query.statuses) if query.statuses else []
    if len(raw_statuses) == 1:
        params["status"] = raw_statuses[0]
    if query.guest_id:
        params["guest-id"] = query.guest_id
    return params


def same_slot_params(request: NewBooking, local_start: datetime) -> dict[str, Any]:
    """``GET …/bookings`` for every booking at a lost create's date and time. Not narrowed by
    guest: Libro files a booking under a person it dedupes by e-mail or phone, whose phone
    may not be the one sent."""
    return {
        "restaurant-code": request.restaurant_id,
        "date": local_start.date().isoformat(),
        "time": local_start.strftime("%H:%M"),
    }


def people_search(code: str, search: str | None) -> tuple[dict[str, Any], str | None]:
    """``GET /restricted/people`` parameters for a search, and the lowercase name to filter
    on locally (Libro searches by e-mail or phone only)."""
    params: dict[str, Any] = {"restaurant-code": code}
    text = (search or "").strip()
    if "@" in text:
        params["guest-email"] = text
    elif text and text.lstrip("+").replace(" ", "").replace("-", "").isdigit():
        params["guest-phone"] = text
    elif text:
        return params, text.lower()
    return params, None
