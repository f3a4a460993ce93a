"""Strawberry object types: thin views over ``tablegraph.model`` values."""

from __future__ import annotations

import base64
import enum
from collections.abc import Callable, Sequence
from datetime import date, datetime, time
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, Generic, TypeVar

import strawberry
from strawberry.scalars import JSON

from tablegraph import breaker, ids, model
from tablegraph.errors import GatewayError, InvalidInput
from tablegraph.graphql.context import Context, Info
from tablegraph.graphql.direct import LATER
from tablegraph.graphql.selections import answerable, asked
from tablegraph.graphql.views import reading_model

if TYPE_CHECKING:
    from tablegraph.graphql.restaurant import Restaurant

# The model's enums are the GraphQL enums: strawberry.enum registers a class in place, so the
# aliases below are real types to mypy as well as to Strawberry.
strawberry.enum(model.BookingStatus, description="Normalized booking status.")
strawberry.enum(model.Capability, description="What a restaurant supports.")
BookingStatus = model.BookingStatus
Capability = model.Capability

T = TypeVar("T")


@strawberry.interface(description="An object with an opaque global id.")
class Node:
    id: strawberry.ID


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    cursor: str
    node: T


@strawberry.type
class Connection(Generic[T]):
    @strawberry.field
    def edges(self) -> list[Edge[T]]:
        # Built when asked: most clients read ``nodes``, and a cursor per item costs (#16).
        start = self.offset
        return [Edge(cursor=encode_cursor(start + i), node=n) for i, n in enumerate(self.nodes)]

    nodes: list[T]
    page_info: PageInfo
    total_count: int
    #: The index of the first node in the whole list.
    offset: strawberry.Private[int] = 0


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


def decode_cursor(cursor: str | None) -> int:
    if cursor is None:
        return 0
    try:
        kind, _, value = base64.urlsafe_b64decode(cursor.encode()).decode().partition(":")
        offset = int(value)
    except (ValueError, UnicodeError):
        raise InvalidInput("malformed cursor", field=("after",)) from None
    if kind != "offset" or offset < 0:
        raise InvalidInput("malformed cursor", field=("after",))
    return offset + 1


def paginate(items: Sequence[T], first: int, after: str | None) -> Connection[T]:
    start = decode_cursor(after)
    page = list(items[start : start + first])
    return Connection(
        nodes=page,
        page_info=PageInfo(
            has_next_page=start + first < len(items),
            end_cursor=encode_cursor(start + len(page) - 1) if page else None,
        ),
        total_count=len(items),
        offset=start,
    )


@strawberry.type
class BookingPolicy:
    min_party_size: int
    max_party_size: int
    min_lead_minutes: int
    max_advance_days: int
    slot_interval_minutes: int
    default_duration_minutes: int
    cancellation_cutoff_minutes: int | None


@strawberry.type
class OpeningPeriod:
    day_of_week: int = strawberry.field(description="ISO weekday: Monday = 1 … Sunday = 7.")
    opens: time
    closes: time
    service_name: str | None


@strawberry.type
class SpecialDay:
    date: date
    closed: bool
    opens: time | None
    closes: time | None
    note: str | None


@strawberry.type
class OpeningHours:
    weekly: list[OpeningPeriod]
    special_days: list[SpecialDay]

    @classmethod
    def of(cls, m: model.OpeningHours) -> OpeningHours:
        return cls(
            weekly=[OpeningPeriod(**vars(p)) for p in m.weekly],
            special_days=[
                SpecialDay(date=s.day, closed=s.closed, opens=s.opens, closes=s.closes, note=s.note)
                for s in m.special_days
            ],
        )


@strawberry.type
class LocalizedName:
    locale: str
    name: str


@strawberry.type
class Area:
    id: str
    name: str
    localized_names: list[LocalizedName]


@strawberry.type(description="A table, or another resource that seats guests.")
class Table:
    id: str = strawberry.field(
        description="The provider's id of the table, as bookings and updateBooking name it."
    )
    name: str
    seats: int | None = strawberry.field(description="Most guests it seats, where known.")
    min_seats: int | None = strawberry.field(description="Fewest guests it is given to.")
    area: str | None = strawberry.field(description="The room or area it stands in.")

    @classmethod
    def of(cls, m: model.Table) -> Table:
        return cls(id=m.native_id, name=m.name, seats=m.seats, min_seats=m.min_seats, area=m.area)


