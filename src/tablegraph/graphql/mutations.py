"""Mutations. Expected outcomes come back as ``userErrors`` with stable codes; upstream
failures as GraphQL errors naming the upstream. Booking writes are idempotent per client and
key, and drop the cached availability of the days they touch."""

from __future__ import annotations

import enum
import uuid
from collections.abc import Awaitable, Callable
from datetime import date, datetime, time
from typing import Any, TypeVar

import strawberry

from tablegraph import ids, model, reconcile
from tablegraph.auth.scopes import Scope
from tablegraph.errors import (
    USER_ERROR_TYPES,
    BookingRejected,
    GatewayError,
    InvalidInput,
    NotFound,
    NotSupported,
    PolicyViolation,
)
from tablegraph.graphql import permissions, resolvers, validate
from tablegraph.graphql.context import Info
from tablegraph.graphql.queries import _booking
from tablegraph.graphql.types import Booking, BookingStatus, Guest, WaitlistEntry
from tablegraph.idempotency import fingerprint, upstream_key
from tablegraph.timeutil import UTC

T = TypeVar("T")


@strawberry.enum
class UserErrorCode(enum.Enum):
    SLOT_UNAVAILABLE = "SLOT_UNAVAILABLE"
    OUTSIDE_POLICY = "OUTSIDE_POLICY"
    NOT_CANCELLABLE = "NOT_CANCELLABLE"
    INVALID_TRANSITION = "INVALID_TRANSITION"
    MODIFICATION_RESTRICTED = "MODIFICATION_RESTRICTED"
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
    NOT_FOUND = "NOT_FOUND"
    NOT_SUPPORTED = "NOT_SUPPORTED"
    INVALID_INPUT = "INVALID_INPUT"
    OUTCOME_UNKNOWN = "OUTCOME_UNKNOWN"
    REJECTED = "REJECTED"


@strawberry.type
class UserError:
    code: UserErrorCode
    message: str
    field: list[str] | None

    @classmethod
    def of(cls, error: GatewayError) -> UserError:
        try:
            code = UserErrorCode(error.code)
        except ValueError:
            code = UserErrorCode.REJECTED
        return cls(code=code, message=error.message, field=list(error.field or ()) or None)


@strawberry.type
class BookingPayload:
    booking: Booking | None
    user_errors: list[UserError]
    idempotency_key: str | None = strawberry.field(
        description="The key this write ran under; retry with it to get the same outcome."
    )
    manage_token: str | None = strawberry.field(
        default=None,
        description=(
            "Lets its holder read (booking(manageToken:)), reschedule and cancel this booking "
            "only; bound to this client, expires after the booking's end."
        ),
    )


@strawberry.type
class WaitlistPayload:
    entry: WaitlistEntry | None
    user_errors: list[UserError]


@strawberry.type
class GuestPayload:
    guest: Guest | None
    user_errors: list[UserError]


@strawberry.input
class GuestInput:
    first_name: str
    last_name: str
    email: str | None = None
    phone: str | None = None
    locale: str | None = None


@strawberry.input
class CreateBookingInput:
    restaurant_id: strawberry.ID
    start: datetime
    party_size: int
    guest: GuestInput
    notes: str | None = None
    area_id: str | None = None
    duration_minutes: int | None = None
    idempotency_key: str | None = None


@strawberry.input
class RescheduleBookingInput:
    booking_id: strawberry.ID | None = None
    manage_token: str | None = None
    start: datetime | None = None
    party_size: int | None = None
    idempotency_key: str | None = None


@strawberry.input
class CancelBookingInput:
    booking_id: strawberry.ID | None = None
    manage_token: str | None = None
    reason: str | None = None
    idempotency_key: str | None = None


@strawberry.input
class UpdateBookingInput:
    booking_id: strawberry.ID
    notes: str | None = None
    tags: list[str] | None = None
    status: BookingStatus | None = None
    tables: list[str] | None = None


@strawberry.input
class JoinWaitlistInput:
    restaurant_id: strawberry.ID
    date: date
    party_size: int
    guest: GuestInput
    preferred_time: time | None = None
    notes: str | None = None


@strawberry.input
class UpsertGuestInput:
    restaurant_id: strawberry.ID
    guest: GuestInput
    marketing_consent: bool | None = None
    notes: str | None = None


