"""Guests derived from resOS bookings (resOS has no verified guest endpoint).

A guest's identity is the normalized E.164 phone, else the lower-cased e-mail; its native id
is ``<restaurant id>/phone:+45…`` or ``<restaurant id>/email:…``, so ``get_guests`` can find
the guest's bookings again with a ``customQuery``.
"""

from __future__ import annotations

import re

from tablegraph.model import Guest
from tablegraph.providers.resos.payloads import RawBooking, guest_identity, join_id, to_guest


def quote(value: str) -> str:
    """A ``customQuery`` string value."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def identity_term(identity: str) -> str:
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


def guests_from(upstream: str, restaurant_id: str, raws: list[RawBooking]) -> dict[str, Guest]:
    """One guest per identity: details from the latest booking; ``visit_count`` counts the
    bookings found that were not cancelled or declined."""
    latest: dict[str, RawBooking] = {}
    visits: dict[str, int] = {}
    for raw in sorted(raws, key=lambda b: (b.get("dateTime") or "", b.get("_id") or "")):
        g = raw.get("guest") or {}
        identity = guest_identity(g.get("phone"), g.get("email"))
        if identity is None:
            continue
        gid = join_id(restaurant_id, identity)
        latest[gid] = raw
        if raw.get("status") not in ("canceled", "declined"):
            visits[gid] = visits.get(gid, 0) + 1
    out: dict[str, Guest] = {}
    for gid, raw in latest.items():
        guest = to_guest(
            upstream, restaurant_id, raw.get("guest"), raw.get("languageCode"), visits.get(gid, 0)
        )
        if guest is not None:
            out[gid] = guest
    return out