@strawberry.type
class SlotPayment:
    kind: str = strawberry.field(description="NO_SHOW_FEE, TICKET, DEPOSIT or PREPAYMENT.")
    amount: Decimal | None
    currency: str | None


@strawberry.type
class Slot:
    start: datetime
    end: datetime
    party_size: int
    areas: list[Area]
    waitlist_only: bool
    service_name: str | None
    payment: SlotPayment | None

    @classmethod
    def of(cls, m: model.Slot) -> Slot:
        return cls(
            start=m.start,
            end=m.end,
            party_size=m.party_size,
            areas=[
                Area(
                    id=a.native_id,
                    name=a.name,
                    localized_names=[LocalizedName(locale=k, name=v) for k, v in a.localized_names],
                )
                for a in m.areas
            ],
            waitlist_only=m.waitlist_only,
            service_name=m.service_name,
            payment=SlotPayment(**vars(m.payment)) if m.payment else None,
        )


@strawberry.type
class Notice:
    """Why a part of an answer is empty (outside policy, not supported…)."""

    code: str
    message: str


@strawberry.type
class Guest(Node):
    upstream: str
    first_name: str | None
    last_name: str | None
    email: str | None
    phone: str | None
    locale: str | None
    marketing_consent: bool | None
    visit_count: int | None
    notes: str | None
    tags: list[str]
    m: strawberry.Private[model.Guest]

    @classmethod
    def of(cls, m: model.Guest) -> Guest:
        return _lazy_guest(m)


@strawberry.type
class Booking(Node):
    reference: str | None
    upstream: str
    status: BookingStatus
    provider_status: str = strawberry.field(description="The provider's own status value.")
    start: datetime
    end: datetime
    party_size: int
    tables: list[str]
    notes: str | None
    tags: list[str]
    source: str | None
    created_at: datetime | None
    updated_at: datetime | None
    area: Area | None
    m: strawberry.Private[model.Booking]

    @classmethod
    def of(cls, m: model.Booking) -> Booking:
        return _lazy_booking(m)

    @strawberry.field
    def guest(self, info: Info) -> Guest | None:
        # Not async: a guest already loaded (primed from the booking list) is answered at once,
        # without a task per booking; otherwise graphql-core awaits the coroutine returned.
        now = self.guest_now(info.context)
        if now is not LATER:
            return now  # type: ignore[return-value]
        preview = self.m.guest_preview
        # Strawberry's Info has no public accessor for the field's AST nodes.
        if preview is not None and asked(info._raw_info, info.context.asked) <= answerable(
            preview.fields
        ):
            return Guest.of(preview.guest)
        return self._load_guest(info)  # type: ignore[return-value]

    def guest_now(self, context: Context) -> Guest | object | None:
        """The guest when this request already holds it, else ``LATER`` (``direct.py``)."""
        if self.m.guest_id is None:
            return Guest.of(self.m.guest) if self.m.guest else None
        done, found = context.guests.loaded((self.m.upstream, self.m.guest_id))
        if done:
            return Guest.of(found) if found else None
        return LATER

    async def _load_guest(self, info: Info) -> Guest | None:
        assert self.m.guest_id is not None
        try:
            found = await info.context.guests.load((self.m.upstream, self.m.guest_id))
        except GatewayError as exc:
            if self.m.guest is not None:
                return Guest.of(self.m.guest)
            raise exc
        return Guest.of(found) if found else None

    @strawberry.field
    def restaurant(
        self, info: Info
    ) -> Annotated[Restaurant, strawberry.lazy("tablegraph.graphql.restaurant")] | None:
        # Not async, like ``guest``: the restaurant of a listed booking is nearly always loaded
        # already (the list's own), and then one view of it serves every booking.
        now = self.restaurant_now(info.context)
        if now is not LATER:
            return now  # type: ignore[return-value]
        return self._load_restaurant(info)  # type: ignore[return-value]

    def restaurant_now(self, context: Context) -> object:
        """The restaurant's view when this request already holds it, else ``LATER``."""
        done, found = context.restaurants.loaded((self.m.upstream, self.m.restaurant_id))
        view: object = _restaurant_view(context, found) if done else LATER
        return view

    async def _load_restaurant(
        self, info: Info
    ) -> Annotated[Restaurant, strawberry.lazy("tablegraph.graphql.restaurant")] | None:
        found = await info.context.restaurants.load((self.m.upstream, self.m.restaurant_id))
        return _restaurant_view(info.context, found)


