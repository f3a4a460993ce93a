"""How tests drive the resOS simulator (see ``simulators.harness``)."""

from __future__ import annotations

import base64

import httpx
from aiohttp import web

from tablegraph.settings import UpstreamConfig
from tablegraph.simulators.harness import Harness
from tablegraph.simulators.resos.app import RESOS_STATE
from tablegraph.simulators.resos.state import Table


async def _login(http: httpx.AsyncClient, config: UpstreamConfig) -> dict[str, str]:
    key = next(iter(config.credentials.values())).reveal()
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


def _leave_tables(app: web.Application, restaurant_id: str, n: int) -> None:
    restaurant = next(r for r in app[RESOS_STATE].restaurants.values() if r.id == restaurant_id)
    restaurant.tables = [
        Table(f"raceTable{i:02d}", f"R{i}", "raceArea", "Race", 1, 4) for i in range(n)
    ]


def _error_shape(response: httpx.Response, status: int) -> None:
    assert isinstance(response.json(), str) and response.json()


HARNESS = Harness(
    create_path=r"^/v1/bookings$",
    probe_path="/v1/tables",
    login=_login,
    leave_tables=_leave_tables,
    error_shape=_error_shape,
    credentials_expire=False,
    retry_after_unit=0.001,
    unlimited={"rate_limit": 1_000_000},
    unlimited_upstream={"rate_limit_per_minute": 1_000_000},
)
