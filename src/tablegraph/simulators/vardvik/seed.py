"""Demo data, deterministic from the seed number and the clock's current date.

``rst_1`` "Atelier Lindenhof" (Europe/Berlin, the documents' example) with ``loc_1`` Berlin
Mitte (closed Mondays) and ``loc_2`` Berlin Kreuzberg (closed Tuesdays); ``rst_2``
"Fjordkroa" (Europe/Oslo) with ``loc_3`` Aker Brygge (closed Sundays), where
``reservationChanges`` and ``waitlist`` are off. Reservations from two days ago to six days
ahead, ~40 guests per Berlin restaurant, special days two weeks out.
"""

from __future__ import annotations

import unicodedata
from datetime import date, time, timedelta

from tablegraph.simulators.vardvik import availability
from tablegraph.simulators.vardvik.model import (
    ALL_SCOPES,
    ApiKey,
    Guest,
    Location,
    Period,
    Policy,
    Restaurant,
    Rule,
    SpecialDay,
    Table,
)
from tablegraph.simulators.vardvik.state import VardvikState

#: API keys of the demo deployment (tests use the narrower ones).
DEMO_KEYS = (
    ApiKey("demo-key", ALL_SCOPES, frozenset({"rst_1", "rst_2"})),
    ApiKey(
        "readonly-key",
        frozenset({"config:read", "availability:read", "reservations:read", "customers:read"}),
        frozenset({"rst_1", "rst_2"}),
    ),
    ApiKey("mitte-key", ALL_SCOPES, frozenset({"rst_1"}), location_id="loc_1"),
    ApiKey("oslo-key", ALL_SCOPES, frozenset({"rst_2"})),
)

_BERLIN_NAMES = (
    [
        "Mara",
        "Jonas",
        "Lea",
        "Felix",
        "Hannah",
        "Lukas",
        "Emma",
        "Paul",
        "Sophie",
        "Ben",
        "Clara",
        "Elias",
        "Marie",
        "Noah",
        "Ida",
        "Jakob",
        "Greta",
        "Anton",
        "Lina",
        "Moritz",
    ],
    [
        "Schneider",
        "Müller",
        "Weber",
        "Fischer",
        "Becker",
        "Wagner",
        "Hoffmann",
        "Schäfer",
        "Koch",
        "Richter",
        "Klein",
        "Wolf",
        "Neumann",
        "Schwarz",
        "Zimmermann",
        "Krüger",
    ],
)
_OSLO_NAMES = (
    ["Ingrid", "Ola", "Kari", "Lars", "Sigrid", "Henrik", "Nora", "Magnus", "Astrid", "Even"],
    ["Hansen", "Johansen", "Olsen", "Larsen", "Andersen", "Berg", "Haugen", "Dahl", "Bjørnstad"],
)
_REQUESTS = [None, None, None, "Window seat, please", "Birthday", "Vegetarian", "High chair"]


def _tables(state: VardvikState) -> list[Table]:
    count = state.rng.randint(8, 14)
    seats = [state.rng.choice([2, 2, 2, 4, 4, 4, 6, 8]) for _ in range(count)]
    seats[0], seats[-1] = 8, 6  # one large table in each area at least
    window_from = count - count // 3
    return [
        Table(f"t-{i + 1:02d}", s, "main" if i < window_from else "window")
        for i, s in enumerate(seats)
    ]


def _week(days: range, services: list[tuple[str, str, str]]) -> list[Period]:
    return [
        Period(d, time.fromisoformat(o), time.fromisoformat(c), name)
        for d in days
        for o, c, name in services
    ]


def _ascii(text: str) -> str:
    text = text.replace("ø", "o").replace("æ", "ae").replace("å", "a").replace("ß", "ss")
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def _guests(
    state: VardvikState, rest: Restaurant, names: tuple[list[str], list[str]], count: int
) -> list[Guest]:
    firsts, lasts = names
    prefix = "+49 30" if rest.timezone == "Europe/Berlin" else "+47"
    now = state.now()
    out = []
    for i in range(count):
        first, last = state.rng.choice(firsts), state.rng.choice(lasts)
        consent = state.rng.random() < 0.4
        guest = Guest(
            id=state.new_id("gst_", 8, state.guests),
            restaurant_id=rest.id,
            first_name=first,
            last_name=last,
            email=f"{_ascii(first)}.{_ascii(last)}{i + 1}@example.com",
            phone=f"{prefix} {state.rng.randint(1000000, 9999999)}" if i % 3 else None,
            marketing_consent=consent,
            consent_source=state.rng.choice(["online_booking", "staff_phone", "import"])
            if consent
            else None,
            consented_at=now - timedelta(days=state.rng.randint(10, 400)) if consent else None,
            created_at=now - timedelta(days=state.rng.randint(10, 500)),
        )
        state.guests[guest.id] = guest
        out.append(guest)
    gone = out[-1]  # a guest who asked to be forgotten (GDPR erasure)
    gone.first_name, gone.last_name, gone.email, gone.phone = "Anonymized", "Guest", None, None
    gone.anonymized, gone.marketing_consent = True, False
    gone.consent_source = gone.consented_at = None
    return out[:-1]


