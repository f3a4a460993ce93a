"""The whole product on loopback for each chaos test (see tests/stack.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.stack import Stack, start_stack, stop_stack


@pytest.fixture
async def stack() -> AsyncIterator[Stack]:
    started, runners = await start_stack()
    yield started
    await stop_stack(started, runners)
