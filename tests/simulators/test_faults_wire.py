"""Every fault kind, on every simulator, as a client sees it on the wire."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

import httpx
import pytest

from tablegraph.providers import KINDS
from tablegraph.simulators.faults import Fault

from .conftest import Sim, build_app


def _not_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return True
    return False


def _assert_error_shape(sim: Sim, response: httpx.Response, status: int) -> None:
    """The provider's own error body for ``status``."""
    assert response.status_code == status
    sim.harness.error_shape(response, status)


def _quiet(caplog: pytest.LogCaptureFixture) -> None:
    """Nothing at warning level or above, and no tracebacks, were logged."""
    noisy = [r for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info]
    assert noisy == [], [r.getMessage() for r in noisy]


async def test_error_answers_in_the_providers_error_shape(sim: Sim) -> None:
    sim.faults.add(Fault("error", status=503))
    _assert_error_shape(sim, await sim.probe(), 503)
    sim.faults.clear()
    sim.faults.add(Fault("error", status=500))
    _assert_error_shape(sim, await sim.probe(), 500)
    assert sim.faults.hits["error"] == 2


async def test_rate_limit_carries_retry_after_in_the_providers_unit(sim: Sim) -> None:
    sim.faults.add(Fault("rate_limit", retry_after_seconds=2.5, count=1))
    response = await sim.probe()
    _assert_error_shape(sim, response, 429)
    # 2.5 s in the provider's unit: milliseconds as they are, whole seconds rounded up.
    unit = sim.harness.retry_after_unit
    expected = str(round(2.5 / unit)) if unit < 1 else "3"
    assert response.headers["Retry-After"] == expected
    assert (await sim.probe()).status_code == 200  # count=1: a burst of one


async def test_malformed_is_a_json_typed_body_that_is_not_json(sim: Sim) -> None:
    sim.faults.add(Fault("malformed"))
    response = await sim.probe()
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert _not_json(response.text)


