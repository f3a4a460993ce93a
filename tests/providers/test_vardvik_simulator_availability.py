"""Vardvik simulator: slot grid, table consumption, DST instants, special days, validation."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tests.providers.vardvik_sim import NOW as JUNE
from tests.providers.vardvik_sim import Sim


def _params(date: str, party: int, **extra: Any) -> dict[str, Any]:
    return {"locationId": "loc_1", "date": date, "partySize": party, **extra}


async def test_booking_consumes_availability(sim: Sim) -> None:
    client, state = await sim(now=JUNE)
    state.set_tables("loc_1", [("t-01", 2, "main"), ("t-02", 4, "main")])
    before = (
        await client.get("/restaurants/rst_1/availability", params=_params("2026-06-25", 4))
    ).json()["slots"]
    # Lunch 12:00-15:00 → 12:00, 12:30, 13:00; dinner 17:00-23:00 → 17:00 … 21:00 (CEST, UTC+2).
    assert [s["start"][11:16] for s in before] == [
        "10:00",
        "10:30",
        "11:00",
        "15:00",
        "15:30",
        "16:00",
        "16:30",
        "17:00",
        "17:30",
        "18:00",
        "18:30",
        "19:00",
    ]
    six = next(s for s in before if s["start"] == "2026-06-25T16:00:00.000Z")
    assert six == {
        "start": "2026-06-25T16:00:00.000Z",
        "end": "2026-06-25T18:00:00.000Z",
        "available": True,
        "capacity": 6,
        "tableIds": ["t-02"],
        "serviceName": "Dinner",
    }

    created = await client.post(
        "/restaurants/rst_1/reservations",
        json={
            "locationId": "loc_1",
            "startTime": "2026-06-25T16:00:00.000Z",
            "partySize": 4,
            "guest": {"firstName": "Mara", "lastName": "Schneider", "email": "mara@example.com"},
        },
    )
    assert created.status_code == 201
    assert created.json()["reservation"]["tableIds"] == ["t-02"]

    after = (
        await client.get("/restaurants/rst_1/availability", params=_params("2026-06-25", 4))
    ).json()["slots"]
    dinner = [
        (s["start"][11:16], s["available"], s["capacity"])
        for s in after
        if s["serviceName"] == "Dinner"
    ]
    # 16:00–18:00Z plus the 15-minute buffer blocks t-02 for every start up to 18:00Z.
    assert dinner == [
        ("15:00", False, 2),
        ("15:30", False, 2),
        ("16:00", False, 2),
        ("16:30", False, 2),
        ("17:00", False, 2),
        ("17:30", False, 2),
        ("18:00", False, 2),
        ("18:30", True, 6),
        ("19:00", True, 6),
    ]
    two = (
        await client.get("/restaurants/rst_1/availability", params=_params("2026-06-25", 2))
    ).json()["slots"]
    assert next(s for s in two if s["start"] == "2026-06-25T16:00:00.000Z")["tableIds"] == ["t-01"]


async def test_post_search_equals_get(sim: Sim) -> None:
    client, _ = await sim(now=JUNE)
    got = await client.get("/restaurants/rst_1/availability", params=_params("2026-06-26", 3))
    posted = await client.post(
        "/restaurants/rst_1/availability/search", json=_params("2026-06-26", 3)
    )
    assert posted.status_code == 200
    assert posted.json() == got.json()
    assert len(got.json()["slots"]) == 12


async def test_combination_of_adjacent_tables(sim: Sim) -> None:
    client, state = await sim(now=JUNE)
    state.set_tables("loc_1", [("t-01", 4, "main"), ("t-02", 4, "main"), ("t-03", 6, "window")])
    slots = (
        await client.get("/restaurants/rst_1/availability", params=_params("2026-06-25", 8))
    ).json()["slots"]
    assert slots[0]["tableIds"] == ["t-01", "t-02"]
    assert slots[0]["capacity"] == 8
    # t-02 and t-03 are neighbours but in different areas: never combined.
    slots = (
        await client.get("/restaurants/rst_1/availability", params=_params("2026-06-25", 10))
    ).json()["slots"]
    assert {s["available"] for s in slots} == {False}


@pytest.mark.parametrize(
    ("now", "day", "lunch", "dinner_18"),
    [
        (datetime(2026, 3, 20, 10, tzinfo=UTC), "2026-03-28", "11:00", "17:00"),
        (datetime(2026, 3, 20, 10, tzinfo=UTC), "2026-03-29", "10:00", "16:00"),
        (datetime(2026, 10, 20, 10, tzinfo=UTC), "2026-10-24", "10:00", "16:00"),
        (datetime(2026, 10, 20, 10, tzinfo=UTC), "2026-10-25", "11:00", "17:00"),
    ],
)
async def test_dst_days_have_correct_utc_instants(
    sim: Sim, now: datetime, day: str, lunch: str, dinner_18: str
) -> None:
    client, _ = await sim(now=now)
    slots = (await client.get("/restaurants/rst_1/availability", params=_params(day, 2))).json()[
        "slots"
    ]
    assert slots[0]["start"] == f"{day}T{lunch}:00.000Z"
    assert slots[0]["serviceName"] == "Lunch"
    assert f"{day}T{dinner_18}:00.000Z" in [
        s["start"] for s in slots if s["serviceName"] == "Dinner"
    ]


async def test_special_closed_day_has_no_slots(sim: Sim) -> None:
    client, _ = await sim(now=JUNE)
    hours = (
        await client.get("/restaurants/rst_1/opening-hours", params={"locationId": "loc_1"})
    ).json()
    assert {"date": "2026-06-24", "closed": True, "note": "Staff training"} in hours["specialDays"]
    assert hours["timezone"] == "Europe/Berlin"
    assert {"dayOfWeek": 2, "opens": "12:00", "closes": "15:00", "serviceName": "Lunch"} in (
        hours["weekly"]
    )
    assert 1 not in {w["dayOfWeek"] for w in hours["weekly"]}  # closed on Mondays
    slots = await client.get("/restaurants/rst_1/availability", params=_params("2026-06-24", 2))
    assert slots.json() == {"slots": []}


async def test_lead_time_and_party_limits_mark_slots_unavailable(sim: Sim) -> None:
    client, _ = await sim(now=datetime(2026, 6, 25, 15, 40, tzinfo=UTC))
    slots = (
        await client.get("/restaurants/rst_1/availability", params=_params("2026-06-25", 2))
    ).json()["slots"]
    by_start = {s["start"][11:16]: s for s in slots}
    assert by_start["16:00"]["available"] is False  # 20 minutes ahead < 30-minute lead time
    assert by_start["16:00"]["capacity"] == 0
    assert by_start["16:30"]["available"] is True
    big = (
        await client.get("/restaurants/rst_1/availability", params=_params("2026-06-26", 13))
    ).json()["slots"]
    assert {s["available"] for s in big} == {False}  # above maxPartySize 12


@pytest.mark.parametrize(
    ("params", "field"),
    [
        (_params("2026-06-25", 31), "partySize"),
        (_params("2026-06-25", 0), "partySize"),
        (_params("2026-13-01", 2), "date"),
        (_params("25.06.2026", 2), "date"),
        ({"date": "2026-06-25", "partySize": 2}, "locationId"),
    ],
)
async def test_bad_parameters_are_validation_errors(
    sim: Sim, params: dict[str, Any], field: str
) -> None:
    client, _ = await sim(now=JUNE)
    response = await client.get("/restaurants/rst_1/availability", params=params)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert error["details"] == {"field": field}
