"""The LibreBooking simulator's own rules (as shared/providers/librebooking.md records a real
server): slot-boundary validation, approval, soft delete, empty 200s, input dates, seed."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

import httpx

from tablegraph.model import Capability
from tablegraph.providers.librebooking import LibreBookingProvider
from tablegraph.simulators.common import Clock
from tablegraph.simulators.librebooking import (
    LIBREBOOKING_STATE,
    PREFIX,
    LibreBookingState,
    create_app,
    demo_upstreams,
)
from tablegraph.timeutil import UTC, zone
from tests.providers.librebooking_support import CAPTURE_TIME, MakeRig, Rig

NY = zone("America/New_York")


def _body(resource: int, start: str, end: str, **extra: Any) -> dict[str, Any]:
    # The body of capture 041 (reservation_create_ok), with its times and table swapped.
    return {
        "accessories": [],
        "customAttributes": [],
        "description": "",
        "endDateTime": end,
        "invitees": [],
        "participants": [],
        "participatingGuests": [],
        "invitedGuests": [],
        "recurrenceRule": None,
        "resourceId": resource,
        "resources": [],
        "startDateTime": start,
        "title": "Test for 2",
        "userId": None,
        "startReminder": None,
        "endReminder": None,
        "allowParticipation": False,
        "retryParameters": [],
        "termsAccepted": True,
        **extra,
    }


async def _client(rig: Rig, username: str = "admin") -> httpx.AsyncClient:
    session = rig.state.authenticate(username, "password")
    assert session is not None
    return httpx.AsyncClient(
        base_url=rig.url + PREFIX + "/",
        headers={"X-Booked-SessionToken": session.token, "X-Booked-UserId": str(session.user_id)},
    )


def _evening(state: LibreBookingState) -> None:
    state.add_schedule("Evening Test", "America/New_York", time(17), time(22))
    state.add_resource(3, "T2", 2)
    state.add_resource(3, "T8", 8, requires_approval=True)


async def test_start_and_end_must_sit_on_reservable_slot_boundaries(make_rig: MakeRig) -> None:
    rig = await make_rig(setup=_evening)
    t2 = max(rig.state.resources) - 1
    async with await _client(rig) as client:
        off = await client.post(
            "Reservations/", json=_body(t2, "2026-11-23T17:15:00-0500", "2026-11-23T18:00:00-0500")
        )
        closed = await client.post(
            "Reservations/", json=_body(t2, "2026-11-23T21:00:00-0500", "2026-11-23T23:00:00-0500")
        )
        ok = await client.post(
            "Reservations/", json=_body(t2, "2026-11-23T17:00:00-0500", "2026-11-23T19:00:00-0500")
        )
        unknown = await client.post(
            "Reservations/", json=_body(999, "2026-11-23T17:00:00-0500", "2026-11-23T19:00:00-0500")
        )
    assert off.status_code == 400
    assert off.json()["errors"] == ["The start date and time requested is not valid.\n"]
    assert closed.status_code == 400
    assert closed.json()["message"] == "There were errors processing your request"
    assert ok.status_code == 201 and ok.json()["isPendingApproval"] is False
    # docs/librebooking-real-server.md: a numeric id the server does not know
    assert unknown.json()["errors"] == ["There were problems with your reservation request."]


async def test_plain_users_wait_for_approval_admins_never(make_rig: MakeRig) -> None:
    rig = await make_rig(setup=_evening)
    t8 = max(rig.state.resources)
    async with await _client(rig, "user") as client:
        pending = await client.post(
            "Reservations/", json=_body(t8, "2026-11-23T17:00:00-0500", "2026-11-23T19:00:00-0500")
        )
    async with await _client(rig) as client:
        admin = await client.post(
            "Reservations/", json=_body(t8, "2026-11-23T19:00:00-0500", "2026-11-23T21:00:00-0500")
        )
        ref = pending.json()["referenceNumber"]
        before = (await client.get(f"Reservations/{ref}")).json()["requiresApproval"]
        approved = await client.post(f"Reservations/{ref}/Approval")
        after = (await client.get(f"Reservations/{ref}")).json()["requiresApproval"]
    assert pending.json()["isPendingApproval"] is True and before is True
    assert admin.json()["isPendingApproval"] is False
    assert approved.json()["message"] == "The reservation was approved" and after is False


async def test_soft_delete_and_empty_200s_for_unknown_references(make_rig: MakeRig) -> None:
    rig = await make_rig(setup=_evening)
    r = rig.state.add_reservation(
        max(rig.state.resources),
        datetime(2026, 11, 23, 17, tzinfo=NY),
        datetime(2026, 11, 23, 19, tzinfo=NY),
    )
    async with await _client(rig) as client:
        deleted = await client.delete(f"Reservations/{r.ref}")
        gone = await client.get(f"Reservations/{r.ref}")
        again = await client.delete(f"Reservations/{r.ref}")
        update = await client.post(
            f"Reservations/{r.ref}",
            json=_body(1, "2026-11-23T17:00:00-0500", "2026-11-23T19:00:00-0500"),
        )
        approve = await client.post("Reservations/doesnotexist123/Approval")
        no_dates = await client.get("Schedules/3/Slots")
    assert deleted.json() == {"links": [], "message": "The item was deleted"}
    assert gone.status_code == 404
    assert r.ref in rig.state.reservations and rig.state.reservations[r.ref].deleted
    for empty in (again, update, approve, no_dates):
        assert empty.status_code == 200 and empty.content == b""
        assert empty.headers["content-type"].startswith("text/html")


async def test_input_dates_are_read_like_librebooking(make_rig: MakeRig) -> None:
    rig = await make_rig(setup=_evening)
    t2 = max(rig.state.resources) - 1
    async with await _client(rig) as client:
        # "T" without an offset is UTC (22:00Z = 17:00 New York); a space means the user's zone.
        utc = await client.post(
            "Reservations/", json=_body(t2, "2026-11-24T22:00:00", "2026-11-24T23:00:00")
        )
        local = await client.post(
            "Reservations/", json=_body(t2, "2026-11-25 17:00:00", "2026-11-25 18:00:00")
        )
        listed = (
            await client.get(
                "Reservations/",
                params={
                    "startDateTime": "2026-11-24T00:00:00Z",
                    "endDateTime": "2026-11-26T00:00:00Z",
                },
            )
        ).json()
    assert utc.status_code == 201 and local.status_code == 201
    assert [i["startDate"] for i in listed["reservations"]] == [
        "2026-11-24T22:00:00+0000",
        "2026-11-25T22:00:00+0000",
    ]
    assert listed["startDateTime"] == "2026-11-24T00:00:00+0000"


async def test_missing_allow_participation_is_an_html_500(make_rig: MakeRig) -> None:
    rig = await make_rig(setup=_evening)
    body = _body(1, "2026-11-23T17:00:00-0500", "2026-11-23T19:00:00-0500")
    del body["termsAccepted"]
    async with await _client(rig) as client:
        r = await client.post("Reservations/", json=body)
    assert r.status_code == 500 and r.headers["content-type"].startswith("text/html")
    assert "Undefined property: stdClass::$termsAccepted" in r.text


def test_demo_seed_is_deterministic_and_restaurant_shaped() -> None:
    def snapshot(seed: int) -> list[tuple[str, list[int], datetime]]:
        state = create_app(seed, clock=Clock(CAPTURE_TIME))[LIBREBOOKING_STATE]
        return [(r.ref, r.resource_ids, r.start) for r in state.reservations.values()]

    assert snapshot(7) == snapshot(7) and snapshot(7) != snapshot(8)
    state = create_app(0, clock=Clock(CAPTURE_TIME))[LIBREBOOKING_STATE]
    assert sorted(s.timezone for s in state.schedules.values()) == [
        "America/New_York",
        "Europe/Berlin",
    ]
    for schedule in state.schedules.values():
        tables = state.schedule_resources(schedule.id)
        assert 8 <= len(tables) <= 15
        assert all(t.seats is not None and 2 <= t.seats <= 8 for t in tables)
    first_day = min(r.start for r in state.reservations.values())
    assert first_day.astimezone(UTC).date() >= CAPTURE_TIME.date()


async def test_demo_upstreams_and_declared_capabilities(start_server: Any) -> None:
    url = await start_server(create_app(0, clock=Clock(CAPTURE_TIME)))
    [config] = demo_upstreams(url)
    assert (config.name, config.kind) == ("librebooking-nyc", "librebooking")
    provider = LibreBookingProvider(config)
    restaurants = await provider.list_restaurants()
    assert [(r.native_id, r.timezone) for r in restaurants] == [
        ("1", "America/New_York"),
        ("2", "Europe/Berlin"),
    ]
    assert Capability.REVIEWS not in provider.capabilities
    assert Capability.WAITLIST not in provider.capabilities
    from tablegraph.errors import NotSupported

    try:
        await provider.list_reviews("1")
    except NotSupported as exc:
        assert exc.upstream == "librebooking-nyc"
    else:
        raise AssertionError("reviews should not be supported")
    await provider.close()


async def test_resources_availability_is_for_now_only(make_rig: MakeRig) -> None:
    rig = await make_rig(setup=_evening)
    t2 = max(rig.state.resources) - 1
    rig.state.add_reservation(
        t2, datetime(2026, 11, 23, 17, tzinfo=NY), datetime(2026, 11, 23, 19, tzinfo=NY)
    )
    async with await _client(rig) as client:
        # Asking about a busy future time still answers for "now" (observed).
        r = await client.get(
            "Resources/1/Availability",
            params={"resourceId": str(t2), "dateTime": "2026-11-23T18:00:00-0500"},
        )
    [[item]] = r.json()["resources"]
    assert item["resource"]["resourceId"] == str(t2)
    assert item["available"] is True
    assert item["availableUntil"] == "2026-11-23T17:00:00-0500"
