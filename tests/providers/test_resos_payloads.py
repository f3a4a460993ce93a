"""resOS mappers on payloads taken from the resOS reference documents (sources in comments)."""

from __future__ import annotations

import base64
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from tablegraph.model import BookingPolicy, BookingStatus, OpeningPeriod, SpecialDay
from tablegraph.providers.resos.auth import GovernedBasicAuth
from tablegraph.providers.resos.governor import RateGovernor
from tablegraph.providers.resos.mapping import (
    STATUS_MAP,
    guest_identity,
    normalize_phone,
    to_booking,
    to_opening_hours,
    to_period_policies,
    to_policy,
    to_slots,
)

CPH = "Europe/Copenhagen"


async def test_basic_header_is_base64_of_key_and_colon() -> None:
    # Source: seeds/resos-api.txt, "Authentication" (the worked example, verbatim).
    auth = GovernedBasicAuth("aIcCpRKQqKPg9zVL0a7-RJt2_zx8jPq8jR20XWp_pZN", RateGovernor(5))
    headers = await auth.headers(None)  # type: ignore[arg-type]
    assert headers == {
        "Authorization": "Basic YUljQ3BSS1FxS1BnOXpWTDBhNy1SSnQyX3p4OGpQcThqUjIwWFdwX3BaTjo="
    }
    assert base64.b64decode(headers["Authorization"][6:]).endswith(b":")


def test_nine_statuses_map_and_keep_their_raw_value() -> None:
    # Source: providers/resos.md, "Enums" (status; "canceled" with one "l").
    assert STATUS_MAP == {
        "request": BookingStatus.PENDING,
        "approved": BookingStatus.CONFIRMED,
        "arrived": BookingStatus.ARRIVED,
        "seated": BookingStatus.SEATED,
        "left": BookingStatus.COMPLETED,
        "no_show": BookingStatus.NO_SHOW,
        "canceled": BookingStatus.CANCELLED,
        "declined": BookingStatus.DECLINED,
        "waitlist": BookingStatus.WAITLISTED,
    }


# Source: providers/resos.md, GET /openingHours row (FR, CL): HHMM integers (1200, 1645),
# open_sec/close_sec, ISO day numbers, seating{active, interval, duration}, special entries
# with date/isOpen/range.
OPENING_HOURS = [
    {
        "_id": "ohLunch3",
        "name": "Lunch",
        "day": 3,
        "open": 1200,
        "close": 1645,
        "open_sec": 43200,
        "close_sec": 60300,
        "special": False,
        "mode": "restaurant",
        "seating": {"active": True, "interval": 15, "duration": 90},
        "restaurantId": "JLAs2CviunNCSEfbt",
        "createdBy": "x",
        "createdAt": "2024-01-01T00:00:00Z",
    },
    {
        "_id": "ohDinner3",
        "name": "Dinner",
        "day": 3,
        "open": 1800,
        "close": 30,
        "open_sec": 64800,
        "close_sec": 1800,
        "special": False,
        "mode": "restaurant",
        "seating": {"active": True, "interval": 30, "duration": 120},
    },
    {
        "_id": "ohDinner7",
        "name": "Dinner",
        "day": 7,
        "open": 1800,
        "close": 2200,
        "special": False,
        "seating": {"active": True, "interval": 30, "duration": 120},
    },
    {
        "_id": "ohXmas",
        "name": "Christmas",
        "day": 4,
        "open": 0,
        "close": 0,
        "special": True,
        "date": "2026-12-24",
        "isOpen": False,
        "range": {"from": "2026-12-24"},
    },
    {
        "_id": "ohOld",
        "name": "Old",
        "day": 1,
        "open": 900,
        "close": 1100,
        "special": False,
        "deleted": True,
    },
]


def test_opening_hours_hhmm_integers_and_special_days() -> None:
    hours = to_opening_hours(OPENING_HOURS)  # type: ignore[arg-type]
    assert hours.weekly == (
        OpeningPeriod(3, time(12, 0), time(16, 45), "Lunch"),
        OpeningPeriod(3, time(18, 0), time(0, 30), "Dinner"),
        OpeningPeriod(7, time(18, 0), time(22, 0), "Dinner"),
    )
    assert hours.special_days == (SpecialDay(date(2026, 12, 24), True, None, None, "Christmas"),)


def test_policy_takes_seating_interval_and_duration() -> None:
    policy = to_policy(OPENING_HOURS, BookingPolicy())  # type: ignore[arg-type]
    assert policy.slot_interval_minutes == 15
    assert policy.default_duration_minutes == 120
    periods = to_period_policies(OPENING_HOURS)  # type: ignore[arg-type]
    assert periods["ohLunch3"].duration == 90 and periods["ohLunch3"].interval == 15