def _guest_data(g: GuestInput, field: tuple[str, ...]) -> model.GuestData:
    for name in ("first_name", "last_name"):
        value = validate.text(getattr(g, name), (*field, name), limit=100)
        if not value or not value.strip():
            raise InvalidInput("a guest needs a first and last name", field=(*field, name))
    email = validate.text(g.email, (*field, "email"), limit=254)
    if email is not None and ("@" not in email or " " in email.strip()):
        raise InvalidInput("not an e-mail address", field=(*field, "email"))
    phone = validate.text(g.phone, (*field, "phone"), limit=32)
    return model.GuestData(
        first_name=g.first_name.strip(),
        last_name=g.last_name.strip(),
        email=email.strip().lower() if email else None,
        phone=phone.strip() if phone else None,
        locale=validate.text(g.locale, (*field, "locale"), limit=16),
    )


def _key(value: str | None) -> tuple[str, bool]:
    """The idempotency key to run under, and whether the client chose it."""
    if value is None:
        return f"tg-{uuid.uuid4()}", False
    if not 1 <= len(value) <= 255 or not value.isprintable():
        raise InvalidInput(
            "idempotency key must be 1-255 printable characters", field=("input", "idempotencyKey")
        )
    return value, True


async def _guarded(
    action: Callable[[], Awaitable[T]], wrap: Callable[[T | None, list[UserError]], Any]
) -> Any:
    try:
        return wrap(await action(), [])
    except USER_ERROR_TYPES as exc:
        return wrap(None, [UserError.of(exc)])


async def _idempotent_booking_write(
    info: Info,
    operation: str,
    key: str | None,
    request: dict[str, Any],
    action: Callable[[str], Awaitable[model.Booking]],
) -> BookingPayload:
    """Run a booking write once per (client, operation, key); replay its first outcome."""
    try:
        run_key, chosen = _key(key)
    except InvalidInput as exc:
        return BookingPayload(booking=None, user_errors=[UserError.of(exc)], idempotency_key=None)
    store = info.context.gateway.idempotency

    async def attempt() -> tuple[model.Booking | None, GatewayError | None]:
        try:
            return await action(run_key), None
        except BookingRejected as exc:  # final business outcomes are replayed too
            return None, exc
        except GatewayError as exc:
            # The client retries with its own key, never with the one derived for upstream.
            if exc.details.get("idempotencyKey") == upstream_key(info.context.client_id, run_key):
                exc.details["idempotencyKey"] = run_key
            raise

    try:
        if chosen:
            booking, rejected = await store.run(
                info.context.client_id,
                f"{operation}:{run_key}",
                fingerprint(operation, request),
                attempt,
            )
        else:
            booking, rejected = await attempt()
    except USER_ERROR_TYPES as exc:
        return BookingPayload(
            booking=None, user_errors=[UserError.of(exc)], idempotency_key=run_key
        )
    if rejected is not None:
        return BookingPayload(
            booking=None, user_errors=[UserError.of(rejected)], idempotency_key=run_key
        )
    assert booking is not None
    info.context.prime_booking(booking)
    return BookingPayload(booking=Booking.of(booking), user_errors=[], idempotency_key=run_key)


async def _target(
    info: Info, booking_id: strawberry.ID | None, manage_token: str | None
) -> model.Booking:
    """The booking a reschedule or cancel acts on: by management token (no scope needed, the
    token is the grant), or by id with ``bookings:write`` within the client's restaurants."""
    if manage_token is not None:
        found = await resolvers.load_booking_by_token(info, manage_token, ("input", "manageToken"))
        if booking_id is not None and booking_id != ids.encode(
            "Booking", found.upstream, found.native_id
        ):
            raise NotFound("no booking for this management token", field=("input", "manageToken"))
        return found
    if booking_id is None:
        raise InvalidInput("give a bookingId or a manageToken", field=("input", "bookingId"))
    permissions.require(info, Scope.BOOKINGS_WRITE)
    return await _booking(info, booking_id, ("input", "bookingId"))


def _with_manage_token(info: Info, payload: BookingPayload) -> BookingPayload:
    manage = info.context.manage_tokens
    if payload.booking is not None and manage is not None:
        b = payload.booking.m
        payload.manage_token = manage.issue(
            ids.encode("Booking", b.upstream, b.native_id), info.context.client_id, b.end
        )
    return payload


def _invalidate(info: Info, booking: model.Booking, *more: datetime) -> None:
    gw = info.context.gateway
    for moment in (booking.start, *more):
        gw.invalidate_availability(booking.upstream, booking.restaurant_id, moment.date())


