"""Property, against the real server: availability never offers a slot that the server then
refuses for minimum notice, buffer, opening hours or advance limit.

The rules table of schedule 2 (``server.RULES_TABLE``: one day's notice, a one-hour buffer,
20 days ahead at most, four seats) carries a one-hour booking at 15:00 on every day ahead,
so the buffer is in play. Hypothesis draws a day (0–23 days ahead, past the limit too) and a
party size (1–6, past the table's seats too); every slot offered — the first, the last and
one drawn — is then sent straight to the server as a plain user, who is held to all those
rules, and must be accepted (and is deleted again).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tablegraph.providers.librebooking import LibreBookingProvider
from tablegraph.timeutil import zone

from . import server as real
from .conftest import ZONE, upstream_config
from .server import Server

EXAMPLES = 12


def _fmt(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S%z")


def _body(table: str, start: datetime, end: datetime) -> dict[str, object]:
    return {
        "resourceId": int(table),
        "resources": [],
        "startDateTime": _fmt(start),
        "endDateTime": _fmt(end),
        "title": "Property for 2",
        "description": "",
        "userId": None,
        "participants": [],
        "invitees": [],
        "participatingGuests": [],
        "invitedGuests": [],
        "accessories": [],
        "customAttributes": [],
        "recurrenceRule": None,
        "startReminder": None,
        "endReminder": None,
        "allowParticipation": False,
        "retryParameters": [],
        "termsAccepted": True,
    }


@pytest.fixture(scope="module")
def busy_days(rules: Server) -> Iterator[date]:
    """A 15:00–16:00 booking (by the administrator, who is held to no rule) on every day the
    table can be booked; removed afterwards. Yields today in New York."""
    today = datetime.now(UTC).astimezone(zone(ZONE)).date()
    refs = []
    for offset in range(1, 22):
        day = today + timedelta(days=offset)
        start = datetime.fromisoformat(f"{day}T15:00:00").replace(tzinfo=zone(ZONE))
        answer = rules.call(
            "POST",
            "Reservations/",
            json=_body(str(rules.rules_table), start, start + timedelta(hours=1)),
        )
        if answer.status_code == 201:
            refs.append(answer.json()["referenceNumber"])
    yield today
    for ref in refs:
        rules.call("DELETE", f"Reservations/{ref}", params={"updateScope": "this"})


def test_offered_slots_are_accepted_by_the_server(rules: Server, busy_days: date) -> None:
    schedule = str(rules.rules_schedule)
    loop = asyncio.new_event_loop()
    provider = LibreBookingProvider(upstream_config(rules, "user", schedule))
    headers = real.login(rules.url, "user")
    assert headers is not None
    http = httpx.Client(base_url=rules.url, headers=headers, timeout=30)
    offered_any: list[bool] = []

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(
        offset=st.integers(min_value=0, max_value=23),
        party=st.integers(min_value=1, max_value=6),
        pick=st.integers(min_value=0, max_value=1000),
    )
    def offered_slots_are_accepted(offset: int, party: int, pick: int) -> None:
        day = busy_days + timedelta(days=offset)
        slots = loop.run_until_complete(provider.get_availability(schedule, day, party))
        if party > 4 or offset > 21:
            assert slots == [], (day, party)
        offered_any.append(bool(slots))
        chosen = {0, len(slots) - 1, pick % len(slots)} if slots else set()
        for index in sorted(chosen):
            slot = slots[index]
            answer = http.post(
                "Reservations/", json=_body(str(rules.rules_table), slot.start, slot.end)
            )
            assert answer.status_code == 201, (day, party, slot.start, answer.text)
            ref = answer.json()["referenceNumber"]
            http.delete(f"Reservations/{ref}", params={"updateScope": "this"})

    try:
        offered_slots_are_accepted()
    finally:
        http.close()
        loop.run_until_complete(provider.close())
        loop.close()
    assert any(offered_any), "the property never met an offered slot"
