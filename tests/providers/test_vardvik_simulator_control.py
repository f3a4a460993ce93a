"""Vardvik simulator: fault injection and the /_sim/ test-control endpoints."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from aiohttp import web

from tablegraph.simulators.common import Clock
from tablegraph.simulators.vardvik import VARDVIK_STATE, create_app

StartServer = Callable[[web.Application], Awaitable[str]]
NOW = datetime(2026, 6, 10, 8, 0, tzinfo=UTC)
BODY = {
    "locationId": "loc_1",
    "startTime": "2026-06-25T16:00:00.000Z",
    "partySize": 2,
    "guest": {"firstName": "Mara", "lastName": "Schneider", "email": "mara@example.com"},
}


@pytest.fixture
async def sim(start_server: StartServer) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    app = create_app(0, clock=Clock(NOW))
    url = await start_server(app)
    async with httpx.AsyncClient(
        base_url=url, headers={"Authorization": "Bearer demo-key"}
    ) as client:
        yield client, app[VARDVIK_STATE]


async def test_injected_fault_answers_once(sim: tuple[httpx.AsyncClient, Any]) -> None:
    client, state = sim
    state.inject_fault(503, "unavailable", match="/config")
    failed = await client.get("/api/v1/restaurants/rst_1/config")
    assert failed.status_code == 503
    assert failed.json() == {"error": {"code": "unavailable", "message": "simulated failure"}}
    assert (await client.get("/api/v1/restaurants/rst_1/config")).status_code == 200


async def test_lost_response_then_idempotent_retry(sim: tuple[httpx.AsyncClient, Any]) -> None:
    client, state = sim
    before = state.reservation_count()
    state.inject_fault(500, match="POST /api/v1/restaurants/rst_1/reservations", after=True)
    headers = {"Idempotency-Key": "order-84421"}
    lost = await client.post("/api/v1/restaurants/rst_1/reservations", json=BODY, headers=headers)
    assert lost.status_code == 500
    assert state.reservation_count() == before + 1  # the booking was made all the same
    retry = await client.post("/api/v1/restaurants/rst_1/reservations", json=BODY, headers=headers)
    assert retry.status_code == 201
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert state.reservation_count() == before + 1


async def test_injected_429_carries_retry_after(sim: tuple[httpx.AsyncClient, Any]) -> None:
    client, _ = sim
    await client.post("/_sim/faults", json={"status": 429, "code": "rate_limited"})
    response = await client.get("/api/v1/restaurants/rst_1/config")
    assert (response.status_code, response.headers["Retry-After"]) == (429, "1")


async def test_sim_endpoints(sim: tuple[httpx.AsyncClient, Any]) -> None:
    client, state = sim
    count = (await client.get("/_sim/state")).json()["reservations"]
    added = await client.post(
        "/_sim/reservations",
        json={
            "restaurantId": "rst_1",
            "locationId": "loc_1",
            "startTime": "2026-06-10T08:05:00Z",
            "partySize": 2,
            "status": "seated",
        },
    )
    assert added.status_code == 201
    assert added.json()["reservation"]["status"] == "seated"  # inside the lead time: bypassed
    assert (await client.get("/_sim/state")).json()["reservations"] == count + 1
    rows = (await client.get("/_sim/reservations", params={"restaurantId": "rst_2"})).json()
    assert {r["restaurantId"] for r in rows["reservations"]} == {"rst_2"}

    features = await client.post(
        "/_sim/features", json={"restaurantId": "rst_2", "feature": "waitlist", "enabled": True}
    )
    assert features.json()["waitlist"] is True
    assert state.restaurants["rst_2"].features["waitlist"] is True

    clock = await client.post("/_sim/clock", json={"advanceSeconds": 3600})
    assert clock.json()["now"].startswith("2026-06-10T09:00")
    await client.post("/_sim/rate-limit", json={"perMinute": 1})
    assert (await client.get("/api/v1/restaurants/rst_1/config")).status_code == 200
    assert (await client.get("/api/v1/restaurants/rst_1/config")).status_code == 429
    counts = (await client.get("/_sim/requests")).json()
    assert counts["GET /api/v1/restaurants/{restaurantId}/config"] == 2

    hook = await client.post(
        "/_sim/webhooks",
        json={"restaurantId": "rst_1", "url": "http://127.0.0.1:9/unreachable", "secret": "s"},
    )
    assert hook.json() == {"id": "wh_1"}
    assert (await client.get("/_sim/deliveries")).json() == {"deliveries": []}
    guests = (await client.get("/_sim/guests", params={"restaurantId": "rst_2"})).json()
    assert len(guests["guests"]) == 25


async def test_failed_delivery_is_logged(sim: tuple[httpx.AsyncClient, Any]) -> None:
    client, state = sim
    state.add_webhook("rst_1", "http://127.0.0.1:9/refused", "s", ["reservation.created"])
    created = await client.post("/api/v1/restaurants/rst_1/reservations", json=BODY)
    assert created.status_code == 201
    log = (await client.get("/_sim/deliveries")).json()["deliveries"]
    assert [(d["eventType"], d["status"], d["responseCode"]) for d in log] == [
        ("reservation.created", "failed", None)
    ]
