"""Resolver logic shared by root fields and nested fields. Arguments in, models out."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from tablegraph import model, wanted
from tablegraph.errors import GatewayError, NotFound, NotSupported, PolicyViolation
from tablegraph.graphql import validate
from tablegraph.graphql.context import Info, UpstreamLoader
from tablegraph.graphql.selections import asked
from tablegraph.graphql.types import Booking, Connection, Notice, Review, Slot, paginate
from tablegraph.timeutil import zone


async def load_node(info: Info, global_id: str, type_: str, field: tuple[str, ...]) -> Any:
    """The model behind a global id of ``type_``, through this request's loader."""
    gid = validate.global_id(global_id, type_, field)
    loaders: dict[str, UpstreamLoader[Any]] = {
        "Restaurant": info.context.restaurants,
        "Booking": info.context.bookings,
        "Guest": info.context.guests,
    }
    missing = NotFound(f"no such {type_.lower()}", field=field)
    if gid.upstream not in info.context.gateway.providers or type_ not in loaders:
        raise missing
    # Outside the client's restaurants is answered exactly like "does not exist"; what can be
    # decided from the id alone is decided before any upstream call.
    tenancy = info.context.identity.tenancy
    if type_ == "Restaurant" and not tenancy.allows(gid.upstream, gid.native_id):
        raise missing
    if type_ == "Booking" and not tenancy.touches(gid.upstream):
        raise missing
    if type_ == "Guest" and not tenancy.covers(gid.upstream):
        raise missing
    found = await loaders[type_].load((gid.upstream, gid.native_id))
    if found is None:
        raise missing
    if isinstance(found, model.Booking) and not tenancy.allows(found.upstream, found.restaurant_id):
        raise missing
    return found


async def load_booking_by_token(info: Info, token: str, field: tuple[str, ...]) -> model.Booking:
    """The booking a management token names, if the token is genuine, unexpired, and was
    issued to this client; ``NotFound`` otherwise (a refused token reveals nothing). The
    booking service decides (``BookingService.managed_ref``)."""
    try:
        ref = info.context.gateway.bookings.managed_ref(token, info.context.client_id)
    except NotFound:
        raise NotFound("no booking for this management token", field=field) from None
    found = await info.context.bookings.load((ref.upstream, ref.native_id))
    if not isinstance(found, model.Booking):
        raise NotFound("no booking for this management token", field=field)
    return found


async def load_restaurant(info: Info, global_id: str, field: tuple[str, ...]) -> model.Restaurant:
    found: model.Restaurant = await load_node(info, global_id, "Restaurant", field)
    return found


async def reviews_page(
    info: Info, restaurant: model.Restaurant, first: int | None, after: str | None
) -> Connection[Review]:
    limit = validate.cap(first, info.context.gateway.settings.limits.max_list)
    found = await info.context.gateway.reviews(restaurant)
    return paginate([Review.of(r) for r in found], limit, after)


async def slots_for(
    info: Info,
    restaurant: model.Restaurant,
    day: date,
    party_size: int,
    after: time | None = None,
    before: time | None = None,
) -> tuple[list[Slot], Notice | None]:
    """Bookable slots, or an empty list with a notice saying why there are none."""
    validate.day(day)
    validate.party_size(party_size)
    policy = restaurant.policy
    if not policy.min_party_size <= party_size <= policy.max_party_size:
        rejection: GatewayError = PolicyViolation(
            f"{restaurant.name} takes parties of {policy.min_party_size} to "
            f"{policy.max_party_size} online"
        )
        return [], Notice(code=rejection.code, message=rejection.message)
    if model.Capability.AVAILABILITY not in restaurant.capabilities:
        unsupported = NotSupported("this restaurant's system exposes no availability")
        return [], Notice(code=unsupported.code, message=unsupported.message)
    after = validate.local_time(after, ("after",))
    before = validate.local_time(before, ("before",))
    slots = await info.context.gateway.slots(restaurant, day, party_size)
    z = zone(restaurant.timezone)
    out = [
        s
        for s in slots
        if (after is None or s.start.astimezone(z).time() >= after)
        and (before is None or s.start.astimezone(z).time() <= before)
    ]
    return [Slot.of(s) for s in out], None


async def bookings_for(
    info: Info,
    restaurant: model.Restaurant,
    on: date | None,
    start: datetime | None,
    end: datetime | None,
    statuses: list[model.BookingStatus] | None,
    first: int | None,
    after: str | None,
) -> Connection[Booking]:
    window = validate.window(restaurant.timezone, on, start, end)
    limit = validate.cap(first, info.context.gateway.settings.limits.max_list)
    gateway = info.context.gateway
    query = model.BookingQuery(
        restaurant_id=restaurant.native_id,
        start=window[0],
        end=window[1],
        statuses=frozenset(statuses) if statuses else None,
    )
    with wanted.guests(_asks_guests(info)):
        found = await info.context.once(
            ("bookings", restaurant.upstream, query),
            lambda: gateway.booking_list(restaurant.upstream, query),
        )
    for b in found:
        info.context.prime_booking(b)
    return paginate([Booking.of(b) for b in found], limit, after)


def _asks_guests(info: Info) -> bool:
    """Whether the query asks the listed bookings' guests (``Booking.guest`` reads a guest
    whatever it is asked of it, unless the list's preview answers)."""
    raw, memo = info._raw_info, info.context.asked
    return any("guest" in asked(raw, memo, path) for path in (("nodes",), ("edges", "node")))
