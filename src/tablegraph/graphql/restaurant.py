"""The Restaurant type and its connections (availability, bookings, reviews)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import strawberry

from tablegraph import ids, model
from tablegraph.errors import GatewayError, NotSupported
from tablegraph.graphql import resolvers
from tablegraph.graphql.context import Info
from tablegraph.graphql.types import (
    Booking,
    BookingPolicy,
    BookingStatus,
    Capability,
    Connection,
    Node,
    OpeningHours,
    Review,
    Slot,
    SubRating,
    Table,
)
from tablegraph.reviews import rating_summary


@strawberry.type
class RatingSummary:
    count: int
    average: float | None
    sub_ratings: list[SubRating] = strawberry.field(
        description="Mean of each sub-rating over the reviews that give it."
    )


@strawberry.type
class Restaurant(Node):
    reference: str | None = strawberry.field(description="The provider's own id.")
    upstream: str
    name: str
    timezone: str = strawberry.field(description="IANA zone; every time shown is in it.")
    city: str | None
    address: str | None
    latitude: float | None
    longitude: float | None
    phone: str | None
    policy: BookingPolicy
    capabilities: list[Capability]
    m: strawberry.Private[model.Restaurant]

    @classmethod
    def of(cls, m: model.Restaurant) -> Restaurant:
        return cls(
            id=strawberry.ID(ids.encode("Restaurant", m.upstream, m.native_id)),
            reference=m.reference,
            upstream=m.upstream,
            name=m.name,
            timezone=m.timezone,
            city=m.city,
            address=m.address,
            latitude=m.latitude,
            longitude=m.longitude,
            phone=m.phone,
            policy=BookingPolicy(**vars(m.policy)),
            capabilities=sorted(m.capabilities, key=lambda c: c.value),
            m=m,
        )

    @strawberry.field(description="The provider kind behind this restaurant.")
    def provider(self, info: Info) -> str:
        return info.context.gateway.provider(self.m.upstream).kind

    @strawberry.field
    async def opening_hours(self, info: Info) -> OpeningHours | None:
        if model.Capability.OPENING_HOURS not in self.m.capabilities:
            info.context.report(
                NotSupported("this restaurant's system exposes no opening hours"),
                info,
                upstream=self.m.upstream,
            )
            return None
        hours = await info.context.gateway.opening_hours(self.m)
        return OpeningHours.of(hours)

    @strawberry.field(description="Null, with a NOT_SUPPORTED error, where the provider has none.")
    async def tables(self, info: Info) -> list[Table] | None:
        try:
            tables = await info.context.gateway.tables(self.m)
        except GatewayError as exc:
            info.context.report(exc, info, upstream=self.m.upstream)
            return None
        return [Table.of(t) for t in tables]

    @strawberry.field(description="Bookable slots on a local date; null if the upstream failed.")
    async def availability(self, info: Info, date: date, party_size: int) -> list[Slot] | None:
        slots, notice = await resolvers.slots_for(info, self.m, date, party_size)
        if notice is not None and notice.code == "NOT_SUPPORTED":
            info.context.report(NotSupported(notice.message), info, upstream=self.m.upstream)
        return slots

    @strawberry.field
    async def bookings(
        self,
        info: Info,
        date: date | None = None,
        from_: Annotated[datetime | None, strawberry.argument(name="from")] = None,
        to: datetime | None = None,
        status: list[BookingStatus] | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Booking] | None:
        return await resolvers.bookings_for(info, self.m, date, from_, to, status, first, after)

    @strawberry.field(description="Null, with a NOT_SUPPORTED error, where the provider has none.")
    async def reviews(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[Review] | None:
        return await resolvers.reviews_page(info, self.m, first, after)

    @strawberry.field
    async def rating_summary(self, info: Info) -> RatingSummary | None:
        if model.Capability.REVIEWS not in self.m.capabilities:
            return None
        summary = rating_summary(await info.context.gateway.reviews(self.m))
        return RatingSummary(
            count=summary.count,
            average=round(summary.average, 2) if summary.average is not None else None,
            sub_ratings=[SubRating(name=n, rating=round(v, 2)) for n, v in summary.sub_ratings],
        )