@strawberry.type
class Mutation:
    @strawberry.mutation
    async def create_booking(self, info: Info, input: CreateBookingInput) -> BookingPayload:
        try:
            restaurant = await resolvers.load_restaurant(
                info, input.restaurant_id, ("input", "restaurantId")
            )
            start = validate.instant(input.start, ("input", "start"))
            party = validate.party_size(input.party_size, ("input", "partySize"))
            guest = _guest_data(input.guest, ("input", "guest"))
            notes = validate.text(input.notes, ("input", "notes"), limit=1000)
            if input.duration_minutes is not None and not 15 <= input.duration_minutes <= 720:
                raise InvalidInput(
                    "duration must be 15-720 minutes", field=("input", "durationMinutes")
                )
            policy = restaurant.policy
            if not policy.min_party_size <= party <= policy.max_party_size:
                raise PolicyViolation(
                    f"this restaurant takes parties of {policy.min_party_size} to "
                    f"{policy.max_party_size}",
                    field=("input", "partySize"),
                )
            if start <= datetime.now(UTC):
                raise PolicyViolation("the start time is in the past", field=("input", "start"))
            if model.Capability.BOOKING_CREATE not in restaurant.capabilities:
                raise NotSupported("this restaurant takes no bookings through the gateway")
        except USER_ERROR_TYPES as exc:
            return BookingPayload(
                booking=None, user_errors=[UserError.of(exc)], idempotency_key=None
            )
        provider = info.context.gateway.provider(restaurant.upstream)

        async def create(run_key: str) -> model.Booking:
            request = model.NewBooking(
                restaurant_id=restaurant.native_id,
                start=start,
                party_size=party,
                guest=guest,
                # Upstream, the key is derived from client + key: two clients' keys never meet.
                idempotency_key=upstream_key(info.context.client_id, run_key),
                notes=notes,
                area_id=input.area_id,
                duration_minutes=input.duration_minutes,
            )
            # An ambiguous answer is looked up before anything is reported, and a retry of a
            # create whose outcome stayed unknown looks again before it books.
            booking = await info.context.gateway.lost_creates.create(
                provider, request, info.context.client_id
            )
            _invalidate(info, booking)
            return booking

        fp = {
            "restaurant": restaurant.native_id,
            "upstream": restaurant.upstream,
            "start": start.astimezone(UTC).isoformat(),
            "party": party,
            "guest": vars(guest),
            "notes": notes,
            "area": input.area_id,
            "duration": input.duration_minutes,
        }
        return _with_manage_token(
            info,
            await _idempotent_booking_write(info, "create", input.idempotency_key, fp, create),
        )

    @strawberry.mutation
    async def reschedule_booking(self, info: Info, input: RescheduleBookingInput) -> BookingPayload:
        async def reschedule(run_key: str) -> model.Booking:
            current = await _target(info, input.booking_id, input.manage_token)
            if input.start is None and input.party_size is None:
                raise InvalidInput("give a new start, a new party size, or both", field=("input",))
            start = validate.instant(input.start, ("input", "start")) if input.start else None
            if start is not None and start <= datetime.now(UTC):
                raise PolicyViolation("the new start time is in the past", field=("input", "start"))
            party = (
                validate.party_size(input.party_size, ("input", "partySize"))
                if input.party_size is not None
                else None
            )
            restaurant = await info.context.restaurants.load(
                (current.upstream, current.restaurant_id)
            )
            if restaurant is not None and (
                model.Capability.BOOKING_RESCHEDULE not in restaurant.capabilities
            ):
                raise NotSupported("this restaurant does not accept reschedules through the API")
            provider = info.context.gateway.provider(current.upstream)
            change = model.BookingChange(
                start=start,
                party_size=party,
                idempotency_key=upstream_key(info.context.client_id, run_key),
            )
            if reconcile.reschedule_outcome(current, change, current).verdict is (
                reconcile.Verdict.APPLIED
            ):
                return current  # already there (a retry after an unknown outcome): no write
            try:
                moved = await provider.reschedule_booking(current.native_id, change)
            except reconcile.AMBIGUOUS as lost:
                _invalidate(info, current, *([start] if start else []))
                moved = await reconcile.settle(
                    provider,
                    current,
                    lost,
                    run_key,
                    lambda after: reconcile.reschedule_outcome(current, change, after),
                    action="reschedule",
                )
            _invalidate(info, current, moved.start)
            return moved

        return _with_manage_token(
            info,
            await _idempotent_booking_write(
                info,
                "reschedule",
                input.idempotency_key,
                {
                    "booking": str(input.booking_id or input.manage_token),
                    "start": str(input.start),
                    "party": input.party_size,
                },
                reschedule,
            ),
        )

    @strawberry.mutation
    async def cancel_booking(self, info: Info, input: CancelBookingInput) -> BookingPayload:
        async def cancel(run_key: str) -> model.Booking:
            current = await _target(info, input.booking_id, input.manage_token)
            reason = validate.text(input.reason, ("input", "reason"), limit=500)
            if current.status is model.BookingStatus.CANCELLED:
                return current  # already cancelled (a retry after an unknown outcome): no write
            provider = info.context.gateway.provider(current.upstream)
            try:
                cancelled = await provider.cancel_booking(current.native_id, reason)
            except reconcile.AMBIGUOUS as lost:
                _invalidate(info, current)
                cancelled = await reconcile.settle(
                    provider,
                    current,
                    lost,
                    run_key,
                    lambda after: reconcile.cancel_outcome(current, after),
                    action="cancellation",
                )
            _invalidate(info, current)
            return cancelled

        return await _idempotent_booking_write(
            info,
            "cancel",
            input.idempotency_key,
            {"booking": str(input.booking_id or input.manage_token), "reason": input.reason},
            cancel,
        )

    @strawberry.mutation
    async def update_booking(self, info: Info, input: UpdateBookingInput) -> BookingPayload:
        async def update(_run_key: str) -> model.Booking:
            current = await _booking(info, input.booking_id, ("input", "bookingId"))
            notes = validate.text(input.notes, ("input", "notes"), limit=1000)
            if input.tags is not None and len(input.tags) > 20:
                raise InvalidInput("at most 20 tags", field=("input", "tags"))
            if input.tables is not None and len(input.tables) > 10:
                raise InvalidInput("at most 10 tables", field=("input", "tables"))
            provider = info.context.gateway.provider(current.upstream)
            updated = await provider.update_booking(
                current.native_id,
                model.BookingUpdate(
                    notes=notes,
                    tags=tuple(input.tags) if input.tags is not None else None,
                    status=input.status,
                    tables=tuple(input.tables) if input.tables is not None else None,
                ),
            )
            if input.status is not None or input.tables is not None:
                _invalidate(info, current)
            return updated

        return await _idempotent_booking_write(info, "update", None, {}, update)

    @strawberry.mutation
    async def join_waitlist(self, info: Info, input: JoinWaitlistInput) -> WaitlistPayload:
        async def join() -> model.WaitlistEntry:
            restaurant = await resolvers.load_restaurant(
                info, input.restaurant_id, ("input", "restaurantId")
            )
            request = model.WaitlistRequest(
                restaurant_id=restaurant.native_id,
                day=validate.day(input.date, ("input", "date")),
                party_size=validate.party_size(input.party_size, ("input", "partySize")),
                guest=_guest_data(input.guest, ("input", "guest")),
                preferred_time=input.preferred_time,
                notes=validate.text(input.notes, ("input", "notes"), limit=1000),
            )
            if model.Capability.WAITLIST not in restaurant.capabilities:
                raise NotSupported("this restaurant has no waitlist")
            return await info.context.gateway.provider(restaurant.upstream).join_waitlist(request)

        return await _guarded(  # type: ignore[no-any-return]
            join,
            lambda e, errs: WaitlistPayload(
                entry=WaitlistEntry.of(e) if e else None, user_errors=errs
            ),
        )

    @strawberry.mutation
    async def upsert_guest(self, info: Info, input: UpsertGuestInput) -> GuestPayload:
        async def upsert() -> model.Guest:
            restaurant = await resolvers.load_restaurant(
                info, input.restaurant_id, ("input", "restaurantId")
            )
            request = model.GuestUpsert(
                restaurant_id=restaurant.native_id,
                guest=_guest_data(input.guest, ("input", "guest")),
                marketing_consent=input.marketing_consent,
                notes=validate.text(input.notes, ("input", "notes"), limit=1000),
            )
            if model.Capability.GUEST_UPSERT not in restaurant.capabilities:
                raise NotSupported("this restaurant's system does not take guest profiles")
            return await info.context.gateway.provider(restaurant.upstream).upsert_guest(request)

        return await _guarded(  # type: ignore[no-any-return]
            upsert,
            lambda g, errs: GuestPayload(guest=Guest.of(g) if g else None, user_errors=errs),
        )
