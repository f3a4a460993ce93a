"""Request bodies the adapter sends (the reverse of ``mapping``): model values → Libro JSON.

Libro's tables are normative where its examples disagree: kebab-case person attributes,
``time`` as ``HH:MM:SS``, and ``restaurant-code`` in every write body (providers/libro.md).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tablegraph.errors import InvalidInput
from tablegraph.model import BookingUpdate, GuestData, NewBooking


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
    if request.notes:
        attributes["note"] = request.notes
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
