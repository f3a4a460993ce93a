"""Deterministic demo data: two Nordic restaurants, each with its own API key.

Bookings are spread over the 14 days from the clock's "today" (restaurant-local), drawn with
``random.Random(seed)`` so a seed always gives the same account.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from tablegraph.settings import Secret, UpstreamConfig
from tablegraph.simulators.resos.state import (
    OpeningPeriod,
    ResosState,
    Restaurant,
    Table,
    new_id,
)

COPENHAGEN_KEY = "resos-demo-key-copenhagen-aIcCpRKQqKPg9zVL"
OSLO_KEY = "resos-demo-key-oslo-0a7-RJt2_zx8jPq8jR20"
COPENHAGEN_ID = "cphHavnekoekken01"
OSLO_ID = "osloBryggeriet002"

_FIRST = ["Mette", "Lars", "Sofie", "Anders", "Ingrid", "Ola", "Freja", "Emil", "Nora", "Jonas"]
_LAST = ["Jensen", "Nielsen", "Hansen", "Larsen", "Olsen", "Berg", "Dahl", "Lund", "Holm"]
_STATUSES = ["approved"] * 8 + ["request"] * 3 + ["canceled", "waitlist"]


def _tables(prefix: str, area: tuple[str, str], sizes: list[tuple[int, int]]) -> list[Table]:
    return [
        Table(f"{prefix}Table{i:02d}", f"{i}", area[0], area[1], lo, hi)
        for i, (lo, hi) in enumerate(sizes, start=1)
    ]


def seed_state(state: ResosState, seed: int) -> None:
    rng = random.Random(seed)
    today = state.clock.now().date()

    cph = Restaurant(COPENHAGEN_ID, "Havnekøkkenet", "Europe/Copenhagen", COPENHAGEN_KEY)
    for day in range(2, 8):  # closed on Mondays
        cph.periods.append(
            OpeningPeriod(f"cphLunch{day}", "Lunch", day, 1200, 1500, interval=15, duration=90)
        )
        cph.periods.append(
            OpeningPeriod(f"cphDinner{day}", "Dinner", day, 1730, 2200, interval=15, duration=120)
        )
    closed_day = today + timedelta(days=10)
    cph.periods.append(
        OpeningPeriod(
            "cphClosed",
            "Staff party",
            closed_day.isoweekday(),
            0,
            0,
            special=True,
            date=closed_day,
            is_open=False,
        )
    )
    cph.tables = _tables(
        "cph", ("cphAreaSal", "Salen"), [(1, 2), (1, 2), (2, 4), (2, 4), (2, 4), (4, 6), (6, 10)]
    )

    oslo = Restaurant(OSLO_ID, "Bryggeriet", "Europe/Oslo", OSLO_KEY)
    for day in range(1, 8):
        oslo.periods.append(
            OpeningPeriod(
                f"osloDinner{day}",
                "Middag",
                day,
                1700,
                2300,
                interval=30,
                duration=90,
                use_waitlist=True,
            )
        )
    late = today + timedelta(days=5)
    oslo.periods.append(
        OpeningPeriod(
            "osloLate",
            "Sen middag",
            late.isoweekday(),
            1800,
            100,
            interval=30,
            duration=90,
            special=True,
            date=late,
        )
    )
    oslo.tables = _tables("oslo", ("osloAreaBar", "Baren"), [(1, 2), (2, 4), (2, 4), (4, 8)])

    for restaurant in (cph, oslo):
        state.add_restaurant(restaurant)
        _bookings(state, restaurant, rng, today)


def _bookings(state: ResosState, restaurant: Restaurant, rng: random.Random, today: date) -> None:
    guests = [
        (f"{rng.choice(_FIRST)} {rng.choice(_LAST)}", f"+45{rng.randint(20000000, 99999999)}")
        for _ in range(12)
    ]
    for offset in range(14):
        day = today + timedelta(days=offset)
        periods = restaurant.periods_on(day)
        for _ in range(rng.randint(2, 5) if periods else 0):
            period = rng.choice(periods)
            hhmm = rng.choice(period.times()[:-2] or period.times())
            name, phone = rng.choice(guests)
            body = {
                "date": day.isoformat(),
                "time": hhmm,
                "people": rng.randint(1, 6),
                "status": rng.choice(_STATUSES),
                "source": rng.choice(["website", "phone", "walkin", "other"]),
                "guest": {
                    "name": name,
                    "phone": phone,
                    "email": name.lower().replace(" ", ".") + "@example.com",
                },
            }
            state.add_booking(restaurant, body, booking_id=new_id(rng))


def demo_upstreams(base_url: str) -> list[UpstreamConfig]:
    """One upstream, ``resos-nordics``, with both seeded restaurants and their keys."""
    return [
        UpstreamConfig(
            name="resos-nordics",
            kind="resos",
            base_url=base_url.rstrip("/") + "/v1",
            credentials={
                "key_copenhagen": Secret(COPENHAGEN_KEY),
                "key_oslo": Secret(OSLO_KEY),
            },
            options={
                "restaurants": [
                    {
                        "id": COPENHAGEN_ID,
                        "name": "Havnekøkkenet",
                        "timezone": "Europe/Copenhagen",
                        "address": "Nyhavn 17, 1051 København K",
                        "city": "Copenhagen",
                        "api_key_credential": "key_copenhagen",
                    },
                    {
                        "id": OSLO_ID,
                        "name": "Bryggeriet",
                        "timezone": "Europe/Oslo",
                        "address": "Aker Brygge 3, 0250 Oslo",
                        "city": "Oslo",
                        "api_key_credential": "key_oslo",
                        "instant_confirmation": True,
                    },
                ]
            },
        )
    ]
