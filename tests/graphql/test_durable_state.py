"""What the gateway remembers outlives the process and is shared between gateways.

- Restart: a create with a key, the gateway stopped, another started on the same data
  directory, the replay → the same booking and no upstream write (every provider).
- SIGKILL between the upstream write and recording its outcome (a gateway in its own process
  whose adapter holds the answer): the replay after a restart finds the booking by its
  marker; exactly one booking upstream.
- Two gateways on one Redis receiving the same key at once → one upstream booking, identical
  answers; a booking through one drops availability the other cached.
"""

from __future__ import annotations

import asyncio
import os
import pickle
import re
import signal
import sys
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tablegraph import ids
from tablegraph.model import Capability
from tablegraph.settings import StoreConfig
from tablegraph.simulators.common import REQUEST_COUNTS
from tablegraph.simulators.faults import FAULTS, Fault
from tests.auth_support import AUTH_HEADERS
from tests.redis_server import redis_url
from tests.simulators.test_ambiguous_create import CREATE_PATHS

from .conftest import start_gateway
from .helpers import AVAILABILITY, CREATE
from .stacks import KINDS, Stack, start_stack

ROOT = Path(__file__).resolve().parents[2]
__all__ = ["redis_url"]  # the fixture, for this module's tests


def _creates(stack: Stack) -> int:
    """Create requests the simulator received (by its create route)."""
    pattern = re.compile(CREATE_PATHS[stack.kind].replace("[^/]+", r"\{[^}]+\}"))
    return sum(
        int(n)
        for key, n in stack.app[REQUEST_COUNTS].items()
        if key.startswith("POST ") and pattern.search(key[5:])
    )


def _live(stack: Stack, email: str) -> int:
    return len([b for b in stack.stored() if b.guest_email == email and b.status not in _DEAD])


_DEAD = frozenset({"cancelled", "canceled", "deleted", "no_show", "declined"})


async def _create_input(stack: Stack, key: str) -> tuple[dict[str, Any], str]:
    restaurant = await stack.restaurant()
    slot = await stack.open_slot(restaurant)
    email = f"{key}@example.com"
    variables = {
        "input": {
            "restaurantId": stack.restaurant_id(restaurant),
            "start": slot.start.isoformat(),
            "partySize": 2,
            "guest": {
                "firstName": "Grace",
                "lastName": "Hopper",
                "email": email,
                "phone": "+4790000042",
            },
            "idempotencyKey": key,
        }
    }
    return variables, email


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def test_a_replay_after_a_restart_returns_the_booking_without_writing(
    kind: str, start_server: Any, tmp_path: Path
) -> None:
    store = StoreConfig("sqlite", str(tmp_path / "data"))
    stack, close = await start_stack(kind, start_server, store=store)
    variables, email = await _create_input(stack, f"restart-{kind}")
    config = stack.provider.config
    first = (await stack.api.data(CREATE, variables))["createBooking"]
    assert first["userErrors"] == [] and first["booking"] is not None, first
    await close()  # the gateway stops; the simulator keeps running
    creates = _creates(stack)

    runner, api = await start_gateway([config], store=store)
    try:
        replay = (await api.data(CREATE, variables))["createBooking"]
    finally:
        await api.http.aclose()
        await runner.cleanup()

    assert replay == first
    assert _creates(stack) == creates, "the replay wrote upstream"
    assert _live(stack, email) == 1


READ_BACK = """query($id: ID!) { booking(id: $id) { id status notes start } }"""
LIST_CANCELLED = """query($rid: ID!, $from: DateTime!, $to: DateTime!) {
  bookings(restaurantId: $rid, from: $from, to: $to, status: [CANCELLED]) {
    edges { node { id status } } } }"""
CANCEL_WITH_REASON = """mutation($input: CancelBookingInput!) {
  cancelBooking(input: $input) { booking { id status notes } userErrors { code message } } }"""


