"""The LibreBooking simulator answers as the real server does where the two used to differ.

Every expected answer below was observed on the real server (``up.sh``, LibreBooking 2.9 on
PHP 8.2) and is recorded, request and response, in ``docs/librebooking-real-server.md`` —
the section named in each test's docstring.
"""

from __future__ import annotations

from datetime import time

from tablegraph.simulators.librebooking import LibreBookingState
from tablegraph.simulators.librebooking.state import Attribute
from tests.providers.librebooking_support import MakeRig
from tests.providers.test_librebooking_simulator import _body, _client

# CAPTURE_TIME is 2026-11-21 14:23 in New York; the 23rd is two days ahead.
DAY = "2026-11-23"


def _evening(state: LibreBookingState) -> None:
    state.add_schedule("Evening Test", "America/New_York", time(17), time(22))
    state.add_resource(3, "T2", 2)
    state.add_resource(
        3,
        "Rules",
        4,
        min_notice_minutes=3 * 24 * 60,
        buffer_minutes=60,
        max_notice_minutes=20 * 24 * 60,
    )
    state.add_resource(3, "T8", 8, requires_approval=True)


def _ids(state: LibreBookingState) -> tuple[int, int, int]:
    t2, rules, t8 = sorted(state.resources)[-3:]
    return t2, rules, t8


async def test_plain_user_in_the_past_is_refused_admin_is_not(make_rig: MakeRig) -> None:
    """§ Past starts."""
    rig = await make_rig(setup=_evening)
    t2, _, _ = _ids(rig.state)
    past = _body(t2, "2026-11-20T17:00:00-0500", "2026-11-20T18:00:00-0500")
    async with await _client(rig, "user") as user, await _client(rig) as admin:
        refused = await user.post("Reservations/", json=past)
        allowed = await admin.post("Reservations/", json=past)
    assert refused.status_code == 400
    assert refused.json()["errors"] == ["The start date and time cannot be in the past."]
    assert allowed.status_code == 201


async def test_notice_advance_limit_and_buffer_hold_plain_users_only(make_rig: MakeRig) -> None:
    """§ Minimum notice, maximum notice, buffers."""
    rig = await make_rig(setup=_evening)
    _, rules, _ = _ids(rig.state)
    async with await _client(rig, "user") as user, await _client(rig) as admin:
        soon = _body(rules, f"{DAY}T17:00:00-0500", f"{DAY}T18:00:00-0500")
        too_soon = await user.post("Reservations/", json=soon)
        far = _body(rules, "2026-12-20T17:00:00-0500", "2026-12-20T18:00:00-0500")
        too_far = await user.post("Reservations/", json=far)
        assert (await admin.post("Reservations/", json=soon)).status_code == 201
        assert (await admin.post("Reservations/", json=far)).status_code == 201
        first = _body(rules, "2026-11-30T17:00:00-0500", "2026-11-30T18:00:00-0500")
        assert (await user.post("Reservations/", json=first)).status_code == 201
        near = _body(rules, "2026-11-30T18:30:00-0500", "2026-11-30T19:30:00-0500")
        buffered = await user.post("Reservations/", json=near)
        admin_near = await admin.post("Reservations/", json=near)
        resource = (await admin.get(f"Resources/{rules}")).json()
    assert too_soon.status_code == 400
    assert too_soon.json()["errors"] == [
        "This reservation requires advance notice. The earliest date and time that can be "
        "reserved is 11/24/2026 02:23:28 PM."
    ]
    assert too_far.json()["errors"] == [
        "This reservation cannot be made this far in the future. The latest date and time "
        "that can be reserved is 12/11/2026 02:23:00 PM."
    ]
    assert buffered.json()["errors"] == [
        "There are conflicting reservations on the following dates:\n11/30/2026 - Rules\n"
    ]
    assert admin_near.status_code == 201
    assert (resource["minNoticeAdd"], resource["bufferTime"], resource["maxNotice"]) == (
        "3d0h0m",
        "0d1h0m",
        "20d0h0m",
    )


