"""Libro seatings -> Slots: local keys without offset, DST in Montreal, experiences, payments."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from tablegraph.model import Area, SlotPayment
from tablegraph.providers.libro.mapping import to_slots
from tests.providers.libro_support import BISTRO, PLATEAU, libro_env

TZ = "America/Montreal"
EDT, EST = timedelta(hours=-4), timedelta(hours=-5)


def _by_wall(slots):  # type: ignore[no-untyped-def]
    return {s.start.strftime("%Y-%m-%dT%H:%M"): s for s in slots}


# ---- payloads from the Libro reference ---------------------------------------------------------


def test_seed_example_with_experiences() -> None:
    # Source: seeds/libro-api.txt, "Get Restaurant Availability", response with experiences.
    body = {
        "2026-07-09": {
            "2026-07-09T11:00:00": [
                {"id": 5211, "name": {"en": "Dinning Room", "fr": "Salle à manger"}}
            ],
            "2026-07-09T11:15:00": [
                {"id": 5211, "name": {"en": "Dinning Room", "fr": "Salle à manger"}}
            ],
        }
    }
    slots = to_slots(body, TZ, 2, "CAD")
    assert [s.start.isoformat() for s in slots] == [
        "2026-07-09T11:00:00-04:00",
        "2026-07-09T11:15:00-04:00",
    ]
    assert slots[0].areas == (
        Area("5211", "Dinning Room", (("en", "Dinning Room"), ("fr", "Salle à manger"))),
    )
    assert slots[0].payment is None and slots[0].party_size == 2
    assert slots[0].end - slots[0].start == timedelta(minutes=90)


def test_seed_example_without_experiences() -> None:
    # Source: seeds/libro-api.txt, "Get Restaurant Availability", response without experiences.
    body = {"2026-07-09": {"2026-07-09T11:00:00": True, "2026-07-09T11:15:00": True}}
    slots = to_slots(body, TZ, 4, "CAD")
    assert [(s.start.hour, s.start.minute, s.areas) for s in slots] == [(11, 0, ()), (11, 15, ())]


def test_payment_required_shapes_from_the_reference() -> None:
    # Source: providers/libro.md "Availability (seatings) response" (DOC
    # restaurants/_availabilities.md): payment-required false | NO_SHOW | TICKETING.
    body = {
        "2025-09-11": {
            "2025-09-11T16:00:00": [
                {
                    "id": 5211,
                    "name": {"en": "Dining Room", "fr": "Salle à manger"},
                    "payment-required": False,
                },
                {
                    "id": 5300,
                    "name": {"en": "Tasting", "fr": "Dégustation"},
                    "payment-required": {
                        "payment-type": "TICKETING",
                        "amount-cents": 12550,
                        "offer": {
                            "id": 9,
                            "name": "Menu",
                            "number": 1,
                            "description": "7 services",
                        },
                    },
                },
            ],
            "2025-09-11T16:15:00": [
                {
                    "payment-required": {
                        "payment-type": "NO_SHOW",
                        "amount-cents": 2000,
                        "payment-delay": 86400,
                    }
                },
            ],
        }
    }
    slots = to_slots(body, TZ, 2, "CAD")
    assert [
        (s.start.strftime("%H:%M"), [a.native_id for a in s.areas], s.payment) for s in slots
    ] == [
        ("16:00", ["5211"], None),
        ("16:00", ["5300"], SlotPayment("TICKET", Decimal("125.50"), "CAD")),
        ("16:15", [], SlotPayment("NO_SHOW_FEE", Decimal("20.00"), "CAD")),
    ]


def test_keys_in_the_dst_gap_and_overlap() -> None:
    # Keys shaped as in the reference (local, no offset); 02:30 does not exist on 2026-03-08,
    # 01:30 happens twice on 2026-11-01 (first occurrence, fold=0, is EDT).
    body = {
        "2026-03-07": {"2026-03-08T01:45:00": True, "2026-03-08T02:30:00": True},
        "2026-10-31": {"2026-11-01T01:30:00": True, "2026-11-01T02:00:00": True},
    }
    got = [s.start.isoformat() for s in to_slots(body, TZ, 2, "CAD")]
    assert got == [
        "2026-03-08T01:45:00-05:00",
        "2026-03-08T03:30:00-04:00",
        "2026-11-01T01:30:00-04:00",
        "2026-11-01T02:00:00-05:00",
    ]


# ---- through the simulator ---------------------------------------------------------------------


async def test_spring_forward_sunday_in_montreal(start_server) -> None:
    async with libro_env(start_server, now=datetime(2026, 3, 1, 12, 0, tzinfo=UTC)) as env:
        sunday = _by_wall(await env.provider.get_availability(BISTRO, date(2026, 3, 8), 2))
        assert sunday["2026-03-08T11:00"].start.utcoffset() == EDT
        assert sunday["2026-03-08T11:00"].service_name == "Diner"
        saturday = _by_wall(await env.provider.get_availability(BISTRO, date(2026, 3, 7), 2))
        assert saturday["2026-03-07T11:00"].start.utcoffset() == EST
        # the late service of Saturday runs through the jump: 02:00 wall time is 03:00 EDT
        night = _by_wall(await env.provider.get_availability(PLATEAU, date(2026, 3, 7), 2))
        assert night["2026-03-08T01:45"].start.utcoffset() == EST
        assert "2026-03-08T02:00" not in night
        assert night["2026-03-08T03:00"].start.utcoffset() == EDT
        assert night["2026-03-08T03:00"].start.astimezone(UTC).hour == 7
        assert night["2026-03-08T01:45"].service_name == "Souper"


async def test_fall_back_sunday_in_montreal(start_server) -> None:
    async with libro_env(start_server, now=datetime(2026, 10, 25, 12, 0, tzinfo=UTC)) as env:
        sunday = _by_wall(await env.provider.get_availability(BISTRO, date(2026, 11, 1), 2))
        assert sunday["2026-11-01T11:00"].start.utcoffset() == EST
        assert sunday["2026-11-01T11:00"].start.astimezone(UTC).hour == 16
        night = await env.provider.get_availability(PLATEAU, date(2026, 10, 31), 2)
        ones = [s.start for s in night if s.start.strftime("%Y-%m-%dT%H:%M") == "2026-11-01T01:30"]
        assert [s.utcoffset() for s in ones] == [EDT]  # first occurrence only
        assert _by_wall(night)["2026-11-01T02:00"].start.utcoffset() == EST


async def test_slot_with_a_ticket_shows_its_price(start_server) -> None:
    async with libro_env(start_server) as env:
        slots = await env.provider.get_availability(BISTRO, date(2026, 7, 4), 2)
        at_seven = [s for s in slots if s.start.strftime("%H:%M") == "19:00"]
        assert [(tuple(a.name for a in s.areas), s.payment) for s in at_seven] == [
            (("Dining Room",), None),
            (("Chef's Table",), SlotPayment("TICKET", Decimal("95.00"), "CAD")),
        ]
        assert dict(at_seven[1].areas[0].localized_names) == {
            "en": "Chef's Table",
            "fr": "Table du chef",
        }


async def test_no_show_fee_for_large_parties(start_server) -> None:
    async with libro_env(start_server) as env:
        small = await env.provider.get_availability(PLATEAU, date(2026, 7, 4), 2)
        large = await env.provider.get_availability(PLATEAU, date(2026, 7, 4), 6)
        assert {s.payment for s in small} == {None}
        assert {s.payment for s in large} == {SlotPayment("NO_SHOW_FEE", Decimal("25.00"), "CAD")}
