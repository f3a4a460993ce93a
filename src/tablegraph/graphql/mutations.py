"""Mutations: input validated → the unified model → the booking service → a payload.

Expected outcomes come back as ``userErrors`` with stable codes and the input path of the field
at fault (``graphql.fields``); upstream failures as GraphQL errors naming the upstream. What a
booking write guarantees (idempotency, reconciliation, invalidation) is the booking service's
(``tablegraph.bookings``); the only thing done here after a write is priming this request's
loaders with the booking it returned."""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from datetime import date, datetime, time
from typing import Any, TypeVar

import strawberry

from tablegraph import model
from tablegraph.auth.identity import EVERYTHING, Tenancy
from tablegraph.auth.scopes import Scope
from tablegraph.bookings import BookingRef, WriteKey
from tablegraph.errors import USER_ERROR_TYPES, GatewayError, InvalidInput, NotFound
from tablegraph.graphql import permissions, resolvers, validate
from tablegraph.graphql.context import Info
from tablegraph.graphql.fields import input_path
from tablegraph.graphql.types import Booking, BookingStatus, Guest, WaitlistEntry

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
        return cls(code=code, message=error.message, field=input_path(error.field))


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


def _guest_data(g: GuestInput, field: tuple[str, ...] = ("guest",)) -> model.GuestData:
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


def _booking_ref(global_id: str) -> BookingRef:
    gid = validate.global_id(global_id, "Booking", ("booking_id",))
    return BookingRef(gid.upstream, gid.native_id)


def _target(
    info: Info, booking_id: strawberry.ID | None, manage_token: str | None
) -> tuple[BookingRef, Tenancy]:
    """Which booking a reschedule or cancel acts on, and within which restaurants: by
    management token (no scope needed, the token is the grant, for its booking only), or by
    id with ``bookings:write``, within the client's restaurants (the service checks both)."""
    service = info.context.gateway.bookings
    if manage_token is not None:
        ref = service.managed_ref(manage_token, info.context.client_id)
        if booking_id is not None and _booking_ref(booking_id) != ref:
            raise NotFound("no booking for this management token", field=("manage_token",))
        return ref, EVERYTHING
    if booking_id is None:
        raise InvalidInput("give a bookingId or a manageToken", field=("booking_id",))
    permissions.require(info, Scope.BOOKINGS_WRITE)
    return _booking_ref(booking_id), info.context.identity.tenancy


def _with_manage_token(info: Info, payload: BookingPayload) -> BookingPayload:
    if payload.booking is not None:
        payload.manage_token = info.context.gateway.bookings.manage_token(
            payload.booking.m, info.context.client_id
        )
    return payload


def _rejected(error: GatewayError, key: WriteKey | None) -> BookingPayload:
    return BookingPayload(
        booking=None,
        user_errors=[UserError.of(error)],
        idempotency_key=key.value if key is not None else None,
    )


async def _guarded(
    action: Callable[[], Awaitable[T]], wrap: Callable[[T | None, list[UserError]], Any]
) -> Any:
    try:
        return wrap(await action(), [])
    except USER_ERROR_TYPES as exc:
        return wrap(None, [UserError.of(exc)])


async def _booking_write(
    info: Info, key: WriteKey, write: Callable[[], Awaitable[model.Booking]]
) -> BookingPayload:
    """The payload of a booking write run under ``key``; primes this request's loaders."""
    try:
        booking = await write()
    except USER_ERROR_TYPES as exc:
        return _rejected(exc, key)
    info.context.prime_booking(booking)
    return BookingPayload(booking=Booking.of(booking), user_errors=[], idempotency_key=key.value)


