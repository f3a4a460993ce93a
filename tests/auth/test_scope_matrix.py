"""Every scope gates what it names, field by field.

The gated fields come from the schema's permission table (``permissions.gated_fields``), and
the schema refuses to build with an unclassified root field; this test refuses a gated field
it has no operation for. For each one, a client holding every scope but that one gets null
there and a FORBIDDEN error naming the scope at that path, and a client holding every scope
gets no FORBIDDEN at all.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tablegraph import ids
from tablegraph.auth.config import AuthSettings
from tablegraph.auth.scopes import ALL_SCOPES, Scope
from tablegraph.graphql.permissions import gated_fields
from tablegraph.graphql.schema import build_schema
from tests.graphql.helpers import BERLIN_MITTE

from .conftest import Gw, StartGw, client

NO_RESTAURANT = ids.encode("Restaurant", "vardvik-berlin", "rst_1/loc_404")
NO_BOOKING = ids.encode("Booking", "vardvik-berlin", "res_404")
GUEST = {"firstName": "Mara", "lastName": "Schneider"}

# (type, field) -> (operation, path of the gated field in the answer)
OPERATIONS: dict[tuple[str, str], tuple[str, list[Any]]] = {
    ("Query", "upstreams"): ("{ upstreams { name } }", ["upstreams"]),
    ("Query", "restaurants"): ("{ restaurants { totalCount } }", ["restaurants"]),
    ("Query", "restaurant"): ("query($r: ID!) { restaurant(id: $r) { id } }", ["restaurant"]),
    ("Query", "availability"): (
        "query($r: ID!, $d: Date!) { availability(restaurantIds: [$r], date: $d, partySize: 2)"
        " { restaurantId } }",
        ["availability"],
    ),
    ("Query", "booking"): ("query($b: ID!) { booking(id: $b) { id } }", ["booking"]),
    ("Query", "bookings"): (
        "query($r: ID!, $d: Date!) { bookings(restaurantId: $r, date: $d) { totalCount } }",
        ["bookings"],
    ),
    ("Query", "guest"): ("query($g: ID!) { guest(id: $g) { id } }", ["guest"]),
    ("Query", "guests"): (
        "query($r: ID!) { guests(restaurantId: $r) { totalCount } }",
        ["guests"],
    ),
    ("Query", "reviews"): (
        "query($r: ID!) { reviews(restaurantId: $r) { totalCount } }",
        ["reviews"],
    ),
    ("Mutation", "createBooking"): (
        "mutation($nr: ID!, $g: GuestInput!) { createBooking(input: {restaurantId: $nr,"
        ' start: "2031-01-08T19:00:00+01:00", partySize: 2, guest: $g}) { userErrors { code } } }',
        ["createBooking"],
    ),
    ("Mutation", "rescheduleBooking"): (
        "mutation($nb: ID!) { rescheduleBooking(input: {bookingId: $nb, partySize: 3})"
        " { userErrors { code } } }",
        ["rescheduleBooking"],
    ),
    ("Mutation", "cancelBooking"): (
        "mutation($nb: ID!) { cancelBooking(input: {bookingId: $nb}) { userErrors { code } } }",
        ["cancelBooking"],
    ),
    ("Mutation", "updateBooking"): (
        'mutation($nb: ID!) { updateBooking(input: {bookingId: $nb, notes: "x"})'
        " { userErrors { code } } }",
        ["updateBooking"],
    ),
    ("Mutation", "joinWaitlist"): (
        "mutation($nr: ID!, $g: GuestInput!, $d: Date!) { joinWaitlist(input: {restaurantId: $nr,"
        " date: $d, partySize: 2, guest: $g}) { userErrors { code } } }",
        ["joinWaitlist"],
    ),
    ("Mutation", "upsertGuest"): (
        "mutation($nr: ID!, $g: GuestInput!) { upsertGuest(input: {restaurantId: $nr, guest: $g})"
        " { userErrors { code } } }",
        ["upsertGuest"],
    ),
    ("Restaurant", "availability"): (
        "query($r: ID!, $d: Date!) { restaurant(id: $r) { availability(date: $d, partySize: 2)"
        " { start } } }",
        ["restaurant", "availability"],
    ),
    ("Restaurant", "bookings"): (
        "query($r: ID!, $d: Date!) { restaurant(id: $r) { bookings(date: $d) { totalCount } } }",
        ["restaurant", "bookings"],
    ),
    ("Restaurant", "reviews"): (
        "query($r: ID!) { restaurant(id: $r) { reviews { totalCount } } }",
        ["restaurant", "reviews"],
    ),
    ("Restaurant", "ratingSummary"): (
        "query($r: ID!) { restaurant(id: $r) { ratingSummary { count } } }",
        ["restaurant", "ratingSummary"],
    ),
    ("Upstream", "details"): ("{ upstreams { details } }", ["upstreams", 0, "details"]),
}
for _field in ("email", "phone", "notes", "marketingConsent", "visitCount"):
    OPERATIONS[("Guest", _field)] = (
        "query($b: ID!) { booking(id: $b) { guest { " + _field + " } } }",
        ["booking", "guest", _field],
    )


def _without(scope: Scope) -> str:
    return "without-" + scope.value.replace(":", "-")


async def _gateway(start_gw: StartGw) -> Gw:
    clients = [client("all")] + [client(_without(s), ALL_SCOPES - {s}) for s in Scope]
    return await start_gw(AuthSettings(clients=tuple(clients)))


async def _seeded(gw: Gw) -> dict[str, Any]:
    """A local date with Berlin Mitte bookings whose guest has an e-mail, and ids to use."""
    day = datetime.now(UTC).date()
    for offset in range(-3, 10):
        d = (day + timedelta(days=offset)).isoformat()
        body = await gw.body(
            "all",
            "query($r: ID!, $d: Date!) { bookings(restaurantId: $r, date: $d)"
            " { nodes { id guest { id email } } } }",
            {"r": BERLIN_MITTE, "d": d},
        )
        for node in body["data"]["bookings"]["nodes"]:
            if node["guest"] and node["guest"]["email"]:
                return {
                    "r": BERLIN_MITTE,
                    "d": d,
                    "b": node["id"],
                    "g": node["guest"]["id"],
                    "nr": NO_RESTAURANT,
                    "nb": NO_BOOKING,
                    "g_in": GUEST,
                }
    raise AssertionError("no seeded Berlin Mitte booking with a guest e-mail")


def _forbidden(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        e
        for e in body.get("errors") or []
        if (e.get("extensions") or {}).get("code") == "FORBIDDEN"
    ]


def _at(data: Any, path: list[Any]) -> Any:
    for step in path:
        if data is None:
            return None
        data = data[step]
    return data


def test_every_gated_field_of_the_schema_has_an_operation_here() -> None:
    gated = {(t, f) for t, f, _ in gated_fields(build_schema())}
    assert gated == set(OPERATIONS), gated ^ set(OPERATIONS)
    # Everything that gates something is a real scope, and every scope gates something.
    assert {rule.scope for _, _, rule in gated_fields(build_schema())} == set(Scope)


async def test_each_scope_gates_exactly_its_fields(start_gw: StartGw) -> None:
    gw = await _gateway(start_gw)
    seeded = await _seeded(gw)
    for type_name, field, rule in gated_fields(build_schema()):
        assert rule.scope is not None
        query, path = OPERATIONS[(type_name, field)]
        variables = {
            name: value
            for name, value in {**seeded, "g": seeded["g"], "g_in": None}.items()
            if f"${name}" in query
        }
        if "$g:" in query and "GuestInput" in query:
            variables["g"] = GUEST
        who = f"{type_name}.{field}"

        allowed = await gw.body("all", query, variables)
        assert _forbidden(allowed) == [], (who, allowed)

        refused = await gw.body(_without(rule.scope), query, variables)
        errors = _forbidden(refused)
        assert len(errors) == 1, (who, refused)
        assert errors[0]["extensions"]["scope"] == rule.scope.value, who
        assert errors[0]["path"] == path, (who, errors[0])
        assert rule.scope.value in errors[0]["message"]
        if type_name != "Mutation":
            assert _at(refused["data"], path) is None, (who, refused)
            assert refused["data"] is not None  # only that field is null


async def test_missing_scope_keeps_the_rest_of_the_data(start_gw: StartGw) -> None:
    gw = await _gateway(start_gw)
    body = await gw.body(
        _without(Scope.BOOKINGS_READ),
        "query($r: ID!, $d: Date!) { restaurant(id: $r) { name bookings(date: $d)"
        " { totalCount } } upstreams { name } }",
        {"r": BERLIN_MITTE, "d": "2030-01-02"},
    )
    assert body["data"]["restaurant"]["name"]
    assert body["data"]["restaurant"]["bookings"] is None
    assert body["data"]["upstreams"]
    assert [e["path"] for e in _forbidden(body)] == [["restaurant", "bookings"]]


async def test_personal_fields_of_many_guests_give_one_error(start_gw: StartGw) -> None:
    gw = await _gateway(start_gw)
    seeded = await _seeded(gw)
    body = await gw.body(
        _without(Scope.GUESTS_READ),
        "query($r: ID!, $d: Date!) { bookings(restaurantId: $r, date: $d)"
        " { nodes { guest { firstName email phone notes } } } }",
        {"r": seeded["r"], "d": seeded["d"]},
    )
    guests = [n["guest"] for n in body["data"]["bookings"]["nodes"] if n["guest"]]
    assert guests and all(g["firstName"] for g in guests)
    assert all(g["email"] is None and g["phone"] is None and g["notes"] is None for g in guests)
    assert len(_forbidden(body)) == 1


async def test_node_checks_the_scope_of_the_type_it_finds(start_gw: StartGw) -> None:
    gw = await _gateway(start_gw)
    seeded = await _seeded(gw)
    for scope, gid in (
        (Scope.RESTAURANTS_READ, seeded["r"]),
        (Scope.BOOKINGS_READ, seeded["b"]),
        (Scope.GUESTS_READ, seeded["g"]),
    ):
        query = "query($id: ID!) { node(id: $id) { id } }"
        assert (await gw.body("all", query, {"id": gid}))["data"]["node"]["id"] == gid
        refused = await gw.body(_without(scope), query, {"id": gid})
        assert refused["data"]["node"] is None
        assert [e["extensions"]["scope"] for e in _forbidden(refused)] == [scope.value]
