"""Reconciling an ambiguous write: what a fresh read says really happened.

A write whose answer was lost (timeout after sending, connection reset, 5xx after commit —
``OutcomeUnknown``) or could not be read (a truncated or garbled body —
``UpstreamBadResponse``) may or may not have been applied. A create is looked up by its
idempotency marker (``LostCreates``), after any upstream failure; a reschedule or cancel by
reading the booking again. Nothing is retried or reported until the
booking has been read again from the upstream. The decision is a pure function of the booking
before the write, the change asked for, and the booking read afterwards:

- **applied** — the change is visible (cancel: the booking is cancelled or gone; reschedule:
  start and party size are the requested ones): the write succeeded, report the booking;
- **not applied** — the booking is as it was (cancel: not cancelled; reschedule: start and
  party size unchanged): report the upstream failure, and the client may simply retry;
- **unknown** — the read failed, or shows neither state (a half-applied or foreign change):
  ``OUTCOME_UNKNOWN`` with the idempotency key, and never a second write.

``settle`` runs the read and turns the verdict into a booking or an error. Both lookups run
on a budget of their own (``RECONCILE_SECONDS``), even when the client's deadline is spent:
they are what keeps a booking from being made twice or reported wrongly.
"""

from __future__ import annotations

import enum
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from tablegraph import deadline
from tablegraph.errors import (
    BookingRejected,
    GatewayError,
    OutcomeUnknown,
    UpstreamBadResponse,
    UpstreamError,
    UpstreamUnavailable,
)
from tablegraph.model import Booking, BookingChange, BookingStatus, NewBooking
from tablegraph.providers.base import Provider
from tablegraph.stores.base import Store
from tablegraph.stores.memory import MemoryStore
from tablegraph.upstream import watching_writes

#: Failures after which a write may have been applied.
AMBIGUOUS: tuple[type[UpstreamError], ...] = (OutcomeUnknown, UpstreamBadResponse)
RECONCILE_SECONDS = 5.0

#: What the fresh read gave: the booking, ``None`` (no longer exists) or the read's failure.
ReRead = Booking | None | Exception


class Verdict(enum.Enum):
    APPLIED = "APPLIED"
    NOT_APPLIED = "NOT_APPLIED"
    UNKNOWN = "UNKNOWN"


@dataclass(frozen=True)
class Outcome:
    verdict: Verdict
    #: APPLIED: the booking as it is now upstream; otherwise None.
    booking: Booking | None = None


def cancel_outcome(before: Booking, after: ReRead) -> Outcome:
    """Did a cancellation of ``before`` take effect, given the booking read ``after`` it?"""
    if isinstance(after, Exception):
        return Outcome(Verdict.UNKNOWN)
    if after is None:
        # Some providers cancel by deleting: a booking that existed a moment ago and is gone
        # now was cancelled.
        return Outcome(
            Verdict.APPLIED,
            replace(before, status=BookingStatus.CANCELLED, provider_status="deleted"),
        )
    if after.status is BookingStatus.CANCELLED:
        return Outcome(Verdict.APPLIED, after)
    # A cancellation is all or nothing: a booking that is not cancelled was not cancelled.
    return Outcome(Verdict.NOT_APPLIED)


def reschedule_outcome(before: Booking, change: BookingChange, after: ReRead) -> Outcome:
    """Did moving ``before`` by ``change`` take effect, given the booking read ``after`` it?"""
    if isinstance(after, Exception):
        return Outcome(Verdict.UNKNOWN)
    if after is None:
        return Outcome(Verdict.NOT_APPLIED)  # nothing left that could have been moved
    wanted = (
        _minute(change.start) if change.start is not None else _minute(before.start),
        change.party_size if change.party_size is not None else before.party_size,
    )
    now = (_minute(after.start), after.party_size)
    if now == wanted:
        return Outcome(Verdict.APPLIED, after)
    if now == (_minute(before.start), before.party_size):
        return Outcome(Verdict.NOT_APPLIED)
    return Outcome(Verdict.UNKNOWN)  # partly applied, or changed by someone else meanwhile


def _minute(moment: datetime) -> datetime:
    """Providers keep booking times to the minute; compare instants at that precision."""
    return moment.replace(second=0, microsecond=0)


async def reread(provider: Provider, native_id: str) -> ReRead:
    """The booking as the upstream has it now: one fresh read, no caches in between."""
    try:
        (found,) = await provider.get_bookings([native_id])
    except GatewayError as exc:
        return exc
    return found


