"""Time: explicit offsets everywhere, DST changes in Berlin, Date = the restaurant's local date."""

from __future__ import annotations

from datetime import UTC, datetime

from tablegraph.simulators.common import Clock
from tablegraph.simulators.vardvik import demo_upstreams

from .conftest import Api, Sim, start_gateway, start_vardvik
from .helpers import AVAILABILITY, BERLIN_MITTE, BOOKINGS, quiet_weekday


async def _slots_on(sims: list[Sim], now: str, day: str) -> list[dict]:
    sim = await start_vardvik(sims, clock=Clock(datetime.fromisoformat(now)))
    runner, api = await start_gateway(demo_upstreams(sim.url))
    try:
        data = await api.data(AVAILABILITY, {"ids": [BERLIN_MITTE], "date": day, "party": 2})
    finally:
        await api.http.aclose()
        await runner.cleanup()
    return data["availability"][0]["slots"]


def _by_local_time(slots: list[dict]) -> dict[str, str]:
    return {s["start"][11:16]: s["start"] for s in slots}


async def test_spring_forward_sunday_in_berlin_has_summer_offsets(sims: list[Sim]) -> None:
    slots = await _slots_on(sims, "2026-03-20T09:00:00+00:00", "2026-03-29")
    assert slots, "Berlin Mitte is open on Sundays"
    local = _by_local_time(slots)
    assert local["18:00"] == "2026-03-29T18:00:00+02:00"
    assert all(s["start"].endswith("+02:00") and s["end"].endswith("+02:00") for s in slots)
    # The week before, the same wall-clock grid carried the winter offset.
    before = _by_local_time(await _slots_on(sims, "2026-03-20T09:00:00+00:00", "2026-03-22"))
    assert before["18:00"] == "2026-03-22T18:00:00+01:00"
    assert set(before) == set(local)


async def test_fall_back_sunday_in_berlin_has_winter_offsets(sims: list[Sim]) -> None:
    slots = await _slots_on(sims, "2026-10-20T09:00:00+00:00", "2026-10-25")
    local = _by_local_time(slots)
    assert local["18:00"] == "2026-10-25T18:00:00+01:00"
    assert all(s["start"].endswith("+01:00") for s in slots)
    instant = datetime.fromisoformat(local["18:00"]).astimezone(UTC)
    assert instant.hour == 17


async def test_a_date_argument_is_the_restaurants_local_calendar_day(api: Api, sim: Sim) -> None:
    day = quiet_weekday()
    # 00:30 local on `day` is still the previous day in UTC (Berlin is UTC+1 in winter).
    early = sim.state.add_reservation(
        "rst_1", "loc_1", datetime.fromisoformat(f"{day.isoformat()}T00:30:00+01:00"), 2
    )
    late = sim.state.add_reservation(
        "rst_1", "loc_1", datetime.fromisoformat(f"{day.isoformat()}T23:45:00+01:00"), 2
    )
    data = await api.data(BOOKINGS, {"rid": BERLIN_MITTE, "date": day.isoformat(), "first": 100})
    refs = {n["reference"]: n["start"] for n in data["bookings"]["nodes"]}
    assert refs[early.public_reference] == f"{day.isoformat()}T00:30:00+01:00"
    assert refs[late.public_reference] == f"{day.isoformat()}T23:45:00+01:00"
    previous = day.toordinal() - 1
    prev_day = datetime.fromordinal(previous).date().isoformat()
    data = await api.data(BOOKINGS, {"rid": BERLIN_MITTE, "date": prev_day, "first": 100})
    assert early.public_reference not in {n["reference"] for n in data["bookings"]["nodes"]}
