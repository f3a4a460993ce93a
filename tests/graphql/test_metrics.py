"""``/metrics`` beyond requests by operation: upstream call latency by route template, store
latency, requests in flight, the rate budget left, and label values that stay bounded. Every
figure is checked against what the test did (parsed with prometheus-client's text parser)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from tablegraph.gateway import Gateway
from tablegraph.metrics import MAX_OPERATIONS, OTHER
from tablegraph.providers.kit import Runtime
from tablegraph.routes import route_template
from tablegraph.settings import GatewaySettings
from tablegraph.simulators import resos
from tablegraph.simulators.common import REQUEST_COUNTS
from tablegraph.simulators.faults import FAULTS, Fault
from tests.conftest import StartServer

from .conftest import Api, Sim
from .helpers import AVAILABILITY, BERLIN_MITTE, quiet_weekday

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def _samples(text: str) -> Samples:
    from prometheus_client.parser import text_string_to_metric_families

    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def _total(samples: Samples, name: str, **labels: str) -> float:
    """The sum of ``name``'s samples whose labels include ``labels``."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= set(ls))


async def _scrape(api: Api) -> Samples:
    response = await api.http.get("/metrics")
    assert response.status_code == 200
    return _samples(response.text)


def test_route_templates_keep_words_and_replace_ids() -> None:
    assert route_template("/restaurants/rst_1/availability") == "/restaurants/{id}/availability"
    assert route_template("/bookings/65f1c0a9e4b0/restaurantNote") == (
        "/bookings/{id}/restaurantNote"
    )
    assert route_template("/Web/Services/index.php/Reservations/abc123def") == (
        "/Web/Services/index.php/Reservations/{id}"
    )
    assert route_template("Reservations/") == "Reservations/"
    assert route_template("/bookingFlow/times?x=1") == "/bookingFlow/times"
    assert route_template("/guests/ada@example.com") == "/guests/{id}"


async def test_upstream_calls_are_timed_by_route_template(api: Api, sim: Sim) -> None:
    day = quiet_weekday().isoformat()
    await api.data(AVAILABILITY, {"ids": [BERLIN_MITTE], "date": day, "party": 2})
    samples = await _scrape(api)
    route = "/restaurants/{id}/availability"
    timed = _total(
        samples, "tablegraph_upstream_request_seconds_count", endpoint=route, status="200"
    )
    assert timed == sim.count("GET /api/v1/restaurants/{restaurantId}/availability") == 1
    # Every exchange the simulator saw is in the histogram, and counted once per status.
    assert _total(samples, "tablegraph_upstream_request_seconds_count") == sim.count()
    assert _total(samples, "tablegraph_upstream_requests_total") == sim.count()
    endpoints = {dict(ls).get("endpoint") for n, ls in samples if "upstream_request_sec" in n}
    assert not [e for e in endpoints if e and "rst_" in e]  # never a raw id


async def test_store_operations_are_timed_by_operation_and_kind(api: Api) -> None:
    before = await _scrape(api)
    await api.gateway.store.set("metrics-test", "1")
    await api.gateway.store.get("metrics-test")
    await api.gateway.store.get("metrics-test")
    after = await _scrape(api)
    for operation, times in (("set", 1), ("get", 2)):
        name = "tablegraph_store_seconds_count"
        added = _total(after, name, operation=operation, store="memory") - _total(
            before, name, operation=operation, store="memory"
        )
        assert added == times, operation


async def test_requests_in_flight_count_a_request_held_upstream(api: Api, sim: Sim) -> None:
    faults = sim.app[FAULTS]
    faults.add(Fault("hang", path="availability", count=1))
    day = quiet_weekday().isoformat()
    held = asyncio.create_task(
        api.query(AVAILABILITY, {"ids": [BERLIN_MITTE], "date": day, "party": 2})
    )
    async with asyncio.timeout(30):
        while faults.hanging == 0:  # each scrape lets the held request go further
            await _scrape(api)
    assert (await _scrape(api))[("tablegraph_requests_in_flight", ())] == 1
    faults.clear()  # let it go: the read is retried and answered
    await held
    assert (await _scrape(api))[("tablegraph_requests_in_flight", ())] == 0


async def test_operation_names_beyond_the_cap_are_counted_as_other(api: Api) -> None:
    metrics = api.gateway.metrics
    for n in range(MAX_OPERATIONS + 25):
        metrics.observe(f"Invented{n}", "ok", 0.001)
    samples = _samples(metrics.render().decode())
    names = {dict(ls)["operation"] for n, ls in samples if n == "tablegraph_requests_total"}
    assert len(names) == MAX_OPERATIONS + 1 and OTHER in names
    assert samples[("tablegraph_requests_total", (("operation", OTHER), ("outcome", "ok")))] == 25


async def test_rate_budget_left_per_resos_key(start_server: StartServer) -> None:
    """resOS' governors, one per API key, on a frozen wall clock (one budget window)."""
    app = resos.create_app(1)
    url = await start_server(app)
    (config,) = resos.demo_upstreams(url)
    config = replace(config, options={**config.options, "rate_limit_per_minute": 50})
    noon = datetime(2030, 6, 3, 12, 0, 30, tzinfo=UTC)
    gateway = Gateway(GatewaySettings(upstreams=(config,)), runtime=Runtime(now=lambda: noon))
    await gateway.start()  # one health check per key
    try:
        await gateway.provider(config.name).list_restaurants()
        samples = _samples(gateway.metrics.render().decode())
    finally:
        await gateway.close()
    left = {
        dict(ls)["budget"]: v
        for (n, ls), v in samples.items()
        if n == "tablegraph_rate_budget_remaining"
    }
    assert set(left) == {"key_copenhagen", "key_oslo"}
    sent = int(app[REQUEST_COUNTS]["*"])  # every one went through a key's governor
    assert sum(left.values()) == 2 * 50 - sent and sent >= 2


async def test_a_sync_writes_only_what_changed(start_server: StartServer) -> None:
    """With many workers every request ends with a ``sync``, and each write is a locked write
    to a shared file: a sync writes a series only when its source moved (or is new)."""
    app = resos.create_app(1)
    (config,) = resos.demo_upstreams(await start_server(app))
    gateway = Gateway(GatewaySettings(upstreams=(config,)))
    await gateway.start()
    metrics = gateway.metrics
    written: list[tuple[str, ...]] = []
    try:
        metrics.sync()  # every series created
        for family in (
            metrics.cache_hits,
            metrics.cache_misses,
            metrics.circuit_open,
            metrics.circuit_opened,
            metrics.rate_budget,
            metrics.event_subscribers,
            metrics.poll_leases,
            metrics.event_polls,
            metrics.events_published,
        ):
            labels = family.labels

            def spy(*values: str, _labels: Any = labels) -> Any:
                written.append(values)
                return _labels(*values)

            family.labels = spy  # type: ignore[method-assign]
        metrics.sync()
        assert written == []  # nothing moved
        gateway.availability.hits += 3
        metrics.sync()
        metrics.sync()
        assert written == [("availability",)]
        samples = _samples(metrics.render().decode())
    finally:
        await gateway.close()
    assert _total(samples, "tablegraph_cache_hits_total", cache="availability") == 3