def _bookings(state: VardvikState, rest: Restaurant, guests: list[Guest]) -> None:
    now = state.now()
    today = state.local_today(rest.timezone)
    for offset in range(-2, 7):
        day = today + timedelta(days=offset)
        for loc in rest.locations.values():
            starts = list(
                availability.grid(
                    loc,
                    day,
                    rest.policy.slot_interval_minutes,
                    rest.policy.default_duration_minutes,
                )
            )
            for _ in range(state.rng.randint(5, 10) if starts else 0):
                start, _window = state.rng.choice(starts)
                party = state.rng.choice([2, 2, 2, 3, 4, 4, 5, 6])
                duration = rest.policy.default_duration_minutes
                end = start + timedelta(minutes=duration)
                busy = availability.busy_tables(
                    state.location_bookings(loc.id), start, end, loc.buffer_minutes
                )
                tables = availability.assign(loc, party, busy)
                if tables is None:
                    continue
                if end <= now:
                    status = "no_show" if state.rng.random() < 0.1 else "completed"
                elif start <= now:
                    status = "seated"
                else:
                    status = state.rng.choice(
                        ["confirmed"] * 15 + ["pending"] * 3 + ["cancelled"] * 2
                    )
                state.insert_reservation(
                    loc,
                    rest.id,
                    start,
                    duration,
                    party,
                    tables,
                    state.rng.choice(guests),
                    status=status,
                    special_requests=state.rng.choice(_REQUESTS),
                    source=state.rng.choice(["api", "widget", "phone"]),
                    created_at=min(now, start) - timedelta(hours=state.rng.randint(2, 400)),
                )


def _restaurants(state: VardvikState, today: date) -> list[Restaurant]:
    mitte = Location(
        "loc_1",
        "Berlin Mitte",
        "Berlin",
        "Europe/Berlin",
        _tables(state),
        _week(range(2, 8), [("12:00", "15:00", "Lunch"), ("17:00", "23:00", "Dinner")]),
        {
            today + timedelta(days=14): SpecialDay(
                today + timedelta(days=14), True, note="Staff training"
            ),
            today + timedelta(days=21): SpecialDay(
                today + timedelta(days=21), False, time(18), time(22), "Private event"
            ),
        },
        [Rule("rule_1", "Dinner covers cap", today - timedelta(days=30), None, 24)],
    )
    kreuzberg = Location(
        "loc_2",
        "Berlin Kreuzberg",
        "Berlin",
        "Europe/Berlin",
        _tables(state),
        _week(range(1, 2), [("11:30", "14:30", "Lunch"), ("18:00", "23:30", "Dinner")])
        + _week(range(3, 8), [("11:30", "14:30", "Lunch"), ("18:00", "23:30", "Dinner")]),
        {today + timedelta(days=9): SpecialDay(today + timedelta(days=9), True, note="Inventory")},
        [Rule("rule_2", "Standard seating", today - timedelta(days=60), None)],
        buffer_minutes=10,
    )
    brygge = Location(
        "loc_3",
        "Aker Brygge",
        "Oslo",
        "Europe/Oslo",
        _tables(state),
        _week(range(1, 7), [("11:00", "15:00", "Lunch"), ("17:00", "22:00", "Middag")]),
        {
            today + timedelta(days=10): SpecialDay(
                today + timedelta(days=10), True, note="Maintenance"
            )
        },
        [
            Rule(
                "rule_3", "Harbour cap", today - timedelta(days=10), today + timedelta(days=120), 20
            )
        ],
    )
    return [
        Restaurant(
            "rst_1", "Atelier Lindenhof", "Europe/Berlin", {"loc_1": mitte, "loc_2": kreuzberg}
        ),
        Restaurant(
            "rst_2",
            "Fjordkroa",
            "Europe/Oslo",
            {"loc_3": brygge},
            Policy(1, 8, 150, 60, 60, 15),
            {"waitlist": False, "webhooks": True, "reservationChanges": False},
        ),
    ]


def seed_demo(state: VardvikState) -> None:
    for key in DEMO_KEYS:
        state.add_api_key(key)
    today = state.local_today("Europe/Berlin")
    for rest in _restaurants(state, today):
        state.restaurants[rest.id] = rest
        berlin = rest.timezone == "Europe/Berlin"
        guests = _guests(
            state, rest, _BERLIN_NAMES if berlin else _OSLO_NAMES, 40 if berlin else 25
        )
        _bookings(state, rest, guests)
