"""resOS' budget shared fairly between clients (issue 12): round robin between the clients
waiting at one priority, a reserve that one client's burst cannot spend before others ask,
and mutations that are never held back."""

from __future__ import annotations

import asyncio

from tablegraph import requester
from tablegraph.providers.resos.governor import MUTATION, READ, RateGovernor

from .resos_support import FakeTime


async def _settle() -> None:
    for _ in range(20):  # let queued tasks reach the governor (no time passes)
        await asyncio.sleep(0)


def _ask(  # type: ignore[no-untyped-def]
    governor: RateGovernor, client: str, order: list[str], name: str, priority: int = READ
):
    async def ask() -> None:
        with requester.acting_for(client):
            await governor.acquire(priority)
        order.append(name)

    return asyncio.create_task(ask())


async def test_queued_clients_are_granted_round_robin_not_first_come() -> None:
    fake = FakeTime()
    fake.gate = asyncio.Event()
    governor = RateGovernor(4, now=fake.now, sleep=fake.sleep)  # no reserve: only the queue
    order: list[str] = []
    tasks = [_ask(governor, "client:a", order, f"a{i}") for i in range(8)]
    await _settle()
    tasks += [_ask(governor, "client:b", order, f"b{i}") for i in range(2)]
    await _settle()
    assert order == ["a0", "a1", "a2", "a3"] and governor.waiting[READ] == 6
    fake.gate.set()
    await asyncio.gather(*tasks)
    # Next minute: A and B alternate although A's four were queued first; then A's rest.
    assert order[4:] == ["a4", "b0", "a5", "b1", "a6", "a7"]
    assert fake.sleeps == [59.0, 60.0]
    governor.close()


async def test_one_clients_burst_leaves_the_reserve_for_others_and_mutations_pass() -> None:
    fake = FakeTime()  # one second into the minute
    fake.gate = asyncio.Event()
    governor = RateGovernor(100, now=fake.now, sleep=fake.sleep, reserve=0.5)
    order: list[str] = []
    await _ask(governor, "client:b", order, "b-early")  # B is around this minute
    flood = [_ask(governor, "client:a", order, f"a{i}") for i in range(80)]
    await _settle()
    # A: its share (100 // 3, with B and one more), then what the reserve has released after
    # 1 s of 60 (49 of 50 still held: at most 51 in all so far).
    assert len(order) == 1 + 50 and governor.waiting[READ] == 30
    assert governor.remaining() == 49

    others = [_ask(governor, "client:b", order, f"b{i}") for i in range(3)]
    write = _ask(governor, "client:a", order, "a-write", MUTATION)
    await _settle()
    # B is under its share: granted at once, ahead of A's queued reads; so is A's write.
    assert order[51:] == ["b0", "b1", "b2", "a-write"]
    await asyncio.gather(*others, write)

    fake.gate.set()  # the reserve is released as the minute runs: A's reads follow
    await asyncio.gather(*flood)
    assert len(order) == 85 and sum(governor.granted.values()) == 85
    assert sum(fake.sleeps) < 59.0  # all within the first minute: no unit was wasted
    assert governor.remaining() == 15
    governor.close()


async def test_a_lone_client_keeps_the_whole_minute() -> None:
    fake = FakeTime()
    governor = RateGovernor(100, now=fake.now, sleep=fake.sleep, reserve=0.5)
    order: list[str] = []
    burst = [_ask(governor, "client:a", order, f"a{i}") for i in range(100)]
    await _settle()
    assert len(order) == 100 and governor.waiting[READ] == 0  # nobody else to leave room for
    await asyncio.gather(*burst)
    governor.close()


async def test_a_client_seen_last_minute_is_left_its_share_this_minute() -> None:
    fake = FakeTime()
    fake.gate = asyncio.Event()
    governor = RateGovernor(100, now=fake.now, sleep=fake.sleep, reserve=0.5)
    order: list[str] = []
    await _ask(governor, "client:b", order, "b-last-minute")
    fake.clock.advance(60)  # a new minute, in which B has not asked yet
    flood = [_ask(governor, "client:a", order, f"a{i}") for i in range(80)]
    await _settle()
    assert len(order) == 1 + 51  # A's share alone (50) and one released unit
    await _ask(governor, "client:b", order, "b-now")  # B is not starved
    assert order[-1] == "b-now"
    governor.close()
    await asyncio.gather(*flood, return_exceptions=True)


async def test_no_reserve_for_the_gateways_own_work() -> None:
    fake = FakeTime()
    governor = RateGovernor(10, now=fake.now, sleep=fake.sleep, reserve=0.5)
    for _ in range(10):  # start-up probes and polls answer to no client
        await governor.acquire(READ)
    assert governor.remaining() == 0
    governor.close()
