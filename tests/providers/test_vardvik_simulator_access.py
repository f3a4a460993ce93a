"""Vardvik simulator: auth, scopes, rate limit, request counts, config, guests, waitlist,
signed webhooks, demo upstreams."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime

import pytest
from aiohttp import web

from tablegraph.settings import Secret
from tablegraph.simulators.common import Clock
from tablegraph.simulators.vardvik import (
    DEMO_OPTIONS,
    VARDVIK_STATE,
    create_app,
    demo_upstreams,
)
from tests.providers.vardvik_sim import Sim, StartServer

NOW = datetime(2026, 6, 10, 8, 0, 20, tzinfo=UTC)
GUEST = {"firstName": "Mara", "lastName": "Schneider", "email": "mara@example.com"}


async def test_config_matches_the_documented_example(sim: Sim) -> None:
    client, _ = await sim()
    config = (await client.get("/restaurants/rst_1/config")).json()
    # Values from the seed's config example (rest-api-v1.txt, "Restaurant").
    assert config["restaurant"] == {
        "id": "rst_1",
        "name": "Atelier Lindenhof",
        "timezone": "Europe/Berlin",
    }
    assert config["locations"][0] == {
        "id": "loc_1",
        "name": "Berlin Mitte",
        "city": "Berlin",
        "timezone": "Europe/Berlin",
    }
    assert config["reservation"] == {
        "minPartySize": 1,
        "maxPartySize": 12,
        "defaultDurationMinutes": 120,
        "minLeadTimeMinutes": 30,
        "maxAdvanceBookingDays": 90,
        "slotIntervalMinutes": 30,
    }
    assert config["features"] == {"waitlist": True, "webhooks": True, "reservationChanges": True}
    oslo = (await client.get("/restaurants/rst_2/config")).json()
    assert oslo["features"]["reservationChanges"] is False


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic ZGVtby1rZXk6"}]
)
async def test_missing_or_unknown_key_is_401(sim: Sim, headers: dict[str, str]) -> None:
    client, _ = await sim(None)
    response = await client.get("/restaurants/rst_1/config", headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


@pytest.mark.parametrize(
    ("method", "path", "scope"),
    [
        ("POST", "/restaurants/rst_1/reservations", "reservations:write"),
        ("DELETE", "/reservations/res_00000000", "reservations:cancel"),
        ("PATCH", "/reservations/res_00000000", "reservations:write"),
        ("POST", "/restaurants/rst_1/waitlist", "waitlist:write"),
        ("POST", "/restaurants/rst_1/guests", "customers:write"),
        ("POST", "/restaurants/rst_1/webhooks/test", "webhooks:test"),
    ],
)
async def test_missing_scope_is_403_naming_it(sim: Sim, method: str, path: str, scope: str) -> None:
    client, _ = await sim("readonly-key")
    response = await client.request(method, path, json={})
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "insufficient_scope"
    assert error["details"] == {"requiredScope": scope}


async def test_unreachable_restaurant_is_404(sim: Sim) -> None:
    client, _ = await sim("oslo-key")
    response = await client.get("/restaurants/rst_1/config")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


async def test_rate_limit_429_with_retry_after(sim: Sim) -> None:
    client, state = await sim(rate_limit_per_minute=3)
    clock = state.clock
    clock.set(NOW)
    for _ in range(3):
        assert (await client.get("/restaurants/rst_1/config")).status_code == 200
    limited = await client.get("/restaurants/rst_1/config")
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "rate_limited"
    assert limited.headers["Retry-After"] == "40"  # the window started at 08:00:00
    clock.advance(40)
    assert (await client.get("/restaurants/rst_1/config")).status_code == 200


async def test_request_counts_by_route(sim: Sim) -> None:
    client, state = await sim()
    await client.get("/restaurants/rst_1/config")
    await client.get("/restaurants/rst_2/config")
    await client.get("/reservations/res_00000000")
    counts = state.request_counts
    assert counts["GET /api/v1/restaurants/{restaurantId}/config"] == 2
    assert counts["GET /api/v1/reservations/{idOrPublicReference}"] == 1
    assert counts["*"] == 3


async def test_guest_upsert_by_email(sim: Sim) -> None:
    client, _ = await sim()
    created = await client.post(
        "/restaurants/rst_1/guests",
        json={**GUEST, "marketingConsent": True, "consentSource": "staff_phone"},
    )
    assert created.status_code == 201
    guest = created.json()["guest"]
    assert guest["id"].startswith("gst_")
    assert {
        k: guest[k] for k in ("marketingConsent", "consentSource", "anonymized", "visitCount")
    } == {
        "marketingConsent": True,
        "consentSource": "staff_phone",
        "anonymized": False,
        "visitCount": 0,
    }
    updated = await client.post(
        "/restaurants/rst_1/guests",
        json={
            **GUEST,
            "firstName": "Mara-Luisa",
            "email": "MARA@example.com",
            "phone": "+49 30 1234",
        },
    )
    assert updated.status_code == 200
    assert updated.json()["guest"]["id"] == guest["id"]
    found = (
        await client.get("/restaurants/rst_1/guests", params={"email": "mara@example.com"})
    ).json()["guests"]
    assert [(g["id"], g["firstName"], g["phone"]) for g in found] == [
        (guest["id"], "Mara-Luisa", "+49 30 1234")
    ]
    assert (
        await client.get("/restaurants/rst_2/guests", params={"email": "mara@example.com"})
    ).json() == {"guests": []}


async def test_guest_validation(sim: Sim) -> None:
    client, _ = await sim()
    bad_source = await client.post(
        "/restaurants/rst_1/guests", json={**GUEST, "consentSource": "newsletter"}
    )
    assert bad_source.json()["error"]["details"] == {"field": "consentSource"}
    too_many = await client.get("/restaurants/rst_1/guests", params={"limit": 201})
    assert too_many.status_code == 400
    assert too_many.json()["error"]["details"] == {"field": "limit"}
    default = (await client.get("/restaurants/rst_1/guests")).json()["guests"]
    assert len(default) == 40  # 39 seeded profiles + 1 anonymized one, under the default 50
    assert sum(g["anonymized"] for g in default) == 1


async def test_waitlist_created_and_disabled(sim: Sim) -> None:
    client, _ = await sim()
    created = await client.post(
        "/restaurants/rst_1/waitlist",
        json={
            "locationId": "loc_1",
            "date": "2026-06-25",
            "partySize": 2,
            "preferredTime": "19:30",
            "guest": GUEST,
            "notes": "Any table",
        },
    )
    assert created.status_code == 201
    entry = created.json()["waitlistEntry"]
    assert entry["id"].startswith("wl_")
    assert {
        k: entry[k]
        for k in (
            "restaurantId",
            "locationId",
            "date",
            "partySize",
            "preferredTime",
            "status",
            "notes",
        )
    } == {
        "restaurantId": "rst_1",
        "locationId": "loc_1",
        "date": "2026-06-25",
        "partySize": 2,
        "preferredTime": "19:30",
        "status": "waiting",
        "notes": "Any table",
    }
    disabled = await client.post(
        "/restaurants/rst_2/waitlist",
        json={"locationId": "loc_3", "date": "2026-06-25", "partySize": 2, "guest": GUEST},
    )
    assert disabled.status_code == 409
    assert disabled.json()["error"]["code"] == "waitlist_disabled"


async def test_webhooks_are_signed_and_verifiable(sim: Sim, start_server: StartServer) -> None:
    received: list[tuple[dict[str, str], bytes]] = []

    async def hook(request: web.Request) -> web.Response:
        received.append((dict(request.headers), await request.read()))
        return web.Response(status=204)

    receiver = web.Application()
    receiver.router.add_post("/hook", hook)
    hook_url = await start_server(receiver) + "/hook"
    client, state = await sim(
        webhooks=[{"restaurantId": "rst_1", "url": hook_url, "secret": "whsec_test"}]
    )
    res = (
        await client.post(
            "/restaurants/rst_1/reservations",
            json={
                "locationId": "loc_1",
                "startTime": "2026-06-25T16:00:00.000Z",
                "partySize": 2,
                "guest": GUEST,
            },
        )
    ).json()["reservation"]
    await client.delete(f"/reservations/{res['id']}")
    await state.drain_webhooks()

    assert [h["x-webhook-event"] for h, _ in received] == [
        "reservation.created",
        "reservation.cancelled",
    ]
    headers, raw = received[0]
    # Verification exactly as documented (WH): HMAC-SHA256 of "{t}.{raw body}".
    parts = dict(p.split("=", 1) for p in headers["x-webhook-signature"].split(","))
    expected = hmac.new(b"whsec_test", f"{parts['t']}.".encode() + raw, hashlib.sha256)
    assert hmac.compare_digest(parts["v1"], expected.hexdigest())
    assert abs(int(parts["t"]) - state.now().timestamp()) < 300
    event = json.loads(raw)
    assert event["id"].startswith("evt_") and event["type"] == "reservation.created"
    assert event["data"] == {
        "reservationId": res["id"],
        "publicReference": res["publicReference"],
        "status": "confirmed",
        "startTime": "2026-06-25T16:00:00.000Z",
        "endTime": "2026-06-25T18:00:00.000Z",
        "partySize": 2,
        "tableIds": res["tableIds"],
        "guest": {"firstName": "Mara", "lastName": "Schneider"},
    }
    assert [d["status"] for d in state.deliveries] == ["delivered", "delivered"]

    tested = await client.post(
        "/restaurants/rst_1/webhooks/test", json={"eventType": "waitlist.created"}
    )
    assert tested.status_code == 202
    assert tested.json() == {
        "deliveries": [{"webhookId": "wh_1", "status": "delivered", "responseCode": 204}]
    }
    assert received[-1][0]["x-webhook-event"] == "waitlist.created"


def test_demo_upstreams() -> None:
    configs = demo_upstreams("http://127.0.0.1:9001/")
    assert [(c.name, c.kind, c.base_url, dict(c.options)) for c in configs] == [
        (
            "vardvik-berlin",
            "vardvik",
            "http://127.0.0.1:9001/api/v1",
            {"restaurant_ids": ["rst_1"]},
        ),
        ("vardvik-oslo", "vardvik", "http://127.0.0.1:9001/api/v1", {"restaurant_ids": ["rst_2"]}),
    ]
    assert configs[0].credentials == {"api_key": Secret("demo-key")}
    assert DEMO_OPTIONS == {"rate_limit_per_minute": 600}
    assert create_app(0, **DEMO_OPTIONS)[VARDVIK_STATE].rate_limit_per_minute == 600


def test_seed_is_deterministic() -> None:
    clock = Clock(datetime(2026, 6, 10, 8, tzinfo=UTC))
    one, two = (create_app(7, clock=clock)[VARDVIK_STATE] for _ in range(2))
    assert [(r.id, r.start, r.table_ids) for r in one.reservations.values()] == [
        (r.id, r.start, r.table_ids) for r in two.reservations.values()
    ]
    assert one.reservation_count() > 50