async def test_a_buffer_is_one_merged_non_reservable_slot(make_rig: MakeRig) -> None:
    """§ Buffers in Slots."""
    rig = await make_rig(setup=_evening)
    _, rules, _ = _ids(rig.state)
    async with await _client(rig) as admin:
        created = _body(rules, "2026-11-30T19:00:00-0500", "2026-11-30T20:00:00-0500")
        assert (await admin.post("Reservations/", json=created)).status_code == 201
        slots = (
            await admin.get(
                "Schedules/3/Slots",
                params={
                    "startDateTime": "2026-11-30T00:00:00-0500",
                    "endDateTime": "2026-11-30T23:00:00-0500",
                    "resourceId": str(rules),
                },
            )
        ).json()
    day = slots["dates"][0]["resources"][0]["slots"]
    rows = [
        (s["startDateTime"][11:16], s["endDateTime"][11:16], s["slotSpan"], s["isReserved"])
        for s in day
        if s["startDateTime"][11:13] in {"17", "18", "19", "20"}
    ]
    assert rows == [
        ("17:00", "17:30", 1, False),
        ("17:30", "18:00", 1, False),
        ("18:00", "19:00", 2, False),  # the buffer before
        ("19:00", "20:00", 2, True),
        ("20:00", "21:00", 2, False),  # the buffer after
    ]
    assert [s["isReservable"] for s in day if s["startDateTime"][11:16] == "18:00"] == [False]


async def test_across_days_and_grid_messages(make_rig: MakeRig) -> None:
    """§ Outside opening hours."""
    rig = await make_rig(setup=_evening)
    t2, _, _ = _ids(rig.state)
    late = _body(t2, f"{DAY}T21:30:00-0500", "2026-11-24T00:00:00-0500")
    off_both = _body(t2, f"{DAY}T17:15:00-0500", f"{DAY}T18:45:00-0500")
    until_midnight = _body(t2, f"{DAY}T20:00:00-0500", "2026-11-24T00:00:00-0500")
    async with await _client(rig, "user") as user, await _client(rig) as admin:
        user_late = await user.post("Reservations/", json=late)
        admin_off = await admin.post("Reservations/", json=off_both)
        admin_midnight = await admin.post("Reservations/", json=until_midnight)
    assert user_late.json()["errors"] == ["T2 does not allow reservations across days."]
    assert admin_off.json()["errors"] == [
        "The start date and time requested is not valid.\n"
        "The end date and time requested is not valid.\n"
    ]
    assert admin_midnight.status_code == 201  # an end on a closed period's boundary


async def test_custom_attributes_required_and_invalid(make_rig: MakeRig) -> None:
    """§ Custom attributes."""
    rig = await make_rig(setup=_evening)
    rig.state.attributes[5] = Attribute(5, "Party size", required=True, regex="/^[0-9]+$/")
    t2, _, _ = _ids(rig.state)
    bare = _body(t2, "2026-11-30T17:00:00-0500", "2026-11-30T18:00:00-0500")
    invalid = {**bare, "customAttributes": [{"attributeId": 5, "attributeValue": "lots"}]}
    valid = {**bare, "customAttributes": [{"attributeId": "5", "attributeValue": "4"}]}
    async with await _client(rig, "user") as user, await _client(rig) as admin:
        missing = await user.post("Reservations/", json=bare)
        wrong = await user.post("Reservations/", json=invalid)
        admin_bare = await admin.post("Reservations/", json={**bare, "resourceId": t2 + 1})
        ok = await user.post("Reservations/", json=valid)
    assert missing.status_code == 500
    assert missing.headers["content-type"].startswith("text/html")
    assert "Undefined array key 5" in missing.text
    assert wrong.status_code == 400
    assert wrong.json()["errors"] == [
        "There are problems with the additional attributes you provided:\n"
        "The value provided for Party size is invalid."
    ]
    assert admin_bare.status_code == 201  # administrators are not checked
    assert ok.status_code == 201


