"""Root query fields. Fan-outs over upstreams return what succeeded plus errors naming the
upstreams that failed."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import date, datetime, time
from typing import Annotated

import strawberry

from tablegraph import ids, model
from tablegraph.auth.scopes import Scope
from tablegraph.breaker import CircuitState
from tablegraph.errors import GatewayError, InvalidInput, NotFound, UpstreamError
from tablegraph.graphql import permissions, resolvers, validate
from tablegraph.graphql.context import Info
from tablegraph.graphql.restaurant import Restaurant
from tablegraph.graphql.types import (
    Booking,
    BookingStatus,
    Connection,
    Guest,
    Node,
    Notice,
    Review,
    Slot,
    Upstream,
    UpstreamStatus,
    paginate,
)
from tablegraph.providers.base import Provider

MAX_AVAILABILITY_RESTAURANTS = 20


@strawberry.type
class RestaurantAvailability:
    restaurant_id: strawberry.ID
    restaurant: Restaurant | None
    slots: list[Slot] | None = strawberry.field(
        description="Null when this restaurant's upstream failed (see errors)."
    )
    notice: Notice | None = strawberry.field(description="Why slots are empty, when known.")


async def _booking(info: Info, global_id: str, field: tuple[str, ...]) -> model.Booking:
    found: model.Booking = await resolvers.load_node(info, global_id, "Booking", field)
    return found


async def _guest(info: Info, global_id: str, field: tuple[str, ...]) -> model.Guest:
    found: model.Guest = await resolvers.load_node(info, global_id, "Guest", field)
    return found


@strawberry.type
class Query:
    @strawberry.field(description="Any object by its global id; null if it does not exist.")
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        gid = validate.global_id(id, None, ("id",))
        try:
            if gid.type == "Restaurant":
                permissions.require(info, Scope.RESTAURANTS_READ)
                return Restaurant.of(await resolvers.load_restaurant(info, id, ("id",)))
            if gid.type == "Booking":
                permissions.require(info, Scope.BOOKINGS_READ)
                return Booking.of(await _booking(info, id, ("id",)))
            if gid.type == "Guest":
                permissions.require(info, Scope.GUESTS_READ)
                return Guest.of(await _guest(info, id, ("id",)))
        except NotFound:
            return None
        return None

    @strawberry.field(description="Every configured upstream and what the gateway knows of it.")
    def upstreams(self, info: Info) -> list[Upstream] | None:
        gw = info.context.gateway
        tenancy = info.context.identity.tenancy
        out = []
        for name, provider in gw.providers.items():
            if not tenancy.touches(name):
                continue
            error = gw.last_error.get(name)
            circuit = provider.breaker.state
            failing = error is not None or circuit is not CircuitState.CLOSED
            out.append(
                Upstream(
                    name=name,
                    kind=provider.kind,
                    display_name=provider.display_name,
                    status=UpstreamStatus.FAILING if failing else UpstreamStatus.OK,
                    circuit=circuit,
                    circuit_retry_in_seconds=round(provider.breaker.retry_in(), 3),
                    last_error_code=error,
                    capabilities=sorted(provider.capabilities, key=lambda c: c.value),
                    read_requests_sent=_requests_sent(provider),
                    read_details=provider.health_details,
                )
            )
        return out

    @strawberry.field
    async def restaurants(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        search: str | None = None,
    ) -> Connection[Restaurant] | None:
        limit = validate.cap(first, info.context.gateway.settings.limits.max_list)
        validate.text(search, ("search",), limit=100)
        gw = info.context.gateway
        tenancy = info.context.identity.tenancy
        names = [n for n in gw.providers if tenancy.touches(n)]
        results = await asyncio.gather(
            *(gw.restaurants_of(n) for n in names), return_exceptions=True
        )
        found: list[model.Restaurant] = []
        for name, result in zip(names, results, strict=True):
            if isinstance(result, GatewayError):
                info.context.report(result, info, upstream=name)
            elif isinstance(result, BaseException):
                raise result
            else:
                found.extend(r for r in result if tenancy.allows(r.upstream, r.native_id))
        if search:
            needle = search.casefold()
            found = [r for r in found if needle in r.name.casefold()]
        info.context.prime_restaurants(found)
        return paginate([Restaurant.of(r) for r in found], limit, after)

    @strawberry.field
    async def restaurant(self, info: Info, id: strawberry.ID) -> Restaurant | None:
        return Restaurant.of(await resolvers.load_restaurant(info, id, ("id",)))

    @strawberry.field(description="Slots for several restaurants at once, fetched concurrently.")
    async def availability(
        self,
        info: Info,
        restaurant_ids: list[strawberry.ID],
        date: date,
        party_size: int,
        after: time | None = None,
        before: time | None = None,
    ) -> list[RestaurantAvailability] | None:
        if not restaurant_ids or len(restaurant_ids) > MAX_AVAILABILITY_RESTAURANTS:
            raise InvalidInput(
                f"give 1 to {MAX_AVAILABILITY_RESTAURANTS} restaurant ids",
                field=("restaurant_ids",),
            )
        for i, rid in enumerate(restaurant_ids):
            validate.global_id(rid, "Restaurant", ("restaurant_ids", str(i)))
        validate.day(date)
        validate.party_size(party_size)

        async def one(index: int, rid: strawberry.ID) -> RestaurantAvailability:
            try:
                restaurant = await resolvers.load_restaurant(info, rid, ("restaurant_ids",))
            except (NotFound, UpstreamError) as exc:
                info.context.report(exc, info, upstream=ids.decode(rid).upstream)
                return RestaurantAvailability(
                    restaurant_id=rid, restaurant=None, slots=None, notice=None
                )
            try:
                slots, notice = await resolvers.slots_for(
                    info, restaurant, date, party_size, after, before
                )
            except UpstreamError as exc:
                info.context.report(exc, info, upstream=restaurant.upstream)
                return RestaurantAvailability(
                    restaurant_id=rid,
                    restaurant=Restaurant.of(restaurant),
                    slots=None,
                    notice=None,
                )
            return RestaurantAvailability(
                restaurant_id=rid,
                restaurant=Restaurant.of(restaurant),
                slots=slots,
                notice=notice,
            )

        return list(await asyncio.gather(*(one(i, r) for i, r in enumerate(restaurant_ids))))

    @strawberry.field
    async def booking(
        self, info: Info, id: strawberry.ID | None = None, manage_token: str | None = None
    ) -> Booking | None:
        if manage_token is not None:
            found = await resolvers.load_booking_by_token(info, manage_token, ("manage_token",))
            if id is not None and id != ids.encode("Booking", found.upstream, found.native_id):
                raise NotFound("no booking for this management token", field=("manage_token",))
            return Booking.of(found)
        if id is None:
            raise InvalidInput("give an id or a manageToken", field=("id",))
        permissions.require(info, Scope.BOOKINGS_READ)
        return Booking.of(await _booking(info, id, ("id",)))

    @strawberry.field(description="A restaurant's bookings on a local date or in [from, to).")
    async def bookings(
        self,
        info: Info,
        restaurant_id: strawberry.ID,
        date: date | None = None,
        from_: Annotated[datetime | None, strawberry.argument(name="from")] = None,
        to: datetime | None = None,
        status: list[BookingStatus] | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Booking] | None:
        restaurant = await resolvers.load_restaurant(info, restaurant_id, ("restaurant_id",))
        if status is not None and len(status) > len(model.BookingStatus):
            raise InvalidInput("too many statuses", field=("status",))
        return await resolvers.bookings_for(info, restaurant, date, from_, to, status, first, after)

    @strawberry.field
    async def guest(self, info: Info, id: strawberry.ID) -> Guest | None:
        return Guest.of(await _guest(info, id, ("id",)))

    @strawberry.field
    async def guests(
        self,
        info: Info,
        restaurant_id: strawberry.ID,
        search: str | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Guest] | None:
        restaurant = await resolvers.load_restaurant(info, restaurant_id, ("restaurant_id",))
        limit = validate.cap(first, info.context.gateway.settings.limits.max_list)
        validate.text(search, ("search",), limit=200)
        provider = info.context.gateway.provider(restaurant.upstream)
        max_list = info.context.gateway.settings.limits.max_list
        found = await info.context.once(
            ("guests", restaurant.upstream, restaurant.native_id, search),
            lambda: provider.list_guests(restaurant.native_id, search, max_list),
        )
        return paginate([Guest.of(g) for g in found], limit, after)

    @strawberry.field
    async def reviews(
        self,
        info: Info,
        restaurant_id: strawberry.ID,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Review] | None:
        restaurant = await resolvers.load_restaurant(info, restaurant_id, ("restaurant_id",))
        return await resolvers.reviews_page(info, restaurant, first, after)


def _requests_sent(provider: Provider) -> Callable[[], int]:
    return lambda: provider.requests_sent
