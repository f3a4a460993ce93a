"""W3C ``traceparent``: the client's trace reaches every upstream call, each with a parent id
of its own; without one (or with a malformed one) the gateway starts a trace of its own."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

import pytest
from aiohttp import web

from tablegraph import tracing
from tablegraph.simulators.vardvik import create_app, demo_upstreams

from .conftest import Sim, start_gateway

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
