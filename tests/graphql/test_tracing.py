"""W3C ``traceparent``: the client's trace reaches every upstream call, each with a parent id
of its own; without one (or with a malformed one) the gateway starts a trace of its own. With
OpenTelemetry on (``tablegraph.otel``), one span per operation and one child span per upstream
call, and what each upstream receives names its call's span."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from aiohttp import web
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from tablegraph import otel, tracing
from tablegraph.simulators.vardvik import create_app, demo_upstreams

from .conftest import Api, Sim, start_gateway

CLIENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
FORMAT = re.compile(r"^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$")
QUERY = "{ restaurants { totalCount } }"


async def _sim_recording(sims: list[Sim], seen: list[str | None]) -> Sim:
    app = create_app(1, rate_limit_per_minute=100_000)

    @web.middleware
    async def record(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        seen.append(request.headers.get("traceparent"))
        return await handler(request)

    app.middlewares.append(record)
    from tablegraph.simulators.common import serve

    runner, url = await serve(app)
    sim = Sim(app, url, runner)
    sims.append(sim)
    return sim


@pytest.mark.parametrize(
    ("sent", "continued"), [(CLIENT, True), (None, False), ("00-zz-nope-01", False)]
)
async def test_traceparent_reaches_every_upstream_call(
    sims: list[Sim], sent: str | None, continued: bool
) -> None:
    seen: list[str | None] = []
    sim = await _sim_recording(sims, seen)
    runner, api = await start_gateway(demo_upstreams(sim.url))
    try:
        headers = {"traceparent": sent} if sent else {}
        response = await api.http.post("/graphql", json={"query": QUERY}, headers=headers)
        assert response.status_code == 200 and "errors" not in response.json()
    finally:
        await api.http.aclose()
        await runner.cleanup()
    assert seen and all(h is not None and FORMAT.match(h) for h in seen), seen
    traces = {h.split("-")[1] for h in seen if h}
    parents = [h.split("-")[2] for h in seen if h]
    assert len(traces) == 1
    assert (traces == {CLIENT.split("-")[1]}) is continued
    assert CLIENT.split("-")[2] not in parents  # each call is a span of its own
    assert len(set(parents)) == len(parents)


def test_forbidden_and_malformed_trace_contexts_are_not_continued() -> None:
    assert tracing.parse(CLIENT) is not None
    for bad in (
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
        "",
    ):
        assert tracing.parse(bad) is None, bad


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """OpenTelemetry on for this test, its spans kept in memory (``otel.install``)."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    otel.install(provider)
    yield exporter
    otel.uninstall()
    provider.shutdown()


async def test_one_operation_span_with_a_child_span_per_upstream_call(
    sims: list[Sim], spans: InMemorySpanExporter
) -> None:
    seen: list[str | None] = []
    sim = await _sim_recording(sims, seen)
    runner, api = await start_gateway(demo_upstreams(sim.url))  # two upstreams, one simulator
    try:
        spans.clear()  # start-up probes, outside any request
        seen.clear()
        response = await api.http.post(
            "/graphql",
            json={"query": "query Everything { restaurants { totalCount } }"},
            headers={"traceparent": CLIENT},
        )
        assert response.status_code == 200 and "errors" not in response.json()
    finally:
        await api.http.aclose()
        await runner.cleanup()
    finished = spans.get_finished_spans()
    (operation,) = [s for s in finished if s.kind is SpanKind.SERVER]
    calls = [s for s in finished if s.kind is SpanKind.CLIENT]
    trace_id, parent_id = int(CLIENT.split("-")[1], 16), int(CLIENT.split("-")[2], 16)
    assert operation.name == "Everything"
    assert operation.context is not None and operation.parent is not None
    assert operation.context.trace_id == trace_id and operation.parent.span_id == parent_id
    assert dict(operation.attributes or {}) == {
        "graphql.operation.name": "Everything",
        "graphql.operation.type": "query",
        "tablegraph.client_id": "test-client",
        "tablegraph.outcome": "ok",
    }
    assert {(s.attributes or {})["tablegraph.upstream"] for s in calls} == {
        "vardvik-berlin",
        "vardvik-oslo",
    }
    for call in calls:
        assert call.parent is not None and call.context is not None
        assert call.parent.span_id == operation.context.span_id
        assert call.context.trace_id == trace_id
        attributes = call.attributes or {}
        assert attributes["http.response.status_code"] == 200
        assert attributes["url.template"] == "/restaurants/{id}/config"  # never a raw id
        assert call.name == "GET /restaurants/{id}/config"
    # What each upstream received names its call's span: the trace is one tree.
    sent = {f"00-{trace_id:032x}-{c.context.span_id:016x}-01" for c in calls if c.context}
    assert set(seen) == sent and len(seen) == len(calls)


async def test_a_failed_operation_says_its_outcome(api: Api, spans: InMemorySpanExporter) -> None:
    spans.clear()
    await api.query('query Broken { node(id: "nope") { id } }')
    (operation,) = [s for s in spans.get_finished_spans() if s.kind is SpanKind.SERVER]
    outcome = (operation.attributes or {})["tablegraph.outcome"]
    assert outcome != "ok" and operation.status.status_code is StatusCode.ERROR
    assert operation.parent is None  # no traceparent from the client: a trace of its own


def test_spans_stay_off_unless_the_environment_asks_for_an_exporter() -> None:
    for environ in (
        {},
        {"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"},
        {"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "otlp"},
    ):
        assert otel.configure(environ) is False, environ
        assert not otel.enabled()


def test_without_the_extra_the_trace_context_is_carried_as_before() -> None:
    """No ``opentelemetry`` to import (a process of its own): no spans, same headers."""
    code = (
        "import sys; sys.modules['opentelemetry'] = None\n"
        "from tablegraph import otel\n"
        "assert not otel.available()\n"
        "assert otel.configure({'OTEL_TRACES_EXPORTER': 'otlp'}) is False\n"
        f"with otel.operation({CLIENT!r}, name='Op', kind='query', client='c') as op:\n"
        "    op.outcome('ok')\n"
        "    with otel.upstream_call('u', 'GET', '/x') as call:\n"
        "        call.status('200')\n"
        "        print(call.headers['traceparent'])\n"
    )
    src = str(Path(__file__).resolve().parents[2] / "src")
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": src},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    sent = done.stdout.strip()
    assert FORMAT.match(sent) and sent.split("-")[1] == CLIENT.split("-")[1]
    assert sent.split("-")[2] != CLIENT.split("-")[2]
