"""The resOS simulator speaks the API as documented (seeds/resos-api.txt) and observed
(providers/resos.md)."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator

import httpx
import pytest

from tablegraph.providers.resos import ResosProvider
from tablegraph.settings import parse_settings
from tablegraph.simulators.faults import FAULTS, Fault
from tablegraph.simulators.resos import (
    COPENHAGEN_ID,
    COPENHAGEN_KEY,
    OSLO_KEY,
    RESOS_STATE,
    create_app,
    demo_upstreams,
)

from .resos_support import START, FakeTime

DAY = "2026-06-12"


def basic(key: str, password: str = "") -> dict[str, str]:
    token = base64.b64encode(f"{key}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


@pytest.fixture
async def sim(start_server) -> AsyncIterator[tuple[httpx.AsyncClient, FakeTime, object]]:
    fake = FakeTime()
    app = create_app(0, clock=fake.clock)
    url = await start_server(app)
    async with httpx.AsyncClient(base_url=url + "/v1", headers=basic(COPENHAGEN_KEY)) as c:
        yield c, fake, app


async def test_basic_auth_key_as_user_and_empty_password(sim) -> None:
    client, _, _ = sim
    for headers in ({"Authorization": ""}, basic(COPENHAGEN_KEY, "secret"), basic("nope")):
        r = await client.get("/bookings", headers=headers)
        assert (r.status_code, r.json()) == (401, "Unauthorized")
    assert (await client.get("/healthcheck")).json()["restaurantId"] == COPENHAGEN_ID


async def test_fixed_minute_limit_with_retry_after_in_ms_on_every_response(sim) -> None:
    client, fake, app = sim
    app[RESOS_STATE].rate_limit = 5
    answers = [await client.get("/healthcheck") for _ in range(6)]
    assert [r.status_code for r in answers] == [200] * 5 + [429]
    assert {r.headers["Retry-After"] for r in answers} == {"59000"}  # 08:00:01 → 08:01:00
    fake.clock.advance(59)
    assert (await client.get("/healthcheck")).status_code == 200  # calendar-minute reset


async def test_write_quirks(sim) -> None:
    client, _, app = sim
    body = {"date": DAY, "time": "19:00", "people": 2, "guest": {"name": "Ada Lovelace"}}
    created = await client.post("/bookings", json=body)
    booking_id = created.json()
    assert created.status_code == 200 and isinstance(booking_id, str) and len(booking_id) == 17
    put = await client.put(f"/bookings/{booking_id}", json={"status": "canceled"})
    assert (put.status_code, put.json()) == (200, True)
    stored = app[RESOS_STATE].restaurant(COPENHAGEN_ID).bookings[booking_id]
    assert stored["status"] == "canceled" and stored["canceledAt"]
    assert (await client.patch(f"/bookings/{booking_id}", json={})).status_code == 405
    deleted = await client.delete(f"/bookings/{booking_id}")
    assert deleted.status_code == 400 and isinstance(deleted.json(), str)
    unknown = await client.post("/bookings", json={**body, "customer": "x"})
    assert (unknown.status_code, unknown.json()) == (422, "Unknown key: customer")
    missing = await client.post("/bookings", json={"time": "19:00", "people": 2})
    assert (missing.status_code, missing.json()) == (422, "Missing required parameter: date")
    gone = await client.get("/bookings/doesNotExist12345")
    assert (gone.status_code, gone.json()) == (404, "Not found")


async def test_strict_mode_refuses_a_full_slot(start_server) -> None:
    fake = FakeTime()
    app = create_app(0, clock=fake.clock, strict=True)
    url = await start_server(app)
    state = app[RESOS_STATE]
    cph = state.restaurant(COPENHAGEN_ID)
    cph.bookings.clear()
    body = {"date": DAY, "time": "19:00", "people": 8, "guest": {"name": "Big Party"}}
    async with httpx.AsyncClient(base_url=url + "/v1", headers=basic(COPENHAGEN_KEY)) as c:
        assert (await c.post("/bookings", json=body)).status_code == 200  # the one 6-10 table
        refused = await c.post("/bookings", json=body)
        assert (refused.status_code, refused.json()) == (422, "No available tables")
        state.strict = False  # the lenient default: resOS may accept anyway
        assert (await c.post("/bookings", json=body)).status_code == 200
    assert len(cph.bookings) == 2  # the refused one was not stored


async def test_lists_are_bare_arrays_paged_sorted_and_queryable(sim) -> None:
    client, _, app = sim
    state = app[RESOS_STATE]
    cph = state.restaurant(COPENHAGEN_ID)
    cph.bookings.clear()
    for i, (people, status, source) in enumerate(
        [
            (2, "approved", "google"),
            (4, "approved", "website"),
            (3, "request", "google"),
            (6, "approved", "google-ads"),
        ]
    ):
        state.add_booking(
            cph,
            {
                "date": DAY,
                "time": f"19:{i * 15:02d}",
                "people": people,
                "status": status,
                "source": "other",
                "guest": {"name": "G"},
            },
        )
        list(cph.bookings.values())[-1]["source"] = source
    # Source: seeds/resos-api.txt, "Search expressions" examples.
    r = await client.get("/bookings", params={"customQuery": 'people>2,status:"approved"'})
    assert sorted(b["people"] for b in r.json()) == [4, 6]
    r = await client.get("/bookings", params={"customQuery": 'date<"2026-06-13",source;"google"'})
    assert sorted(b["people"] for b in r.json()) == [2, 3, 6]
    # Source: seeds/resos-api.txt, "Sorting results" (createdAt:1,updatedAt:-1 style).
    r = await client.get("/bookings", params={"sort": "status:-1,people:1", "limit": 2, "skip": 1})
    assert [(b["status"], b["people"]) for b in r.json()] == [("approved", 2), ("approved", 4)]
    r = await client.get("/bookings", params={"limit": 1000})
    assert isinstance(r.json(), list) and len(r.json()) == 4  # capped at 100 anyway


async def test_dropped_create_response_still_stores_the_booking(sim) -> None:
    client, _, app = sim
    state = app[RESOS_STATE]
    before = len(state.restaurant(COPENHAGEN_ID).bookings)
    faults = app[FAULTS]
    faults.add(Fault("drop_response", method="POST", path="^/v1/bookings$", count=1))
    with pytest.raises(httpx.TransportError):
        await client.post(
            "/bookings",
            json={"date": DAY, "time": "19:00", "people": 2, "guest": {"name": "Lost Answer"}},
        )
    assert len(state.restaurant(COPENHAGEN_ID).bookings) == before + 1
    assert faults.faults == []  # count=1: retired after the one drop


async def test_seed_is_deterministic_and_nordic() -> None:
    one = create_app(3, clock=FakeTime().clock)[RESOS_STATE]
    two = create_app(3, clock=FakeTime().clock)[RESOS_STATE]
    assert [sorted(r.bookings) for r in one.restaurants.values()] == [
        sorted(r.bookings) for r in two.restaurants.values()
    ]
    assert {r.timezone for r in one.restaurants.values()} == {"Europe/Copenhagen", "Europe/Oslo"}
    first_day = min(b["date"] for r in one.restaurants.values() for b in r.bookings.values())
    assert first_day >= START.date().isoformat()


def test_demo_upstreams_pass_settings_validation() -> None:
    (config,) = demo_upstreams("http://127.0.0.1:9999")
    assert config.kind == "resos" and config.base_url == "http://127.0.0.1:9999/v1"
    data = {
        "upstreams": [
            {
                "name": config.name,
                "kind": "resos",
                "base_url": config.base_url,
                "credentials": {"key_copenhagen": "RESOS_CPH", "key_oslo": "RESOS_OSLO"},
                "options": dict(config.options),
            }
        ]
    }
    settings = parse_settings(data, {"RESOS_CPH": COPENHAGEN_KEY, "RESOS_OSLO": OSLO_KEY})
    (parsed,) = settings.upstreams
    assert parsed.credentials["key_oslo"].reveal() == OSLO_KEY
    provider = ResosProvider(parsed)
    assert sorted(provider.governors) == ["key_copenhagen", "key_oslo"]


async def test_put_tables_takes_ids_and_stores_table_objects(sim) -> None:
    # Found by the fuzzer: updateBooking(tables: ["t-01"]) on resOS stored the PUT's table ids
    # as they came, and the next availability read crashed the simulator on them
    # ("string indices must be integers").
    client, _, app = sim
    restaurant = app[RESOS_STATE].restaurant(COPENHAGEN_ID)
    body = {"date": DAY, "time": "19:00", "people": 2, "guest": {"name": "Ada Lovelace"}}
    booking_id = (await client.post("/bookings", json=body)).json()
    table = restaurant.tables[0]
    put = await client.put(f"/bookings/{booking_id}", json={"tables": [table.id, "nope"]})
    assert (put.status_code, put.json()) == (200, True)
    assert restaurant.bookings[booking_id]["tables"] == [table.to_json()]
    times = await client.get("/bookingFlow/times", params={"date": DAY, "people": 2})
    assert times.status_code == 200
