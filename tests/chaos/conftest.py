"""The whole product on loopback (see tests/stack.py), started once per chaos module.

Starting four simulators and a gateway took most of the chaos suite's time when every test
had its own. A test here leaves the stack as it found it for the next one: ``fresh`` clears
every fault, closes every breaker and drops the gateway's caches after each test. Tests pick
their own slots and idempotency keys, so the bookings earlier tests made do not matter.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio

from tests.stack import Stack, start_stack, stop_stack

#: Every test of a chaos module runs in the module's event loop, beside its shared stack.
CHAOS_LOOP = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def stack() -> AsyncIterator[Stack]:
    started, runners = await start_stack()
    yield started
    await stop_stack(started, runners)


@pytest_asyncio.fixture(loop_scope="module")
async def own_stack() -> AsyncIterator[Stack]:
    """A stack of its own, for a test that counts everything a simulator ever received."""
    started, runners = await start_stack()
    yield started
    await stop_stack(started, runners)


@pytest.fixture(autouse=True)
def fresh(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "stack" not in request.fixturenames:
        return
    stack: Stack = request.getfixturevalue("stack")
    for upstreams in stack.kinds.values():
        upstreams.faults.clear()
    for provider in stack.gateway.providers.values():
        provider.breaker.reset()
    gateway = stack.gateway
    for cache in (gateway.availability, gateway.restaurant_lists, gateway.opening):
        cache.invalidate()