async def settle(
    provider: Provider,
    before: Booking,
    lost: UpstreamError,
    key: str,
    decide: Callable[[ReRead], Outcome],
    *,
    action: str,
) -> Booking:
    """Re-read ``before`` after the ambiguous write ``lost`` and return or raise its outcome.

    Not applied raises ``UpstreamUnavailable`` with ``applied: false``; unknown raises
    ``OutcomeUnknown`` carrying ``key``. Neither is final, so the gateway keeps no
    idempotency record for them and a retry with the same key runs again.
    """
    with deadline.scope(RECONCILE_SECONDS, extend=True):
        outcome = decide(await reread(provider, before.native_id))
    if outcome.verdict is Verdict.APPLIED:
        assert outcome.booking is not None
        return outcome.booking
    upstream = lost.upstream or before.upstream
    if outcome.verdict is Verdict.NOT_APPLIED:
        raise UpstreamUnavailable(
            f"{upstream} failed during the {action}; it was not applied, so it is safe to retry",
            upstream=upstream,
            details={"applied": False, "idempotencyKey": key},
        )
    raise OutcomeUnknown(
        f"{upstream} did not confirm the {action} and it could not be checked; "
        "retry with the same idempotency key",
        upstream=upstream,
        details={"idempotencyKey": key},
    )


class LostCreates:
    """Write intents of creates, kept in the gateway's store (24 h) by (client, upstream, key).

    The intent is stored *before* the upstream write and stays after it: until the booking
    service has recorded the outcome, it is the only trace of a create that may have landed.
    A create that finds an intent under its key — an earlier attempt answered
    ``OUTCOME_UNKNOWN``, or its process died between the write and recording the outcome —
    looks the booking up by its marker first, and books again only when the lookup answers
    that nothing is there. A definite failure (nothing sent, a rejection, a failure after
    which the lookup found nothing) drops the intent. With a durable store this holds across
    restarts; with a shared one across workers.
    """

    def __init__(self, store: Store | None = None, ttl: float = 24 * 3600.0) -> None:
        self.store: Store = store if store is not None else MemoryStore()
        self.ttl = ttl

    async def create(self, provider: Provider, request: NewBooking, client: str) -> Booking:
        slot = "intent:" + json.dumps([client, provider.name, request.idempotency_key])
        if await self.store.get(slot) is not None:
            found = await _look_up(provider, request)
            if isinstance(found, GatewayError):
                raise _unknown(provider.name, request.idempotency_key) from None
            if found is not None:
                return found
        intent = {
            "client": client,
            "upstream": provider.name,
            "key": request.idempotency_key,
            "restaurant": request.restaurant_id,
            "at": time.time(),
        }
        await self.store.set(slot, json.dumps(intent), self.ttl)
        failure: UpstreamError | None = None
        with watching_writes() as writes:
            try:
                booking = await provider.create_booking(request)
            except UpstreamError as exc:
                if not writes:  # it failed before anything was sent: nothing to look for
                    await self.store.delete(slot)
                    raise
                failure = exc
            except BookingRejected:
                await self.store.delete(slot)  # refused: nothing was booked
                raise
        if failure is not None:
            # A failure after the create was sent may come after the booking was stored (an
            # adapter reading the new booking back, say), so look before reporting it.
            found = await _look_up(provider, request)
            if isinstance(found, Booking):
                booking = found
            elif isinstance(failure, AMBIGUOUS) or isinstance(found, GatewayError):
                raise _unknown(failure.upstream, request.idempotency_key) from None
            else:
                await self.store.delete(slot)
                raise failure  # looked, and nothing is there: safe for the client to retry
        return booking


async def _look_up(provider: Provider, request: NewBooking) -> Booking | GatewayError | None:
    with deadline.scope(RECONCILE_SECONDS, extend=True):
        try:
            return await provider.find_booking_by_idempotency_key(
                request.restaurant_id, request.idempotency_key, request
            )
        except GatewayError as exc:
            return exc


def _unknown(upstream: str | None, key: str) -> OutcomeUnknown:
    return OutcomeUnknown(
        f"{upstream} did not confirm the booking and it could not be found; "
        "retry with the same idempotency key",
        upstream=upstream,
        details={"idempotencyKey": key},
    )