async def test_reapproval_is_an_empty_200_and_check_in_is_a_500(make_rig: MakeRig) -> None:
    """§ Approval, check-in."""
    rig = await make_rig(setup=_evening)
    _, _, t8 = _ids(rig.state)
    async with await _client(rig, "user") as user, await _client(rig) as admin:
        body = _body(t8, "2026-11-30T17:00:00-0500", "2026-11-30T18:00:00-0500")
        created = (await user.post("Reservations/", json=body)).json()
        ref = created["referenceNumber"]
        assert created["isPendingApproval"] is True
        first = await admin.post(f"Reservations/{ref}/Approval")
        again = await admin.post(f"Reservations/{ref}/Approval")
        check_in = await admin.post(f"Reservations/{ref}/CheckIn")
        read = (await admin.get(f"Reservations/{ref}")).json()
    assert first.json()["message"] == "The reservation was approved"
    assert again.status_code == 200 and again.content == b""
    assert check_in.status_code == 500 and "ReservationCanBeCheckedInRule" in check_in.text
    assert read["checkInDate"] == "" and read["requiresApproval"] is False


async def test_recurring_reservations_are_separate_reservations(make_rig: MakeRig) -> None:
    """§ Recurring reservations."""
    rig = await make_rig(setup=_evening)
    t2, _, _ = _ids(rig.state)
    rule = {
        "type": "daily",
        "interval": 1,
        "monthlyType": None,
        "weekdays": None,
        "repeatTerminationDate": "2026-12-02T00:00:00-0500",
    }
    body = _body(t2, "2026-11-30T17:00:00-0500", "2026-11-30T18:00:00-0500", recurrenceRule=rule)
    async with await _client(rig, "user") as user, await _client(rig) as admin:
        created = (await user.post("Reservations/", json=body)).json()
        listed = (
            await admin.get(
                "Reservations/",
                params={
                    "startDateTime": "2026-11-29T00:00:00-0500",
                    "endDateTime": "2026-12-04T00:00:00-0500",
                    "resourceId": str(t2),
                },
            )
        ).json()["reservations"]
        second = (await admin.get(f"Reservations/{listed[1]['referenceNumber']}")).json()
    assert [i["startDate"] for i in listed] == [
        "2026-11-30T22:00:00+0000",
        "2026-12-01T22:00:00+0000",
        "2026-12-02T22:00:00+0000",
    ]
    assert listed[0]["referenceNumber"] == created["referenceNumber"]
    assert len({i["referenceNumber"] for i in listed}) == 3
    assert all(i["isRecurring"] is True for i in listed)
    assert second["isRecurring"] is True
    assert second["recurrenceRule"] == {
        "type": "daily",
        "interval": "1",
        "monthlyType": None,
        "weekdays": None,
        "repeatTerminationDate": "2026-12-02T05:00:00+0000",
    }


async def test_users_need_a_timezone_and_an_administrator(make_rig: MakeRig) -> None:
    """§ Creating users."""
    rig = await make_rig()
    user = {
        "password": "Secret123!x",
        "language": "en_us",
        "firstName": "Nu",
        "lastName": "Guest",
        "emailAddress": "nu1@example.com",
        "userName": "nu1@example.com",
        "phone": "+1 555",
        "customAttributes": [],
        "groups": [],
    }
    async with await _client(rig) as admin, await _client(rig, "user") as plain:
        no_zone = await admin.post("Users/", json=user)
        refused = await plain.post("Users/", json={**user, "timezone": "America/New_York"})
        created = await admin.post("Users/", json={**user, "timezone": "America/New_York"})
    assert no_zone.status_code == 500 and "trim(): Passing null" in no_zone.text
    assert refused.status_code == 401
    assert refused.text.startswith("You must be authenticated")
    assert created.status_code == 201 and isinstance(created.json()["userId"], int)
