"""Checks Libro leaves to its clients, made before any write (providers/libro.md "Modification
restricted", "Booking" object): refused locally with the reason, never sent."""

from __future__ import annotations

from datetime import datetime
from typing import cast

from tablegraph.errors import InvalidState
from tablegraph.model import Booking
from tablegraph.providers.libro.mapping import ACTIVE
from tablegraph.providers.libro.payloads import BookingAttributes, Resource
from tablegraph.timeutil import parse_instant


def _attributes(res: Resource) -> BookingAttributes:
    return cast(BookingAttributes, res.get("attributes") or {})


def check_modifiable(res: Resource, *, upstream: str) -> None:
    """``modification-restricted.restricted``: only staff may change the booking."""
    restricted = _attributes(res).get("modification-restricted") or {}
    if isinstance(restricted, dict) and restricted.get("restricted"):
        raise InvalidState(
            "only the restaurant can change this booking",
            upstream=upstream,
            code="MODIFICATION_RESTRICTED",
            details={"reason": restricted.get("reason")},
        )


def check_movable(res: Resource, booking: Booking, *, upstream: str) -> None:
    if booking.provider_status not in ACTIVE:
        raise InvalidState("the booking can no longer be moved", upstream=upstream)
    check_modifiable(res, upstream=upstream)


def check_cancellable(res: Resource, booking: Booking, now: datetime, *, upstream: str) -> None:
    """Active, not restricted, and before ``cancelation-allowed-until``."""
    if booking.provider_status not in ACTIVE:
        raise InvalidState(
            "the booking can no longer be cancelled", upstream=upstream, code="NOT_CANCELLABLE"
        )
    check_modifiable(res, upstream=upstream)
    until = _attributes(res).get("cancelation-allowed-until")
    if until and now >= parse_instant(str(until)):
        raise InvalidState(
            "the cancellation deadline has passed",
            upstream=upstream,
            code="NOT_CANCELLABLE",
            details={"deadline": str(until)},
        )
