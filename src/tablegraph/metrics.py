"""Prometheus metrics for ``/metrics``, with prometheus-client.

One registry per gateway (tests run many gateways in one process). What the gateway counts
as it goes — requests by operation name and outcome, their latency, requests in flight — are
the library's instruments; what other parts already keep — upstream calls per client,
breaker state, cache hits — is read at scrape time by a collector, so nothing is counted
twice.

Per process: with ``--workers N`` each worker answers ``/metrics`` for itself (a scrape
reaches one of them). The library's multiprocess mode would aggregate them; not done yet.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from tablegraph.breaker import CircuitState

if TYPE_CHECKING:
    from tablegraph.gateway import Gateway

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Metrics:
    def __init__(self, gateway: Gateway) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.requests = Counter(
            "tablegraph_requests",
            "GraphQL requests by operation name and outcome (ok, or the first error code).",
            ["operation", "outcome"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "tablegraph_request_seconds",
            "GraphQL request duration by operation name.",
            ["operation"],
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "tablegraph_requests_in_flight",
            "GraphQL requests being answered.",
            registry=self.registry,
        )
        self.registry.register(_Snapshot(gateway))

    def observe(self, operation: str | None, outcome: str, seconds: float) -> None:
        name = operation or "anonymous"
        self.requests.labels(name, outcome).inc()
        self.latency.labels(name).observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _Snapshot(Collector):
    """What the gateway's parts already count, read at scrape time."""

    def __init__(self, gateway: Gateway) -> None:
        self._gateway = gateway

    def collect(self) -> Iterator[Metric]:
        gateway = self._gateway
        upstream = CounterMetricFamily(
            "tablegraph_upstream_requests",
            "Requests sent to upstreams.",
            labels=["upstream", "method", "status"],
        )
        circuit = GaugeMetricFamily(
            "tablegraph_circuit_open",
            "1 while the upstream's breaker is open.",
            labels=["upstream"],
        )
        opened = CounterMetricFamily(
            "tablegraph_circuit_opened", "Times the breaker opened.", labels=["upstream"]
        )
        for name, provider in gateway.providers.items():
            counts: dict[tuple[str, str], int] = {}
            for client in provider.clients:
                for key, count in client.counts.items():
                    method, _, status = key.partition(" ")
                    counts[(method, status)] = counts.get((method, status), 0) + count
            for (method, status), count in sorted(counts.items()):
                upstream.add_metric([name, method, status], count)
            circuit.add_metric([name], int(provider.breaker.state is not CircuitState.CLOSED))
            opened.add_metric([name], provider.breaker.opened_count)
        hits = CounterMetricFamily("tablegraph_cache_hits", "Cache hits.", labels=["cache"])
        misses = CounterMetricFamily("tablegraph_cache_misses", "Cache misses.", labels=["cache"])
        for cache_name, cache in (
            ("availability", gateway.availability),
            ("restaurants", gateway.restaurant_lists),
            ("opening_hours", gateway.opening),
        ):
            hits.add_metric([cache_name], cache.hits)
            misses.add_metric([cache_name], cache.misses)
        yield from (upstream, circuit, opened, hits, misses)
        yield from _events(gateway)


def _events(gateway: Gateway) -> Iterator[Metric]:
    """Live booking events on this worker: subscribers, events, polls and poll leases."""
    subscribers = GaugeMetricFamily(
        "tablegraph_event_subscribers",
        "Subscribers to booking events on this worker (of restaurants it hears from the store).",
        labels=["upstream"],
    )
    per_upstream: dict[str, int] = {}
    bus = gateway.events
    for stream, count in bus.local.watched().items():
        if bus.hearing(stream):
            per_upstream[stream[0]] = per_upstream.get(stream[0], 0) + count
    for name, count in sorted(per_upstream.items()):
        subscribers.add_metric([name], count)
    published = CounterMetricFamily(
        "tablegraph_events_published",
        "Booking events this worker published (first seen anywhere) or found already published.",
        labels=["outcome"],
    )
    published.add_metric(["published"], bus.published)
    published.add_metric(["duplicate"], bus.duplicates)
    polls = CounterMetricFamily(
        "tablegraph_event_polls", "Polls of restaurants for booking events.", labels=["upstream"]
    )
    leases = GaugeMetricFamily(
        "tablegraph_poll_leases",
        "Restaurants this worker polls (holds the lease of).",
        labels=["upstream"],
    )
    pollers = gateway.pollers
    polled: dict[str, int] = {}
    for stream, count in pollers.polls.items():
        polled[stream[0]] = polled.get(stream[0], 0) + count
    for name, count in sorted(polled.items()):
        polls.add_metric([name], count)
    held: dict[str, int] = {}
    for stream in pollers.leading:
        held[stream[0]] = held.get(stream[0], 0) + 1
    for name, count in sorted(held.items()):
        leases.add_metric([name], count)
    yield from (subscribers, published, polls, leases)
