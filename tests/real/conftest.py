"""Fixtures of the ``real`` tests: the running LibreBooking server (see ``server.py``), the two
API accounts every test runs with, and fresh days so that tests never see each other's
bookings (the server keeps its database for the whole run)."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tablegraph.app import create_app
from tablegraph.gateway import Gateway
from tablegraph.providers.kit import Runtime
from tablegraph.providers.librebooking import LibreBookingProvider
from tablegraph.settings import GatewaySettings, Secret, UpstreamConfig
from tablegraph.simulators.common import serve
from tablegraph.timeutil import zone

from ..auth_support import AUTH_HEADERS, all_scopes_auth
from ..graphql.conftest import Api
from . import server as real
from .server import Server

HERE = Path(__file__).resolve().parent
ZONE = "America/New_York"  # schedule 1 of up.sh


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.real)


def _unavailable(reason: str) -> None:
    message = f"real LibreBooking server unavailable: {reason}"
    if real.required():
        pytest.fail(message + " (CI=true: the real-server tests are required)", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def real_server() -> Iterator[Server]:
    url = real.base_url()
    started = False
    if real.login(url) is None:
        why = real.start()
        if why is not None:
            _unavailable(f"nothing answers at {url} and it cannot be started ({why})")
        started = True
        if real.login(url) is None:
            real.stop()
            _unavailable(f"up.sh ran but {url} does not authenticate admin/password")
    yield Server(url=url, started_here=started)
    if started:
        real.stop()


@pytest.fixture(params=["admin", "user"])
def account(request: pytest.FixtureRequest) -> str:
    """Every real test runs with the administrator and with a plain user as the API account."""
    return str(request.param)


def upstream_config(
    server: Server, account: str, schedule: str = "1", **options: Any
) -> UpstreamConfig:
    username, password = real.ACCOUNTS[account]
    return UpstreamConfig(
        name="librebooking-real",
        kind="librebooking",
        base_url=server.url,
        credentials={"username": Secret(username), "password": Secret(password)},
        options={"schedule_ids": [schedule], "duration_minutes": 120, **options},
    )


@pytest.fixture
async def provider(real_server: Server, account: str) -> AsyncIterator[LibreBookingProvider]:
    adapter = LibreBookingProvider(upstream_config(real_server, account))
    await adapter.start()
    yield adapter
    await adapter.close()


class Days:
    """Fresh local days on schedule 1: after every reservation the server already holds, one
    per call, so reruns against a long-lived server stay isolated too."""

    def __init__(self, first: date) -> None:
        self._days = (first + timedelta(days=n) for n in itertools.count())

    def fresh(self) -> date:
        return next(self._days)


@pytest.fixture(scope="session")
def days(real_server: Server) -> Days:
    today = datetime.now(UTC).astimezone(zone(ZONE)).date()
    window = {
        "startDateTime": f"{today}T00:00:00-0500",
        "endDateTime": f"{today + timedelta(days=1500)}T00:00:00-0500",
    }
    listed = real_server.call("GET", "Reservations/", params=window).json()
    last = today + timedelta(days=7)
    for item in listed.get("reservations") or []:
        start = datetime.strptime(item["startDate"], "%Y-%m-%dT%H:%M:%S%z")
        last = max(last, start.astimezone(zone(ZONE)).date())
    return Days(last + timedelta(days=2))


@pytest.fixture
def day(days: Days) -> date:
    """A local day on schedule 1 that no other test has touched."""
    return days.fresh()


@pytest.fixture(scope="session")
def rules(real_server: Server) -> Server:
    """The server with schedule 2 and its rules table (notice, buffer, advance limit)."""
    why = real.ensure_rules_table(real_server)
    if why is not None:
        _unavailable(why)
    return real_server


async def real_gateway(
    server: Server, account: str, now: Callable[[], datetime] | None = None, schedule: str = "1"
) -> tuple[Any, Api]:
    """A gateway over the real server (``now``: the adapter's clock), served on loopback."""
    runtime = Runtime(now=now) if now is not None else Runtime()
    settings = GatewaySettings(
        upstreams=(upstream_config(server, account, schedule),), auth=all_scopes_auth()
    )
    gateway = Gateway(settings, runtime=runtime)
    app = create_app(gateway)
    runner, url = await serve(app)
    http = httpx.AsyncClient(base_url=url, timeout=30, headers=AUTH_HEADERS)
    return runner, Api(http, gateway, app)


@pytest.fixture
async def api(real_server: Server, account: str) -> AsyncIterator[Api]:
    """The GraphQL API of a gateway over the real server, with every scope."""
    runner, client = await real_gateway(real_server, account)
    yield client
    await client.http.aclose()
    await runner.cleanup()
