"""Benchmark (``-m benchmark``; figures printed, no pass/fail on timing): parse and validation
time per request, with and without the document cache.

Each request runs the same document through ``schema.execute``; the operation reads only
``upstreams`` of a gateway with none configured, so execution is next to free and the
difference is the parse and validation the cache saves.
"""

from __future__ import annotations

import statistics
import time

import pytest

from tablegraph.auth.identity import Identity
from tablegraph.auth.scopes import ALL_SCOPES
from tablegraph.gateway import Gateway
from tablegraph.graphql.context import Context
from tablegraph.graphql.schema import build_schema
from tablegraph.settings import GatewaySettings, Limits

DOCUMENT = (
    "query Dashboard($first: Int) {\n"
    + "\n".join(f"  u{i}: upstreams {{ ...Upstream }}" for i in range(25))
    + "\n  restaurants(first: $first) @skip(if: true) { nodes { ...Restaurant } }\n}\n"
    "fragment Upstream on Upstream { name kind displayName status circuit "
    "circuitRetryInSeconds lastErrorCode capabilities requestsSent details }\n"
    "fragment Restaurant on Restaurant { id name timezone city address phone capabilities "
    "policy { minPartySize maxPartySize minLeadMinutes maxAdvanceDays } "
    "openingHours { weekly { dayOfWeek opens closes serviceName } specialDays { date closed } } "
    'bookings(date: "2026-12-02") { nodes { id status start end partySize '
    "guest { firstName lastName email } } totalCount } }\n"
)
REQUESTS = 300


async def _per_request_ms(cache_mb: int) -> list[float]:
    schema = build_schema(Limits(document_cache_mb=cache_mb))
    gateway = Gateway(GatewaySettings(upstreams=()), providers=[])
    reader = Identity("benchmark", ALL_SCOPES)
    times = []
    for _ in range(REQUESTS):
        started = time.perf_counter()
        result = await schema.execute(
            DOCUMENT, context_value=Context(gateway=gateway, identity=reader)
        )
        times.append((time.perf_counter() - started) * 1000)
        assert result.errors is None, result.errors
    return times


@pytest.mark.benchmark
async def test_parse_and_validate_per_request_with_and_without_the_cache() -> None:
    without = await _per_request_ms(0)
    with_cache = await _per_request_ms(64)
    print(f"\n{len(DOCUMENT)}-byte document, {REQUESTS} requests each (ms per request):")
    for name, times in (("no document cache", without), ("document cache", with_cache)):
        print(
            f"  {name:<18} median {statistics.median(times):7.3f}  "
            f"p95 {sorted(times)[int(len(times) * 0.95)]:7.3f}"
        )
    saved = statistics.median(without) - statistics.median(with_cache)
    print(f"  parse + validate saved per request: {saved:.3f} ms")
