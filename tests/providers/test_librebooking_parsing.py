"""Lenient parsing of what a real LibreBooking 2.9 server sends. Every payload here is a real
response from shared/providers/librebooking-captures/, named in the ``serve`` table or the
comment next to it, served to the adapter through ``httpx.MockTransport``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

import httpx
import pytest

from tablegraph.errors import (
    NotFound,
    OutcomeUnknown,
    SlotUnavailable,
    UpstreamAuthError,
)
from tablegraph.model import BookingQuery, BookingStatus, BookingUpdate, GuestData, NewBooking
from tablegraph.providers.kit import Runtime
from tablegraph.providers.librebooking import LibreBookingProvider
from tablegraph.providers.librebooking.parse import (
    keyed_items,
    people_ids,
    to_bool,
    to_datetime,
    to_int,
    to_minutes,
)
from tablegraph.settings import Secret, UpstreamConfig
from tablegraph.timeutil import local_day_bounds, zone
from tests.providers.librebooking_support import CAPTURE_TIME, capture_body, load_capture

NY = zone("America/New_York")
DAY = date(2026, 11, 23)


@dataclass
class Replay:
    """Serves capture responses by ``(method, path suffix)``; records what was asked."""

    routes: dict[tuple[str, str], str]
    seen: list[str] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/Web/Services/index.php/")
        self.seen.append(f"{request.method} {path}")
        name = self.routes.get((request.method, path))
        if name is None:
            return httpx.Response(599, text="no capture for this request")
        response = load_capture(name)["response"]
        headers = {k: v for k, v in response["headers"].items() if k.lower() == "content-type"}
        body = response["body"]
        if response["body_is_json"]:
            import json

            content = json.dumps(body).encode()
        else:
            content = str(body).encode()
        return httpx.Response(response["status"], headers=headers, content=content)


BASE_ROUTES = {
    ("POST", "Authentication/Authenticate"): "002_auth_admin_ok.json",
    ("GET", "Schedules/1"): "029_schedule_get.json",
    ("GET", "Resources/"): "013_resources_list.json",
    ("GET", "Schedules/1/Slots"): "034_slots_all_resources_day.json",
    ("GET", "Reservations/"): "065_reservations_list_range.json",
    ("GET", "Reservations/6b01efb11e544761693977"): "071_reservation_get.json",
    ("GET", "Reservations/doesnotexist123"): "074_reservation_get_unknown.json",
    ("POST", "Authentication/SignOut"): "132_signout.json",
}


def _provider(replay: Replay, **options: Any) -> LibreBookingProvider:
    return LibreBookingProvider(
        UpstreamConfig(
            name="lb-captured",
            kind="librebooking",
            base_url="http://librebooking.test",
            credentials={"username": Secret("admin"), "password": Secret("password")},
            options={"schedule_ids": ["1"], **options},
        ),
        Runtime(transport=httpx.MockTransport(replay), now=lambda: CAPTURE_TIME),
    )


def test_lenient_scalars_from_the_captures() -> None:
    table = capture_body("013_resources_list")["resources"][2]  # Table 1
    assert to_int(table["maxParticipants"]) == 2  # "2": a string
    assert to_bool(table["requiresApproval"]) is False  # 0: an int
    assert to_bool(table["allowMultiday"]) is False  # "0": a string
    assert to_bool(capture_body("028_schedules_list")["schedules"][0]["isDefault"]) is True  # "1"
    assert to_minutes(table["bufferTime"]) == 0  # ""
    item = capture_body("065_reservations_list_range")["reservations"][0]
    assert to_minutes(item["duration"]) == 60  # "1 hours"
    assert to_datetime(item["checkInDate"]) is None  # ""
    assert to_datetime(item["startDate"]) == datetime(2026, 11, 23, 14, tzinfo=zone("UTC"))  # +0000
    single = capture_body("071_reservation_get")
    assert to_datetime(single["startDate"]) == datetime(2026, 11, 23, 12, tzinfo=NY)  # -0500
    assert [r["name"] for r in keyed_items(single["resources"])] == ["Table 1"]  # an object
    extras = capture_body("065_reservations_list_range")["reservations"][8]
    assert people_ids(extras["participants"]) == ["1"]  # {"1": "User User"}
    assert people_ids(item["participants"]) == []  # []
    assert to_datetime(capture_body("002_auth_admin_ok")["sessionExpires"]) == datetime(
        2026, 11, 21, 19, 53, 28, tzinfo=zone("UTC")
    )


async def test_single_reservation_from_capture_071() -> None:
    provider = _provider(Replay(dict(BASE_ROUTES)))
    [booking] = await provider.get_bookings(["6b01efb11e544761693977"])
    assert booking.start == datetime(2026, 11, 23, 12, tzinfo=NY)
    assert str(booking.start.tzinfo) == "America/New_York"
    assert booking.end - booking.start == timedelta(hours=1)
    assert booking.tables == ("3",)
    assert booking.party_size == 2  # "Lunch for 2"
    assert booking.notes == "window seat"
    assert booking.status is BookingStatus.CONFIRMED  # checkInDate ""
    assert booking.restaurant_id == "1"
    # Owned by the API account itself (admin, userId 2): not the guest (issue 14, item 5) —
    # the guest is whoever the title names, with the reservation's own guest id.
    assert booking.guest_id is None
    assert booking.guest is not None and booking.guest.native_id == "r-6b01efb11e544761693977"
    assert (booking.guest.first_name, booking.guest.email) == ("Lunch", None)
    await provider.close()


async def test_reservation_list_from_capture_065_is_utc_converted() -> None:
    provider = _provider(Replay(dict(BASE_ROUTES)))
    start, end = local_day_bounds(DAY, "America/New_York")
    bookings = {b.native_id: b for b in await provider.list_bookings(BookingQuery("1", start, end))}
    assert len(bookings) == 10
    breakfast = bookings["6b01efb161150394224879"]  # 14:00+0000
    assert breakfast.start == datetime(2026, 11, 23, 9, tzinfo=NY)
    assert str(breakfast.start.tzinfo) == "America/New_York"
    assert breakfast.party_size == 1  # "Weekly breakfast": owner only
    extras = bookings["6b01efb1578a4882192880"]  # participants {"1": "User User"}
    assert extras.party_size == 2 and extras.notes == "birthday"
    assert extras.guest_id is None  # the API account's own reservation: a title guest
    assert bookings["6b01efb11e544761693977"].tables == ("3",)
    assert all(b.status is BookingStatus.CONFIRMED for b in bookings.values())
    await provider.close()


async def test_restaurant_and_opening_hours_from_captures_028_029_013() -> None:
    provider = _provider(Replay(dict(BASE_ROUTES)))
    [restaurant] = await provider.list_restaurants()
    assert (restaurant.name, restaurant.timezone) == ("Default", "America/New_York")
    assert restaurant.policy.max_party_size == 8  # Table 4, "maxParticipants": "8"
    assert restaurant.policy.slot_interval_minutes == 30
    hours = await provider.get_opening_hours("1")
    assert sorted(p.day_of_week for p in hours.weekly) == [1, 2, 3, 4, 5, 6, 7]
    assert {(p.opens, p.closes) for p in hours.weekly} == {(time(8), time(18))}
    await provider.close()


async def test_availability_from_capture_034_slots() -> None:
    provider = _provider(Replay(dict(BASE_ROUTES)))
    slots = await provider.get_availability("1", DAY, 8)  # only "Table 4" seats eight
    assert [s.start.strftime("%H:%M") for s in slots][:3] == ["08:00", "08:30", "09:00"]
    assert slots[-1].start == datetime(2026, 11, 23, 16, tzinfo=NY)  # closes at 18:00
    assert len(slots) == 17 and [a.name for a in slots[0].areas] == ["Main room"]
    assert await provider.get_availability("1", DAY, 9) == []  # conference rooms: no seats
    await provider.close()


async def test_cancel_unknown_never_sends_the_delete() -> None:
    replay = Replay(dict(BASE_ROUTES))
    provider = _provider(replay)
    with pytest.raises(NotFound):
        await provider.cancel_booking("doesnotexist123", None)  # capture 074: 404 JSON
    assert not any(s.startswith("DELETE") for s in replay.seen)
    await provider.close()


async def test_delete_answering_an_empty_200_still_cancels() -> None:
    routes = dict(BASE_ROUTES)
    routes[("DELETE", "Reservations/6b01efb11e544761693977")] = (
        "124_reservation_delete_unknown.json"
    )
    provider = _provider(Replay(routes))
    cancelled = await provider.cancel_booking("6b01efb11e544761693977", None)
    assert cancelled.status is BookingStatus.CANCELLED
    await provider.close()


async def test_approve_answering_an_empty_200_is_not_found() -> None:
    routes = dict(BASE_ROUTES)
    routes[("POST", "Reservations/6b01efb11e544761693977/CheckIn")] = (
        "124_reservation_delete_unknown.json"  # the empty text/html 200 of an unknown ref
    )
    provider = _provider(Replay(routes))
    with pytest.raises(NotFound):
        await provider.update_booking(
            "6b01efb11e544761693977", BookingUpdate(status=BookingStatus.ARRIVED)
        )
    await provider.close()


async def test_html_500_is_never_shown() -> None:
    routes = dict(BASE_ROUTES)
    routes[("POST", "Reservations/")] = "040_reservation_create_minimal_doc_fields.json"
    provider = _provider(Replay(routes))
    request = NewBooking("1", datetime(2026, 11, 23, 9, tzinfo=NY), 2, GuestData("A", "B"), "k")
    with pytest.raises(OutcomeUnknown) as info:
        await provider.create_booking(request)
    text = f"{info.value} {info.value.extensions}"
    assert "Slim" not in text and "stdClass" not in text and "<" not in text
    await provider.close()


async def test_conflict_400_is_slot_unavailable() -> None:
    routes = dict(BASE_ROUTES)
    routes[("POST", "Reservations/")] = "042_reservation_create_overlap.json"
    replay = Replay(routes)
    provider = _provider(replay)
    request = NewBooking("1", datetime(2026, 11, 23, 12, tzinfo=NY), 2, GuestData("A", "B"), "k")
    with pytest.raises(SlotUnavailable) as info:
        await provider.create_booking(request)
    # the server's own reason reaches the client (issue 14)
    assert str(info.value).startswith("There are conflicting reservations")
    assert replay.seen.count("POST Reservations/") == 3  # the three smallest fitting tables
    await provider.close()


async def test_refused_login_from_capture_003() -> None:
    routes = dict(BASE_ROUTES)
    routes[("POST", "Authentication/Authenticate")] = "003_auth_wrong_password.json"
    provider = _provider(Replay(routes))
    [result] = await provider.get_bookings(["6b01efb11e544761693977"])  # per-key failure
    assert isinstance(result, UpstreamAuthError) and result.upstream == "lb-captured"
    with pytest.raises(UpstreamAuthError):
        await provider.list_restaurants()


async def test_html_401_from_capture_009_after_one_renewal() -> None:
    routes = dict(BASE_ROUTES)
    routes[("GET", "Resources/")] = "009_resources_no_token.json"
    replay = Replay(routes)
    provider = _provider(replay)
    with pytest.raises(UpstreamAuthError) as info:
        await provider.get_availability("1", DAY, 2)
    assert "<br/>" not in str(info.value) and "authenticated" not in str(info.value)
    assert replay.seen.count("POST Authentication/Authenticate") == 2  # login + one renewal
    assert replay.seen.count("GET Resources/") == 2  # the request + one replay
    await provider.close()
