"""Booking-management tokens: a public widget (anonymous: restaurants, availability, create)
books, and the token it gets back reads, reschedules and cancels that booking only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tablegraph.auth.config import AuthSettings, PreviousSecret
from tablegraph.auth.manage import ManageTokens
from tablegraph.auth.scopes import Scope
from tablegraph.settings import Secret, parse_settings
from tests.graphql.helpers import AVAILABILITY, BERLIN_MITTE, quiet_weekday

from .conftest import Gw, StartGw, client

WIDGET = frozenset({Scope.RESTAURANTS_READ, Scope.AVAILABILITY_READ, Scope.BOOKINGS_CREATE})
CREATE = """
mutation($input: CreateBookingInput!) {
  createBooking(input: $input) { booking { id end } userErrors { code message field } manageToken }
}"""
BY_TOKEN = "query($t: String!, $id: ID) { booking(manageToken: $t, id: $id) { id status } }"
RESCHEDULE = """
mutation($input: RescheduleBookingInput!) {
  rescheduleBooking(input: $input) { booking { id partySize } userErrors { code } manageToken }
}"""
CANCEL = """
mutation($input: CancelBookingInput!) {
  cancelBooking(input: $input) { booking { id status } userErrors { code } }
}"""


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


def _auth() -> AuthSettings:
    return AuthSettings(
        clients=(client("all"), client("other-widget", WIDGET)), anonymous_scopes=WIDGET
    )


async def _book(gw: Gw, n: int, who: str | None = None) -> tuple[str, str, str]:
    day = quiet_weekday().isoformat()
    slots = await gw.body(who, AVAILABILITY, {"ids": [BERLIN_MITTE], "date": day, "party": 2})
    start = slots["data"]["availability"][0]["slots"][n]["start"]
    body = await gw.body(
        who,
        CREATE,
        {
            "input": {
                "restaurantId": BERLIN_MITTE,
                "start": start,
                "partySize": 2,
                "guest": {
                    "firstName": "Wanda",
                    "lastName": f"Widget{n}",
                    "email": f"wanda{n}@example.com",
                },
            }
        },
    )
    payload = body["data"]["createBooking"]
    assert payload["userErrors"] == [], payload
    return payload["booking"]["id"], payload["manageToken"], payload["booking"]["end"]


def _not_found(body: dict[str, Any]) -> bool:
    return "NOT_FOUND" in repr(body)


async def test_a_token_works_for_its_booking_only(start_gw: StartGw) -> None:
    clock = Clock()
    manage = ManageTokens(Secret("s1-" + "x" * 30), clock=clock)
    gw = await start_gw(_auth(), manage_tokens=manage)
    a, token_a, _ = await _book(gw, 0)
    b, token_b, _ = await _book(gw, 1)
    assert token_a.startswith("tgm1.") and token_a != token_b

    # Its holder reads it; without the token the widget may not read bookings at all.
    body = await gw.body(None, BY_TOKEN, {"t": token_a})
    assert body["data"]["booking"]["id"] == a
    plain = await gw.body(None, "query($id: ID!) { booking(id: $id) { id } }", {"id": a})
    assert plain["errors"][0]["extensions"] == {"code": "FORBIDDEN", "scope": "bookings:read"}

    # Another booking's id with this token, a tampered token, another client: refused alike.
    assert _not_found(await gw.body(None, BY_TOKEN, {"t": token_a, "id": b}))
    head, payload, mac = token_a.split(".")
    flipped = payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1]
    for bad in (f"{head}.{flipped}.{mac}", f"{head}.{payload}.{mac[:-2]}xx", "tgm1.e30.AAAA"):
        assert _not_found(await gw.body(None, BY_TOKEN, {"t": bad})), bad
    assert _not_found(await gw.body("other-widget", BY_TOKEN, {"t": token_a}))
    refused = await gw.body(None, CANCEL, {"input": {"bookingId": b, "manageToken": token_a}})
    assert refused["data"]["cancelBooking"]["userErrors"][0]["code"] == "NOT_FOUND"
    refused = await gw.body(None, CANCEL, {"input": {"bookingId": b}})
    assert refused["errors"][0]["extensions"]["scope"] == "bookings:write"

    # Reschedule and cancel with it.
    moved = await gw.body(None, RESCHEDULE, {"input": {"manageToken": token_a, "partySize": 3}})
    assert moved["data"]["rescheduleBooking"]["booking"] == {"id": a, "partySize": 3}
    cancelled = await gw.body(None, CANCEL, {"input": {"manageToken": token_a}})
    assert cancelled["data"]["cancelBooking"]["booking"] == {"id": a, "status": "CANCELLED"}
    check = await gw.body("all", "query($id: ID!) { booking(id: $id) { status } }", {"id": b})
    assert check["data"]["booking"]["status"] != "CANCELLED"


async def test_a_token_expires_after_the_booking(start_gw: StartGw) -> None:
    clock = Clock()
    gw = await start_gw(_auth(), manage_tokens=ManageTokens(Secret("s" * 32), clock=clock))
    a, token, end = await _book(gw, 2)
    clock.now = datetime.fromisoformat(end) + timedelta(hours=23)
    assert (await gw.body(None, BY_TOKEN, {"t": token}))["data"]["booking"]["id"] == a
    clock.now = datetime.fromisoformat(end) + timedelta(hours=24, seconds=1)
    assert _not_found(await gw.body(None, BY_TOKEN, {"t": token}))


async def test_rotation_keeps_old_tokens_for_the_overlap_only(start_gw: StartGw) -> None:
    clock = Clock()
    old, new = Secret("old-" + "o" * 30), Secret("new-" + "n" * 30)
    before = await start_gw(_auth(), manage_tokens=ManageTokens(old, clock=clock))
    a, token, _ = await _book(before, 3)

    overlap_ends = clock.now + timedelta(hours=12)
    rotated = ManageTokens(new, (PreviousSecret(old, overlap_ends),), clock=clock)
    after = await start_gw(_auth(), manage_tokens=rotated, same_sim_as=before)
    assert (await after.body(None, BY_TOKEN, {"t": token}))["data"]["booking"]["id"] == a
    b, fresh, _ = await _book(after, 4)
    clock.now = overlap_ends + timedelta(seconds=1)
    assert _not_found(await after.body(None, BY_TOKEN, {"t": token}))
    assert (await after.body(None, BY_TOKEN, {"t": fresh}))["data"]["booking"]["id"] == b
    # The rotated-out gateway never accepts the new secret's tokens.
    assert _not_found(await before.body(None, BY_TOKEN, {"t": fresh}))


def test_rotation_is_configured_with_environment_secrets() -> None:
    settings = parse_settings(
        {
            "upstreams": [
                {
                    "name": "v",
                    "kind": "vardvik",
                    "base_url": "http://x",
                    "options": {"restaurant_ids": ["r"]},
                }
            ],
            "auth": {
                "manage_tokens": {
                    "secret": "TG_MANAGE_NEW",
                    "previous": [
                        {"secret": "TG_MANAGE_OLD", "valid_until": "2030-01-01T00:00:00+00:00"}
                    ],
                    "valid_after_end_hours": 6,
                }
            },
        },
        {"TG_MANAGE_NEW": "n" * 32, "TG_MANAGE_OLD": "o" * 32},
    )
    mt = settings.auth.manage_tokens
    assert mt.secret == Secret("n" * 32) and mt.valid_after_end_seconds == 6 * 3600
    assert mt.previous[0].valid_until == datetime(2030, 1, 1, tzinfo=UTC)
    assert "nnnn" not in repr(settings)
