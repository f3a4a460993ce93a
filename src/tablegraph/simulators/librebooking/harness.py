"""How tests drive the LibreBooking simulator (see ``simulators.harness``)."""

from __future__ import annotations

import httpx
from aiohttp import web

from tablegraph.settings import UpstreamConfig
from tablegraph.simulators.harness import Harness
from tablegraph.simulators.librebooking.app import LIBREBOOKING_STATE, PREFIX


async def _login(http: httpx.AsyncClient, config: UpstreamConfig) -> dict[str, str]:
    creds = config.credentials
    answer = await http.post(
        f"{PREFIX}/Authentication/Authenticate",
        json={"username": creds["username"].reveal(), "password": creds["password"].reveal()},
    )
    body = answer.json()
    assert body["isAuthenticated"], body
    return {"X-Booked-SessionToken": body["sessionToken"], "X-Booked-UserId": str(body["userId"])}


def _leave_tables(app: web.Application, schedule_id: str, n: int) -> None:
    state = app[LIBREBOOKING_STATE]
    for resource in state.schedule_resources(int(schedule_id)):
        resource.status_id = 2  # unavailable: neither offered nor bookable through the gateway
    for i in range(n):
        state.add_resource(int(schedule_id), f"Race table {i}", 4)


def _error_shape(response: httpx.Response, status: int) -> None:
    assert response.headers["content-type"].startswith("text/html")
    assert str(status) in response.text or "Slim Application Error" in response.text


HARNESS = Harness(
    create_path=r"/Reservations/$",
    probe_path=f"{PREFIX}/Schedules/",
    login=_login,
    leave_tables=_leave_tables,
    error_shape=_error_shape,
    credentials_expire=True,
)
