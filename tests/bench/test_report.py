"""The benchmark's measured floor: the request it sends directly, and the ratios it reports."""

from __future__ import annotations

from typing import Any

import httpx

from tablegraph import ids
from tablegraph.providers import KINDS
from tablegraph.simulators import simulator_module
from tablegraph.simulators.common import serve
from tests.bench.runner import DIRECT, direct_request, markdown


async def test_the_direct_request_is_the_day_list_vardvik_answers() -> None:
    """The floor is measured with the request the gateway itself sends for dashboard_one."""
    runner, url = await serve(simulator_module("vardvik").create_app(7))
    try:
        env: dict[str, Any] = {"dashboard": [("", "")] * len(KINDS)}
        rid = ids.encode("Restaurant", "vardvik-berlin", "rst_1/loc_1")
        env["dashboard"][KINDS.index("vardvik")] = (rid, "2026-12-03")
        target, authorization = direct_request(env, url)
        async with httpx.AsyncClient() as client:
            answer = await client.get(target, headers={"Authorization": authorization})
            refused = await client.get(target)
        assert answer.status_code == 200, answer.text
        assert "/restaurants/rst_1/reservations?locationId=loc_1&date=2026-12-03" in target
        assert refused.status_code == 401  # so the header is what made it pass
    finally:
        await runner.cleanup()


def _point(system: str, workers: int, c: int, p50: float, p99: float) -> dict[str, Any]:
    return {
        "system": system,
        "workers": workers,
        "workload": "dashboard_one",
        "concurrency": c,
        "rps": 10.0,
        "p50_ms": p50,
        "p95_ms": p99,
        "p99_ms": p99,
        "cpu_ms_per_query": float("nan") if system == DIRECT else 5.0,
        "upstream_requests": 1,
        "upstream_per_query": 1.0,
        "rows": 59,
        "peak_rss_mb": float("nan") if system == DIRECT else 90.0,
        "bad_responses": 0,
        "socket_errors": 0,
    }


def test_latency_is_reported_against_the_measured_floor_of_the_same_concurrency() -> None:
    results = [
        _point(DIRECT, 0, 1, 25.0, 30.0),
        _point(DIRECT, 0, 1, 27.0, 34.0),  # medians across rounds: 26 and 32
        _point(DIRECT, 0, 10, 50.0, 80.0),
        _point("tablegraph", 1, 1, 39.0, 48.0),
        _point("tablegraph", 2, 10, 75.0, 100.0),
    ]
    data = {
        "machine": {"cpus": 2, "cpu": "test", "python": "3.11", "load_average_at_end": [0]},
        "args": {"latency_ms": 20.0, "jitter_ms": 2.0, "rounds": 2, "duration": 5.0},
        "results": results,
    }
    table = {
        (cells[3], cells[2], cells[1]): cells
        for line in markdown(data).splitlines()
        if line.startswith("| dashboard_one")
        for cells in [[c.strip() for c in line.strip("|").split("|")]]
    }
    one = table[("1", "tablegraph", "1")]
    assert one[11:14] == ["1.95", "1.50", "1.50"]  # 39/20 nominal; 39/26, 48/32 measured
    ten = table[("10", "tablegraph", "2")]
    assert ten[11:14] == ["3.75", "1.50", "1.25"]  # 75/50, 100/80: the floor at c = 10
    floor = table[("1", DIRECT, "—")]
    assert floor[12:16] == ["1.00", "1.00", "—", "—"]  # no gateway: no CPU, no RSS
