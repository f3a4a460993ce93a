"""``Subscription.bookingEvents``: live booking events of the restaurants a client watches.

The resolver checks the restaurant ids (malformed, unknown and outside the client's tenancy are
answered alike), subscribes on the gateway's bus, and yields events of the asked kinds. Guest
e-mail and phone are left out for a client without ``guests:read`` (and the guest is not loaded
by id, which would bring the whole profile). ``afterEventId`` (or an SSE
``Last-Event-ID``) replays what the client missed first (``tablegraph.events.hub``).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import replace
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from tablegraph import model
from tablegraph.auth.identity import Identity
from tablegraph.auth.scopes import Scope
from tablegraph.errors import InvalidInput, UpstreamError
from tablegraph.events import model as events
from tablegraph.events.hub import Stream
from tablegraph.graphql import permissions, resolvers, validate
from tablegraph.graphql.context import Info
from tablegraph.graphql.queries import RestaurantAvailability
from tablegraph.graphql.types import Booking, Notice

if TYPE_CHECKING:
    from tablegraph.graphql.restaurant import Restaurant

BookingEventKind = strawberry.enum(
    events.EventKind, name="BookingEventKind", description="What happened to the booking."
)
BookingEventSource = strawberry.enum(
    events.EventSource,
    name="BookingEventSource",
    description="Where the gateway learnt it: its own write, a provider webhook, a poll.",
)

MAX_RESTAURANTS = 50


@strawberry.type(description="One field of a booking that changed.")
class BookingFieldChange:
    field: str
    old: str | None
    new: str | None


@strawberry.type(description="A booking was made, moved, cancelled or changed.")
class BookingEvent:
    id: strawberry.ID = strawberry.field(
        description="Stable for the same change however it was learnt; resume after it."
    )
    kind: BookingEventKind  # type: ignore[valid-type]
    occurred_at: datetime
    source: BookingEventSource  # type: ignore[valid-type]
    booking: Booking
    changes: list[BookingFieldChange]
    m: strawberry.Private[events.BookingEvent]

    @classmethod
    def of(cls, event: events.BookingEvent, identity: Identity) -> BookingEvent:
        booking = event.booking
        if not identity.has(Scope.GUESTS_READ):
            booking = _without_contact(booking)
        return cls(
            id=strawberry.ID(event.id),
            kind=event.kind,
            occurred_at=event.occurred_at,
            source=event.source,
            booking=Booking.of(booking),
            changes=[
                BookingFieldChange(field=c.field, old=c.old, new=c.new) for c in event.changes
            ],
            m=event,
        )

    @strawberry.field
    async def restaurant(
        self, info: Info
    ) -> Annotated[Restaurant, strawberry.lazy("tablegraph.graphql.restaurant")] | None:
        from tablegraph.graphql.restaurant import Restaurant

        b = self.m.booking
        found = await info.context.restaurants.load((b.upstream, b.restaurant_id))
        return Restaurant.of(found) if found else None


def _without_contact(booking: model.Booking) -> model.Booking:
    """The booking with no way to reach its guest: the embedded guest without e-mail and phone,
    and no guest id (which would load the full profile)."""
    guest = booking.guest
    if guest is not None:
        guest = replace(guest, email=None, phone=None)
    return replace(booking, guest=guest, guest_id=None)


async def _streams(info: Info, restaurant_ids: list[strawberry.ID]) -> set[Stream]:
    """The restaurants' streams; one outside the client's tenancy is "no such restaurant"
    (``resolvers.load_restaurant``), exactly like a missing one."""
    if not restaurant_ids or len(restaurant_ids) > MAX_RESTAURANTS:
        raise InvalidInput(f"give 1 to {MAX_RESTAURANTS} restaurant ids", field=("restaurant_ids",))
    streams: set[Stream] = set()
    for i, rid in enumerate(restaurant_ids):
        restaurant = await resolvers.load_restaurant(info, rid, ("restaurant_ids", str(i)))
        streams.add((restaurant.upstream, restaurant.native_id))
    return streams


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="Booking events of these restaurants, as they happen. Give afterEventId "
        "(the last id you saw) on a reconnect to get what you missed first."
    )
    async def booking_events(
        self,
        info: Info,
        restaurant_ids: list[strawberry.ID],
        kinds: list[BookingEventKind] | None = None,  # type: ignore[valid-type]
        after_event_id: strawberry.ID | None = None,
    ) -> AsyncGenerator[BookingEvent, None]:
        context = info.context
        permissions.require(info, Scope.BOOKINGS_READ)
        streams = await _streams(info, restaurant_ids)
        wanted = frozenset(kinds) if kinds else None
        after = after_event_id or context.last_event_id
        subscriber = await context.gateway.events.subscribe(streams, after=after)
        try:
            async for event in subscriber:
                context.last_event_id = event.id
                if wanted is None or event.kind in wanted:
                    yield BookingEvent.of(event, context.identity)
        finally:
            subscriber.close()

    @strawberry.subscription(
        description="The restaurant's slots on a date for a party size: now, then again "
        "whenever a booking of that day is made, moved, cancelled or changed (through the "
        "gateway, a webhook or a poll). Slots are null with a notice while the upstream fails."
    )
    async def availability_changed(
        self, info: Info, restaurant_id: strawberry.ID, date: date, party_size: int
    ) -> AsyncGenerator[RestaurantAvailability, None]:
        from tablegraph.graphql.restaurant import Restaurant

        permissions.require(info, Scope.AVAILABILITY_READ)
        validate.day(date)
        validate.party_size(party_size)
        restaurant = await resolvers.load_restaurant(info, restaurant_id, ("restaurant_id",))
        watches = info.context.gateway.availability_watches
        async with watches.watch(restaurant, date, party_size) as fresh:
            while True:
                try:
                    slots, notice = await resolvers.slots_for(info, restaurant, date, party_size)
                except UpstreamError as exc:
                    slots, notice = None, Notice(code=exc.code, message=exc.message)
                yield RestaurantAvailability(
                    restaurant_id=restaurant_id,
                    restaurant=Restaurant.of(restaurant),
                    slots=slots,
                    notice=notice,
                )
                await fresh.wait()


__all__ = ["BookingEvent", "Subscription"]
