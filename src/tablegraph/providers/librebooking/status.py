"""Status moves through the server's own calls (``Reservations/{ref}/Approval``, ``CheckIn``,
``CheckOut``; the steps per move are ``mapping.STATUS_STEPS``).

Observed on PHP 8.2: check-in and check-out die with a 500 (a deprecation notice in
LibreBooking's own rule) and change nothing. A 500 to a write is "outcome unknown" for the
upstream client, so the reservation is read back: unchanged means this server cannot do it
(``NOT_SUPPORTED``), never an unknown outcome left to the client. Re-approving an approved
reservation answers 200 with an empty body: done already, not "not found".
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from tablegraph.errors import NotFound, NotSupported, OutcomeUnknown
from tablegraph.providers.kit import Caller
from tablegraph.providers.librebooking.parse import to_datetime
from tablegraph.providers.librebooking.payloads import RawReservation

#: The reservation field each step sets.
_SETS = {"CheckIn": "checkInDate", "CheckOut": "checkOutDate"}


async def step(
    caller: Caller, ref: str, name: str, *, read: Callable[[str], Awaitable[RawReservation]]
) -> None:
    try:
        answer = await caller.optional_json("POST", f"Reservations/{ref}/{name}")
    except OutcomeUnknown:
        field = _SETS.get(name)
        if field is None:
            raise
        if to_datetime(dict(await read(ref)).get(field)) is None:
            raise NotSupported(
                f"this LibreBooking server fails {name} (HTTP 500) and changed nothing",
                upstream=caller.name,
            ) from None
        return
    if answer is None and name != "Approval":
        raise NotFound(f"unknown booking {ref!r}", upstream=caller.name)
