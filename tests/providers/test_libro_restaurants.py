"""Libro restaurants through the adapter: pages, lookup by code, options, demo config."""

from __future__ import annotations

from datetime import time

from tablegraph.simulators.libro import demo_upstreams
from tests.providers.libro_support import BISTRO, PLATEAU, libro_env


async def test_list_pages_and_lookup_by_code(start_server) -> None:
    async with libro_env(start_server, page_size=1) as env:
        restaurants = await env.provider.list_restaurants()
        assert [(r.native_id, r.reference, r.timezone) for r in restaurants] == [
            (BISTRO, "4521", "America/Montreal"),
            (PLATEAU, "4522", "America/Montreal"),
        ]
        assert env.count("GET /restricted/restaurants") == 3  # 1 + 1 + an empty page
        got = await env.provider.get_restaurants([PLATEAU, "QC000000000000", BISTRO])
        assert [g.native_id if g else None for g in got] == [PLATEAU, None, BISTRO]
        plateau = got[0]
        assert plateau.policy.cancellation_cutoff_minutes == 120
        assert plateau.policy.max_advance_days == 91  # three lead months


async def test_restaurant_codes_option_limits_what_is_exposed(start_server) -> None:
    async with libro_env(start_server, restaurant_codes=[PLATEAU]) as env:
        assert [r.native_id for r in await env.provider.list_restaurants()] == [PLATEAU]


async def test_opening_hours_from_service_scopes(start_server) -> None:
    async with libro_env(start_server) as env:
        hours = await env.provider.get_opening_hours(PLATEAU)
        assert {(p.opens, p.closes, p.service_name) for p in hours.weekly} == {
            (time(17, 0), time(2, 30), "Souper")
        }


def test_demo_upstreams() -> None:
    [config] = demo_upstreams("http://127.0.0.1:9")
    assert (config.name, config.kind, config.base_url) == (
        "libro-montreal",
        "libro",
        "http://127.0.0.1:9",
    )
    assert set(config.credentials) == {"client_id", "client_secret", "webhook_secret"}
    assert "libro-demo-secret" not in repr(config)
    assert config.options["restaurant_codes"] == [BISTRO, PLATEAU]


async def test_codes_outside_the_configured_ones_are_not_found(start_server) -> None:
    async with libro_env(start_server, restaurant_codes=[PLATEAU]) as env:
        got = await env.provider.get_restaurants([BISTRO, PLATEAU])
        assert got[0] is None and got[1] is not None and got[1].native_id == PLATEAU
