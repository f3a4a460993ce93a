"""The ``options`` table of a ``librebooking`` upstream, typed and validated at start-up."""

from __future__ import annotations

from pydantic import Field

from tablegraph.providers.kit import ProviderOptions


class LibreBookingOptions(ProviderOptions):
    schedule_ids: list[str | int] = Field(min_length=1)  # the schedules that are restaurants
    duration_minutes: int = Field(120, gt=0)  # booking length
    #: {schedule id: {name, city, address, phone}}
    restaurants: dict[str, dict[str, str]] = Field(default_factory=dict)
    create_guests: bool = True  # create a LibreBooking user for an unknown guest e-mail
    max_concurrency: int = Field(8, gt=0)  # parallel single reads in a batch
    #: How far ahead bookings are taken when a table has no ``maxNotice`` of its own.
    max_advance_days: int = Field(365, gt=0)