async def test_a_librebooking_cancel_reads_cancelled_after_a_restart(
    start_server: Any, tmp_path: Path
) -> None:
    """LibreBooking deletes a cancelled reservation (it then reads 404): the gateway remembers
    the cancel in its store, so a new gateway on the same data directory still reads it as
    cancelled, with its reason, lists it, and a second cancel returns it (not NOT_FOUND)."""
    store = StoreConfig("sqlite", str(tmp_path / "data"))
    stack, close = await start_stack("librebooking", start_server, store=store)
    variables, _email = await _create_input(stack, "restart-cancel")
    config = stack.provider.config
    created = (await stack.api.data(CREATE, variables))["createBooking"]
    assert created["userErrors"] == [], created
    booking_id = created["booking"]["id"]
    cancel = {"input": {"bookingId": booking_id, "reason": "the guest is ill"}}
    first = (await stack.api.data(CANCEL_WITH_REASON, cancel))["cancelBooking"]
    assert first["userErrors"] == [] and first["booking"]["status"] == "CANCELLED", first
    assert first["booking"]["notes"] == "Cancelled: the guest is ill"
    await close()
    reference = ids.decode(booking_id, "Booking").native_id
    assert [b.status for b in stack.stored() if b.id == reference] == ["deleted"]

    runner, api = await start_gateway([config], store=store)
    try:
        read = (await api.data(READ_BACK, {"id": booking_id}))["booking"]
        start = datetime.fromisoformat(read["start"])
        window = {
            "rid": variables["input"]["restaurantId"],
            "from": (start - timedelta(hours=1)).isoformat(),
            "to": (start + timedelta(hours=1)).isoformat(),
        }
        listed = (await api.data(LIST_CANCELLED, window))["bookings"]["edges"]
        again = (await api.data(CANCEL_WITH_REASON, cancel))["cancelBooking"]
    finally:
        await api.http.aclose()
        await runner.cleanup()

    assert read["status"] == "CANCELLED" and read["notes"] == "Cancelled: the guest is ill"
    assert [(e["node"]["id"], e["node"]["status"]) for e in listed] == [(booking_id, "CANCELLED")]
    assert again == first


async def test_a_librebooking_cancel_on_one_gateway_reads_cancelled_on_another(
    start_server: Any, redis_url: str
) -> None:
    """Two gateways (workers) on one Redis: a cancel through one is remembered for both."""
    store = StoreConfig("redis", redis_url=redis_url)
    stack, close = await start_stack("librebooking", start_server, store=store)
    runner, other = await start_gateway([stack.provider.config], store=store)
    try:
        variables, _email = await _create_input(stack, f"shared-cancel-{os.getpid()}")
        created = (await stack.api.data(CREATE, variables))["createBooking"]
        booking_id = created["booking"]["id"]
        cancel = {"input": {"bookingId": booking_id, "reason": "rain"}}
        first = (await stack.api.data(CANCEL_WITH_REASON, cancel))["cancelBooking"]
        read = (await other.data(READ_BACK, {"id": booking_id}))["booking"]
        again = (await other.data(CANCEL_WITH_REASON, cancel))["cancelBooking"]
    finally:
        await other.http.aclose()
        await runner.cleanup()
        await close()
    assert first["userErrors"] == [] and first["booking"]["status"] == "CANCELLED", first
    assert (read["status"], read["notes"]) == ("CANCELLED", "Cancelled: rain")
    assert again == first


async def _spawn(spec: dict[str, Any], where: Path) -> tuple[asyncio.subprocess.Process, str]:
    spec_path = where / "spec.pickle"
    spec_path.write_bytes(pickle.dumps(spec))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.graphql.gateway_process",
        str(spec_path),
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert process.stdout is not None
    async with asyncio.timeout(60):
        line = (await process.stdout.readline()).decode()
    assert line.startswith("PORT "), f"the gateway process did not start: {line!r}"
    return process, f"http://127.0.0.1:{int(line.split()[1])}"


