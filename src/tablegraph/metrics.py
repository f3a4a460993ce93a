"""Prometheus metrics for ``/metrics``, with prometheus-client.

One registry per gateway (tests run many gateways in one process). Every series is a live
instrument of the library:

- counted as things happen: GraphQL requests by operation name and outcome and their latency,
  requests in flight, upstream calls by upstream/method/status and their latency by
  upstream/method/endpoint/status (``observe_call``, told by every ``UpstreamClient``), store
  operations' latency by operation and store kind (``stores.timed``);
- copied in from what other parts already count (``sync``: cache hits and misses, breaker
  state and openings, rate budget left) before every scrape and, with many workers, at the end
  of every GraphQL request (``request_done``: a worker that is not scraped still reports) — by
  increment for counters, so a process adds only what it counted itself; a series whose
  source has not moved is not written again (with many workers a write is a locked write to
  a shared file: writing every series after every request was ~8% of a worker's CPU).

**Many workers** (``serve --workers N``): a scrape reaches one worker at random, so each worker
keeps its series in prometheus-client's *multiprocess mode* — the supervisor
(``tablegraph.workers``) gives every worker the same empty ``PROMETHEUS_MULTIPROC_DIR``, marks
a worker's files dead when it exits (``mark_process_dead``) and removes the directory at the
end — and whichever worker is scraped renders the sum over all of them
(``MultiProcessCollector``). Counters and histograms add up; the gauges say how: requests in
flight add up over live workers (``livesum``), a breaker counts as open when it is open in any
live worker (``livemax``), and the rate budget left is the smallest any live worker sees
(``livemin``: the budget is counted in the store, and each worker's governor knows the count
as of its own last request). Chosen over a per-worker label,
which would still show only the scraped worker's series. Without the variable (one process,
tests) the registry is rendered as it is.

Label values stay bounded: an ``endpoint`` is a route template (``routes.route_template``,
never a raw path with ids), and operation names and endpoints beyond a fixed number per family
are counted as ``other``, so a client inventing operation names cannot grow the series.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from tablegraph.breaker import CircuitState

if TYPE_CHECKING:
    from tablegraph.gateway import Gateway

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
#: The environment variable prometheus-client's multiprocess mode reads (set per worker).
MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"
#: Beyond this many operation names (or endpoints of one upstream), ``other``.
MAX_OPERATIONS = 200
MAX_ENDPOINTS = 50
OTHER = "other"
#: Store operations take a fraction of a millisecond (memory) to tens (Redis across a network).
STORE_BUCKETS = (0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)


class _Counted(Protocol):
    """A cache's own counts (``AsyncTTLCache``, ``MappedAnswers``)."""

    hits: int
    misses: int