def _restaurant_view(
    context: Context, found: model.Restaurant | None
) -> Annotated[Restaurant, strawberry.lazy("tablegraph.graphql.restaurant")] | None:
    """One GraphQL view per restaurant and request, however many bookings name it."""
    if found is None:
        return None
    views = context.views
    key = ("Restaurant", found.upstream, found.native_id)
    view = views.get(key)
    if view is None or view.m is not found:
        from tablegraph.graphql.restaurant import Restaurant  # once per request and restaurant

        view = views[key] = Restaurant.of(found)
    return view


@strawberry.type
class SubRating:
    name: str
    rating: float


@strawberry.type
class Review(Node):
    upstream: str
    rating: float
    text: str | None
    reply: str | None
    source: str | None
    author_name: str | None
    created_at: datetime | None
    sub_ratings: list[SubRating]

    @classmethod
    def of(cls, m: model.Review) -> Review:
        return cls(
            id=strawberry.ID(ids.encode("Review", m.upstream, m.native_id)),
            upstream=m.upstream,
            rating=m.rating,
            text=m.text,
            reply=m.reply,
            source=m.source,
            author_name=m.author_name,
            created_at=m.created_at,
            sub_ratings=[SubRating(name=k, rating=v) for k, v in m.sub_ratings],
        )


@strawberry.type
class WaitlistEntry(Node):
    upstream: str
    status: str
    date: date
    party_size: int
    preferred_time: time | None
    guest: Guest | None
    created_at: datetime | None

    @classmethod
    def of(cls, m: model.WaitlistEntry) -> WaitlistEntry:
        return cls(
            id=strawberry.ID(ids.encode("WaitlistEntry", m.upstream, m.native_id)),
            upstream=m.upstream,
            status=m.status,
            date=m.day,
            party_size=m.party_size,
            preferred_time=m.preferred_time,
            guest=Guest.of(m.guest) if m.guest else None,
            created_at=m.created_at,
        )


@strawberry.enum
class UpstreamStatus(enum.Enum):
    OK = "OK"
    FAILING = "FAILING"
    UNKNOWN = "UNKNOWN"


strawberry.enum(
    breaker.CircuitState,
    description=(
        "The upstream's circuit breaker: OPEN fails calls fast, HALF_OPEN lets one probe through."
    ),
)
CircuitState = breaker.CircuitState


@strawberry.type
class Upstream:
    name: str
    kind: str
    display_name: str
    status: UpstreamStatus = strawberry.field(
        description="From the last call the gateway made to it; /readyz probes actively."
    )
    circuit: CircuitState
    circuit_retry_in_seconds: float = strawberry.field(
        description="Seconds until an open circuit lets a probe through (0 when closed)."
    )
    last_error_code: str | None
    capabilities: list[Capability]
    #: The adapter's counters, read again once the whole operation has run
    #: (``Context.read_late``): the request's own logins and calls count, whatever order the
    #: fields resolve in.
    read_requests_sent: strawberry.Private[Callable[[], int]]
    read_details: strawberry.Private[Callable[[], dict[str, Any]]]

    @strawberry.field
    def requests_sent(self, info: Info) -> int:
        return info.context.read_late(info, self.read_requests_sent)

    @strawberry.field(description="Operator details (admin scope).")
    def details(self, info: Info) -> JSON | None:
        return info.context.read_late(info, lambda: JSON(self.read_details()))


def _tags(m: model.Booking | model.Guest) -> list[str]:
    return list(m.tags)


def _global_id(type_: str) -> Callable[[model.Booking | model.Guest], strawberry.ID]:
    return lambda m: strawberry.ID(ids.encode(type_, m.upstream, m.native_id))


def _area(m: model.Booking) -> Area | None:
    return Area(id=m.area.native_id, name=m.area.name, localized_names=[]) if m.area else None


_lazy_guest = reading_model(Guest, model.Guest, id=_global_id("Guest"), tags=_tags)
_lazy_booking = reading_model(
    Booking,
    model.Booking,
    id=_global_id("Booking"),
    tables=lambda m: list(m.tables),
    tags=_tags,
    area=_area,
)
