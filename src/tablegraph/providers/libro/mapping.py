"""Libro's JSON:API resources → the unified model: public ``to_<thing>()`` mappers.

Each mapper takes one raw resource (``payloads``) and returns a model value; a resource the
mapper cannot read raises ``KeyError``/``TypeError``/``ValueError``, which the adapter turns
into ``UpstreamBadResponse``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, cast

from tablegraph.model import (
    Area,
    Booking,
    BookingPolicy,
    BookingStatus,
    Capability,
    Guest,
    OpeningHours,
    OpeningPeriod,
    Restaurant,
    Review,
    Slot,
    SlotPayment,
)
from tablegraph.providers.libro.jsonapi import Included, related_id
from tablegraph.providers.libro.payloads import (
    BookingAttributes,
    PersonAttributes,
    Resource,
    RestaurantAttributes,
    ReviewAttributes,
)
from tablegraph.timeutil import local_day_bounds, localize, parse_instant, to_zone

#: Libro's nine booking statuses (DOC attributes.js); anything else maps to UNKNOWN.
STATUSES: dict[str, BookingStatus] = {
    "pending": BookingStatus.PENDING,
    "approved": BookingStatus.CONFIRMED,
    "confirmed": BookingStatus.CONFIRMED,  # the guest reconfirmed
    "arrived": BookingStatus.ARRIVED,
    "partial": BookingStatus.SEATED,  # part of the party seated
    "seated": BookingStatus.SEATED,
    "completed": BookingStatus.COMPLETED,
    "noshow": BookingStatus.NO_SHOW,
    "canceled": BookingStatus.CANCELLED,
}
ACTIVE = frozenset({"pending", "approved", "confirmed", "arrived", "partial", "seated"})

#: ``review`` sub-rating attributes -> unified sub-rating names.
SUB_RATINGS = (
    ("ambiance-rating", "ambiance"),
    ("food-rating", "food"),
    ("service-rating", "service"),
    ("menu-rating", "menu"),
    ("presentation-rating", "presentation"),
)

#: ``payment-required.payment-type`` -> SlotPayment kind; earlier entries win (DOC: offers
#: beat no-show policies).
PAYMENT_KINDS = {"TICKETING": "TICKET", "NO_SHOW": "NO_SHOW_FEE"}

DEFAULT_DURATION = timedelta(minutes=90)  # DOC examples: expected-leave-at = time + 1:30


#: The idempotency marker appended to a booking's ``note`` (Libro keeps no key and has no
#: other free field on create): a hash of the key, so staff never see a client's key.
_MARKER = re.compile(r"\s*\[tablegraph:([0-9a-f]{16})\]\s*$")


def marker_of(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def with_marker(note: str | None, key: str) -> str:
    return f"{note or ''} [tablegraph:{marker_of(key)}]".strip()


def without_marker(note: Any) -> str | None:
    """The note as people wrote it (the marker removed); ``None`` when empty."""
    return _MARKER.sub("", str(note or "")).strip() or None


def marked(res: Resource) -> str | None:
    """The idempotency marker on a raw booking, if the gateway made it."""
    found = _MARKER.search(str((res.get("attributes") or {}).get("note") or ""))
    return found.group(1) if found else None


def _instant(value: Any, tz: str) -> datetime | None:
    if not value:
        return None
    return to_zone(parse_instant(str(value)), tz)


def to_restaurant(upstream: str, res: Resource, caps: frozenset[Capability]) -> Restaurant:
    a = cast(RestaurantAttributes, res.get("attributes") or {})
    delay = a.get("cancelation-delay")
    months = a.get("online-booking-lead-months")
    return Restaurant(
        upstream=upstream,
        native_id=str(a["code"]),  # every restricted call is addressed by restaurant-code
        reference=str(res.get("id")),
        name=str(a.get("name") or ""),
        timezone=str(a.get("tz") or "America/Montreal"),
        latitude=a.get("latitude"),
        longitude=a.get("longitude"),
        policy=BookingPolicy(
            max_advance_days=round(months * 30.44) if isinstance(months, int) else 90,
            cancellation_cutoff_minutes=delay // 60 if isinstance(delay, int) else None,
            default_duration_minutes=int(DEFAULT_DURATION.total_seconds() // 60),
        ),
        capabilities=caps if a.get("active", True) else frozenset(),
    )


def _scopes(res: Resource) -> list[tuple[str, time, time]]:
    out = []
    for scope in (res.get("attributes") or {}).get("service-scopes") or []:
        try:
            out.append(
                (
                    str(scope.get("name")),
                    time.fromisoformat(scope["startTime"]),
                    time.fromisoformat(scope["endTime"]),
                )
            )
        except (KeyError, TypeError, ValueError):
            continue
    return out


def to_opening_hours(res: Resource) -> OpeningHours:
    """Service scopes carry no weekdays: Libro applies them to every day."""
    return OpeningHours(
        weekly=tuple(
            OpeningPeriod(day, start, end, name)
            for day in range(1, 8)
            for name, start, end in _scopes(res)
        )
    )


def _service_name(scopes: list[tuple[str, time, time]], wall: time) -> str | None:
    for name, start, end in scopes:
        inside = start <= wall < end if start < end else (wall >= start or wall < end)
        if inside:
            return name
    return None


def to_payment(raw: Any, currency: str) -> SlotPayment | None:
    if not isinstance(raw, dict):
        return None
    kind = PAYMENT_KINDS.get(str(raw.get("payment-type")), str(raw.get("payment-type")))
    cents = raw.get("amount-cents")
    amount = (Decimal(int(cents)) / 100).quantize(Decimal("0.01")) if cents is not None else None
    return SlotPayment(kind=kind, amount=amount, currency=currency)


def _name(raw: Any) -> tuple[str, tuple[tuple[str, str], ...]]:
    if isinstance(raw, dict):
        names = tuple(sorted((str(k), str(v)) for k, v in raw.items()))
        return str(raw.get("en") or next(iter(raw.values()), "")), names
    return str(raw or ""), ()


def to_area(entry: dict[str, Any]) -> Area:
    name, localized = _name(entry.get("name"))
    return Area(native_id=str(entry["id"]), name=name, localized_names=localized)


def to_slots(
    body: Any, tz: str, party_size: int, currency: str, restaurant: Resource | None = None
) -> list[Slot]:
    """The seatings map (``payloads.Seatings``): ``{date: {local datetime without offset:
    true | [entry, ...]}}``, read defensively (``body`` is whatever Libro sent).

    One slot per start and distinct payment requirement, so a ticketed experience is not
    confused with a free dining room at the same time.
    """
    scopes = _scopes(restaurant) if restaurant else []
    slots: list[Slot] = []
    if not isinstance(body, dict):
        return slots
    for by_time in body.values():
        if not isinstance(by_time, dict):
            continue
        for key, value in by_time.items():
            wall = datetime.fromisoformat(key)
            if wall.tzinfo is None:  # the documented form: local, no offset
                start = localize(wall.date(), wall.time(), tz)
            else:
                start = to_zone(wall, tz)
            groups: dict[SlotPayment | None, list[Area]] = {}
            entries = value if isinstance(value, list) else []
            if not entries and value is not True:
                continue
            for entry in entries or [{}]:
                payment = to_payment(entry.get("payment-required"), currency)
                areas = groups.setdefault(payment, [])
                if entry.get("id") is not None:
                    areas.append(to_area(entry))
            for payment, areas in groups.items():
                slots.append(
                    Slot(
                        start=start,
                        end=start + DEFAULT_DURATION,
                        party_size=party_size,
                        areas=tuple(areas),
                        service_name=_service_name(scopes, wall.time()),
                        payment=payment,
                    )
                )
    slots.sort(key=lambda s: (s.start, s.payment is not None))
    return slots


def to_guest(upstream: str, res: Resource) -> Guest:
    a = cast(PersonAttributes, res.get("attributes") or {})
    return Guest(
        upstream=upstream,
        native_id=str(res["id"]),
        first_name=a.get("first-name"),
        last_name=a.get("last-name"),
        email=a.get("email"),
        phone=a.get("phone"),
        locale=a.get("locale"),
        notes=a.get("note"),
        tags=tuple(str(t) for t in a.get("tags") or ()),
    )


def to_booking(upstream: str, res: Resource, restaurant: Restaurant, included: Included) -> Booking:
    a = cast(BookingAttributes, res.get("attributes") or {})
    tz = restaurant.timezone
    raw_status = str(a.get("status") or "")
    start = _instant(a.get("time"), tz)
    if start is None:
        raise ValueError("booking without time")
    end = _instant(a.get("expected-leave-at"), tz) or start + DEFAULT_DURATION
    person_id = related_id(res, "person")
    person = included.get("person", person_id)
    experience = included.get("experience", related_id(res, "experience"))
    area = None
    if experience is not None:
        name, localized = _name((experience.get("attributes") or {}).get("name"))
        area = Area(str(experience["id"]), name, localized)
    table = a.get("table-number")
    return Booking(
        upstream=upstream,
        native_id=str(res["id"]),
        restaurant_id=restaurant.native_id,
        status=STATUSES.get(raw_status, BookingStatus.UNKNOWN),
        provider_status=raw_status,
        start=start,
        end=end,
        party_size=int(a.get("size") or 0),
        reference=str(res["id"]),
        guest_id=person_id,
        guest=to_guest(upstream, person) if person is not None else None,
        tables=(str(table),) if table else (),
        notes=without_marker(a.get("note")),
        tags=tuple(str(t) for t in a.get("tags") or ()),
        source=a.get("source"),
        created_at=_instant(a.get("created-at"), tz),
        updated_at=_instant(a.get("updated-at"), tz),
        area=area,
    )


def to_review(upstream: str, res: Resource, restaurant: Restaurant) -> Review:
    raw: dict[str, Any] = res.get("attributes") or {}
    a = cast(ReviewAttributes, raw)
    tz = restaurant.timezone
    return Review(
        upstream=upstream,
        native_id=str(res["id"]),
        restaurant_id=restaurant.native_id,
        rating=float(a.get("rating") or 0.0),
        created_at=_instant(a.get("created-at"), tz),
        text=a.get("description"),
        reply=a.get("reply"),
        source=a.get("source"),
        sub_ratings=tuple(
            (name, float(raw[key])) for key, name in SUB_RATINGS if raw.get(key) is not None
        ),
    )


def day_of(query_start: datetime, query_end: datetime, tz: str) -> date | None:
    """The local date when ``[start, end)`` is exactly one local day, else None."""
    local = to_zone(query_start, tz)
    bounds = local_day_bounds(local.date(), tz)
    return local.date() if (query_start, query_end) == bounds else None


def libro_statuses(wanted: Iterable[BookingStatus]) -> list[str]:
    wanted = set(wanted)
    return [raw for raw, status in STATUSES.items() if status in wanted]
