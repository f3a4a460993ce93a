"""The ``sim`` fixture the Vardvik simulator tests share (import it into a test module)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from aiohttp import web

from tablegraph.simulators.common import Clock
from tablegraph.simulators.vardvik import VARDVIK_STATE, VardvikState, create_app

StartServer = Callable[[web.Application], Awaitable[str]]
Sim = Callable[..., Awaitable[tuple[httpx.AsyncClient, VardvikState]]]
NOW = datetime(2026, 6, 10, 8, 0, tzinfo=UTC)  # a Wednesday; the seeded week is 06-08 … 06-16


@pytest.fixture(name="sim")
async def sim_fixture(start_server: StartServer) -> AsyncIterator[Sim]:
    """``client, state = await sim(key="demo-key", now=NOW, **create_app_options)``: a fresh
    seeded simulator on loopback and a client for ``/api/v1`` sending that key (none if None)."""
    clients: list[httpx.AsyncClient] = []

    async def _open(
        key: str | None = "demo-key", *, now: datetime = NOW, **options: Any
    ) -> tuple[httpx.AsyncClient, VardvikState]:
        app = create_app(0, clock=Clock(now), **options)
        url = await start_server(app)
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        client = httpx.AsyncClient(base_url=url + "/api/v1", headers=headers)
        clients.append(client)
        return client, app[VARDVIK_STATE]

    yield _open
    for client in clients:
        await client.aclose()
