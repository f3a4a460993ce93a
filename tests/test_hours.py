"""``hours.open_at``: the restaurant's opening hours on its own calendar (what the booking
service reads before it calls a refused time "outside policy" instead of "taken")."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest

from tablegraph.hours import open_at
from tablegraph.model import OpeningHours, OpeningPeriod, SpecialDay
from tablegraph.timeutil import zone

TZ = "Europe/Oslo"
#: Fridays 17:00–01:00 (past midnight), Saturdays 12:00–15:00; 2026-12-04 is a Friday.
WEEK = (
    OpeningPeriod(day_of_week=5, opens=time(17), closes=time(1)),
    OpeningPeriod(day_of_week=6, opens=time(12), closes=time(15)),
)


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=zone(TZ))


@pytest.mark.parametrize(
    ("moment", "is_open"),
    [
        ("2026-12-04T17:00", True),  # opening included
        ("2026-12-04T16:59", False),
        ("2026-12-05T00:30", True),  # Friday's period, after midnight
        ("2026-12-05T01:00", False),  # closing excluded
        ("2026-12-05T04:00", False),
        ("2026-12-05T13:00", True),
        ("2026-12-06T13:00", False),  # Sunday: no period
    ],
)
def test_weekly_periods_hold_their_own_date_and_past_midnight(moment: str, is_open: bool) -> None:
    assert open_at(OpeningHours(weekly=WEEK), _at(moment), TZ) is is_open


def test_a_moment_is_read_on_the_restaurants_calendar() -> None:
    # 16:30 UTC on Friday is 17:30 in Oslo: open; the same instant read in UTC would not be.
    utc = datetime.fromisoformat("2026-12-04T16:30:00+00:00")
    assert open_at(OpeningHours(weekly=WEEK), utc, TZ) is True


def test_a_special_day_replaces_the_weeks_periods() -> None:
    closed = SpecialDay(day=date(2026, 12, 5), closed=True)
    short = SpecialDay(day=date(2026, 12, 4), closed=False, opens=time(18), closes=time(20))
    hours = OpeningHours(weekly=WEEK, special_days=(closed, short))
    assert open_at(hours, _at("2026-12-05T13:00"), TZ) is False
    assert open_at(hours, _at("2026-12-04T17:30"), TZ) is False
    assert open_at(hours, _at("2026-12-04T19:00"), TZ) is True
    assert open_at(hours, _at("2026-12-05T00:30"), TZ) is False  # the short day ends at 20:00


def test_no_hours_decide_nothing() -> None:
    assert open_at(OpeningHours(), _at("2026-12-04T04:00"), TZ) is None