async def test_truncated_sends_the_first_half_of_the_real_answer(sim: Sim) -> None:
    full = await sim.probe()
    assert full.status_code == 200
    sim.faults.add(Fault("truncated", count=1))
    cut = await sim.probe()
    assert cut.status_code == 200
    assert cut.content == full.content[: len(full.content) // 2]
    assert int(cut.headers["Content-Length"]) == len(cut.content)
    assert _not_json(cut.text)
    assert (await sim.probe()).content == full.content  # the connection is still fine


@pytest.mark.parametrize("kind_of_cut", ["drop_response", "reset"])
async def test_a_cut_connection_is_a_transport_error_and_nothing_breaks(
    sim: Sim, kind_of_cut: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    assert (await sim.probe()).status_code == 200  # a keep-alive connection exists
    other = httpx.AsyncClient(base_url=sim.url, headers=sim.auth, timeout=10)
    try:
        assert (await other.get(sim.probe_path)).status_code == 200
        sim.faults.add(Fault(kind_of_cut, count=1))
        with pytest.raises(httpx.TransportError):
            await sim.probe()
        assert sim.faults.hits[kind_of_cut] == 1
        # The other client's kept-alive connection, and new ones, are unaffected.
        assert (await other.get(sim.probe_path)).status_code == 200
        assert (await sim.probe()).status_code == 200
    finally:
        await other.aclose()
    _quiet(caplog)


async def test_latency_delays_by_at_least_the_latency(sim: Sim) -> None:
    sim.faults.add(Fault("latency", latency_ms=200, jitter_ms=50))
    began = time.monotonic()
    response = await sim.probe()
    elapsed = time.monotonic() - began
    assert response.status_code == 200
    assert 0.2 <= elapsed < 5.0


async def test_latency_combines_with_an_error(sim: Sim) -> None:
    sim.faults.add(Fault("latency", latency_ms=100))
    sim.faults.add(Fault("error", status=502))
    began = time.monotonic()
    response = await sim.probe()
    assert time.monotonic() - began >= 0.1
    assert response.status_code == 502
    assert sim.faults.hits == {"latency": 1, "error": 1}


async def _until(condition: Any, seconds: float = 5.0) -> None:
    """Poll a condition on simulator state, with a bound."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


async def test_hang_is_released_by_clear(sim: Sim, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    sim.faults.add(Fault("hang"))
    pending = asyncio.create_task(sim.probe())
    await _until(lambda: sim.faults.hanging == 1)
    assert not pending.done()
    sim.faults.clear()
    with pytest.raises(httpx.TransportError):
        await asyncio.wait_for(pending, 5)
    assert sim.faults.hanging == 0
    assert (await sim.probe()).status_code == 200
    _quiet(caplog)


async def test_hang_ends_when_the_client_gives_up(sim: Sim) -> None:
    sim.faults.add(Fault("hang", count=1))
    with pytest.raises(httpx.ReadTimeout):
        await sim.probe(timeout=0.3)
    await _until(lambda: sim.faults.hanging == 0)
    assert (await sim.probe()).status_code == 200


async def test_a_hang_does_not_hold_up_shutdown(start_server) -> None:
    app = build_app("vardvik", faults=[Fault("hang")])
    url = await start_server(app)
    async with httpx.AsyncClient(base_url=url, timeout=10) as http:
        pending = asyncio.create_task(http.get("/api/v1/restaurants/rst_1/config"))
        from tablegraph.simulators.faults import FAULTS

        await _until(lambda: app[FAULTS].hanging == 1)
        await app.shutdown()  # what runner.cleanup() does first: the hang is let go
        with pytest.raises(httpx.TransportError):
            await asyncio.wait_for(pending, 5)


async def test_count_hits_exactly_that_many_then_retires(sim: Sim) -> None:
    sim.faults.add(Fault("error", count=2))
    statuses = [(await sim.probe()).status_code for _ in range(4)]
    assert statuses == [503, 503, 200, 200]
    assert sim.faults.faults == []
    assert sim.faults.hits["error"] == 2


async def test_rate_zero_never_hits_and_a_fraction_is_repeatable(sim: Sim) -> None:
    sim.faults.add(Fault("error", rate=0.0))
    assert {(await sim.probe()).status_code for _ in range(5)} == {200}
    assert sim.faults.hits["error"] == 0
    sim.faults.clear()
    sim.faults.add(Fault("error", rate=0.5))
    statuses = [(await sim.probe()).status_code for _ in range(30)]
    assert 0 < statuses.count(503) < 30
    assert sim.faults.hits["error"] == statuses.count(503)


async def test_method_and_path_narrow_the_fault(sim: Sim) -> None:
    sim.faults.add(Fault("error", method="POST"))
    sim.faults.add(Fault("error", path=r"/no/such/route$"))
    assert (await sim.probe()).status_code == 200
    sim.faults.add(Fault("error", status=504, method="get", path=sim.probe_path.rstrip("/")))
    assert (await sim.probe()).status_code == 504
    assert sim.faults.hits["error"] == 1


async def test_control_paths_are_never_faulted(sim: Sim) -> None:
    sim.faults.add(Fault("error"))
    sim.faults.add(Fault("reset"))
    response = await sim.http.get("/_sim/chaos")
    assert response.status_code == 200
    assert [f["kind"] for f in response.json()["faults"]] == ["error", "reset"]
    assert sim.faults.hits == {}


async def test_faulted_requests_are_still_counted(sim: Sim) -> None:
    from tablegraph.simulators.common import REQUEST_COUNTS

    before = sim.app[REQUEST_COUNTS]["*"]
    sim.faults.add(Fault("error", count=1))
    await sim.probe()
    assert sim.app[REQUEST_COUNTS]["*"] == before + 1


async def test_faults_from_create_app_are_on_from_the_start(start_sim) -> None:
    for kind in KINDS:
        sim = await start_sim(kind, faults=[Fault("error", status=502, count=1, method="GET")])
        assert (await sim.probe()).status_code == 502, kind


# ---- the admin endpoint ------------------------------------------------------------------------


async def test_admin_endpoint_round_trip(sim: Sim) -> None:
    one = {"kind": "latency", "latencyMs": 5, "jitterMs": 1, "path": "/x"}
    added = await sim.http.post("/_sim/chaos", json=one)
    assert added.status_code == 201
    more = {
        "faults": [
            {"kind": "error", "status": 500, "count": 3, "method": "GET"},
            {"kind": "rate_limit", "rate": 0.25, "retryAfterSeconds": 7},
        ]
    }
    assert (await sim.http.post("/_sim/chaos", json=more)).status_code == 201
    state = (await sim.http.get("/_sim/chaos")).json()
    assert [f["kind"] for f in state["faults"]] == ["latency", "error", "rate_limit"]
    assert state["faults"][0]["latencyMs"] == 5 and state["faults"][0]["path"] == "/x"
    assert state["faults"][1]["count"] == 3 and state["faults"][1]["method"] == "GET"
    assert state["faults"][2]["retryAfterSeconds"] == 7
    assert [Fault.from_json(f) for f in state["faults"]] == sim.faults.faults
    await sim.probe()
    assert (await sim.http.get("/_sim/chaos")).json()["hits"] == sim.faults.to_json()["hits"]
    cleared = await sim.http.delete("/_sim/chaos")
    assert cleared.status_code == 200 and cleared.json()["faults"] == []
    assert (await sim.probe()).status_code == 200


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ("not json", "JSON"),
        ([{"kind": "error"}], "object"),
        ({"kind": "explode"}, "unknown fault kind"),
        ({"status": 500}, "kind"),
        ({"kind": "error", "colour": "red"}, "colour"),
        ({"kind": "error", "rate": 2}, "rate"),
        ({"kind": "error", "count": 0}, "count"),
        ({"kind": "error", "status": 200}, "status"),
        ({"kind": "error", "path": "("}, "regular expression"),
        ({"kind": "latency", "latencyMs": "slow"}, "latencyMs"),
        ({"faults": {"kind": "error"}}, "list"),
        ({"faults": [{"kind": "error"}, {"kind": "nope"}]}, "nope"),
    ],
)
async def test_admin_endpoint_refuses_a_bad_body(start_sim, body: Any, says: str) -> None:
    sim = await start_sim("resos")
    if isinstance(body, str):
        response = await sim.http.post("/_sim/chaos", content=body)
    else:
        response = await sim.http.post("/_sim/chaos", json=body)
    assert response.status_code == 400
    assert says in response.json()["error"]
    assert sim.faults.faults == []  # all or nothing


# ---- credentials that expire mid-run -----------------------------------------------------------


@pytest.mark.parametrize("kind", ["libro", "librebooking"])
async def test_expire_credentials_forces_a_new_login(start_sim, kind: str) -> None:
    sim = await start_sim(kind)
    assert (await sim.probe()).status_code == 200
    sim.faults.add(Fault("expire_credentials", count=1))
    assert (await sim.probe()).status_code == 401
    assert (await sim.probe()).status_code == 401  # until the client authenticates again
    await sim.login()
    assert (await sim.probe()).status_code == 200
    assert sim.faults.hits["expire_credentials"] == 1


@pytest.mark.parametrize("kind", ["vardvik", "resos"])
async def test_expire_credentials_is_refused_where_keys_never_expire(start_sim, kind: str) -> None:
    sim = await start_sim(kind)
    with pytest.raises(ValueError, match="credentials do not expire"):
        sim.faults.add(Fault("expire_credentials"))
    response = await sim.http.post("/_sim/chaos", json={"kind": "expire_credentials"})
    assert response.status_code == 400
    assert "credentials do not expire" in response.json()["error"]
    assert sim.faults.faults == []
