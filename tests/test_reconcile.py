"""Unit tests of ``tablegraph.reconcile``: the verdict on an ambiguous reschedule or cancel."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest

from tablegraph.errors import NotFound, OutcomeUnknown, UpstreamTimeout, UpstreamUnavailable
from tablegraph.model import Booking, BookingChange, BookingStatus
from tablegraph.providers.base import Provider
from tablegraph.reconcile import (
    Verdict,
    cancel_outcome,
    reread,
    reschedule_outcome,
    settle,
)
from tablegraph.settings import UpstreamConfig
from tablegraph.timeutil import zone

BERLIN = zone("Europe/Berlin")
START = datetime(2030, 3, 6, 19, 0, tzinfo=BERLIN)
BEFORE = Booking(
    upstream="up",
    native_id="b1",
    restaurant_id="r1",
    status=BookingStatus.CONFIRMED,
    provider_status="confirmed",
    start=START,
    end=START + timedelta(hours=2),
    party_size=2,
)
LATER = START + timedelta(hours=1)


# ---- cancel ------------------------------------------------------------------------------


def test_cancel_visible_is_applied_with_the_reread_booking() -> None:
    after = replace(BEFORE, status=BookingStatus.CANCELLED, provider_status="cancelled")
    outcome = cancel_outcome(BEFORE, after)
    assert outcome.verdict is Verdict.APPLIED and outcome.booking is after


def test_cancel_of_a_booking_that_is_gone_is_applied() -> None:
    outcome = cancel_outcome(BEFORE, None)
    assert outcome.verdict is Verdict.APPLIED
    assert outcome.booking is not None
    assert outcome.booking.status is BookingStatus.CANCELLED
    assert outcome.booking.native_id == "b1" and outcome.booking.start == START


@pytest.mark.parametrize("status", [BookingStatus.CONFIRMED, BookingStatus.SEATED])
def test_cancel_not_visible_is_not_applied(status: BookingStatus) -> None:
    outcome = cancel_outcome(BEFORE, replace(BEFORE, status=status))
    assert outcome.verdict is Verdict.NOT_APPLIED and outcome.booking is None


def test_cancel_with_a_failed_reread_is_unknown() -> None:
    outcome = cancel_outcome(BEFORE, UpstreamTimeout("slow", upstream="up"))
    assert outcome.verdict is Verdict.UNKNOWN and outcome.booking is None


# ---- reschedule --------------------------------------------------------------------------


def test_reschedule_visible_is_applied() -> None:
    after = replace(BEFORE, start=LATER, end=LATER + timedelta(hours=2))
    outcome = reschedule_outcome(BEFORE, BookingChange(start=LATER), after)
    assert outcome.verdict is Verdict.APPLIED and outcome.booking is after


def test_reschedule_compares_instants_not_zones_or_seconds() -> None:
    asked = LATER.astimezone(zone("UTC")).replace(second=30)
    after = replace(BEFORE, start=LATER)
    assert reschedule_outcome(BEFORE, BookingChange(start=asked), after).verdict is (
        Verdict.APPLIED
    )


def test_reschedule_of_party_size_only() -> None:
    change = BookingChange(party_size=4)
    assert reschedule_outcome(BEFORE, change, replace(BEFORE, party_size=4)).verdict is (
        Verdict.APPLIED
    )
    assert reschedule_outcome(BEFORE, change, BEFORE).verdict is Verdict.NOT_APPLIED


def test_reschedule_unchanged_is_not_applied() -> None:
    outcome = reschedule_outcome(BEFORE, BookingChange(start=LATER, party_size=4), BEFORE)
    assert outcome.verdict is Verdict.NOT_APPLIED


def test_reschedule_half_applied_or_moved_elsewhere_is_unknown() -> None:
    change = BookingChange(start=LATER, party_size=4)
    half = replace(BEFORE, start=LATER)  # start moved, party size not
    elsewhere = replace(BEFORE, start=LATER + timedelta(hours=1), party_size=4)
    assert reschedule_outcome(BEFORE, change, half).verdict is Verdict.UNKNOWN
    assert reschedule_outcome(BEFORE, change, elsewhere).verdict is Verdict.UNKNOWN


def test_reschedule_with_a_failed_reread_or_a_vanished_booking() -> None:
    change = BookingChange(start=LATER)
    failed = UpstreamUnavailable("down", upstream="up")
    assert reschedule_outcome(BEFORE, change, failed).verdict is Verdict.UNKNOWN
    assert reschedule_outcome(BEFORE, change, None).verdict is Verdict.NOT_APPLIED


# ---- reread and settle -------------------------------------------------------------------


class _Reader(Provider):
    """A provider whose only ability is answering ``get_bookings`` with a scripted result."""

    kind = "fake"
    display_name = "Fake"

    def __init__(self, result: Any = None, raises: Exception | None = None) -> None:
        super().__init__(UpstreamConfig(name="up", kind="fake", base_url="http://127.0.0.1:1"))
        self.result, self.raises, self.calls = result, raises, 0

    async def get_bookings(self, ids: Sequence[str]) -> list[Any]:
        self.calls += 1
        assert list(ids) == ["b1"]
        if self.raises is not None:
            raise self.raises
        return [self.result]


async def test_reread_returns_a_batch_failure_or_a_raised_one() -> None:
    failed = UpstreamTimeout("slow", upstream="up")
    assert await reread(_Reader(result=failed), "b1") is failed
    assert await reread(_Reader(raises=failed), "b1") is failed
    assert await reread(_Reader(result=None), "b1") is None


LOST = OutcomeUnknown("no answer", upstream="up")


async def test_settle_applied_returns_the_booking() -> None:
    cancelled = replace(BEFORE, status=BookingStatus.CANCELLED)
    reader = _Reader(result=cancelled)
    got = await settle(
        reader, BEFORE, LOST, "k-1", lambda a: cancel_outcome(BEFORE, a), action="cancellation"
    )
    assert got is cancelled and reader.calls == 1


async def test_settle_not_applied_raises_an_upstream_error_saying_so() -> None:
    with pytest.raises(UpstreamUnavailable) as caught:
        await settle(
            _Reader(result=BEFORE),
            BEFORE,
            LOST,
            "k-1",
            lambda a: cancel_outcome(BEFORE, a),
            action="cancellation",
        )
    assert caught.value.extensions == {
        "code": "UPSTREAM_UNAVAILABLE",
        "upstream": "up",
        "applied": False,
        "idempotencyKey": "k-1",
    }
    assert "not applied" in caught.value.message


async def test_settle_unknown_raises_outcome_unknown_with_the_key() -> None:
    with pytest.raises(OutcomeUnknown) as caught:
        await settle(
            _Reader(raises=NotFound("gone?", upstream="up")),
            BEFORE,
            LOST,
            "k-2",
            lambda a: reschedule_outcome(BEFORE, BookingChange(start=LATER), a),
            action="reschedule",
        )
    assert caught.value.extensions["idempotencyKey"] == "k-2"
    assert caught.value.code == "OUTCOME_UNKNOWN"
