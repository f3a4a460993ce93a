"""Bookings by clients that may not write guest profiles: book under the profile on file.

Some providers create *or update* the guest profile a booking names, keyed by e-mail (Vardvik's
create and waitlist: "the guest profile is created or updated by email"). Through them a
public widget — which has ``bookings:create`` but not ``guests:write`` — could rename a guest
or change their phone number just by booking with their e-mail. For such a client the gateway
looks the e-mail up first; when a profile exists, the booking is sent with the profile's own
name and phone (so the provider's upsert changes nothing), and whatever the client gave that
differs is kept on the booking itself, in its notes, where staff see it. Nothing the client
said is dropped, and no profile changes. A new e-mail creates a profile as before: creating
one overwrites nothing.

The look-up is one guest read, made only for providers that declare
``Provider.create_updates_guest`` and only for clients without ``guests:write``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TypeVar

from tablegraph.model import Guest, GuestData, NewBooking, WaitlistRequest
from tablegraph.providers.base import Provider

R = TypeVar("R", NewBooking, WaitlistRequest)
#: Notes are capped by the transports at this length; the kept details never push past it.
NOTES_LIMIT = 1000


async def under_profile_on_file(provider: Provider, restaurant_id: str, request: R) -> R:
    """``request`` unchanged, or with the guest on file and the client's details in notes."""
    given = request.guest
    if not provider.create_updates_guest or not given.email:
        return request
    profile = await _profile(provider, restaurant_id, given.email)
    if profile is None:
        return request
    kept = GuestData(
        first_name=profile.first_name or "",
        last_name=profile.last_name or "",
        email=profile.email or given.email,
        phone=profile.phone,
        locale=given.locale,
    )
    return replace(request, guest=kept, notes=_with_given(request.notes, given, profile))


async def _profile(provider: Provider, restaurant_id: str, email: str) -> Guest | None:
    found = await provider.list_guests(restaurant_id, email, 10)
    wanted = email.strip().casefold()
    return next((g for g in found if (g.email or "").strip().casefold() == wanted), None)


def _with_given(notes: str | None, given: GuestData, profile: Guest) -> str | None:
    said = []
    name = f"{given.first_name} {given.last_name}".strip()
    if name != f"{profile.first_name or ''} {profile.last_name or ''}".strip():
        said.append(f"name {name}")
    if given.phone and given.phone != profile.phone:
        said.append(f"phone {given.phone}")
    if not said:
        return notes
    line = "Given with this booking: " + "; ".join(said)
    joined = f"{notes}\n{line}" if notes else line
    return joined[:NOTES_LIMIT]
