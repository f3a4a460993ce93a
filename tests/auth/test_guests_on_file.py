"""An existing guest is never overwritten by a client without ``guests:write``.

Vardvik creates *or updates* the guest profile a booking or waitlist entry names, by e-mail.
A widget (``bookings:create``, no ``guests:write``) booking with a known e-mail books under
the profile on file: the profile keeps its name and phone, the booking is that guest's, and
what the widget said differently is kept in the booking's notes. A client with
``guests:write`` still updates the profile (the provider's documented behaviour)."""

from __future__ import annotations

from typing import Any

from tablegraph.auth.config import AuthSettings
from tablegraph.auth.scopes import ALL_SCOPES, Scope
from tablegraph.simulators.vardvik.model import Guest
from tests.graphql.helpers import AVAILABILITY, BERLIN_MITTE, CREATE, quiet_weekday

from .conftest import Gw, StartGw, client

WIDGET = frozenset({Scope.RESTAURANTS_READ, Scope.AVAILABILITY_READ, Scope.BOOKINGS_CREATE})
JOIN = """
mutation($input: JoinWaitlistInput!) {
  joinWaitlist(input: $input) { entry { id } userErrors { code message field } }
}"""


def _auth() -> AuthSettings:
    return AuthSettings(clients=(client("widget", WIDGET), client("staff", ALL_SCOPES)))


def _known_guest(gw: Gw) -> Guest:
    """A seeded Berlin guest with an e-mail and a phone, as the simulator holds it."""
    return next(g for g in gw.state.guests_of("rst_1") if g.email and g.phone)


async def _slot(gw: Gw) -> str:
    day = quiet_weekday().isoformat()
    body = await gw.body("staff", AVAILABILITY, {"ids": [BERLIN_MITTE], "date": day, "party": 2})
    start: str = body["data"]["availability"][0]["slots"][0]["start"]
    return start


async def _book(gw: Gw, who: str, start: str, guest: dict[str, Any]) -> dict[str, Any]:
    body = await gw.body(
        who,
        CREATE,
        {
            "input": {
                "restaurantId": BERLIN_MITTE,
                "start": start,
                "partySize": 2,
                "guest": guest,
                "notes": "window seat",
            }
        },
    )
    payload: dict[str, Any] = body["data"]["createBooking"]
    assert payload["userErrors"] == [], payload
    return payload


async def test_widget_books_under_the_profile_on_file(start_gw: StartGw) -> None:
    gw = await start_gw(_auth())
    guest = _known_guest(gw)
    before = (guest.first_name, guest.last_name, guest.phone)
    given = {"firstName": "Mallory", "lastName": "Impostor", "email": guest.email.upper()}
    payload = await _book(gw, "widget", await _slot(gw), {**given, "phone": "+4915100000001"})

    assert (guest.first_name, guest.last_name, guest.phone) == before  # profile untouched
    booked = payload["booking"]["guest"]
    assert (booked["firstName"], booked["lastName"]) == before[:2]
    notes = [r.special_requests for r in gw.state.reservations.values() if r.guest_id == guest.id]
    assert any(
        n is not None
        and n.startswith("window seat\n")
        and "name Mallory Impostor" in n
        and "phone +4915100000001" in n
        for n in notes
    ), notes


async def test_widget_with_a_new_email_creates_a_profile(start_gw: StartGw) -> None:
    gw = await start_gw(_auth())
    given = {"firstName": "Nina", "lastName": "New", "email": "nina.new@example.com"}
    await _book(gw, "widget", await _slot(gw), given)
    (made,) = gw.state.guests_of("rst_1", "nina.new@example.com")
    assert (made.first_name, made.last_name) == ("Nina", "New")


async def test_guests_write_still_updates_the_profile(start_gw: StartGw) -> None:
    """The rule applies to clients without the scope only: staff keep the upsert."""
    gw = await start_gw(_auth())
    guest = _known_guest(gw)
    given = {"firstName": "Renamed", "lastName": "ByStaff", "email": guest.email}
    await _book(gw, "staff", await _slot(gw), given)
    assert (guest.first_name, guest.last_name) == ("Renamed", "ByStaff")


async def test_widget_waitlist_entry_keeps_the_profile(start_gw: StartGw) -> None:
    gw = await start_gw(
        AuthSettings(
            clients=(client("widget", WIDGET | {Scope.WAITLIST_WRITE}), client("staff")),
        )
    )
    guest = _known_guest(gw)
    before = (guest.first_name, guest.last_name, guest.phone)
    body = await gw.body(
        "widget",
        JOIN,
        {
            "input": {
                "restaurantId": BERLIN_MITTE,
                "date": quiet_weekday().isoformat(),
                "partySize": 2,
                "guest": {"firstName": "Eve", "lastName": "Else", "email": guest.email},
            }
        },
    )
    assert body["data"]["joinWaitlist"]["userErrors"] == [], body
    assert (guest.first_name, guest.last_name, guest.phone) == before
    (entry,) = [e for e in gw.state.waitlist.values() if e.guest_id == guest.id]
    assert entry.notes is not None and "name Eve Else" in entry.notes