class _Bounded:
    """At most ``limit`` distinct values per key; later newcomers become ``other``."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._seen: dict[str, set[str]] = {}

    def __call__(self, value: str, key: str = "") -> str:
        seen = self._seen.setdefault(key, set())
        if value in seen:
            return value
        if len(seen) >= self._limit:
            return OTHER
        seen.add(value)
        return value


def multiprocess_dir() -> str | None:
    """The multiprocess directory when this process is one of several workers."""
    return os.environ.get(MULTIPROC_DIR) or None


class Metrics:
    def __init__(self, gateway: Gateway) -> None:
        self._gateway = gateway
        self.registry = r = CollectorRegistry(auto_describe=False)
        self.requests = Counter(
            "tablegraph_requests",
            "GraphQL requests by operation name and outcome (ok, or the first error code).",
            ["operation", "outcome"],
            registry=r,
        )
        self.latency = Histogram(
            "tablegraph_request_seconds",
            "GraphQL request duration by operation name.",
            ["operation"],
            registry=r,
        )
        self.in_flight = Gauge(
            "tablegraph_requests_in_flight",
            "GraphQL requests being answered.",
            registry=r,
            multiprocess_mode="livesum",
        )
        self.upstream_requests = Counter(
            "tablegraph_upstream_requests",
            "Requests sent to upstreams by method and status (or timeout, transport-error).",
            ["upstream", "method", "status"],
            registry=r,
        )
        self.upstream_latency = Histogram(
            "tablegraph_upstream_request_seconds",
            "Upstream HTTP exchange duration by upstream, method, route template and status.",
            ["upstream", "method", "endpoint", "status"],
            registry=r,
        )
        self.store_latency = Histogram(
            "tablegraph_store_seconds",
            "Store operation duration by operation and store kind.",
            ["operation", "store"],
            registry=r,
            buckets=STORE_BUCKETS,
        )
        self.circuit_open = Gauge(
            "tablegraph_circuit_open",
            "1 while the upstream's breaker is open (in any worker).",
            ["upstream"],
            registry=r,
            multiprocess_mode="livemax",
        )
        self.circuit_opened = Counter(
            "tablegraph_circuit_opened", "Times the breaker opened.", ["upstream"], registry=r
        )
        self.cache_hits = Counter("tablegraph_cache_hits", "Cache hits.", ["cache"], registry=r)
        self.cache_misses = Counter(
            "tablegraph_cache_misses", "Cache misses.", ["cache"], registry=r
        )
        self.rate_budget = Gauge(
            "tablegraph_rate_budget_remaining",
            "Requests the upstream's rate budget has left in its current window (per budget: "
            "resOS has one per API key; the smallest any worker sees).",
            ["upstream", "budget"],
            registry=r,
            multiprocess_mode="livemin",
        )
        self.event_subscribers = Gauge(
            "tablegraph_event_subscribers",
            "Subscribers to booking events (of restaurants the worker hears from the store).",
            ["upstream"],
            registry=r,
            multiprocess_mode="livesum",
        )
        self.events_published = Counter(
            "tablegraph_events_published",
            "Booking events published (first seen anywhere) or found already published.",
            ["outcome"],
            registry=r,
        )
        self.event_polls = Counter(
            "tablegraph_event_polls", "Polls of restaurants for booking events.", ["upstream"],
            registry=r,
        )  # fmt: skip
        self.poll_leases = Gauge(
            "tablegraph_poll_leases",
            "Restaurants polled for booking events (poll leases held).",
            ["upstream"],
            registry=r,
            multiprocess_mode="livesum",
        )
        self._operations = _Bounded(MAX_OPERATIONS)
        self._endpoints = _Bounded(MAX_ENDPOINTS)
        #: What ``sync`` last copied from each source counter (name → value), and last set
        #: each gauge series to ((id of the gauge, labels) → value).
        self._copied: dict[tuple[str, str], int] = {}
        self._gauged: dict[tuple[int, tuple[str, ...]], float] = {}
        #: One of several workers: every request ends with a ``sync``.
        self._shared = multiprocess_dir() is not None
        #: Caches of the HTTP application reported beside the gateway's (``queries``: the
        #: executions identical queries shared, ``graphql/shared_queries.py``).
        self.app_caches: dict[str, _Counted] = {}

    def observe(self, operation: str | None, outcome: str, seconds: float) -> None:
        name = self._operations(operation or "anonymous")
        self.requests.labels(name, outcome).inc()
        self.latency.labels(name).observe(seconds)

    def observe_call(
        self, upstream: str, method: str, endpoint: str, status: str, seconds: float
    ) -> None:
        """One HTTP exchange with an upstream (``endpoint``: a route template)."""
        self.upstream_requests.labels(upstream, method, status).inc()
        endpoint = self._endpoints(endpoint, upstream)
        self.upstream_latency.labels(upstream, method, endpoint, status).observe(seconds)

    def observe_store(self, operation: str, store: str, seconds: float) -> None:
        self.store_latency.labels(operation, store).observe(seconds)

    def request_done(self) -> None:
        if self._shared:
            self.sync()

    def sync(self) -> None:
        """Copy in what the gateway's parts count themselves (this process's share)."""
        gateway = self._gateway
        for name, provider in gateway.providers.items():
            self._set(
                self.circuit_open, (name,), int(provider.breaker.state is not CircuitState.CLOSED)
            )
            self._add(self.circuit_opened, (name,), ("opened", name), provider.breaker.opened_count)
            for budget, left in provider.rate_budgets().items():
                self._set(self.rate_budget, (name, budget), left)
        caches: dict[str, _Counted] = {
            "availability": gateway.availability,
            "restaurants": gateway.restaurant_lists,
            "opening_hours": gateway.opening,
            "reviews": gateway.review_lists,
        }
        # Reads shared in flight (hits: a request joined another's read; misses: it read).
        for shared, reads in (
            ("booking_lists", gateway.booking_lists),
            ("bookings", gateway.booking_batches),
            ("guests", gateway.guest_batches),
        ):
            if reads is not None:
                caches[shared] = reads
        caches.update(self.app_caches)
        if gateway.runtime.caches is not None:  # adapters' caches, "<upstream>.<what>"
            caches.update(gateway.runtime.caches.made)
            # hits: an answer's mapping reused (its body unchanged); misses: mapped.
            caches.update(gateway.runtime.caches.mapped)
        for cache_name, cache in caches.items():
            self._add(self.cache_hits, (cache_name,), ("hits", cache_name), cache.hits)
            self._add(self.cache_misses, (cache_name,), ("misses", cache_name), cache.misses)

        self._sync_events()

    def _sync_events(self) -> None:
        """Live booking events on this worker: subscribers, events, polls and poll leases."""
        gateway = self._gateway
        bus, pollers = gateway.events, gateway.pollers
        subscribers = dict.fromkeys(gateway.providers, 0)
        for stream, count in bus.local.watched().items():
            if bus.hearing(stream) and stream[0] in subscribers:
                subscribers[stream[0]] += count
        leases = dict.fromkeys(gateway.providers, 0)
        for stream in pollers.leading:
            if stream[0] in leases:
                leases[stream[0]] += 1
        for name in gateway.providers:  # every upstream: a gauge back at 0 must say so
            self._set(self.event_subscribers, (name,), subscribers[name])
            self._set(self.poll_leases, (name,), leases[name])
        polled: dict[str, int] = {}
        for stream, count in pollers.polls.items():
            polled[stream[0]] = polled.get(stream[0], 0) + count
        for name, count in polled.items():
            self._add(self.event_polls, (name,), ("polls", name), count)
        published = self.events_published
        self._add(published, ("published",), ("events", "published"), bus.published)
        self._add(published, ("duplicate",), ("events", "duplicate"), bus.duplicates)

    def _add(
        self, counter: Counter, labels: tuple[str, ...], source: tuple[str, str], total: int
    ) -> None:
        """``counter{labels}`` grows by what ``source`` counted since the last sync; nothing is
        written when that is nothing and the series exists (with many workers each write is
        a locked write to a shared file, and ``sync`` ends every request)."""
        before = self._copied.get(source)
        if before == total:
            return
        counter.labels(*labels).inc(max(total - (before or 0), 0))  # inc(0) creates the series
        self._copied[source] = total

    def _set(self, gauge: Gauge, labels: tuple[str, ...], value: float) -> None:
        """``gauge{labels}`` set to ``value``, written only when it changed."""
        key = (id(gauge), labels)
        if self._gauged.get(key) == value:
            return
        gauge.labels(*labels).set(value)
        self._gauged[key] = value

    def render(self) -> bytes:
        self.sync()
        path = multiprocess_dir()
        if path is None:
            return generate_latest(self.registry)
        every_worker = CollectorRegistry(auto_describe=False)
        MultiProcessCollector(every_worker, path=path)  # type: ignore[no-untyped-call]
        return generate_latest(every_worker)
