"""How tests drive the Libro simulator (see ``simulators.harness``)."""

from __future__ import annotations

import httpx
from aiohttp import web

from tablegraph.settings import UpstreamConfig
from tablegraph.simulators.harness import Harness
from tablegraph.simulators.libro.api import LIBRO_STATE
from tablegraph.simulators.libro.state import Table


async def _login(http: httpx.AsyncClient, config: UpstreamConfig) -> dict[str, str]:
    creds = config.credentials
    answer = await http.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": creds["client_id"].reveal(),
            "client_secret": creds["client_secret"].reveal(),
        },
    )
    answer.raise_for_status()
    return {
        "Authorization": f"Bearer {answer.json()['access_token']}",
        "Accept": "application/vnd.libro-restricted-v2+json",
    }


def _leave_tables(app: web.Application, code: str, n: int) -> None:
    rest = app[LIBRO_STATE].by_code(code)
    assert rest is not None
    rest.tables = [Table(f"race-{i}", 4, "main") for i in range(n)]


def _error_shape(response: httpx.Response, status: int) -> None:
    body = response.json()
    assert body["code"] == str(status) and body["error"] and body["message"]


HARNESS = Harness(
    create_path=r"^/restricted/restaurant/bookings$",
    probe_path="/restricted/restaurants",
    login=_login,
    leave_tables=_leave_tables,
    error_shape=_error_shape,
    credentials_expire=True,
    unlimited={"rate_limit": None},
)
