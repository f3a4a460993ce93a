"""Fixtures shared by every test: loopback servers that are stopped after the test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp import web

from tablegraph.simulators.common import serve

StartServer = Callable[[web.Application], Awaitable[str]]


@pytest.fixture
async def start_server() -> AsyncIterator[StartServer]:
    """``url = await start_server(app)`` runs an aiohttp app on 127.0.0.1 for this test."""
    runners: list[web.AppRunner] = []

    async def _start(app: web.Application) -> str:
        runner, url = await serve(app)
        runners.append(runner)
        return url

    yield _start
    for runner in reversed(runners):
        await runner.cleanup()
