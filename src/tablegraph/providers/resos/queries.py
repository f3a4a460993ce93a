"""resOS ``customQuery`` expressions (providers/resos.md, "Search"), and the local re-checks.

resOS filters server-side with comma-separated terms (``:`` equals, ``;`` contains). The
filters are a pre-selection only: every condition is applied again locally, because an
untested server-side filter must never decide what one guest sees of another.
"""

from __future__ import annotations

import re

from tablegraph.model import Booking, BookingQuery, Guest
from tablegraph.providers.resos.mapping import STATUS_OUT


def quote(value: str) -> str:
    """A ``customQuery`` string value."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def identity_term(identity: str) -> str:
    """The bookings of one guest identity (``phone:+45…`` or ``email:…``)."""
    kind, _, value = identity.partition(":")
    if kind == "phone":
        # resOS searches phones with the country code first and no "+".
        return f"guest.phone:{quote(value.lstrip('+'))}"
    return f"guest.email:{quote(value)}"


def search_term(needle: str) -> str | None:
    """The server-side pre-filter for a guest search (re-checked by ``search_hit``)."""
    if not needle:
        return None
    digits = re.sub(r"\D", "", needle)
    if "@" in needle:
        return f"guest.email;{quote(needle)}"
    if digits and len(digits) >= len(needle.replace(" ", "").lstrip("+")) - 1:
        return f"guest.phone;{quote(digits)}"
    return f"guest.name;{quote(needle)}"


def search_hit(guest: Guest, needle: str) -> bool:
    digits = re.sub(r"\D", "", needle)
    name = f"{guest.first_name or ''} {guest.last_name or ''}".lower()
    return (
        needle in name
        or needle in (guest.email or "")
        or bool(digits and digits in (guest.phone or ""))
    )


def booking_filter(query: BookingQuery, identity: str | None) -> str | None:
    """The server-side pre-filter of a booking list: the one status asked for, the guest."""
    terms: list[str] = []
    if query.statuses is not None and len(query.statuses) == 1:
        (only,) = query.statuses
        if only in STATUS_OUT:
            terms.append(f"status:{quote(STATUS_OUT[only])}")
    if identity is not None:
        terms.append(identity_term(identity))
    return ",".join(terms) or None


def booking_hit(query: BookingQuery, booking: Booking) -> bool:
    """Every condition of ``query``, checked locally."""
    return (
        query.start <= booking.start < query.end
        and (query.statuses is None or booking.status in query.statuses)
        and (query.guest_id is None or booking.guest_id == query.guest_id)
    )
