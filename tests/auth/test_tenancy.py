"""A client limited to one restaurant cannot read, book, reschedule or cancel at another, and
every answer about another restaurant is identical to the answer about one that does not exist.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from tablegraph import ids
from tablegraph.auth.config import AuthSettings
from tests.graphql.helpers import BERLIN_MITTE, CANCEL, CREATE, RESCHEDULE, quiet_weekday

from .conftest import Gw, StartGw, client

MINE = "vardvik-berlin:rst_1/loc_1"


async def _gateway(start_gw: StartGw) -> Gw:
    return await start_gw(
        AuthSettings(clients=(client("all"), client("mitte", restaurants=[MINE])))
    )


async def _restaurants(gw: Gw, who: str) -> list[str]:
    body = await gw.body(who, "{ restaurants(first: 100) { nodes { id } } }")
    return [n["id"] for n in body["data"]["restaurants"]["nodes"]]


async def _a_booking_at(gw: Gw, restaurant: str) -> str:
    today = datetime.now(UTC).date()
    for offset in range(-3, 14):
        body = await gw.body(
            "all",
            "query($r: ID!, $d: Date!) { bookings(restaurantId: $r, date: $d) { nodes { id } } }",
            {"r": restaurant, "d": (today + timedelta(days=offset)).isoformat()},
        )
        nodes = body["data"]["bookings"]["nodes"]
        if nodes:
            return str(nodes[0]["id"])
    raise AssertionError(f"no booking at {ids.decode(restaurant)}")


def _same(a: dict[str, Any], b: dict[str, Any], a_id: str, b_id: str) -> None:
    """Identical answers once the id the client itself sent (and a key the gateway generated)
    is masked: data, errors, and which upstreams were asked how often (timing left out)."""

    def norm(body: dict[str, Any], own: str) -> str:
        kept = {k: v for k, v in body.items() if k != "extensions"}
        # Which upstreams were asked, and how often, is part of the answer too.
        kept["upstreams"] = {
            name: (u["status"], u["requests"])
            for name, u in body["extensions"]["upstreams"].items()
        }
        text = re.sub(re.escape(own), "<ID>", repr(kept))
        return re.sub(r"tg-[0-9a-f-]{36}", "<generated key>", text)

    assert norm(a, a_id) == norm(b, b_id)


async def test_other_restaurants_are_absent_from_lists(start_gw: StartGw) -> None:
    gw = await _gateway(start_gw)
    everything = await _restaurants(gw, "all")
    assert len(everything) > 2
    assert await _restaurants(gw, "mitte") == [BERLIN_MITTE]
    names = await gw.body("mitte", "{ upstreams { name } }")
    assert [u["name"] for u in names["data"]["upstreams"]] == ["vardvik-berlin"]


async def test_foreign_ids_answer_exactly_like_missing_ones(start_gw: StartGw) -> None:
    gw = await _gateway(start_gw)
    foreign = [r for r in await _restaurants(gw, "all") if r != BERLIN_MITTE]
    same_upstream = next(r for r in foreign if ids.decode(r).upstream == "vardvik-berlin")
    other_upstream = next(r for r in foreign if ids.decode(r).upstream == "vardvik-oslo")
    day = quiet_weekday().isoformat()

    for real in (same_upstream, other_upstream):
        gid = ids.decode(real)
        guessed = ids.encode("Restaurant", gid.upstream, gid.native_id + "0")
        booking = await _a_booking_at(gw, real)
        missing_booking = ids.encode("Booking", gid.upstream, "res_does_not_exist")
        guest_of = await gw.body(
            "all", "query($b: ID!) { booking(id: $b) { guest { id } } }", {"b": booking}
        )
        guest = guest_of["data"]["booking"]["guest"]["id"]
        missing_guest = ids.encode("Guest", gid.upstream, "gst_does_not_exist")
        for query, variables_of, real_id, fake_id in [
            ("query($id: ID!) { restaurant(id: $id) { id name } }", "id", real, guessed),
            ("query($id: ID!) { node(id: $id) { id } }", "id", real, guessed),
            ("query($id: ID!) { node(id: $id) { id } }", "id", booking, missing_booking),
            ("query($id: ID!) { booking(id: $id) { id } }", "id", booking, missing_booking),
            ("query($id: ID!) { guest(id: $id) { id email } }", "id", guest, missing_guest),
            (
                "query($id: ID!, $d: Date!) { availability(restaurantIds: [$id], date: $d,"
                " partySize: 2) { restaurantId slots { start } } }",
                "id",
                real,
                guessed,
            ),
            (
                "query($id: ID!, $d: Date!) { bookings(restaurantId: $id, date: $d)"
                " { totalCount } }",
                "id",
                real,
                guessed,
            ),
            ("query($id: ID!) { guests(restaurantId: $id) { totalCount } }", "id", real, guessed),
        ]:
            variables = {"d": day} if "$d" in query else {}
            a = await gw.body("mitte", query, {**variables, variables_of: real_id})
            b = await gw.body("mitte", query, {**variables, variables_of: fake_id})
            assert "NOT_FOUND" in repr(a) or a["data"] in ({"node": None}, {"guest": None}), a
            _same(a, b, real_id, fake_id)
            # The client sees its own restaurant, so the refusal is tenancy, not a bug.
            assert (await gw.body("all", query, {**variables, variables_of: real_id})).get("data")

        # Writes: book, reschedule and cancel at the foreign restaurant.
        create = {
            "restaurantId": real,
            "start": f"{day}T19:00:00+01:00",
            "partySize": 2,
            "guest": {"firstName": "Eve", "lastName": "Outsider"},
        }
        a = await gw.body("mitte", CREATE, {"input": create})
        b = await gw.body("mitte", CREATE, {"input": {**create, "restaurantId": guessed}})
        assert a["data"]["createBooking"]["userErrors"][0]["code"] == "NOT_FOUND"
        _same(a, b, real, guessed)
        for mutation, extra in ((RESCHEDULE, {"partySize": 3}), (CANCEL, {})):
            a = await gw.body("mitte", mutation, {"input": {"bookingId": booking, **extra}})
            b = await gw.body("mitte", mutation, {"input": {"bookingId": missing_booking, **extra}})
            assert "NOT_FOUND" in repr(a), a
            _same(a, b, booking, missing_booking)
        still = await gw.body(
            "all", "query($b: ID!) { booking(id: $b) { status } }", {"b": booking}
        )
        assert still["data"]["booking"]["status"] != "CANCELLED"


async def test_own_restaurant_still_works(start_gw: StartGw) -> None:
    gw = await _gateway(start_gw)
    booking = await _a_booking_at(gw, BERLIN_MITTE)
    body = await gw.body("mitte", "query($b: ID!) { booking(id: $b) { id } }", {"b": booking})
    assert body["data"]["booking"]["id"] == booking
    day = quiet_weekday().isoformat()
    body = await gw.body(
        "mitte",
        "query($id: ID!, $d: Date!) { availability(restaurantIds: [$id], date: $d, partySize: 2)"
        " { slots { start } } }",
        {"id": BERLIN_MITTE, "d": day},
    )
    assert body["data"]["availability"][0]["slots"]
