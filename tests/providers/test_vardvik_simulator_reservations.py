"""Vardvik simulator: create (policy, idempotency, concurrency), PATCH, DELETE, list."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from tests.providers.vardvik_sim import Sim


def _body(start: str = "2026-06-25T16:00:00.000Z", party: int = 4, **extra: Any) -> dict[str, Any]:
    # Shape from the documents' create example (RS/OV): locationId, startTime, partySize, guest.
    return {
        "locationId": "loc_1",
        "startTime": start,
        "partySize": party,
        "guest": {"firstName": "Mara", "lastName": "Schneider", "email": "mara@example.com"},
        **extra,
    }


async def _create(client: httpx.AsyncClient, **kw: Any) -> dict[str, Any]:
    response = await client.post("/restaurants/rst_1/reservations", json=_body(**kw))
    assert response.status_code == 201, response.text
    reservation: dict[str, Any] = response.json()["reservation"]
    return reservation


async def test_created_reservation_shape(sim: Sim) -> None:
    client, state = await sim()
    res = await _create(client, specialRequests="Window seat, please")
    assert res["id"].startswith("res_") and res["publicReference"].startswith("rr_")
    assert len(res["publicReference"]) == 9
    guest = res.pop("guest")
    assert guest["id"].startswith("gst_")
    assert guest | {"id": "x"} == {
        "id": "x",
        "firstName": "Mara",
        "lastName": "Schneider",
        "email": "mara@example.com",
        "phone": None,
    }
    assert {
        k: res[k]
        for k in (
            "restaurantId",
            "locationId",
            "status",
            "startTime",
            "endTime",
            "partySize",
            "specialRequests",
            "source",
        )
    } == {
        "restaurantId": "rst_1",
        "locationId": "loc_1",
        "status": "confirmed",
        "startTime": "2026-06-25T16:00:00.000Z",
        "endTime": "2026-06-25T18:00:00.000Z",
        "partySize": 4,
        "specialRequests": "Window seat, please",
        "source": "api",
    }
    # The simulator clock keeps running from NOW, so compare to the minute.
    assert res["createdAt"].startswith("2026-06-10T08:00:") and res["createdAt"].endswith("Z")
    by_ref = await client.get(f"/reservations/{res['publicReference']}")
    assert by_ref.json()["reservation"]["id"] == res["id"]
    assert state.guests[guest["id"]].email == "mara@example.com"


async def test_idempotent_replay_and_key_reuse(sim: Sim) -> None:
    client, state = await sim()
    before = state.reservation_count()
    headers = {"Idempotency-Key": "order-84421"}  # the quickstart's key (OV)
    first = await client.post("/restaurants/rst_1/reservations", json=_body(), headers=headers)
    again = await client.post("/restaurants/rst_1/reservations", json=_body(), headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.content == first.content
    assert state.reservation_count() == before + 1
    other = await client.post(
        "/restaurants/rst_1/reservations", json=_body(party=2), headers=headers
    )
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    assert state.reservation_count() == before + 1


async def test_idempotency_records_expire_after_24_hours(sim: Sim) -> None:
    client, state = await sim()
    headers = {"Idempotency-Key": "order-84421"}
    first = await client.post("/restaurants/rst_1/reservations", json=_body(), headers=headers)
    state.clock.advance(24 * 3600 + 1)
    later = await client.post("/restaurants/rst_1/reservations", json=_body(), headers=headers)
    assert later.status_code == 201
    assert later.json()["reservation"]["id"] != first.json()["reservation"]["id"]


async def test_idempotency_keys_are_scoped_per_api_key(sim: Sim) -> None:
    client, _ = await sim()
    headers = {"Idempotency-Key": "shared", "Authorization": "Bearer mitte-key"}
    mine = await client.post(
        "/restaurants/rst_1/reservations", json=_body(), headers={"Idempotency-Key": "shared"}
    )
    theirs = await client.post("/restaurants/rst_1/reservations", json=_body(), headers=headers)
    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert mine.json()["reservation"]["id"] != theirs.json()["reservation"]["id"]


async def test_concurrent_creates_for_the_last_table(sim: Sim) -> None:
    client, state = await sim()
    state.set_tables("loc_1", [("t-01", 4, "main")])
    responses = await asyncio.gather(
        *(
            client.post(
                "/restaurants/rst_1/reservations",
                json=_body(),
                headers={"Idempotency-Key": f"k{i}"},
            )
            for i in range(3)
        )
    )
    assert sorted(r.status_code for r in responses) == [201, 409, 409]


async def test_concurrent_creates_with_one_key_book_once(sim: Sim) -> None:
    client, state = await sim()
    before = state.reservation_count()
    responses = await asyncio.gather(
        *(
            client.post(
                "/restaurants/rst_1/reservations", json=_body(), headers={"Idempotency-Key": "same"}
            )
            for _ in range(5)
        )
    )
    assert [r.status_code for r in responses] == [201] * 5
    assert len({r.json()["reservation"]["id"] for r in responses}) == 1
    assert state.reservation_count() == before + 1


@pytest.mark.parametrize(
    ("body", "status", "code", "details"),
    [
        (
            _body(start="2026-06-10T08:10:00.000Z"),
            422,
            "outside_policy",
            {"rule": "minLeadTimeMinutes", "limit": 30},
        ),
        (
            _body(start="2026-09-30T16:00:00.000Z"),
            422,
            "outside_policy",
            {"rule": "maxAdvanceBookingDays", "limit": 90},
        ),
        (_body(party=13), 422, "outside_policy", {"rule": "maxPartySize", "limit": 12}),
        (_body(party=31), 400, "validation_error", {"field": "partySize"}),
        (_body(start="2026-06-25T18:00:00"), 400, "validation_error", {"field": "startTime"}),
        (
            {**_body(), "guest": {"firstName": "Mara", "lastName": "S"}},
            400,
            "validation_error",
            {"field": "guest.email"},
        ),
        (_body(start="2026-06-25T01:00:00.000Z"), 409, "slot_unavailable", {"reason": "closed"}),
        (_body(start="2026-06-22T16:00:00.000Z"), 409, "slot_unavailable", {"reason": "closed"}),
    ],
)
async def test_create_rejections(
    sim: Sim, body: dict[str, Any], status: int, code: str, details: dict[str, Any]
) -> None:
    client, state = await sim()
    before = state.reservation_count()
    response = await client.post("/restaurants/rst_1/reservations", json=body)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["details"] == details
    assert state.reservation_count() == before


async def test_taken_slot_is_409(sim: Sim) -> None:
    client, state = await sim()
    state.set_tables("loc_1", [("t-01", 4, "main")])
    await _create(client)
    response = await client.post(
        "/restaurants/rst_1/reservations", json=_body(start="2026-06-25T16:30:00.000Z", party=2)
    )
    assert response.status_code == 409
    assert response.json()["error"] == {
        "code": "slot_unavailable",
        "message": "the requested slot is not available",
        "details": {"reason": "no_table"},
    }


async def test_status_moves(sim: Sim) -> None:
    client, _ = await sim()
    res = await _create(client)
    url = f"/reservations/{res['id']}"
    bad = await client.patch(url, json={"status": "completed"})
    assert bad.status_code == 409
    assert bad.json()["error"]["code"] == "invalid_transition"
    assert bad.json()["error"]["details"] == {"from": "confirmed", "to": "completed"}
    for status in ("seated", "completed"):
        moved = await client.patch(url, json={"status": status})
        assert moved.status_code == 200
        assert moved.json()["reservation"]["status"] == status
    back = await client.patch(url, json={"status": "confirmed"})
    assert back.json()["error"]["code"] == "invalid_transition"
    cancel = await client.delete(url)
    assert cancel.status_code == 409
    assert cancel.json()["error"]["code"] == "invalid_state"


async def test_pending_cannot_be_seated(sim: Sim) -> None:
    client, state = await sim()
    res = state.add_reservation(
        "rst_1", "loc_1", datetime(2026, 6, 25, 16, tzinfo=UTC), 2, status="pending"
    )
    response = await client.patch(
        f"/reservations/{res.public_reference}", json={"status": "seated"}
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "invalid_transition"
    ok = await client.patch(f"/reservations/{res.id}", json={"status": "confirmed"})
    assert ok.json()["reservation"]["status"] == "confirmed"


async def test_delete_twice_returns_the_same_cancelled_booking(sim: Sim) -> None:
    client, state = await sim()
    res = await _create(client)
    state.clock.advance(60)
    first = await client.delete(
        f"/reservations/{res['publicReference']}", params={"reason": "Guest called"}
    )
    assert first.status_code == 200
    assert first.json()["reservation"]["status"] == "cancelled"
    assert first.json()["reservation"]["updatedAt"].startswith("2026-06-10T08:01:")
    state.clock.advance(60)
    second = await client.delete(f"/reservations/{res['id']}")
    assert second.status_code == 200
    assert second.json() == first.json()
    assert state.reservations[res["id"]].cancel_reason == "Guest called"
    missing = await client.delete("/reservations/res_00000000")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"


async def test_reschedule_into_full_slot_is_409_and_unchanged(sim: Sim) -> None:
    client, state = await sim()
    state.set_tables("loc_1", [("t-01", 4, "main")])
    await _create(client)
    later = await _create(client, start="2026-06-25T19:00:00.000Z", party=2)
    url = f"/reservations/{later['id']}"
    clash = await client.patch(url, json={"startTime": "2026-06-25T16:30:00.000Z"})
    assert clash.status_code == 409
    assert clash.json()["error"]["code"] == "slot_unavailable"
    assert (await client.get(url)).json()["reservation"] == later
    moved = await client.patch(url, json={"startTime": "2026-06-25T18:30:00.000Z", "partySize": 3})
    assert moved.status_code == 200
    assert {
        k: moved.json()["reservation"][k] for k in ("startTime", "endTime", "partySize", "tableIds")
    } == {
        "startTime": "2026-06-25T18:30:00.000Z",
        "endTime": "2026-06-25T20:30:00.000Z",
        "partySize": 3,
        "tableIds": ["t-01"],
    }


async def test_reschedule_disabled_is_422(sim: Sim) -> None:
    client, state = await sim()
    res = state.add_reservation("rst_2", "loc_3", datetime(2026, 6, 25, 16, tzinfo=UTC), 2)
    response = await client.patch(f"/reservations/{res.id}", json={"partySize": 3})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "feature_disabled"
    assert state.reservations[res.id].party_size == 2
    status_only = await client.patch(f"/reservations/{res.id}", json={"status": "seated"})
    assert status_only.status_code == 200
    state.set_feature("rst_2", "reservationChanges", True)
    allowed = await client.patch(f"/reservations/{res.id}", json={"tableIds": ["t-01"]})
    assert allowed.json()["reservation"]["tableIds"] == ["t-01"]


async def test_list_filters_and_orders_newest_first(sim: Sim) -> None:
    client, state = await sim()
    a = await _create(client, start="2026-06-25T10:00:00.000Z", party=2)
    b = await _create(client, start="2026-06-25T17:00:00.000Z", party=2)
    await client.delete(f"/reservations/{a['id']}")
    listed = (
        await client.get(
            "/restaurants/rst_1/reservations", params={"locationId": "loc_1", "date": "2026-06-25"}
        )
    ).json()
    assert [r["id"] for r in listed["reservations"]] == [b["id"], a["id"]]
    cancelled = (
        await client.get(
            "/restaurants/rst_1/reservations", params={"date": "2026-06-25", "status": "cancelled"}
        )
    ).json()
    assert [r["id"] for r in cancelled["reservations"]] == [a["id"]]
    everything = (await client.get("/restaurants/rst_1/reservations")).json()["reservations"]
    assert len(everything) == min(200, state.reservation_count("rst_1"))
    bad = await client.get("/restaurants/rst_1/reservations", params={"status": "booked"})
    assert bad.json()["error"]["details"] == {"field": "status"}


async def test_other_restaurants_reservations_are_404(sim: Sim) -> None:
    client, state = await sim("mitte-key")  # rst_1 only, bound to loc_1
    oslo = state.add_reservation("rst_2", "loc_3", datetime(2026, 6, 25, 16, tzinfo=UTC), 2)
    kreuzberg = state.add_reservation("rst_1", "loc_2", datetime(2026, 6, 25, 17, tzinfo=UTC), 2)
    for res in (oslo, kreuzberg):
        response = await client.get(f"/reservations/{res.public_reference}")
        assert response.status_code == 404
    # A location-bound key may omit locationId.
    body = _body()
    del body["locationId"]
    created = await client.post("/restaurants/rst_1/reservations", json=body)
    assert created.json()["reservation"]["locationId"] == "loc_1"
