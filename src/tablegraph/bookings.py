"""The booking service: every booking write, whatever transport asked for it.

A write comes in as the unified model (``NewBooking``, ``BookingChange``, ``BookingUpdate``,
…) with the caller's client id and a ``WriteKey``, and goes out as a model object or an
error of ``tablegraph.errors``. No GraphQL here: the GraphQL mutations, and any later
transport, validate their input, build the model, call this, and shape the answer.

- **Once per key.** A write under a key the client chose runs once per (client, operation,
  key): a retry of the same request gets the first *final* outcome (the booking, or the
  business rejection), concurrent duplicates wait for the first, and the same key with a
  different request is refused (``IdempotencyConflict``). Requests are compared by
  fingerprint (``idempotency.fingerprint``): the model request with every instant in UTC, so
  one instant written with two offsets is one request. Outcomes that are not final (an
  upstream failure, ``OUTCOME_UNKNOWN``) keep no record, so the retry runs again.
- **Nothing reported before it is reconciled.** A create goes through ``LostCreates`` (looked
  up after any failure once the write was sent, and before booking again when the last
  outcome stayed unknown); a reschedule or cancel whose answer was lost is settled by a fresh
  read (``reconcile.settle``); a retry that finds its change already made writes nothing.
- **Availability drops for every day a write touched**, on the restaurant's calendar: the
  old and new day of a move, and both as soon as a write's outcome is in doubt.
- **The restaurant's rules are checked here, the input's shape by the transport**: party
  sizes within the restaurant's policy, starts in the future and declared capabilities here
  (inside the key's record, so a replay after the start has passed still gets its booking);
  lengths, formats and ranges any restaurant would refuse, before the model is built.
- **Who may touch which booking is decided here too.** A write by id acts only on a booking of
  the caller's restaurants (``Tenancy``); one outside them is "no such booking", exactly like
  a missing one. A booking-management token (``manage_token``: issued for a booking and the
  client that created it) opens that one booking to its holder, whatever its restaurants.
- **Keys belong to the client.** Records are kept per (client, operation, key), and what goes
  upstream (Vardvik's ``Idempotency-Key``, the markers other adapters write and reconciliation
  looks for) is ``idempotency.upstream_key(client, key)``: two clients' equal keys never meet,
  and an error that names a key names the client's own.
- **Every write it makes is an event** (``gateway.feed``, ``tablegraph.events``), published
  once the outcome is known; a replayed outcome publishes nothing again.
- **Errors name model fields** (``("guest", "email")``, ``("start",)``; ``()`` for the request
  as a whole); transports map them to their own input paths.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from tablegraph import hours, ids, prefetch, reconcile
from tablegraph.auth.identity import EVERYTHING, Tenancy
from tablegraph.auth.manage import ManageTokens
from tablegraph.errors import (
    BookingRejected,
    GatewayError,
    InvalidInput,
    InvalidState,
    NotFound,
    NotSupported,
    PolicyViolation,
    SlotUnavailable,
)
from tablegraph.guests_on_file import under_profile_on_file
from tablegraph.idempotency import fingerprint, plain, upstream_key
from tablegraph.model import (
    Booking,
    BookingChange,
    BookingStatus,
    BookingUpdate,
    Capability,
    Guest,
    GuestUpsert,
    NewBooking,
    Restaurant,
    WaitlistEntry,
    WaitlistRequest,
)
from tablegraph.stores import codec

if TYPE_CHECKING:
    from tablegraph.gateway import Gateway

MAX_KEY_LENGTH = 255
#: A write's final outcome, as the idempotency store keeps it: the booking or the rejection.
_Outcome = tuple[Booking | None, BookingRejected | None]


class BookingRef(NamedTuple):
    """A booking by upstream and native id (what a global id decodes to)."""

    upstream: str
    native_id: str


@dataclass(frozen=True)
class WriteKey:
    """The idempotency key a write runs under, and whether the client chose it.

    Only a chosen key is remembered: a generated one names the attempt (for the client's
    retry after ``OUTCOME_UNKNOWN``, and for the upstream's own idempotency) but replays
    nothing, since no client can send it again before it has seen it.
    """

    value: str
    chosen: bool

    @classmethod
    def of(cls, value: str | None) -> WriteKey:
        if value is None:
            return cls(f"tg-{uuid.uuid4()}", chosen=False)
        if not 1 <= len(value) <= MAX_KEY_LENGTH or not value.isprintable():
            raise InvalidInput(
                f"idempotency key must be 1-{MAX_KEY_LENGTH} printable characters",
                field=("idempotency_key",),
            )
        return cls(value, chosen=True)


def days_touched(booking: Booking, *moments: datetime) -> set[date]:
    """The restaurant's local dates of ``booking`` and of ``moments`` (a requested new start
    may carry the client's offset, whose date can be another one)."""
    tz = booking.start.tzinfo
    return {booking.start.date(), *(m.astimezone(tz).date() for m in moments)}


def _utc_now() -> datetime:
    return datetime.now(UTC)


class BookingService:
    """Booking writes with idempotency, reconciliation and invalidation (see the module)."""

    def __init__(self, gateway: Gateway, *, now: Callable[[], datetime] = _utc_now) -> None:
        self._gateway = gateway
        self._now = now
        #: Signs and reads booking-management tokens; replaceable (tests, a rotation).
        self.manage_tokens = ManageTokens.from_settings(gateway.settings.auth.manage_tokens)

    # ---- reads a write needs --------------------------------------------------------------

    async def booking(self, ref: BookingRef, *, tenancy: Tenancy = EVERYTHING) -> Booking:
        """The booking as its upstream has it now (a write never acts on a cached copy), if it
        is one of ``tenancy``'s restaurants; ``NotFound`` otherwise, as for a missing one."""
        missing = NotFound("no such booking", field=("booking_id",))
        if ref.upstream not in self._gateway.providers or not tenancy.touches(ref.upstream):
            raise missing
        (found,) = await self._gateway.provider(ref.upstream).get_bookings([ref.native_id])
        if isinstance(found, Exception):
            raise found
        if found is None:
            raise missing
        assert isinstance(found, Booking)
        if not tenancy.allows(found.upstream, found.restaurant_id):
            raise missing
        return found

    # ---- booking-management tokens ----------------------------------------------------------

    def manage_token(self, booking: Booking, client: str) -> str:
        """A token that lets its holder read, reschedule and cancel ``booking`` only."""
        gid = ids.encode("Booking", booking.upstream, booking.native_id)
        return self.manage_tokens.issue(gid, client, booking.end)

    def managed_ref(self, token: str, client: str) -> BookingRef:
        """The booking a genuine, unexpired token of ``client`` names; ``NotFound`` for any
        other token (tampered, expired, rotated out, another client's)."""
        grant = self.manage_tokens.read(token)
        if grant is None or grant.client_id != client:
            raise NotFound("no booking for this management token", field=("manage_token",))
        try:
            gid = ids.decode(grant.booking_id, "Booking")
        except InvalidInput:
            raise NotFound(
                "no booking for this management token", field=("manage_token",)
            ) from None
        return BookingRef(gid.upstream, gid.native_id)

    async def _restaurant(self, upstream: str, native_id: str) -> Restaurant | None:
        restaurants = await self._gateway.restaurants_of(upstream)
        return next((r for r in restaurants if r.native_id == native_id), None)

    # ---- writes ---------------------------------------------------------------------------

    async def create(
        self,
        restaurant: Restaurant,
        request: NewBooking,
        *,
        client: str,
        key: WriteKey,
        guests_writable: bool = True,
    ) -> Booking:
        """Book at ``restaurant``; ``request`` runs under ``key`` whatever key it carries.
        Without ``guests_writable`` an existing guest profile is booked under, never changed
        (``guests_on_file``)."""
        request = replace(request, idempotency_key=upstream_key(client, key.value))
        provider = self._gateway.provider(restaurant.upstream)

        async def write() -> Booking:
            self._check_create(restaurant, request)
            sent = request
            if not guests_writable:
                sent = await under_profile_on_file(provider, restaurant.native_id, request)
            # An ambiguous answer is looked up before anything is reported, and a retry of a
            # create whose outcome stayed unknown looks again before it books.
            try:
                with _slot_is_the_start():
                    booking = await self._gateway.lost_creates.create(provider, sent, client)
            except SlotUnavailable:
                await self._refuse_if_closed(restaurant, request.start)
                raise
            self._invalidate(booking)
            await self._gateway.feed.wrote(None, booking)
            return booking

        asked = {"upstream": restaurant.upstream, **_without_key(request)}
        intent = {"upstream": restaurant.upstream, "restaurant": restaurant.native_id}
        return await self._once(client, key, "create", asked, write, intent)

    def _check_create(self, restaurant: Restaurant, request: NewBooking) -> None:
        policy = restaurant.policy
        if not policy.min_party_size <= request.party_size <= policy.max_party_size:
            raise PolicyViolation(
                f"this restaurant takes parties of {policy.min_party_size} to "
                f"{policy.max_party_size}",
                field=("party_size",),
            )
        if request.start <= self._now():
            raise PolicyViolation("the start time is in the past", field=("start",))
        if Capability.BOOKING_CREATE not in restaurant.capabilities:
            raise NotSupported("this restaurant takes no bookings through the gateway")

    async def _refuse_if_closed(self, restaurant: Restaurant, start: datetime) -> None:
        """A time the provider called unavailable while the restaurant is closed is outside
        its policy (``OUTSIDE_POLICY`` on ``start``), whichever provider said so: some cannot
        tell closed from full. Nothing is decided when the hours cannot be read."""
        if Capability.OPENING_HOURS not in restaurant.capabilities:
            return
        try:
            opening = await self._gateway.opening_hours(restaurant)
        except GatewayError:
            return
        if hours.open_at(opening, start, restaurant.timezone) is False:
            raise PolicyViolation(
                "the restaurant is closed at that time", field=("start",)
            ) from None

    async def reschedule(
        self,
        ref: BookingRef,
        change: BookingChange,
        *,
        client: str,
        key: WriteKey,
        tenancy: Tenancy = EVERYTHING,
    ) -> Booking:
        """Move a booking to a new start and/or party size."""
        sent_key = upstream_key(client, key.value)
        change = replace(change, idempotency_key=sent_key)

        async def write() -> Booking:
            if change.start is None and change.party_size is None:
                raise InvalidInput("give a new start, a new party size, or both", field=())
            with prefetch.keeping() as kept:
                current = await self.booking(ref, tenancy=tenancy)
            _refuse_cancelled(current)
            if change.start is not None and change.start <= self._now():
                raise PolicyViolation("the new start time is in the past", field=("start",))
            restaurant = await self._restaurant(current.upstream, current.restaurant_id)
            if restaurant is not None and (
                Capability.BOOKING_RESCHEDULE not in restaurant.capabilities
            ):
                raise NotSupported("this restaurant does not accept reschedules through the API")
            if reconcile.reschedule_outcome(current, change, current).verdict is (
                reconcile.Verdict.APPLIED
            ):
                return current  # already there (a retry after an unknown outcome): no write
            provider = self._gateway.provider(current.upstream)
            wanted = [change.start] if change.start is not None else []
            try:
                with prefetch.handing(kept), _slot_is_the_start(change.start is not None):
                    moved = await provider.reschedule_booking(current.native_id, change)
            except SlotUnavailable:
                if restaurant is not None and change.start is not None:
                    await self._refuse_if_closed(restaurant, change.start)
                raise
            except reconcile.AMBIGUOUS as lost:
                self._invalidate(current, *wanted)
                moved = await reconcile.settle(
                    provider,
                    current,
                    lost,
                    sent_key,
                    lambda after: reconcile.reschedule_outcome(current, change, after),
                    action="reschedule",
                )
            self._invalidate(current, moved.start)
            await self._gateway.feed.wrote(current, moved)
            return moved

        asked = {"booking": list(ref), **_without_key(change)}
        return await self._once(client, key, "reschedule", asked, write)

    async def cancel(
        self,
        ref: BookingRef,
        reason: str | None,
        *,
        client: str,
        key: WriteKey,
        tenancy: Tenancy = EVERYTHING,
    ) -> Booking:
        """Cancel a booking; cancelling a cancelled booking is its current state, not an error."""

        async def write() -> Booking:
            if self._cancels_unread(ref, tenancy):
                return await self._cancel_unread(ref, reason, upstream_key(client, key.value))
            with prefetch.keeping() as kept:
                current = await self.booking(ref, tenancy=tenancy)
            if current.status is BookingStatus.CANCELLED:
                return current  # already cancelled (a retry after an unknown outcome): no write
            provider = self._gateway.provider(current.upstream)
            try:
                with prefetch.handing(kept):
                    cancelled = await provider.cancel_booking(current.native_id, reason)
            except reconcile.AMBIGUOUS as lost:
                self._invalidate(current)
                cancelled = await reconcile.settle(
                    provider,
                    current,
                    lost,
                    upstream_key(client, key.value),
                    lambda after: reconcile.cancel_outcome(current, after),
                    action="cancellation",
                )
            self._invalidate(current)
            await self._gateway.feed.wrote(current, cancelled)
            return cancelled

        asked = {"booking": list(ref), "reason": reason}
        return await self._once(client, key, "cancel", asked, write)

    def _cancels_unread(self, ref: BookingRef, tenancy: Tenancy) -> bool:
        """Whether a cancel may skip the read before it: its provider answers the cancel with
        the booking (``Provider.cancel_answers_booking``), and the caller may touch every
        restaurant of the upstream, so there is no restaurant to check first."""
        provider = self._gateway.providers.get(ref.upstream)
        return (
            provider is not None
            and provider.cancel_answers_booking
            and (tenancy.unrestricted or ref.upstream in tenancy.upstreams)
        )

    async def _cancel_unread(self, ref: BookingRef, reason: str | None, sent_key: str) -> Booking:
        """One cancel, no read: the provider's answer is the outcome (an already cancelled
        booking comes back unchanged, an unknown one is "no such booking")."""
        provider = self._gateway.provider(ref.upstream)
        try:
            cancelled = await provider.cancel_booking(ref.native_id, reason)
        except NotFound:
            raise NotFound("no such booking", field=("booking_id",)) from None
        except reconcile.AMBIGUOUS as lost:
            # The answer was lost: what the booking is now settles it, as after a read.
            current = await self.booking(ref)
            self._invalidate(current)
            cancelled = await reconcile.settle(
                provider,
                current,
                lost,
                sent_key,
                lambda after: reconcile.cancel_outcome(current, after),
                action="cancellation",
            )
        self._invalidate(cancelled)
        await self._gateway.feed.wrote_unread(cancelled)
        return cancelled

    async def update(
        self,
        ref: BookingRef,
        update: BookingUpdate,
        *,
        client: str,
        key: WriteKey | None = None,
        tenancy: Tenancy = EVERYTHING,
    ) -> Booking:
        """Change notes, tags, status or tables; a status or table change frees or takes a
        table, so it drops the day's availability too."""

        async def write() -> Booking:
            with prefetch.keeping() as kept:
                current = await self.booking(ref, tenancy=tenancy)
            if current.status is BookingStatus.CANCELLED and update == BookingUpdate(
                status=BookingStatus.CANCELLED
            ):
                return current  # already what was asked
            _refuse_cancelled(current)
            provider = self._gateway.provider(current.upstream)
            with prefetch.handing(kept):
                updated = await provider.update_booking(current.native_id, update)
            if update.status is not None or update.tables is not None:
                self._invalidate(current)
            await self._gateway.feed.wrote(current, updated)
            return updated

        asked = {"booking": list(ref), **_without_key(update)}
        return await self._once(client, key or WriteKey.of(None), "update", asked, write)

    async def join_waitlist(
        self, restaurant: Restaurant, request: WaitlistRequest, *, guests_writable: bool = True
    ) -> WaitlistEntry:
        if Capability.WAITLIST not in restaurant.capabilities:
            raise NotSupported("this restaurant has no waitlist")
        if not (request.guest.email or request.guest.phone):
            # A waitlist is worth nothing if the restaurant cannot call the guest back; some
            # providers accept such an entry, others refuse it without naming a field.
            raise InvalidInput(
                "a waitlist entry needs the guest's e-mail or phone", field=("guest", "email")
            )
        provider = self._gateway.provider(restaurant.upstream)
        if not guests_writable:
            request = await under_profile_on_file(provider, restaurant.native_id, request)
        return await provider.join_waitlist(request)

    async def upsert_guest(self, restaurant: Restaurant, request: GuestUpsert) -> Guest:
        if Capability.GUEST_UPSERT not in restaurant.capabilities:
            raise NotSupported("this restaurant's system does not take guest profiles")
        try:
            return await self._gateway.provider(restaurant.upstream).upsert_guest(request)
        finally:  # written, failed or unknown: a read of its guests begun before is stale
            self._gateway.guests_changed(restaurant.upstream)

    # ---- the machinery --------------------------------------------------------------------

    async def _once(
        self,
        client: str,
        key: WriteKey,
        operation: str,
        asked: Mapping[str, Any],
        write: Callable[[], Awaitable[Booking]],
        intent: Mapping[str, Any] | None = None,
    ) -> Booking:
        """Run ``write`` once per (client, operation, chosen key); replay its final outcome.

        The record (with ``intent``) is in the store before the write and holds the outcome
        after it, so a replay after a restart, or on another worker, gets the same answer."""

        async def attempt() -> _Outcome:
            try:
                return await write(), None
            except BookingRejected as exc:  # final business outcomes are replayed too
                return None, exc
            except GatewayError as exc:
                # The client retries with its own key, never the one derived for upstream.
                if exc.details.get("idempotencyKey") == upstream_key(client, key.value):
                    exc.details["idempotencyKey"] = key.value
                raise

        outcome: _Outcome
        if key.chosen:
            outcome = await self._gateway.idempotency.run(
                client,
                f"{operation}:{key.value}",
                fingerprint(operation, asked),
                attempt,
                intent={"client": client, "key": key.value, **(intent or {})},
            )
        else:
            outcome = await attempt()
        booking, rejected = outcome
        if rejected is not None:
            raise rejected.with_traceback(None)
        assert booking is not None
        return booking

    def _invalidate(self, booking: Booking, *moments: datetime) -> None:
        for day in days_touched(booking, *moments):
            self._gateway.invalidate_availability(booking.upstream, booking.restaurant_id, day)


def _refuse_cancelled(current: Booking) -> None:
    """A cancelled booking cannot be changed, whichever provider holds it (some answer
    "not found" for it, some "not cancellable"): one code, ``INVALID_TRANSITION``."""
    if current.status is BookingStatus.CANCELLED:
        raise InvalidState(
            "a cancelled booking cannot be changed",
            upstream=current.upstream,
            code="INVALID_TRANSITION",
        )


@contextmanager
def _slot_is_the_start(applies: bool = True) -> Iterator[None]:
    """A taken or closed time is the request's ``start`` at fault, whichever provider said so."""
    try:
        yield
    except SlotUnavailable as exc:
        if applies and exc.field is None:
            exc.field = ("start",)
        raise


def dump_outcome(outcome: _Outcome) -> dict[str, Any]:
    """A final outcome as the idempotency record keeps it (JSON)."""
    booking, rejected = outcome
    return {
        "booking": codec.dump(booking) if booking is not None else None,
        "rejected": codec.dump_error(rejected) if rejected is not None else None,
    }


def load_outcome(data: dict[str, Any]) -> _Outcome:
    booking = codec.load(Booking, data["booking"]) if data.get("booking") else None
    rejected = codec.load_error(data["rejected"]) if data.get("rejected") else None
    if rejected is not None and not isinstance(rejected, BookingRejected):
        rejected = BookingRejected(
            rejected.message,
            upstream=rejected.upstream,
            code=rejected.code,
            field=rejected.field,
            details=rejected.details,
        )
    return booking, rejected


def _without_key(request: NewBooking | BookingChange | BookingUpdate) -> dict[str, Any]:
    """The request's fields but its idempotency key (the key is the record's name)."""
    fields: dict[str, Any] = plain(request)
    fields.pop("idempotency_key", None)
    return fields
