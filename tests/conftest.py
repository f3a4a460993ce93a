"""Fixtures shared by every test: loopback servers that are stopped after the test."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

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


@pytest.fixture
def steady_gc() -> Iterator[None]:
    """For tests that time the gateway: collect once, then freeze what the long test process
    already holds, so a full collection of that heap (0.7 s and more late in the suite, seen
    as a 2.7 s request with no upstream call made) cannot land inside the measured window."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
