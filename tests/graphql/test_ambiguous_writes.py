"""Reschedule and cancel whose upstream answer is lost are reconciled before anything else.

Vardvik's own fault control (``after=True``: the write happens, then a 500) stands in for a
lost answer; the per-provider drop-response tests are in ``test_lost_answers.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pytest

from tablegraph import ids
from tablegraph.errors import UpstreamTimeout

from .conftest import Api, Sim
from .helpers import AVAILABILITY, BERLIN_MITTE, CANCEL, CREATE, RESCHEDULE, guest, quiet_weekday

PATCH = "PATCH /api/v1/reservations/{idOrPublicReference}"
DELETE = "DELETE /api/v1/reservations/{idOrPublicReference}"


async def _booking(api: Api, n: int) -> tuple[dict[str, Any], list[str]]:
    """A fresh booking on a quiet day, and the day's slot starts."""
    day = quiet_weekday().isoformat()
    data = await api.data(AVAILABILITY, {"ids": [BERLIN_MITTE], "date": day, "party": 2})
    starts = [s["start"] for s in data["availability"][0]["slots"]]
    created = await api.data(
        CREATE,
        {
            "input": {
                "restaurantId": BERLIN_MITTE,
                "start": starts[0],
                "partySize": 2,
                "guest": guest(n),
            }
        },
    )
    return created["createBooking"]["booking"], starts


def _native(booking: dict[str, Any]) -> str:
    return ids.decode(booking["id"]).native_id


async def test_reschedule_applied_but_answer_lost_reports_the_move_once(api: Api, sim: Sim) -> None:
    booking, starts = await _booking(api, 1)
    sim.state.inject_fault(500, match=f"PATCH /api/v1/reservations/{_native(booking)}", after=True)
    variables = {
        "input": {"bookingId": booking["id"], "start": starts[3], "idempotencyKey": "mv-1"}
    }
    patches = sim.count(PATCH)

    out = (await api.data(RESCHEDULE, variables))["rescheduleBooking"]

    assert out["userErrors"] == []
    assert out["booking"]["start"] == starts[3]
    assert sim.count(PATCH) == patches + 1  # the write was not repeated
    stored = sim.state.find_reservation(_native(booking))
    assert stored is not None and stored.start == datetime.fromisoformat(starts[3])
    replay = (await api.data(RESCHEDULE, variables))["rescheduleBooking"]
    assert replay == out
    assert sim.count(PATCH) == patches + 1


async def test_cancel_applied_but_answer_lost_reports_the_cancellation(api: Api, sim: Sim) -> None:
    booking, _ = await _booking(api, 2)
    sim.state.inject_fault(500, match=f"DELETE /api/v1/reservations/{_native(booking)}", after=True)
    deletes = sim.count(DELETE)

    out = (await api.data(CANCEL, {"input": {"bookingId": booking["id"]}}))["cancelBooking"]

    assert out["userErrors"] == []
    assert out["booking"]["status"] == "CANCELLED"
    assert sim.count(DELETE) == deletes + 1
    assert sim.state.find_reservation(_native(booking)).status == "cancelled"  # type: ignore[union-attr]


async def test_cancel_refused_by_a_5xx_is_reported_not_applied_and_may_be_retried(
    api: Api, sim: Sim
) -> None:
    booking, _ = await _booking(api, 3)
    sim.state.inject_fault(500, match=f"DELETE /api/v1/reservations/{_native(booking)}")
    variables = {"input": {"bookingId": booking["id"], "idempotencyKey": "cx-1"}}

    body = await api.query(CANCEL, variables)

    assert body.get("data") is None
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "UPSTREAM_UNAVAILABLE"
    assert error["extensions"]["upstream"] == "vardvik-berlin"
    assert error["extensions"]["applied"] is False
    assert error["extensions"]["idempotencyKey"] == "cx-1"
    assert sim.state.find_reservation(_native(booking)).status == "confirmed"  # type: ignore[union-attr]
    retry = (await api.data(CANCEL, variables))["cancelBooking"]  # the key was not kept
    assert retry["userErrors"] == [] and retry["booking"]["status"] == "CANCELLED"


async def test_unknown_outcome_gives_the_key_and_a_retry_resolves_without_a_second_write(
    api: Api, sim: Sim, monkeypatch: pytest.MonkeyPatch
) -> None:
    booking, starts = await _booking(api, 4)
    native = _native(booking)
    sim.state.inject_fault(500, match=f"PATCH /api/v1/reservations/{native}", after=True)
    patches = sim.count(PATCH)
    provider = api.gateway.provider("vardvik-berlin")
    read = provider.get_bookings

    async def unreadable_after_the_write(ids: Sequence[str]) -> list[Any]:
        if sim.count(PATCH) > patches:  # the re-read after the lost answer fails too
            raise UpstreamTimeout("vardvik-berlin timed out", upstream="vardvik-berlin")
        return await read(ids)

    monkeypatch.setattr(provider, "get_bookings", unreadable_after_the_write)
    variables = {"input": {"bookingId": booking["id"], "start": starts[4]}}

    out = (await api.data(RESCHEDULE, variables))["rescheduleBooking"]

    assert out["booking"] is None
    assert [e["code"] for e in out["userErrors"]] == ["OUTCOME_UNKNOWN"]
    key = out["idempotencyKey"]
    assert key
    assert sim.count(PATCH) == patches + 1
    monkeypatch.setattr(provider, "get_bookings", read)  # the upstream answers again
    retry = await api.data(RESCHEDULE, {"input": {**variables["input"], "idempotencyKey": key}})
    moved = retry["rescheduleBooking"]
    assert moved["userErrors"] == [] and moved["booking"]["start"] == starts[4]
    assert sim.count(PATCH) == patches + 1  # it had been applied: nothing written again
