"""Idempotency keys belong to the authenticated client: two clients' equal keys never meet,
not at the gateway and not at Vardvik (which receives keys derived from client + key)."""

from __future__ import annotations

from typing import Any

import httpx

from tablegraph.auth.config import AuthSettings
from tablegraph.auth.scopes import Scope
from tests.graphql.helpers import AVAILABILITY, BERLIN_MITTE, CREATE, quiet_weekday

from .conftest import Gw, StartGw, client

WRITER = frozenset({Scope.RESTAURANTS_READ, Scope.AVAILABILITY_READ, Scope.BOOKINGS_CREATE})


async def _create(gw: Gw, who: str, start: str, n: int, key: str) -> dict[str, Any]:
    body = await gw.body(
        who,
        CREATE,
        {
            "input": {
                "restaurantId": BERLIN_MITTE,
                "start": start,
                "partySize": 2,
                "guest": {"firstName": who, "lastName": f"Guest{n}", "email": f"{who}@example.com"},
                "idempotencyKey": key,
            }
        },
    )
    payload: dict[str, Any] = body["data"]["createBooking"]
    return payload


async def test_two_clients_same_key_two_bookings(start_gw: StartGw) -> None:
    gw = await start_gw(AuthSettings(clients=(client("alpha", WRITER), client("beta", WRITER))))
    day = quiet_weekday().isoformat()
    slots = await gw.body("alpha", AVAILABILITY, {"ids": [BERLIN_MITTE], "date": day, "party": 2})
    start = [s["start"] for s in slots["data"]["availability"][0]["slots"]]
    # The same request under the same key, from two clients (X-Client-Id is not an identity).
    a = await _create(gw, "alpha", start[0], 1, "order-1")
    b = await _create(gw, "beta", start[1], 1, "order-1")
    assert a["userErrors"] == [] and b["userErrors"] == []
    assert a["booking"]["id"] != b["booking"]["id"]
    assert a["idempotencyKey"] == b["idempotencyKey"] == "order-1"

    # Each replay answers with that client's own booking.
    assert (await _create(gw, "alpha", start[0], 1, "order-1"))["booking"]["id"] == a["booking"][
        "id"
    ]
    assert (await _create(gw, "beta", start[1], 1, "order-1"))["booking"]["id"] == b["booking"][
        "id"
    ]
    # Reuse with another request is said only to the owner of the key.
    reused = await _create(gw, "alpha", start[2], 2, "order-1")
    assert [e["code"] for e in reused["userErrors"]] == ["IDEMPOTENCY_KEY_REUSED"]
    fresh = await _create(gw, "beta", start[3], 3, "order-2")
    assert fresh["userErrors"] == []

    # Vardvik received different keys, none of them the client's own.
    sent = {key for _api_key, key in gw.state.idempotency}
    assert "order-1" not in sent and "order-2" not in sent
    assert len(sent) == 3


async def test_x_client_id_does_not_choose_the_idempotency_scope(start_gw: StartGw) -> None:
    gw = await start_gw(AuthSettings(clients=(client("alpha", WRITER), client("beta", WRITER))))
    day = quiet_weekday().isoformat()
    slots = await gw.body("alpha", AVAILABILITY, {"ids": [BERLIN_MITTE], "date": day, "party": 2})
    start = slots["data"]["availability"][0]["slots"][5]["start"]
    a = await _create(gw, "alpha", start, 9, "shared")
    gw.http("beta").headers["X-Client-Id"] = "alpha"
    b = await _create(gw, "beta", start, 9, "shared")
    assert a["booking"]["id"] != (b["booking"] or {}).get("id")


async def _anonymous_create(
    gw: Gw, source: str, start: str, key: str
) -> tuple[dict[str, Any], str | None]:
    """A create with no credentials, sent from the loopback address ``source``."""
    transport = httpx.AsyncHTTPTransport(local_address=source)
    async with httpx.AsyncClient(base_url=gw.url, transport=transport, timeout=30) as http:
        variables = {
            "input": {
                "restaurantId": BERLIN_MITTE,
                "start": start,
                "partySize": 2,
                "guest": {"firstName": "Ann", "lastName": "Onymous", "email": "ann@example.com"},
                "idempotencyKey": key,
            }
        }
        query = CREATE.replace("idempotencyKey\n", "idempotencyKey manageToken\n")
        response = await http.post("/graphql", json={"query": query, "variables": variables})
    payload: dict[str, Any] = response.json()["data"]["createBooking"]
    return payload, payload.get("manageToken")


async def test_anonymous_callers_keep_their_own_keys(start_gw: StartGw) -> None:
    """Anonymous callers share one identity; a guessable key sent from another address makes
    its own booking instead of receiving the first caller's booking and management token."""
    gw = await start_gw(AuthSettings(clients=(client("alpha", WRITER),), anonymous_scopes=WRITER))
    day = quiet_weekday().isoformat()
    slots = await gw.body(None, AVAILABILITY, {"ids": [BERLIN_MITTE], "date": day, "party": 2})
    start = slots["data"]["availability"][0]["slots"][3]["start"]
    first, first_token = await _anonymous_create(gw, "127.0.0.1", start, "order-1")
    other, other_token = await _anonymous_create(gw, "127.0.0.2", start, "order-1")
    assert first["userErrors"] == [] and other["userErrors"] == [], (first, other)
    assert first["booking"]["id"] != other["booking"]["id"]
    assert first_token != other_token
    # The first caller's retry is still a replay of its own booking.
    again, _ = await _anonymous_create(gw, "127.0.0.1", start, "order-1")
    assert again["booking"]["id"] == first["booking"]["id"]
