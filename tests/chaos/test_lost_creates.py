"""A create whose answer is lost *and* whose lookup fails: the client is told OUTCOME_UNKNOWN
with its key, and the retry with that key finds the booking instead of booking again."""

from __future__ import annotations

from typing import Any

import pytest

from tablegraph.errors import UpstreamUnavailable
from tablegraph.model import Capability
from tablegraph.simulators.faults import Fault
from tests.chaos.conftest import CHAOS_LOOP
from tests.stack import CREATE_PATHS, KINDS, Stack

from ..graphql.helpers import CREATE
from .test_fault_matrix import _free_slot

pytestmark = CHAOS_LOOP


@pytest.mark.parametrize("kind", KINDS)
async def test_a_retry_after_an_unknown_outcome_does_not_book_twice(
    stack: Stack, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    upstreams = stack.kinds[kind]
    restaurant_id, start = await _free_slot(stack, kind)
    before = {b.id for b in upstreams.stored()}
    lookups: list[str] = []

    def failing_once(provider: Any) -> Any:
        real_lookup = provider.find_booking_by_idempotency_key

        async def lookup(*args: Any) -> Any:
            lookups.append(provider.name)
            if len(lookups) == 1:
                raise UpstreamUnavailable("lookup failed", upstream=provider.name)
            return await real_lookup(*args)

        return lookup

    for upstream in upstreams.names:
        provider = stack.gateway.provider(upstream)
        monkeypatch.setattr(provider, "find_booking_by_idempotency_key", failing_once(provider))
    upstreams.faults.add(Fault("drop_response", method="POST", path=CREATE_PATHS[kind], count=1))
    variables = {
        "input": {
            "restaurantId": restaurant_id,
            "start": start,
            "partySize": 2,
            "guest": {
                "firstName": "Alan",
                "lastName": "Turing",
                "phone": "+4790000003",
                "email": f"alan.{kind}@example.com",
            },
            "idempotencyKey": f"unknown-then-retry-{kind}",
        }
    }

    first = (await stack.post(CREATE, variables)).json()["data"]["createBooking"]
    retry = (await stack.post(CREATE, variables)).json()["data"]["createBooking"]

    stored = [b for b in upstreams.stored() if b.id not in before]
    if first["booking"] is not None:
        # The adapter recovered by itself: only a provider that takes an idempotency key
        # can answer a replayed create with the booking it already made.
        provider = stack.gateway.provider(next(iter(upstreams.names)))
        assert Capability.IDEMPOTENT_CREATE in provider.capabilities, first
        assert len(stored) == 1 and retry["booking"]["id"] == first["booking"]["id"]
        return
    assert [e["code"] for e in first["userErrors"]] == ["OUTCOME_UNKNOWN"], first
    assert first["idempotencyKey"] == variables["input"]["idempotencyKey"]
    assert retry["userErrors"] == [] and retry["booking"] is not None, retry
    assert len(stored) == 1, f"booked twice: {stored}"
    assert upstreams.creates() == 1, "the retry looked the booking up instead of booking"
    assert len(lookups) == 2


async def test_a_failure_after_the_create_was_stored_is_looked_up_not_reported(
    own_stack: Stack,
) -> None:
    """LibreBooking answers a create with a reference and the adapter reads the booking back;
    when only that read fails, the booking exists and the client must get it."""
    upstreams = own_stack.kinds["librebooking"]
    restaurant_id, start = await _free_slot(own_stack, "librebooking")
    before = {b.id for b in upstreams.stored()}
    upstreams.faults.add(
        Fault("error", status=503, method="GET", path=r"/Reservations/[0-9a-f]+$", count=3)
    )
    variables = {
        "input": {
            "restaurantId": restaurant_id,
            "start": start,
            "partySize": 2,
            "guest": {
                "firstName": "Edsger",
                "lastName": "Dijkstra",
                "phone": "+4790000004",
                "email": "edsger@example.com",
            },
            "idempotencyKey": "read-back-fails",
        }
    }
    answer = (await own_stack.post(CREATE, variables)).json()
    assert upstreams.faults.hits["error"] == 3, "the read-back really failed"
    payload = answer["data"]["createBooking"]
    assert payload["userErrors"] == [] and payload["booking"] is not None, answer
    stored = [b for b in upstreams.stored() if b.id not in before]
    assert len(stored) == 1 and payload["booking"]["id"].startswith("Qm9va2luZz")
    assert upstreams.creates() == 1