def test_times_become_local_slots_with_waitlist_flag() -> None:
    # Source: providers/resos.md, GET /bookingFlow/times row (FR, CL): one object per period
    # with _id, name, note, payment{active}, availableTimes, unavailableTimes, waitlistTimes.
    periods = [
        {
            "_id": "ohLunch3",
            "name": "Lunch",
            "note": "",
            "payment": {"active": False},
            "availableTimes": ["12:00", "12:15"],
            "unavailableTimes": ["12:30"],
            "waitlistTimes": ["12:30"],
            "useWaitlist": True,
            "activeCustomFields": [],
        },
        {
            "_id": "ohDinner3",
            "name": "Dinner",
            "note": "",
            "payment": {"active": True},
            "availableTimes": ["23:30", "00:00"],
            "unavailableTimes": [],
            "waitlistTimes": [],
        },
    ]
    policies = to_period_policies(OPENING_HOURS)  # type: ignore[arg-type]
    slots = to_slots(periods, date(2026, 6, 10), 2, CPH, policies)  # type: ignore[arg-type]
    tz = ZoneInfo(CPH)
    assert [(s.start, s.waitlist_only, s.service_name) for s in slots] == [
        (datetime(2026, 6, 10, 12, 0, tzinfo=tz), False, "Lunch"),
        (datetime(2026, 6, 10, 12, 15, tzinfo=tz), False, "Lunch"),
        (datetime(2026, 6, 10, 12, 30, tzinfo=tz), True, "Lunch"),
        (datetime(2026, 6, 10, 23, 30, tzinfo=tz), False, "Dinner"),
        (datetime(2026, 6, 11, 0, 0, tzinfo=tz), False, "Dinner"),  # after midnight
    ]
    assert slots[0].end - slots[0].start == (slots[3].end - slots[3].start) * 0.75
    assert slots[0].start.utcoffset().total_seconds() == 7200  # type: ignore[union-attr]
    assert slots[3].payment is not None and slots[3].payment.kind == "PREPAYMENT"


def test_booking_maps_local_date_time_and_utc_instant() -> None:
    # Source: providers/resos.md, "Booking object" (FR, CL, SP): _id "CRJE9Bbrqz2L8NbjT",
    # date "2021-09-18", time "21:00", dateTime UTC, guest{name, email, phone E.164},
    # restaurantNotes [{restaurantNote}], tables [{_id, name, area}].
    raw = {
        "_id": "CRJE9Bbrqz2L8NbjT",
        "restaurantId": "JLAs2CviunNCSEfbt",
        "date": "2021-09-18",
        "time": "21:00",
        "dateTime": "2021-09-18T19:00:00.000Z",
        "people": 4,
        "duration": 120,
        "status": "approved",
        "source": "phone",
        "languageCode": "da",
        "guest": {
            "name": "Mette Frederiksen Jensen",
            "email": "Mette@Example.DK",
            "phone": "+4512345678",
            "notificationSms": False,
            "notificationEmail": True,
        },
        "tables": [{"_id": "t1", "name": "12", "area": {"_id": "a1", "name": "Terrasse"}}],
        "comment": "Window table please",
        "note": "",
        "noteAuthor": "API",
        "restaurantNotes": [{"_id": "n1", "restaurantNote": "VIP"}],
        "metadata": {},
        "createdAt": "2021-09-01T10:00:00.000Z",
    }
    booking = to_booking("resos-test", "cph", raw, CPH)  # type: ignore[arg-type]
    tz = ZoneInfo(CPH)
    assert booking.native_id == "cph/CRJE9Bbrqz2L8NbjT"
    assert booking.reference == "CRJE9Bbrqz2L8NbjT"
    assert booking.start == datetime(2021, 9, 18, 21, 0, tzinfo=tz)
    assert booking.end == datetime(2021, 9, 18, 23, 0, tzinfo=tz)
    assert booking.status is BookingStatus.CONFIRMED and booking.provider_status == "approved"
    assert booking.tables == ("t1",) and booking.area is not None
    assert booking.notes == "VIP"
    assert booking.guest is not None
    assert booking.guest.native_id == "cph/phone:+4512345678" == booking.guest_id
    assert (booking.guest.first_name, booking.guest.last_name) == ("Mette", "Frederiksen Jensen")
    assert booking.guest.email == "mette@example.dk" and booking.guest.locale == "da"
    assert booking.created_at == datetime(2021, 9, 1, 12, 0, tzinfo=tz)


@pytest.mark.parametrize(
    ("typed", "e164"),
    [
        ("+45 12 34 56 78", "+4512345678"),
        ("0045-1234-5678", "+4512345678"),
        ("4512345678", "+4512345678"),  # resOS search form: country code first, no "+"
        ("(+47) 912.34.567", "+4791234567"),
        ("12", None),
        ("call me", None),
    ],
)
def test_phone_normalization(typed: str, e164: str | None) -> None:
    assert normalize_phone(typed) == e164


def test_identity_prefers_phone_then_lowercased_email() -> None:
    assert guest_identity("+45 12 34 56 78", "a@b.dk") == "phone:+4512345678"
    assert guest_identity("", " A@B.dk ") == "email:a@b.dk"
    assert guest_identity(None, None) is None


def test_dst_changes_in_copenhagen() -> None:
    # resOS gives local date/time plus the UTC dateTime (providers/resos.md, Booking object).
    spring = {
        "_id": "a",
        "date": "2026-03-29",
        "time": "19:00",
        "dateTime": "2026-03-29T17:00:00.000Z",
        "people": 2,
        "duration": 120,
    }
    autumn = {
        "_id": "b",
        "date": "2026-10-25",
        "time": "19:00",
        "dateTime": "2026-10-25T18:00:00.000Z",
        "people": 2,
        "duration": 120,
    }
    for raw, hours in ((spring, 2), (autumn, 1)):
        booking = to_booking("u", "cph", raw, CPH)  # type: ignore[arg-type]
        assert booking.start.hour == 19
        assert booking.start.utcoffset().total_seconds() == hours * 3600  # type: ignore[union-attr]
    periods = [{"_id": "x", "name": "Late", "availableTimes": ["02:30"], "waitlistTimes": []}]
    (slot,) = to_slots(periods, date(2026, 3, 29), 2, CPH, {})  # type: ignore[arg-type]
    assert (slot.start.hour, slot.start.minute) == (3, 30)  # 02:30 does not exist that night
