"""GraphQL booking flows through the whole gateway against the real LibreBooking server, with
the administrator and with a plain user as the API account. Each test books on its own fresh
day (``day``), so tests never see each other's reservations."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import date

import pytest

from tablegraph import ids

from ..graphql.conftest import Api, start_gateway
from ..graphql.helpers import AVAILABILITY, BOOKINGS, CANCEL, CREATE, RESCHEDULE
from . import server as real
from .conftest import upstream_config
from .server import Server

UPSTREAM = "librebooking-real"
RESTAURANT = ids.encode("Restaurant", UPSTREAM, "1")
READ = """query($id: ID!) { booking(id: $id) {
  id reference status start end partySize tables guest { id firstName lastName email } } }"""


@pytest.fixture
async def api(real_server: Server, account: str) -> AsyncIterator[Api]:
    runner, client = await start_gateway([upstream_config(real_server, account)])
    yield client
    await client.http.aclose()
    await runner.cleanup()


def _guest(email: str | None = None) -> dict[str, str]:
    out = {"firstName": "Real", "lastName": f"Guest{uuid.uuid4().hex[:6]}"}
    if email is not None:
        out["email"] = email
    return out


def _new_email() -> str:
    return f"real+{uuid.uuid4().hex[:10]}@example.com"


async def _slots(api: Api, day: date, party: int = 2) -> list[dict]:
    variables = {"ids": [RESTAURANT], "date": day.isoformat(), "party": party}
    data = await api.data(AVAILABILITY, variables)
    slots: list[dict] = data["availability"][0]["slots"]
    return slots


async def _create(
    api: Api, start: str, *, party: int = 2, guest: dict | None = None, key: str | None = None
) -> dict:
    payload = {
        "restaurantId": RESTAURANT,
        "start": start,
        "partySize": party,
        "guest": guest or _guest(_new_email()),
        "idempotencyKey": key or f"real-{uuid.uuid4()}",
    }
    data = await api.data(CREATE, {"input": payload})
    result: dict = data["createBooking"]
    return result


async def test_availability_is_the_schedule_in_new_york(api: Api, day: date) -> None:
    slots = await _slots(api, day)
    starts = [s["start"] for s in slots]
    offset = starts[0][-6:]
    assert offset in {"-05:00", "-04:00"}
    assert starts[0] == f"{day}T11:00:00{offset}"
    # two-hour bookings, reservable until 23:00: the last start is 21:00
    assert starts[-1] == f"{day}T21:00:00{offset}"
    assert len(starts) == 21
    assert slots[0]["end"] == f"{day}T13:00:00{offset}"


async def test_create_for_a_new_guest_then_read_and_list(api: Api, day: date, account: str) -> None:
    start = (await _slots(api, day))[4]["start"]
    email = _new_email()
    guest = _guest(email)
    result = await _create(api, start, guest=guest)
    assert result["userErrors"] == []
    booking = result["booking"]
    assert booking["start"] == start and booking["status"] == "CONFIRMED"
    assert booking["partySize"] == 2
    assert booking["guest"]["firstName"] == guest["firstName"]
    assert booking["guest"]["lastName"] == guest["lastName"]
    if account == "admin":  # only an administrator can create the guest's LibreBooking user
        assert booking["guest"]["email"] == email

    read = (await api.data(READ, {"id": booking["id"]}))["booking"]
    assert read["start"] == start and read["reference"] == booking["reference"]
    assert read["guest"]["lastName"] == guest["lastName"]
    listed = await api.data(BOOKINGS, {"rid": RESTAURANT, "date": day.isoformat(), "first": 50})
    assert [n["id"] for n in listed["bookings"]["nodes"]] == [booking["id"]]


async def test_create_for_a_known_guest_books_under_that_guest(api: Api, day: date) -> None:
    slots = await _slots(api, day)
    known = {"firstName": "User", "lastName": "User", "email": "user@example.com"}
    first = await _create(api, slots[0]["start"], guest=known)
    second = await _create(api, slots[6]["start"], guest=known)
    assert first["userErrors"] == second["userErrors"] == []
    assert first["booking"]["guest"]["email"] == "user@example.com"
    one = (await api.data(READ, {"id": first["booking"]["id"]}))["booking"]["guest"]
    two = (await api.data(READ, {"id": second["booking"]["id"]}))["booking"]["guest"]
    assert one["email"] == two["email"] == "user@example.com"
    assert one["lastName"] == two["lastName"] == "User"


async def test_reschedule_moves_the_booking(api: Api, day: date) -> None:
    slots = await _slots(api, day)
    booking = (await _create(api, slots[0]["start"]))["booking"]
    moved = await api.data(
        RESCHEDULE,
        {"input": {"bookingId": booking["id"], "start": slots[8]["start"], "partySize": 3}},
    )
    assert moved["rescheduleBooking"]["userErrors"] == []
    assert moved["rescheduleBooking"]["booking"]["start"] == slots[8]["start"]
    assert moved["rescheduleBooking"]["booking"]["partySize"] == 3
    read = (await api.data(READ, {"id": booking["id"]}))["booking"]
    assert read["start"] == slots[8]["start"] and read["partySize"] == 3


async def test_cancel_twice_gives_the_same_cancelled_booking(api: Api, day: date) -> None:
    start = (await _slots(api, day))[2]["start"]
    booking = (await _create(api, start))["booking"]
    first = await api.data(CANCEL, {"input": {"bookingId": booking["id"], "reason": "ill"}})
    second = await api.data(CANCEL, {"input": {"bookingId": booking["id"], "reason": "ill"}})
    assert first["cancelBooking"]["userErrors"] == second["cancelBooking"]["userErrors"] == []
    assert first["cancelBooking"]["booking"]["status"] == "CANCELLED"
    assert first["cancelBooking"]["booking"] == second["cancelBooking"]["booking"]
    listed = await api.data(BOOKINGS, {"rid": RESTAURANT, "date": day.isoformat(), "first": 50})
    assert listed["bookings"]["nodes"] == []
    assert start in [s["start"] for s in await _slots(api, day)]


async def test_unknown_booking_id_is_not_found(api: Api) -> None:
    unknown = ids.encode("Booking", UPSTREAM, "6b0000000000000000000000")
    body = await api.query(READ, {"id": unknown})
    assert body["data"]["booking"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["NOT_FOUND"]
    cancelled = await api.data(CANCEL, {"input": {"bookingId": unknown}})
    assert [e["code"] for e in cancelled["cancelBooking"]["userErrors"]] == ["NOT_FOUND"]


@pytest.mark.parametrize("local", ["23:30", "10:00", "19:15", "22:00"])
async def test_a_start_outside_bookable_times_is_outside_policy(
    api: Api, day: date, local: str
) -> None:
    offset = (await _slots(api, day))[0]["start"][-6:]
    result = await _create(api, f"{day}T{local}:00{offset}")
    assert result["booking"] is None
    errors = [(e["code"], e["field"]) for e in result["userErrors"]]
    assert errors == [("OUTSIDE_POLICY", ["input", "start"])]


async def test_a_taken_slot_is_slot_unavailable(api: Api, day: date) -> None:
    start = (await _slots(api, day, party=6))[3]["start"]
    first = await _create(api, start, party=6)  # the one six-seat table
    assert first["userErrors"] == []
    second = await _create(api, start, party=6)
    assert second["booking"] is None
    assert [e["code"] for e in second["userErrors"]] == ["SLOT_UNAVAILABLE"]
    assert start not in [s["start"] for s in await _slots(api, day, party=6)]


async def test_the_same_idempotency_key_twice_makes_one_reservation(
    api: Api, real_server: Server, day: date
) -> None:
    start = (await _slots(api, day))[5]["start"]
    key = f"real-replay-{uuid.uuid4()}"
    guest = _guest(_new_email())
    first = await _create(api, start, guest=guest, key=key)
    second = await _create(api, start, guest=guest, key=key)
    assert first["userErrors"] == [] and first == second
    listed = await api.data(BOOKINGS, {"rid": RESTAURANT, "date": day.isoformat(), "first": 50})
    assert len(listed["bookings"]["nodes"]) == 1


async def test_an_expired_session_is_renewed_and_the_call_succeeds(api: Api, day: date) -> None:
    await _slots(api, day)  # logged in
    real.expire_sessions()
    start = (await _slots(api, day))[1]["start"]
    result = await _create(api, start)
    assert result["userErrors"] == []
    assert result["booking"]["status"] == "CONFIRMED"
