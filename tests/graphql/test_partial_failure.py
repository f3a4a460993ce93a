"""One upstream down must not blank the others."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tablegraph.settings import HttpSettings
from tablegraph.simulators.vardvik import demo_upstreams

from .conftest import Api, Sim, start_gateway, start_vardvik
from .helpers import AVAILABILITY, BERLIN_MITTE, OSLO, quiet_weekday


@pytest.fixture
async def split(sims: list[Sim]) -> AsyncIterator[tuple[Api, Sim, Sim]]:
    """vardvik-berlin and vardvik-oslo on two separate simulators."""
    berlin, oslo = await start_vardvik(sims), await start_vardvik(sims)
    upstreams = [demo_upstreams(berlin.url)[0], demo_upstreams(oslo.url)[1]]
    # /readyz probes afresh on every call here (it answers from a short cache otherwise).
    runner, api = await start_gateway(upstreams, http=HttpSettings(readyz_cache_seconds=0))
    yield api, berlin, oslo
    await api.http.aclose()
    await runner.cleanup()


async def test_restaurants_come_back_from_the_healthy_upstream(split) -> None:
    api, _berlin, oslo = split
    await oslo.stop()
    response = await api.post("{ restaurants { nodes { name upstream } } }")
    assert response.status_code == 200
    body = response.json()
    upstreams = {n["upstream"] for n in body["data"]["restaurants"]["nodes"]}
    assert upstreams == {"vardvik-berlin"}
    assert len(body["data"]["restaurants"]["nodes"]) == 2
    [error] = body["errors"]
    assert error["extensions"] == {"code": "UPSTREAM_UNAVAILABLE", "upstream": "vardvik-oslo"}
    assert error["path"] == ["restaurants"]
    assert "127.0.0.1" not in error["message"]


async def test_availability_fan_out_reports_the_failed_restaurant_only(split) -> None:
    api, _berlin, oslo = split
    await oslo.stop()
    day = quiet_weekday().isoformat()
    body = await api.query(AVAILABILITY, {"ids": [BERLIN_MITTE, OSLO], "date": day, "party": 2})
    berlin_row, oslo_row = body["data"]["availability"]
    assert berlin_row["slots"], "the healthy upstream still answers"
    assert oslo_row["slots"] is None and oslo_row["restaurant"] is None
    assert oslo_row["restaurantId"] == OSLO
    [error] = body["errors"]
    assert error["extensions"]["upstream"] == "vardvik-oslo"
    assert error["path"] == ["availability"]


async def test_readyz_reports_each_upstream(split) -> None:
    api, _berlin, oslo = split
    ready = await api.http.get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
    await oslo.stop()
    ready = await api.http.get("/readyz")
    assert ready.status_code == 200
    body = ready.json()
    assert body["status"] == "degraded"
    assert body["upstreams"]["vardvik-berlin"]["ok"] is True
    assert body["upstreams"]["vardvik-oslo"] == {
        **body["upstreams"]["vardvik-oslo"],
        "ok": False,
        "error": "UPSTREAM_UNAVAILABLE",
    }
    data = await api.data("{ upstreams { name status lastErrorCode } }")
    by_name = {u["name"]: u for u in data["upstreams"]}
    assert by_name["vardvik-oslo"]["status"] == "FAILING"
    assert by_name["vardvik-berlin"]["status"] == "OK"
