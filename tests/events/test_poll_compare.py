"""A poll's comparison that fails half-way (no HTTP): the poller goes on, and the next poll
tells what was left, once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from tablegraph.errors import UpstreamUnavailable
from tablegraph.events.feeds import BookingFeed
from tablegraph.events.polling import Pollers
from tablegraph.model import Booking, BookingQuery, BookingStatus
from tablegraph.providers.base import Provider
from tablegraph.settings import EventSettings, UpstreamConfig

from .live import RecordingBus, until

STREAM = ("up", "r1")
START = datetime(2030, 5, 1, 19, tzinfo=UTC)


def _booking(native_id: str, party_size: int = 2) -> Booking:
    return Booking(
        upstream="up",
        native_id=native_id,
        restaurant_id="r1",
        status=BookingStatus.CONFIRMED,
        provider_status="confirmed",
        start=START,
        end=START.replace(hour=21),
        party_size=party_size,
    )


class Listed(Provider):
    """An upstream without webhooks whose day is ``listing``; reading a booking by id fails
    while ``reads_fail`` is above zero (one failure each)."""

    kind = "listed"
    display_name = "Listed"

    def __init__(self) -> None:
        super().__init__(UpstreamConfig(name="up", kind="listed", base_url="http://127.0.0.1:9"))
        self.listing = [_booking("b1"), _booking("b2")]
        self.polls = 0
        self.reads_fail = 0

    async def list_bookings(self, query: BookingQuery) -> list[Booking]:
        self.polls += 1
        return list(self.listing)

    async def get_bookings(self, ids: Sequence[str]) -> list[Any]:
        if self.reads_fail:
            self.reads_fail -= 1
            raise UpstreamUnavailable("down for a moment", upstream="up")
        return [None for _ in ids]  # deleted, as LibreBooking deletes what it cancels


async def test_a_poll_whose_comparison_fails_is_followed_by_one_telling_the_rest_once() -> None:
    provider, bus = Listed(), RecordingBus()
    pollers = Pollers(
        {"up": provider},
        BookingFeed(bus),  # type: ignore[arg-type]
        EventSettings(poll_interval_seconds=0.01),
        {},
    )
    pollers.watch(STREAM)
    try:
        await until(lambda: pollers.polls.get(STREAM, 0) >= 1)  # the baseline
        provider.reads_fail = 1
        # b1 grows, b2 is deleted; the read that would say b2 is gone fails once.
        provider.listing = [replace(_booking("b1"), party_size=4)]
        polls = provider.polls
        await until(lambda: provider.reads_fail == 0)
        await until(lambda: provider.polls >= polls + 3)  # still polling after the failure
        told = [(e.booking.native_id, e.kind.value) for e in bus.events]
        assert told == [("b1", "RESCHEDULED"), ("b2", "CANCELLED")]  # each once, none lost
        assert bus.events[0].booking.party_size == 4
        assert not pollers.tasks[STREAM].done()
    finally:
        await pollers.close()