@strawberry.type
class Mutation:
    @strawberry.mutation
    async def create_booking(self, info: Info, input: CreateBookingInput) -> BookingPayload:
        try:
            restaurant = await resolvers.load_restaurant(
                info, input.restaurant_id, ("restaurant_id",)
            )
            start = validate.instant(input.start, ("start",))
            party = validate.party_size(input.party_size, ("party_size",))
            guest = _guest_data(input.guest)
            notes = validate.text(input.notes, ("notes",), limit=1000)
            if input.duration_minutes is not None and not 15 <= input.duration_minutes <= 720:
                raise InvalidInput("duration must be 15-720 minutes", field=("duration_minutes",))
            key = WriteKey.of(input.idempotency_key)
        except USER_ERROR_TYPES as exc:
            return _rejected(exc, None)
        request = model.NewBooking(
            restaurant_id=restaurant.native_id,
            start=start,
            party_size=party,
            guest=guest,
            idempotency_key=key.value,
            notes=notes,
            area_id=input.area_id,
            duration_minutes=input.duration_minutes,
        )
        return _with_manage_token(
            info,
            await _booking_write(
                info,
                key,
                lambda: info.context.gateway.bookings.create(
                    restaurant,
                    request,
                    client=info.context.idempotency_scope,
                    key=key,
                    guests_writable=info.context.identity.has(Scope.GUESTS_WRITE),
                ),
            ),
        )

    @strawberry.mutation
    async def reschedule_booking(self, info: Info, input: RescheduleBookingInput) -> BookingPayload:
        try:
            key = WriteKey.of(input.idempotency_key)
        except InvalidInput as exc:
            return _rejected(exc, None)

        async def reschedule() -> model.Booking:
            ref, tenancy = _target(info, input.booking_id, input.manage_token)
            change = model.BookingChange(
                start=(
                    validate.instant(input.start, ("start",)) if input.start is not None else None
                ),
                party_size=(
                    validate.party_size(input.party_size, ("party_size",))
                    if input.party_size is not None
                    else None
                ),
                idempotency_key=key.value,
            )
            return await info.context.gateway.bookings.reschedule(
                ref, change, client=info.context.idempotency_scope, key=key, tenancy=tenancy
            )

        return _with_manage_token(info, await _booking_write(info, key, reschedule))

    @strawberry.mutation
    async def cancel_booking(self, info: Info, input: CancelBookingInput) -> BookingPayload:
        try:
            key = WriteKey.of(input.idempotency_key)
        except InvalidInput as exc:
            return _rejected(exc, None)

        async def cancel() -> model.Booking:
            ref, tenancy = _target(info, input.booking_id, input.manage_token)
            reason = validate.text(input.reason, ("reason",), limit=500)
            return await info.context.gateway.bookings.cancel(
                ref, reason, client=info.context.idempotency_scope, key=key, tenancy=tenancy
            )

        return await _booking_write(info, key, cancel)

    @strawberry.mutation
    async def update_booking(self, info: Info, input: UpdateBookingInput) -> BookingPayload:
        key = WriteKey.of(None)  # no key in the input: an update is not replayed

        async def update() -> model.Booking:
            ref = _booking_ref(input.booking_id)
            notes = validate.text(input.notes, ("notes",), limit=1000)
            if input.tags is not None and len(input.tags) > 20:
                raise InvalidInput("at most 20 tags", field=("tags",))
            if input.tables is not None and len(input.tables) > 10:
                raise InvalidInput("at most 10 tables", field=("tables",))
            change = model.BookingUpdate(
                notes=notes,
                tags=tuple(input.tags) if input.tags is not None else None,
                status=input.status,
                tables=tuple(input.tables) if input.tables is not None else None,
            )
            return await info.context.gateway.bookings.update(
                ref,
                change,
                client=info.context.idempotency_scope,
                key=key,
                tenancy=info.context.identity.tenancy,
            )

        return await _booking_write(info, key, update)

    @strawberry.mutation
    async def join_waitlist(self, info: Info, input: JoinWaitlistInput) -> WaitlistPayload:
        async def join() -> model.WaitlistEntry:
            restaurant = await resolvers.load_restaurant(
                info, input.restaurant_id, ("restaurant_id",)
            )
            request = model.WaitlistRequest(
                restaurant_id=restaurant.native_id,
                day=validate.day(input.date, ("day",)),
                party_size=validate.party_size(input.party_size, ("party_size",)),
                guest=_guest_data(input.guest),
                preferred_time=input.preferred_time,
                notes=validate.text(input.notes, ("notes",), limit=1000),
            )
            return await info.context.gateway.bookings.join_waitlist(
                restaurant,
                request,
                guests_writable=info.context.identity.has(Scope.GUESTS_WRITE),
            )

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
                info, input.restaurant_id, ("restaurant_id",)
            )
            request = model.GuestUpsert(
                restaurant_id=restaurant.native_id,
                guest=_guest_data(input.guest),
                marketing_consent=input.marketing_consent,
                notes=validate.text(input.notes, ("notes",), limit=1000),
            )
            return await info.context.gateway.bookings.upsert_guest(restaurant, request)

        return await _guarded(  # type: ignore[no-any-return]
            upsert,
            lambda g, errs: GuestPayload(guest=Guest.of(g) if g else None, user_errors=errs),
        )
