"""The HTTP surface: media types, GET, health, metrics, webhooks, GraphiQL in a browser."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from urllib.parse import urlencode

import pytest

from tablegraph.settings import Secret
from tablegraph.simulators.vardvik import demo_upstreams

from ..auth_support import TEST_KEY
from ..browser import chromium, rendered_dom
from .conftest import Api, Sim, start_gateway
from .helpers import AVAILABILITY, BERLIN_MITTE, quiet_weekday


async def test_graphql_response_media_type(api: Api) -> None:
    accept = {"Accept": "application/graphql-response+json"}
    ok = await api.http.post("/graphql", json={"query": "{ upstreams { name } }"}, headers=accept)
    assert ok.status_code == 200
    assert ok.headers["content-type"].startswith("application/graphql-response+json")
    bad = await api.http.post("/graphql", json={"query": "{ nope }"}, headers=accept)
    assert bad.status_code == 400
    assert bad.headers["content-type"].startswith("application/graphql-response+json")
    plain = await api.http.post("/graphql", json={"query": "{ upstreams { name } }"})
    assert plain.headers["content-type"].startswith("application/json")


async def test_queries_over_get_but_not_mutations(api: Api) -> None:
    ok = await api.http.get("/graphql", params={"query": "{ upstreams { name kind } }"})
    assert ok.status_code == 200
    assert {u["kind"] for u in ok.json()["data"]["upstreams"]} == {"vardvik"}
    mutation = 'mutation { cancelBooking(input: {bookingId: "x"}) { userErrors { code } } }'
    refused = await api.http.get("/graphql", params={"query": mutation})
    assert refused.status_code == 405


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """/metrics parsed by prometheus-client's own text parser: (name, labels) → value."""
    from prometheus_client.parser import text_string_to_metric_families

    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def test_healthz_and_metrics_count_upstream_requests(api: Api) -> None:
    assert (await api.http.get("/healthz")).json() == {"status": "ok"}
    await api.data("{ restaurants { totalCount } }")
    metrics = await api.http.get("/metrics")
    assert metrics.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    samples = _samples(metrics.text)
    labels = (("method", "GET"), ("status", "200"), ("upstream", "vardvik-berlin"))
    assert samples[("tablegraph_upstream_requests_total", labels)] == 1


async def test_metrics_count_operations_by_name_and_outcome(api: Api) -> None:
    for _ in range(2):
        await api.data("query Probe { restaurants { totalCount } }")
    await api.query('query Broken { node(id: "nope") { id } }')
    samples = _samples((await api.http.get("/metrics")).text)
    ok = (("operation", "Probe"), ("outcome", "ok"))
    assert samples[("tablegraph_requests_total", ok)] == 2
    assert samples[("tablegraph_request_seconds_count", (("operation", "Probe"),))] == 2
    broken = [
        k
        for k in samples
        if k[0] == "tablegraph_requests_total" and ("operation", "Broken") in k[1]
    ]
    assert len(broken) == 1 and dict(broken[0][1])["outcome"] != "ok"
    assert samples[("tablegraph_requests_in_flight", ())] == 0
    assert samples[("tablegraph_cache_misses_total", (("cache", "restaurants"),))] >= 1


async def test_availability_is_cached_and_counted(api: Api, sim: Sim) -> None:
    day = quiet_weekday().isoformat()
    variables = {"ids": [BERLIN_MITTE], "date": day, "party": 2}
    first = await api.data(AVAILABILITY, variables)
    calls = sim.count("GET /api/v1/restaurants/{restaurantId}/availability")
    second = await api.data(AVAILABILITY, variables)
    assert first == second
    assert sim.count("GET /api/v1/restaurants/{restaurantId}/availability") == calls == 1


@pytest.fixture
async def hooked(sim: Sim) -> AsyncIterator[Api]:
    upstreams = [
        replace(u, credentials={**u.credentials, "webhook_secret": Secret("whsec_test")})
        for u in demo_upstreams(sim.url)
    ]
    runner, api = await start_gateway(upstreams)
    yield api
    await api.http.aclose()
    await runner.cleanup()


async def test_signed_webhook_invalidates_cached_availability(hooked: Api, sim: Sim) -> None:
    api = hooked
    sim.state.add_webhook("rst_1", api.url("/webhooks/vardvik-berlin"), "whsec_test")
    sim.state.set_tables("loc_1", [("t-solo", 4, "main")])
    day = quiet_weekday()
    variables = {"ids": [BERLIN_MITTE], "date": day.isoformat(), "party": 2}
    slots = (await api.data(AVAILABILITY, variables))["availability"][0]["slots"]
    taken = slots[0]["start"]
    from datetime import datetime

    res = sim.state.add_reservation("rst_1", "loc_1", datetime.fromisoformat(taken), 2)
    sim.state.notify("reservation.created", res)  # staff booked it in the console
    await sim.state.drain_webhooks()
    assert sim.state.deliveries[-1]["responseCode"] == 200
    after = (await api.data(AVAILABILITY, variables))["availability"][0]["slots"]
    assert taken not in [s["start"] for s in after]


async def test_forged_or_stale_webhooks_are_refused(hooked: Api) -> None:
    body = json.dumps(
        {"id": "evt_1", "type": "reservation.created", "restaurantId": "rst_1", "data": {}}
    ).encode()
    url = "/webhooks/vardvik-berlin"
    forged = await hooked.http.post(
        url, content=body, headers={"x-webhook-signature": f"t={int(time.time())},v1={'0' * 64}"}
    )
    assert forged.status_code == 400
    stale_t = int(time.time()) - 3600
    sig = hmac.new(b"whsec_test", f"{stale_t}.".encode() + body, hashlib.sha256).hexdigest()
    stale = await hooked.http.post(
        url, content=body, headers={"x-webhook-signature": f"t={stale_t},v1={sig}"}
    )
    assert stale.status_code == 400
    assert "whsec_test" not in stale.text


async def test_graphiql_renders_in_headless_chromium(api: Api) -> None:
    browser = chromium()
    page = await api.http.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200 and "graphiql.min.js" in page.text
    html = await rendered_dom(browser, api.url("/graphql") + "#key=" + TEST_KEY)
    assert "graphiql-container" in html, html[:500]
    # The IDE fetched the schema through the gateway (introspection) and shows the default query.
    assert "upstreams" in html
    # It did so with the key from the URL fragment (tests/auth/test_demo.py: the demo's key).
    assert TEST_KEY in html and "UNAUTHENTICATED" not in html


async def test_a_query_link_opens_graphiql_with_the_query_in_chromium(api: Api) -> None:
    """``/graphql?query=…`` followed in a browser: GraphiQL, the link's query in the editor."""
    browser = chromium()
    query = "query LinkedQuery { upstreams { kind } }"
    link = api.url("/graphql?" + urlencode({"query": query})) + "#key=" + TEST_KEY
    html = await rendered_dom(browser, link)
    assert "graphiql-container" in html, html[:500]
    assert "LinkedQuery" in html
    assert '"data"' not in html[:200]  # not the raw JSON answer
    assert "UNAUTHENTICATED" not in html  # the editor ran with the key from the fragment
