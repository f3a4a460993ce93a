"""The shared provider contract (``tests/contract``), run against the real LibreBooking server
with the administrator and with a plain user as the API account.

The contract's tests are imported as they are; only ``subject`` differs: the real server
instead of the simulator, and a fresh day for every slot a test asks for.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import date

import pytest

from tablegraph.model import Capability, Restaurant, Slot
from tablegraph.providers.base import Provider
from tablegraph.providers.librebooking import LibreBookingProvider
from tablegraph.settings import Secret, UpstreamConfig

from ..contract.test_contract import (  # noqa: F401  (collected here, against the real server)
    test_bad_credentials_are_an_auth_error_naming_the_upstream,
    test_batch_restaurant_reads_keep_key_order_and_mark_unknowns,
    test_create_is_visible_then_cancel_is_stable,
    test_idempotent_create_makes_one_booking,
    test_restaurants_have_zones_and_policies,
    test_slots_are_aware_in_the_restaurant_zone_and_on_the_local_day,
    test_tables_are_listed_and_bookings_name_them,
    test_unknown_booking_reads_as_none,
    test_unsupported_operations_raise_not_supported,
)
from .conftest import Days, upstream_config
from .server import Server


@dataclass
class RealSubject:
    """What ``tests/contract`` asks of a subject, over the real server."""

    kind: str
    config: UpstreamConfig
    provider: Provider
    days: Days

    def has(self, capability: Capability) -> bool:
        return capability in type(self.provider).capabilities

    def with_bad_credentials(self) -> Provider:
        bad = {k: Secret("wrong-" + k) for k in self.config.credentials}
        return LibreBookingProvider(replace(self.config, credentials=bad))

    async def open_slot(self, party_size: int = 2, days: int = 21) -> tuple[Restaurant, date, Slot]:
        restaurant = (await self.provider.list_restaurants())[0]
        day = self.days.fresh()
        slots = await self.provider.get_availability(restaurant.native_id, day, party_size)
        assert slots, f"no slot on the fresh day {day}"
        return restaurant, day, slots[len(slots) // 2]


@pytest.fixture
async def subject(real_server: Server, account: str, days: Days) -> AsyncIterator[RealSubject]:
    config = upstream_config(real_server, account)
    provider = LibreBookingProvider(config)
    await provider.start()
    yield RealSubject("librebooking", config, provider, days)
    await provider.close()
