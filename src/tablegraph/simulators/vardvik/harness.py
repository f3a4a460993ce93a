"""How tests drive the Vardvik simulator (see ``simulators.harness``)."""

from __future__ import annotations

import httpx
from aiohttp import web

from tablegraph.settings import UpstreamConfig
from tablegraph.simulators.harness import Harness
from tablegraph.simulators.vardvik.parsing import VARDVIK_STATE


async def _login(http: httpx.AsyncClient, config: UpstreamConfig) -> dict[str, str]:
    return {"Authorization": f"Bearer {config.credentials['api_key'].reveal()}"}


def _leave_tables(app: web.Application, restaurant_id: str, n: int) -> None:
    _rid, loc = restaurant_id.split("/")
    # One area per table: no two tables can be joined for a party.
    app[VARDVIK_STATE].set_tables(loc, [(f"race-{i}", 4, f"race-area-{i}") for i in range(n)])


def _error_shape(response: httpx.Response, status: int) -> None:
    error = response.json()["error"]
    assert error["code"] == ("rate_limited" if status == 429 else "internal_error")
    assert error["message"]


HARNESS = Harness(
    create_path=r"/restaurants/[^/]+/reservations$",
    probe_path="/api/v1/restaurants/rst_1/config",
    login=_login,
    leave_tables=_leave_tables,
    error_shape=_error_shape,
    credentials_expire=False,
    unlimited={"rate_limit_per_minute": 1_000_000},
)
