"""Issue 2: create, idempotency, reschedule, cancel — through GraphQL, against the simulator."""

from __future__ import annotations

from datetime import datetime

from tablegraph import ids

from .conftest import Api, Sim
from .helpers import (
    AVAILABILITY,
    BERLIN_MITTE,
    BOOKINGS,
    CANCEL,
    CREATE,
    OSLO,
    RESCHEDULE,
    guest,
    quiet_weekday,
)


def _single_table(sim: Sim) -> None:
    """Give Berlin Mitte one four-seat table, so one booking fills a slot."""
    sim.state.set_tables("loc_1", [("t-solo", 4, "main")])


async def _slots(api: Api, day: str, party: int = 2) -> list[dict]:
    data = await api.data(AVAILABILITY, {"ids": [BERLIN_MITTE], "date": day, "party": party})
    return data["availability"][0]["slots"]


async def _create(api: Api, start: str, n: int = 0, key: str | None = None) -> dict:
    payload = {"restaurantId": BERLIN_MITTE, "start": start, "partySize": 2, "guest": guest(n)}
    if key:
        payload["idempotencyKey"] = key
    data = await api.data(CREATE, {"input": payload})
    return data["createBooking"]


async def test_create_shows_in_bookings_and_takes_the_slot(api: Api, sim: Sim) -> None:
    _single_table(sim)
    day = quiet_weekday().isoformat()
    before = await _slots(api, day)
    chosen = before[len(before) // 2]["start"]
    result = await _create(api, chosen)
    assert result["userErrors"] == []
    booking = result["booking"]
    assert booking["start"] == chosen and booking["status"] == "CONFIRMED"
    assert booking["providerStatus"] == "confirmed"
    assert booking["guest"]["email"] == "ada0@example.com"
    assert booking["restaurant"]["name"].startswith("Atelier Lindenhof")

    listed = await api.data(BOOKINGS, {"rid": BERLIN_MITTE, "date": day, "first": 100})
    assert booking["id"] in [n["id"] for n in listed["bookings"]["nodes"]]
    after = await _slots(api, day)  # served fresh: the write dropped the cached day
    assert chosen not in [s["start"] for s in after]
    assert len(after) < len(before)


async def test_same_idempotency_key_twice_makes_one_reservation(api: Api, sim: Sim) -> None:
    day = quiet_weekday().isoformat()
    start = (await _slots(api, day))[0]["start"]
    count = sim.state.reservation_count()
    first = await _create(api, start, key="order-84421")
    second = await _create(api, start, key="order-84421")
    assert first["booking"]["id"] == second["booking"]["id"]
    assert first == second
    assert sim.state.reservation_count() == count + 1
    # The same key with a different request is refused, and books nothing.
    other = await _create(api, start, n=9, key="order-84421")
    assert [e["code"] for e in other["userErrors"]] == ["IDEMPOTENCY_KEY_REUSED"]
    assert other["booking"] is None
    assert sim.state.reservation_count() == count + 1


async def test_reschedule_into_a_full_slot_is_refused_and_changes_nothing(
    api: Api, sim: Sim
) -> None:
    _single_table(sim)
    day = quiet_weekday().isoformat()
    slots = await _slots(api, day)
    early, late = slots[0]["start"], slots[-1]["start"]
    await _create(api, early, n=1)
    mine = (await _create(api, late, n=2))["booking"]
    moved = await api.data(RESCHEDULE, {"input": {"bookingId": mine["id"], "start": early}})
    assert [e["code"] for e in moved["rescheduleBooking"]["userErrors"]] == ["SLOT_UNAVAILABLE"]
    assert moved["rescheduleBooking"]["booking"] is None
    again = await api.data("query($id: ID!) { booking(id: $id) { start } }", {"id": mine["id"]})
    assert again["booking"]["start"] == late


async def test_reschedule_to_a_free_slot_moves_the_booking(api: Api, sim: Sim) -> None:
    day = quiet_weekday().isoformat()
    slots = await _slots(api, day)
    mine = (await _create(api, slots[0]["start"], n=3))["booking"]
    moved = await api.data(
        RESCHEDULE, {"input": {"bookingId": mine["id"], "start": slots[1]["start"], "partySize": 3}}
    )
    assert moved["rescheduleBooking"]["userErrors"] == []
    assert moved["rescheduleBooking"]["booking"]["start"] == slots[1]["start"]
    assert moved["rescheduleBooking"]["booking"]["partySize"] == 3


async def test_reschedule_where_the_restaurant_forbids_changes_is_not_supported(
    api: Api, sim: Sim
) -> None:
    data = await api.data("query($id: ID!) { restaurant(id: $id) { capabilities } }", {"id": OSLO})
    assert "BOOKING_RESCHEDULE" not in data["restaurant"]["capabilities"]
    res = sim.state.add_reservation(
        "rst_2",
        "loc_3",
        datetime.fromisoformat(f"{quiet_weekday('Europe/Oslo')}T17:00:00+00:00"),
        2,
    )
    booking_id = ids.encode("Booking", "vardvik-oslo", res.id)
    out = await api.data(
        RESCHEDULE,
        {"input": {"bookingId": booking_id, "partySize": 3}},
    )
    assert [e["code"] for e in out["rescheduleBooking"]["userErrors"]] == ["NOT_SUPPORTED"]


async def test_cancel_twice_returns_the_same_cancelled_booking(api: Api, sim: Sim) -> None:
    day = quiet_weekday().isoformat()
    start = (await _slots(api, day))[2]["start"]
    booking = (await _create(api, start, n=4))["booking"]
    first = await api.data(CANCEL, {"input": {"bookingId": booking["id"], "reason": "ill"}})
    second = await api.data(CANCEL, {"input": {"bookingId": booking["id"], "reason": "ill"}})
    assert first["cancelBooking"]["userErrors"] == second["cancelBooking"]["userErrors"] == []
    assert first["cancelBooking"]["booking"] == second["cancelBooking"]["booking"]
    assert first["cancelBooking"]["booking"]["status"] == "CANCELLED"
    assert sim.state.find_reservation(ids.decode(booking["id"]).native_id).status == "cancelled"


async def test_cancel_of_an_unknown_booking_is_not_found_with_one_request(
    api: Api, sim: Sim
) -> None:
    """Vardvik's cancel reads nothing first (``cancel_answers_booking``): its 404 is the
    answer, the same ``NOT_FOUND`` as where the gateway reads before it cancels."""
    route = "{} /api/v1/reservations/{{idOrPublicReference}}"
    before = sim.count()
    booking_id = ids.encode("Booking", "vardvik-berlin", "res_does_not_exist")
    out = await api.data(CANCEL, {"input": {"bookingId": booking_id}})
    assert out["cancelBooking"]["booking"] is None
    assert [e["code"] for e in out["cancelBooking"]["userErrors"]] == ["NOT_FOUND"]
    assert sim.count() - before == 1
    assert (sim.count(route.format("DELETE")), sim.count(route.format("GET"))) == (1, 0)


async def test_cancel_of_a_completed_booking_is_a_user_error(api: Api, sim: Sim) -> None:
    res = sim.state.add_reservation(
        "rst_1",
        "loc_1",
        datetime.fromisoformat("2026-11-01T18:00:00+00:00"),
        2,
        status="completed",
    )
    booking_id = ids.encode("Booking", "vardvik-berlin", res.id)
    out = await api.data(CANCEL, {"input": {"bookingId": booking_id}})
    assert out["cancelBooking"]["booking"] is None
    assert [e["code"] for e in out["cancelBooking"]["userErrors"]] == ["NOT_CANCELLABLE"]
    assert sim.state.find_reservation(res.id).status == "completed"


async def test_dashboard_of_fifty_bookings_costs_a_fixed_number_of_requests(
    api: Api, sim: Sim
) -> None:
    day = quiet_weekday()
    for n in range(50):
        sim.state.add_reservation(
            "rst_1",
            "loc_1",
            datetime.fromisoformat(f"{day}T{10 + n % 10:02d}:{(n * 7) % 60:02d}:00+00:00"),
            2,
            email=f"guest{n}@example.com",
            first_name="G",
            last_name=f"N{n}",
        )
    before = sim.count()
    data = await api.data(BOOKINGS, {"rid": BERLIN_MITTE, "date": day.isoformat(), "first": 100})
    nodes = data["bookings"]["nodes"]
    assert len(nodes) == 50
    assert {n["guest"]["email"] for n in nodes} == {f"guest{n}@example.com" for n in range(50)}
    spent = sim.count() - before
    # config (restaurant + zone, cached after) and one reservation list; no call per guest.
    assert spent == 2, sim.app
    assert sim.count("GET /api/v1/restaurants/{restaurantId}/guests") == 0
