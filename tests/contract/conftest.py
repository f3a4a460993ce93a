"""The shared provider contract: every provider kind in the registry (``providers.KINDS``).

A subject is built only from its simulator module's public face (``create_app``,
``DEMO_OPTIONS``, ``demo_upstreams``), so the suite holds no per-provider code; skips come
from declared capabilities.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta

import pytest
from aiohttp import web

from tablegraph.model import Capability, Restaurant, Slot
from tablegraph.providers import KINDS, provider_class
from tablegraph.providers.base import Provider
from tablegraph.settings import Secret, UpstreamConfig
from tablegraph.simulators import simulator_module
from tablegraph.simulators.common import REQUEST_COUNTS
from tablegraph.timeutil import zone


@dataclass
class Subject:
    kind: str
    app: web.Application
    url: str
    config: UpstreamConfig
    provider: Provider

    def has(self, capability: Capability) -> bool:
        return capability in type(self.provider).capabilities

    def requests(self) -> int:
        return int(self.app[REQUEST_COUNTS]["*"])

    def with_bad_credentials(self) -> Provider:
        bad = {k: Secret("wrong-" + k) for k in self.config.credentials}
        return provider_class(self.kind)(replace(self.config, credentials=bad))

    async def open_slot(self, party_size: int = 2, days: int = 21) -> tuple[Restaurant, date, Slot]:
        """The first bookable slot from tomorrow on, in the first restaurant that has one."""
        for restaurant in await self.provider.list_restaurants():
            today = datetime.now(UTC).astimezone(zone(restaurant.timezone)).date()
            for offset in range(2, days):
                day = today + timedelta(days=offset)
                slots = await self.provider.get_availability(restaurant.native_id, day, party_size)
                if slots:
                    return restaurant, day, slots[len(slots) // 2]
        raise AssertionError(f"{self.kind}: no bookable slot in {days} days")


@pytest.fixture(params=KINDS)
async def subject(request: pytest.FixtureRequest, start_server) -> AsyncIterator[Subject]:
    module = simulator_module(request.param)
    options = dict(getattr(module, "DEMO_OPTIONS", {}))
    app = module.create_app(7, **options)
    url = await start_server(app)
    config = module.demo_upstreams(url)[0]
    provider = provider_class(request.param)(config)
    await provider.start()
    yield Subject(request.param, app, url, config, provider)
    await provider.close()