async def test_a_gateway_killed_between_the_write_and_its_record_books_once(
    kind: str, start_server: Any, tmp_path: Path
) -> None:
    store = StoreConfig("sqlite", str(tmp_path / "data"))
    stack, close = await start_stack(kind, start_server)  # the simulator (and a bystander)
    variables, email = await _create_input(stack, f"killed-{kind}")
    config = stack.provider.config
    capabilities = stack.provider.capabilities
    await close()
    held = tmp_path / "created"
    spec = {"upstreams": [config], "store": store, "hold_creates": str(held)}
    process, url = await _spawn(spec, tmp_path)
    client = httpx.AsyncClient(base_url=url, timeout=60, headers=AUTH_HEADERS)
    try:
        sent = asyncio.create_task(
            client.post("/graphql", json={"query": CREATE, "variables": variables})
        )
        async with asyncio.timeout(30):
            while not held.exists():  # bounded by the timeout: the create reached upstream
                await asyncio.sleep(0.02)
        process.send_signal(signal.SIGKILL)
        await process.wait()
        with pytest.raises(httpx.TransportError):
            await sent
    finally:
        await client.aclose()
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert _live(stack, email) == 1 and _creates(stack) == 1

    runner, api = await start_gateway([config], store=store)
    try:
        replay = (await api.data(CREATE, variables))["createBooking"]
    finally:
        await api.http.aclose()
        await runner.cleanup()

    assert replay["userErrors"] == [] and replay["booking"] is not None, replay
    assert replay["booking"]["guest"]["email"] == email
    assert _live(stack, email) == 1, "booked twice"
    # A provider that keeps the key itself is asked by sending the create again (it replays
    # its first answer); every other one is looked up by the marker, and nothing is sent.
    again = 1 if Capability.IDEMPOTENT_CREATE in capabilities else 0
    assert _creates(stack) == 1 + again


@pytest.fixture
async def two_on_redis(
    kind: str, start_server: Any, redis_url: str
) -> AsyncIterator[tuple[Stack, Any]]:
    """One simulator, gateway A (the stack's) and gateway B, both on one Redis."""
    store = StoreConfig("redis", redis_url=redis_url)
    stack, close = await start_stack(kind, start_server, store=store)
    runner, other = await start_gateway([stack.provider.config], store=store)
    yield stack, other
    await other.http.aclose()
    await runner.cleanup()
    await close()


async def test_two_gateways_given_one_key_at_once_book_once(
    kind: str, two_on_redis: tuple[Stack, Any]
) -> None:
    stack, other = two_on_redis
    variables, email = await _create_input(stack, f"twice-{kind}-{os.getpid()}")
    # The upstream takes its time, so both requests are in flight together.
    stack.app[FAULTS].add(
        Fault("latency", latency_ms=300, method="POST", path=CREATE_PATHS[kind], count=2)
    )
    one, two = await asyncio.gather(
        stack.api.data(CREATE, variables), other.data(CREATE, variables)
    )
    assert one["createBooking"]["userErrors"] == [], one
    assert one == two
    assert _creates(stack) == 1
    assert _live(stack, email) == 1


async def test_a_booking_through_one_gateway_drops_what_the_other_cached(
    kind: str, two_on_redis: tuple[Stack, Any]
) -> None:
    stack, other = two_on_redis
    variables, _email = await _create_input(stack, f"drop-{kind}-{os.getpid()}")
    day = date.fromisoformat(variables["input"]["start"][:10])
    query = {"ids": [variables["input"]["restaurantId"]], "date": day.isoformat(), "party": 2}
    await other.data(AVAILABILITY, query)
    cached = [k for k in other.gateway.availability._cache if k[2] == day]
    assert cached, "gateway B cached the day's availability"

    created = (await stack.api.data(CREATE, variables))["createBooking"]
    assert created["userErrors"] == [], created

    async with asyncio.timeout(10):  # pub/sub is asynchronous: wait for B to hear it
        while any(other.gateway.availability.get(k) is not None for k in cached):
            await asyncio.sleep(0.02)
